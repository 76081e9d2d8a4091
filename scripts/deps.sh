#!/bin/sh
# Installs what llmgate needs to build, run and test on Debian/Ubuntu.
# Run as root. Skips apt entirely when everything is already there.
#   scripts/deps.sh           build and run
#   scripts/deps.sh --test    and what the test suite starts
#   scripts/deps.sh --cross   and the cross-builds for routers (heavy)
set -e
pkgs="build-essential autoconf automake libtool pkg-config curl ca-certificates
libfcgi-dev libcurl4-openssl-dev libmbedtls-dev libcjson-dev libgdbm-dev libcrypt-dev lighttpd"
# the tests drive the admin page in Debian's Chromium, with Node clients;
# they start real Redis, PostgreSQL, Apache, nginx, busybox httpd and
# Prometheus on loopback, read PDFs with poppler's pdftotext, and check
# the man pages with groff; a CJK font so that the admin page's Chinese
# screenshots are readable
test=no
cross=no
for a in "$@"; do
	case $a in
	--test) test=yes ;;
	--cross) cross=yes ;;
	*) echo "usage: scripts/deps.sh [--test] [--cross]" >&2; exit 2 ;;
	esac
done
[ $test = yes ] && pkgs="$pkgs nodejs npm chromium valgrind clang libclang-rt-14-dev
redis-server libhiredis-dev postgresql libpq-dev apache2 libapache2-mod-fcgid nginx busybox
prometheus poppler-utils groff-base fonts-wqy-microhei"
# --cross: builds for routers (scripts/cross.sh) and their unit tests under
# qemu-user, for each of CROSS_ARCHS (default: armhf arm64 mipsel). armhf
# and arm64 take Debian's multiarch libraries (:ARCH); mipsel's cannot be
# installed beside the machine's own on Debian 12, so scripts/cross.sh
# unpacks the same packages into a sysroot. musl-tools: the static build.
if [ $cross = yes ]; then
	pkgs="$pkgs qemu-user musl-tools"
	for arch in ${CROSS_ARCHS:-armhf arm64 mipsel}; do
		case $arch in
		armhf) triplet=arm-linux-gnueabihf ;;
		arm64) triplet=aarch64-linux-gnu ;;
		mipsel) triplet=mipsel-linux-gnu ;;
		*) echo "deps.sh: unknown cross architecture $arch" >&2; exit 2 ;;
		esac
		pkgs="$pkgs gcc-$triplet libc6-dev-$arch-cross"
		[ $arch = mipsel ] && continue
		if ! dpkg --print-foreign-architectures | grep -qx $arch; then
			dpkg --add-architecture $arch
		fi
		for p in pkgconf libfcgi-dev libmbedtls-dev libcjson-dev libgdbm-dev libcrypt-dev libcurl4-openssl-dev; do
			pkgs="$pkgs $p:$arch"
		done
	done
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# a node from elsewhere (nodesource, nvm) is fine too
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo $missing)
if [ -n "$missing" ]; then
	echo "deps: installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# lighttpd's own service is not needed: llmgate starts its own instance
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet lighttpd 2>/dev/null; then
	:   # leave a running system lighttpd alone; ours uses its own port
fi
exit 0
