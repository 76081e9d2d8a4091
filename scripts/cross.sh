#!/bin/sh
# Cross-builds llmgate for a router's processor and runs its unit tests
# there, under qemu-user (make check-cross ARCH=... calls this):
#   scripts/cross.sh ARCH [--static] [--build-only]
#     ARCH: armhf (ARMv7, 32-bit), arm64, mipsel (32-bit little-endian MIPS)
#     --static      link every library that Debian ships as an archive (.a)
#                   statically (--enable-static-libs: mbed TLS, libfcgi,
#                   GDBM, libxcrypt; cJSON and libcurl stay shared)
#     --build-only  build, do not run the unit tests
# Builds in _build-ARCH (_build-ARCH-static), for size (--enable-small). Needs scripts/deps.sh --cross
# (the cross compilers, qemu-user, the :ARCH libraries). Where Debian's
# :ARCH packages cannot be installed beside the machine's own (mipsel on
# Debian 12: its security archive has no mipsel, so versions part), the same
# packages are unpacked into a sysroot, _cross/ARCH, with apt-get download.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-}
static=no
run=yes
shift || true
for a in "$@"; do
	case $a in
	--static) static=yes ;;
	--build-only) run=no ;;
	*) echo "cross.sh: unknown option $a" >&2; exit 2 ;;
	esac
done
case $arch in
armhf) triplet=arm-linux-gnueabihf; qemu=qemu-arm ;;
arm64) triplet=aarch64-linux-gnu; qemu=qemu-aarch64 ;;
mipsel) triplet=mipsel-linux-gnu; qemu=qemu-mipsel ;;
*) echo "usage: scripts/cross.sh armhf|arm64|mipsel [--static] [--build-only]" >&2; exit 2 ;;
esac
command -v "$triplet-gcc" >/dev/null || { echo "cross.sh: $triplet-gcc missing: scripts/deps.sh --cross" >&2; exit 1; }
command -v "$qemu" >/dev/null || [ $run = no ] || { echo "cross.sh: $qemu missing: scripts/deps.sh --cross" >&2; exit 1; }

# the libraries llmgate links (and libatomic, which mipsel's 64-bit atomics need)
libs="libfcgi-dev libmbedtls-dev libcjson-dev libgdbm-dev libcrypt-dev libcurl4-openssl-dev"

# A sysroot of Debian's own :ARCH packages (and all they depend on), for
# an ARCH whose packages cannot be installed beside the machine's.
make_sysroot() {
	sr=$1
	[ -f "$sr/.complete" ] && return 0
	if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		dpkg --add-architecture "$arch"
		apt-get update -qq
	fi
	rm -rf "$sr"
	mkdir -p "$sr/debs"
	want=""
	for p in $libs libc6; do want="$want $p:$arch"; done
	# every package the libraries need, of this ARCH (the C library's
	# headers come with the cross compiler: libc6-dev and the kernel headers
	# are left out)
	pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances $want 2>/dev/null | grep -E "^[a-z0-9][^ ]*:$arch\$" |
		grep -v -e "^libc6-dev:" -e "^linux-libc-dev:" -e "^libc-dev-bin:" -e "^rpcsvc-proto:" | sort -u)
	echo "cross.sh: sysroot of $(echo $pkgs | wc -w) $arch packages in $sr"
	(cd "$sr/debs" && apt-get download -qq $pkgs)
	for d in "$sr"/debs/*.deb; do dpkg-deb -x "$d" "$sr"; done
	rm -rf "$sr/debs"
	# a pkg-config that answers for the sysroot's libraries
	mkdir -p "$sr/bin"
	cat > "$sr/bin/$triplet-pkg-config" <<EOF
#!/bin/sh
PKG_CONFIG_SYSROOT_DIR='$sr' PKG_CONFIG_LIBDIR='$sr/usr/lib/$triplet/pkgconfig:$sr/usr/share/pkgconfig' exec pkg-config "\$@"
EOF
	chmod +x "$sr/bin/$triplet-pkg-config"
	touch "$sr/.complete"
}

multiarch_ok() {
	for p in $libs pkgconf; do
		dpkg-query -W -f='${Status}' "$p:$arch" 2>/dev/null | grep -q "ok installed" || return 1
	done
}

build=$top/_build-$arch
[ $static = yes ] && build=$build-static
mkdir -p "$build"
cfg="--host=$triplet --enable-small"
[ $static = yes ] && cfg="$cfg --enable-static-libs"
qemu_prefix=/
if multiarch_ok; then
	:
elif [ "$arch" = mipsel ] || [ "$(id -u)" = 0 ]; then
	sr=$top/_cross/$arch
	[ "$(id -u)" = 0 ] || [ -f "$sr/.complete" ] || { echo "cross.sh: run as root once to make the $arch sysroot" >&2; exit 1; }
	make_sysroot "$sr"
	export PATH="$sr/bin:$PATH"
	# the sysroot's libraries and headers; the C library's are the cross
	# compiler's own (qemu runs the sysroot's libc6 of the same version)
	cfg="$cfg CPPFLAGS=-I$sr/usr/include LDFLAGS='-L$sr/usr/lib/$triplet -Wl,-rpath-link,$sr/usr/lib/$triplet:$sr/lib/$triplet'"
	qemu_prefix=$sr
else
	echo "cross.sh: the $arch libraries are missing: scripts/deps.sh --cross" >&2
	exit 1
fi

[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null)
cd "$build"
if [ ! -f Makefile ]; then
	eval "\"$top/configure\" -q $cfg"
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -s -j"$jobs" 2>&1 | grep -v "modifier ignored" || true
make -s -j"$jobs" >/dev/null   # says it again, and fails, if the build did
[ $run = no ] && exit 0
# the unit tests, each under qemu (make check's own TAP driver and logs)
export QEMU_LD_PREFIX="$qemu_prefix"
make -s -j"$jobs" check-unit UNIT_RUNNER="$qemu" ||
	{ grep -h -B1 -A3 "^not ok" tests/unit/*.log | head -n 40; exit 1; }
