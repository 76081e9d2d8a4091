#!/bin/sh
# run.sh [SECONDS] — build the fuzz targets if needed (build.sh) and run
# each for SECONDS (default 60) over its seed corpus, then replay the
# known crash-* inputs. Prints one line per target and exits non-zero if
# any target found a crash, a leak, a UBSan report or a broken property.
#
#   FUZZ_OUT=dir         build and work directory (default _build-fuzz)
#   FUZZ_TARGETS="a b"   only these targets (names without fuzz_)
#   FUZZ_JOBS=n          targets run side by side (default 1)
#   FUZZ_SEED=n          libFuzzer's random seed (default: a new one each
#                        run); scripts/test.sh fixes it, so that a test run
#                        explores the same inputs every time and a finding
#                        there is reproducible, while make fuzz searches anew
#
# New corpus entries go to $FUZZ_OUT/work/<target>, findings to
# $FUZZ_OUT/artifacts/<target>-crash-*; tests/fuzz/corpus is only read.
# Checks named in known-bugs.txt are switched off while fuzzing (so the
# search goes on past a known, unfixed bug); the crash-* inputs in the
# corpus (open bugs) are replayed with every check on, to say whether each
# still reproduces. regress-* inputs (fixed bugs) are ordinary seeds.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
secs=${1:-60}
out=${FUZZ_OUT:-$src/_build-fuzz}
case $secs in
''|*[!0-9]*) echo "usage: run.sh [seconds-per-target]" >&2; exit 2 ;;
esac

"$here/build.sh" "$out" >"${TMPDIR:-/tmp}/llmgate-fuzz-build.$$" 2>&1 || {
	cat "${TMPDIR:-/tmp}/llmgate-fuzz-build.$$" >&2
	rm -f "${TMPDIR:-/tmp}/llmgate-fuzz-build.$$"
	echo "run.sh: build failed" >&2
	exit 1
}
rm -f "${TMPDIR:-/tmp}/llmgate-fuzz-build.$$"
out=$(cd "$out" && pwd)
mkdir -p "$out/work" "$out/artifacts" "$out/logs" "$out/seeds"

ignore=$(sed -e 's/#.*//' "$here/known-bugs.txt" 2>/dev/null | awk 'NF { print $1 }' | paste -sd, -)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

targets=${FUZZ_TARGETS:-$(for f in "$here"/fuzz_*.c; do n=${f##*/fuzz_}; echo "${n%.c}"; done)}

max_len_of() {
	case $1 in
	passthrough_path) echo 4096 ;;
	ini|config) echo 16384 ;;
	http_request) echo 65536 ;;
	*) echo 131072 ;;
	esac
}

# one target: fuzz for $secs seconds; writes a summary line to logs/<t>.sum
run_one() {
	t=$1
	bin=$out/fuzz_$t
	log=$out/logs/$t.log
	seeds=$out/seeds/$t
	rm -rf "$seeds"
	mkdir -p "$seeds" "$out/work/$t"
	# the checked-in corpus without its crash-* inputs (replayed below)
	for f in "$here/corpus/$t"/*; do
		[ -f "$f" ] || continue
		case ${f##*/} in crash-*|leak-*|timeout-*) continue ;; esac
		cp "$f" "$seeds/"
	done
	LLMGATE_FUZZ_IGNORE=$ignore "$bin" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -max_total_time="$secs" -max_len="$(max_len_of "$t")" \
		-timeout=25 -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
		"$out/work/$t" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(ls "$out/work/$t" | wc -l)
	if [ $rc -eq 0 ]; then
		verdict=ok
	else
		why=$(grep -m1 -E 'FUZZ PROPERTY VIOLATED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log" |
			sed 's/^ *//' | cut -c1-110)
		art=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
		verdict="FAIL: ${why:-exit $rc} ${art:+($art)}"
	fi
	printf '%-17s %8s execs in %3ss  cov %5s  corpus %5s  %s\n' "$t" "${execs:-?}" "$secs" "${cov:-?}" "$corp" \
		"$verdict" >"$out/logs/$t.sum"
	[ $rc -eq 0 ]
}

fail=0
jobs=${FUZZ_JOBS:-1}
running=0
for t in $targets; do
	if [ ! -x "$out/fuzz_$t" ]; then
		echo "run.sh: no target fuzz_$t" >&2
		fail=1
		continue
	fi
	if [ "$jobs" -gt 1 ]; then
		run_one "$t" &
		running=$((running + 1))
		if [ $running -ge "$jobs" ]; then
			wait
			running=0
		fi
	else
		run_one "$t"
	fi
done
wait
for t in $targets; do
	[ -f "$out/logs/$t.sum" ] || continue
	cat "$out/logs/$t.sum"
	grep -q ' FAIL: ' "$out/logs/$t.sum" && fail=1
done

# known crashes: does each still reproduce (with every check on)?
for t in $targets; do
	for f in "$here/corpus/$t"/crash-*; do
		[ -f "$f" ] || continue
		if "$out/fuzz_$t" -runs=1 "$f" >"$out/logs/replay-${f##*/}.log" 2>&1; then
			echo "known $t/${f##*/}: no longer crashes (fixed? rename it regress-*, update known-bugs.txt and docs/hardening.md)"
		else
			echo "known $t/${f##*/}: still crashes (known bug)"
		fi
	done
done
if [ $fail -ne 0 ]; then
	echo "run.sh: FAILED (logs in $out/logs, inputs in $out/artifacts)"
else
	echo "run.sh: all targets clean"
fi
exit $fail
