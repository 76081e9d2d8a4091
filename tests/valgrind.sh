#!/bin/sh
# make check-valgrind: a representative part of the integration suite with
# every router process under valgrind's memcheck, then a verdict from the
# reports: no invalid reads or writes, no use of uninitialised memory, no
# memory definitely lost.
set -e
build=${LLMGATE_BUILDDIR:?set LLMGATE_BUILDDIR}
src=${LLMGATE_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
logs="$build/valgrind-logs"
rm -rf "$logs"
mkdir -p "$logs"
export LLMGATE_BUILDDIR="$build"
export LLMGATE_VALGRIND_DIR="$logs"
export LLMGATE_ROUTER_WRAPPER="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --num-callers=24"
cd "$src/tests"
files=${VALGRIND_TESTS:-"integration/routing.test.js integration/stream.test.js integration/errors.test.js integration/keypool.test.js integration/auth.test.js integration/dialects.test.js integration/passthrough.test.js"}
status=0
node --test --test-concurrency=1 --test-timeout=240000 $files || status=1
n=0; bad=0; open=0
for f in "$logs"/valgrind-*.log; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	if grep -q "ERROR SUMMARY: 0 errors" "$f"; then
		continue
	elif grep -q "ERROR SUMMARY" "$f" || grep -q -E "Invalid (read|write)|uninitialised|definitely lost: [1-9]" "$f"; then
		echo "=== $f"
		grep -E -B2 -A14 "Invalid (read|write)|uninitialised|definitely lost|Syscall param" "$f" | head -80
		bad=$((bad + 1))
	else
		open=$((open + 1))   # killed before its summary: no verdict
	fi
done
echo "check-valgrind: $n router processes, $bad with errors, $open without a summary"
[ "$bad" = 0 ] || status=1
exit $status
