#!/bin/sh
# soak.sh [--quick] — a bounded soak of the real stack: the mock upstream,
# a faulty raw upstream, lighttpd and llmgate-router (started the way the
# integration tests start them, tests/lib/harness.js), mixed traffic with
# faults from 4 clients, llmgate-settle every 30 s as cron would run it.
# The router's RSS and open fds are sampled every 5 s and printed at the
# start, every minute and at the end, then a verdict line: flat or growing.
#
#   tests/bench/soak.sh             600 s (SOAK_SECONDS to change)
#   tests/bench/soak.sh --quick     60 s
#
#   SOAK_SECONDS=n     run length in seconds (default 600; --quick: 60)
#   SOAK_WORKERS=n     concurrent clients (default 4)
#   SOAK_INTERVAL=s    sampling interval (default 5)
#   LLMGATE_BUILDDIR   directory holding llmgate-router, llmgate-keys,
#                      llmgate-settle (default: _build if built, else the
#                      repository root)
#
# Exit status 0 when RSS and fds stay flat and no request got an
# unexpected answer; 1 otherwise; 2 when the stack could not start.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
seconds=${SOAK_SECONDS:-600}
for a in "$@"; do
	case $a in
	--quick) seconds=${SOAK_SECONDS:-60} ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: soak.sh [--quick]" >&2; exit 2 ;;
	esac
done
case $seconds in
''|*[!0-9]*) echo "soak.sh: SOAK_SECONDS must be a number" >&2; exit 2 ;;
esac
if [ -z "${LLMGATE_BUILDDIR:-}" ]; then
	if [ -x "$src/_build/llmgate-router" ]; then
		LLMGATE_BUILDDIR=$src/_build
	else
		LLMGATE_BUILDDIR=$src
	fi
	export LLMGATE_BUILDDIR
fi
for p in llmgate-router llmgate-settle; do
	[ -x "$LLMGATE_BUILDDIR/$p" ] || { echo "soak.sh: $LLMGATE_BUILDDIR/$p not built" >&2; exit 2; }
done
echo "soak: ${seconds} s with ${SOAK_WORKERS:-4} clients, router from $LLMGATE_BUILDDIR"
exec "${NODE:-node}" "$here/soak.js" --seconds "$seconds" --interval "${SOAK_INTERVAL:-5}" --workers "${SOAK_WORKERS:-4}"
