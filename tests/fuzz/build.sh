#!/bin/sh
# build.sh [OUTDIR] — builds every tests/fuzz/fuzz_*.c as a libFuzzer
# binary (ASan + UBSan) into OUTDIR (default: _build-fuzz at the top of
# the source tree). common/*.c are compiled once into a static library
# (rebuilt when any common/ file is newer); each target links it with
# -Wl,--wrap=log_msg (quiet logs) and the extra flags named on its
# "// FUZZ_LDFLAGS:" line.
#
# Needs clang with libFuzzer (Debian: apt-get install clang libclang-rt-14-dev)
# and the library headers the project needs (scripts/deps.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:-$src/_build-fuzz}
CC=${CC:-clang}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

command -v "$CC" >/dev/null 2>&1 || { echo "build.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$out/obj"
out=$(cd "$out" && pwd)

# configure's autoconf.h: from a configured build if there is one, else a
# minimal one (the sources only need the version and HAVE_GETRANDOM)
if [ ! -f "$out/autoconf.h" ]; then
	found=
	for d in "$src/_build" "$src/_build-asan" "$src"; do
		if [ -f "$d/autoconf.h" ]; then found=$d/autoconf.h; break; fi
	done
	if [ -n "$found" ]; then
		cp "$found" "$out/autoconf.h"
	else
		version=$(sed -n 's/^AC_INIT(\[llmgate\], \[\([^]]*\)\].*/\1/p' "$src/configure.ac")
		cat >"$out/autoconf.h" <<EOF
/* autoconf.h — minimal stand-in written by tests/fuzz/build.sh */
#define HAVE_GETRANDOM 1
#define PACKAGE "llmgate"
#define PACKAGE_NAME "llmgate"
#define PACKAGE_VERSION "${version:-0.0.0}"
#define PACKAGE_STRING "llmgate ${version:-0.0.0}"
#define VERSION "${version:-0.0.0}"
EOF
	fi
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# configure's path defines, as a header (no quoting through xargs)
if [ ! -f "$out/fuzzdefs.h" ]; then
	printf '#define SYSCONFDIR "/usr/local/etc"\n#define LOCALSTATEDIR "/usr/local/var"\n' >"$out/fuzzdefs.h"
fi
CFLAGS_COMMON="-g -O1 -std=c11 -D_GNU_SOURCE -include $out/fuzzdefs.h \
-I$out -I$src/common -I$here -Wall -Wno-unused-parameter $SAN"
# libpq and hiredis where configure found them (autoconf.h says HAVE_LIBPQ)
CFLAGS_COMMON="$CFLAGS_COMMON $(pkg-config --cflags libpq hiredis 2>/dev/null || true)"
LIBS="-lmbedtls -lmbedx509 -lmbedcrypto -lcurl -lcjson -lfcgi -lgdbm -lcrypt -lm $(pkg-config --libs libpq hiredis 2>/dev/null || true) -pthread"
lib=$out/libllmgate-fuzz.a

# the library: rebuilt when a common/ file is newer than it
stale=0
if [ ! -f "$lib" ]; then
	stale=1
else
	for f in "$src"/common/*.c "$src"/common/*.h "$out/autoconf.h"; do
		if [ "$f" -nt "$lib" ]; then stale=1; break; fi
	done
fi
if [ "$stale" = 1 ]; then
	echo "build.sh: compiling common/*.c ($JOBS jobs)"
	rm -f "$out"/obj/*.o
	# shellcheck disable=SC2086
	ls "$src"/common/*.c | xargs -P "$JOBS" -I{} sh -c \
		'f={}; b=$(basename "$f" .c); '"$CC $CFLAGS_COMMON"' -fsanitize=fuzzer-no-link -c "$f" -o "'"$out"'/obj/$b.o"'
	rm -f "$lib"
	ar rcs "$lib" "$out"/obj/*.o
fi

built=0
for t in "$here"/fuzz_*.c; do
	name=$(basename "$t" .c)
	bin=$out/$name
	if [ -f "$bin" ] && [ ! "$t" -nt "$bin" ] && [ ! "$lib" -nt "$bin" ] && [ ! "$here/fuzz_common.h" -nt "$bin" ]; then
		continue
	fi
	extra=$(sed -n 's|^// FUZZ_LDFLAGS: *||p' "$t")
	echo "build.sh: $name"
	# shellcheck disable=SC2086
	$CC $CFLAGS_COMMON -fsanitize=fuzzer "$t" "$lib" -Wl,--wrap=log_msg $extra $LIBS -o "$bin"
	built=$((built + 1))
done
echo "build.sh: targets in $out ($built rebuilt)"
