#!/bin/sh
# Sets up and runs the whole test suite: installs what is needed, builds,
# runs 'make check' (unit tests + integration against a real lighttpd, the
# mock upstreams and the official SDKs), the core of the integration suite
# with the router under valgrind (make check-valgrind), everything again
# under ASan/UBSan, every libFuzzer target briefly (about a minute), and,
# beside the native suite, the armhf build under qemu-user.
#   scripts/test.sh            everything
#   scripts/test.sh --no-asan  skip the sanitizer pass
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
asan=1
[ "${1:-}" = "--no-asan" ] && asan=0
if [ "$(id -u)" = 0 ]; then
	CROSS_ARCHS=armhf sh scripts/deps.sh --test --cross
fi
(cd tests && npm ci --no-audit --no-fund --loglevel=error)
[ -x configure ] || ./autogen.sh >/dev/null
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
	dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || "$top/configure" -q "$@"; } && make -s -j"$jobs" &&
		make -s -j"$jobs" check) || {
		for f in "$dir"/tests/unit/*.log "$dir"/tests/integration/*.log; do
			[ -f "$f" ] && grep -q -E '^(not ok|FAIL|ERROR|Bail)' "$f" && { echo "=== $f"; tail -n 80 "$f"; }
		done
		return 1
	}
}

summary() {
	# one closing line for people and CI: unit checks (TAP) plus the
	# integration tests (node's own counts), over every build that ran
	pass=0; fail=0
	for d in "$@"; do
		for trs in "$d"/tests/unit/*.trs; do
			[ -f "$trs" ] || continue
			p=$(grep -c '^:test-result: PASS' "$trs" || true)
			f=$(grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs" || true)
			pass=$((pass + p)); fail=$((fail + f))
		done
		log="$d/tests/integration/run.log"
		if [ -f "$log" ]; then
			p=$(awk '/^# pass /{n=$3} END{print n+0}' "$log")
			f=$(awk '/^# fail /{n=$3} END{print n+0}' "$log")
			pass=$((pass + p)); fail=$((fail + f))
		fi
	done
	echo "$pass passed, $fail failed"
}

# One 32-bit router processor end to end, beside the native suite: the
# armhf build (scripts/cross.sh), its unit tests under qemu-user, and the
# armhf router answering chats and streams through the mock upstreams as
# CGI and behind lighttpd, under qemu-arm.
cross_stage() {
	t0=$(date +%s)
	sh scripts/cross.sh armhf &&
		LLMGATE_BUILDDIR="$top/_build-armhf" LLMGATE_ROUTER_WRAPPER=qemu-arm \
		node --test --test-timeout=240000 tests/integration/cgi.test.js tests/integration/stream.test.js || return 1
	echo "cross: armhf built, unit tests and CGI/FastCGI chats under qemu in $(($(date +%s) - t0)) s"
}
cross_pid=""
if command -v arm-linux-gnueabihf-gcc >/dev/null && command -v qemu-arm >/dev/null; then
	cross_stage > _build-cross.log 2>&1 &
	cross_pid=$!
else
	echo "cross: skipped (no arm-linux-gnueabihf-gcc or qemu-arm: scripts/deps.sh --cross as root)"
fi

status=0
run_suite _build || status=1
if [ -n "$cross_pid" ]; then
	if wait "$cross_pid"; then
		tail -n 1 _build-cross.log
	else
		status=1
		grep -E "^(not ok|FAIL|ERROR)|cross.sh" _build-cross.log | head -n 20
		tail -n 40 _build-cross.log
	fi
fi
if [ "$status" = 0 ]; then
	make -s -C _build check-valgrind > _build/check-valgrind.log 2>&1 || status=1
	tail -n 1 _build/check-valgrind.log
	[ "$status" = 0 ] || tail -n 60 _build/check-valgrind.log
fi
if [ "$asan" = 1 ] && [ "$status" = 0 ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 run_suite _build-asan --enable-asan || status=1
fi
if [ "$status" = 0 ]; then
	# a fixed seed: the same inputs every run (make fuzz searches anew)
	FUZZ_SEED=${FUZZ_SEED:-1} FUZZ_OUT="$top/_build-fuzz" sh tests/fuzz/run.sh "${FUZZ_SECONDS:-6}" > _build-fuzz.log 2>&1 || status=1
	grep -E "^run.sh:|^[a-z_]+ +[0-9]+ execs" _build-fuzz.log | tail -n 12
	[ "$status" = 0 ] || tail -n 40 _build-fuzz.log
fi
summary _build _build-asan _build-armhf
exit $status
