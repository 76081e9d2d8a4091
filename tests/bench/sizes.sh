#!/bin/sh
# tests/bench/sizes.sh [BUILD_DIR...] — the stripped size of every program,
# per architecture (make bench prints this table after its own). Without
# arguments: the native build (LLMGATE_BUILDDIR, else _build) and each
# cross build scripts/cross.sh left (_build-armhf, _build-arm64,
# _build-mipsel and their -static twins). Shared libraries are not counted.
# Target: llmgate-router under 300 KB on every architecture, in the build
# for routers (configure --enable-small; scripts/cross.sh builds so).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -gt 0 ] || set -- "${LLMGATE_BUILDDIR:-$top/_build}" "$top"/_build-armhf* "$top"/_build-arm64* "$top"/_build-mipsel*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
over=""
printf '%-22s %-8s %9s %9s %9s %9s  %s\n' "build" "arch" "router" "admin" "keys" "settle" "libraries (router)"
for b in "$@"; do
	[ -x "$b/llmgate-router" ] || continue
	machine=$(LC_ALL=C readelf -h "$b/llmgate-router" | sed -n 's/^ *Machine: *//p')
	case $machine in
	*X86-64*) arch=amd64; strip=strip ;;
	*AArch64*) arch=arm64; strip=aarch64-linux-gnu-strip ;;
	ARM) arch=armhf; strip=arm-linux-gnueabihf-strip ;;
	*MIPS*) arch=mipsel; strip=mipsel-linux-gnu-strip ;;
	*) arch=unknown; strip=strip ;;
	esac
	line=$(printf '%-22s %-8s' "$(basename "$b")" "$arch")
	for p in router admin keys settle; do
		"$strip" -o "$tmp/$p" "$b/llmgate-$p" 2>/dev/null || cp "$b/llmgate-$p" "$tmp/$p"
		kb=$(( ($(wc -c < "$tmp/$p") + 1023) / 1024 ))
		line="$line $(printf '%7d KB' "$kb")"
		# the target leaves libraries aside: not for --static builds
		case $b in *-static) ;; *) [ $p = router ] && [ "$kb" -ge 300 ] && over="$over $(basename "$b")" ;; esac
	done
	libs=$(LC_ALL=C readelf -d "$b/llmgate-router" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sed 's/\.so.*//' | tr '\n' ' ')
	printf '%s  %s\n' "$line" "${libs:-(static)}"
done
if [ -n "$over" ]; then
	echo "llmgate-router is 300 KB or more in:$over (configure --enable-small, as scripts/cross.sh builds, keeps it under)"
else
	echo "llmgate-router under 300 KB in every build"
fi
