#!/bin/sh
# tests/bench/run.sh — llmgate's benchmark: one command, one table.
#
#   tests/bench/run.sh [options]        (or: make bench [BENCH_ARGS=...])
#
#   --quick         about a minute: 1 s per run, one round, 64 trickling
#                   streams, fewer callgrind requests, no Portkey
#   --duration S    seconds per wrk run (default 3)
#   --reps N        rounds of every path per workload (default 3)
#   --threads N     [server] threads of the measured router (default 16)
#   --portkey       also measure Portkey in --quick mode
#   --no-portkey    do not install or measure Portkey
#   --no-callgrind  skip the instructions-per-request profile
#   --out DIR       where results go (default tests/bench/results)
#   --baseline      also copy the new latest.json to previous.json
#   --keep          keep the work directory (configs, logs) for a look
#   --only LIST     some of: chat,stream,trickle,profile (default: all)
#   --streams N     trickling streams opened at once (default 256; up to
#                   20000: the client, the upstream, lighttpd and the
#                   router each hold one or two descriptors per stream:
#                   the limit is raised to the hard one, as root to 65536
#                   where the system allows; lighttpd and the router need
#                   two per stream, so a hard limit of 20000 holds 9,990)
#   --trickle-paths LIST  the trickle's paths, some of a,b,c,w,v,e (default
#                   all): "b,v" for lighttpd's own proxy and the events router
#   --pin-cpu N     run the events router (v) on CPU N only (taskset)
#   --threads-mode  paths c and d run [server] streams = threads (the default
#                   is events, as in the shipped config)
#   --hold          the trickling upstream holds each stream after its first
#                   event until all --streams are open (at most 120 s), so
#                   that they are all open at once however long opening
#                   them takes; a path that cannot hold them all (c, 16
#                   threads) waits out the 120 s
#
# Environment: LLMGATE_BUILDDIR (directory with llmgate-router; default: an
# optimised build made in _build-bench/), LIGHTTPD, NGINX, WRK, NODE,
# PORTKEY_VERSION, LLMGATE_BENCH_PORTKEY_DIR, LLMGATE_BENCH_ROUTER_ENV (more
# environment for the routers: "MALLOC_ARENA_MAX=2 LLMGATE_LOG_LEVEL=warn"),
# LLMGATE_BENCH_ROUTER_WRAPPER (run them under a tool: "valgrind
# --leak-check=full --log-file=%p.vg", with --keep to read its output).
#
# Installs what is missing (nginx-light, wrk, lighttpd, valgrind, nodejs)
# with apt-get when run as root. Everything runs on 127.0.0.1 on ephemeral
# ports and is stopped at the end, on failure and on Ctrl-C. Prints the
# table and writes tests/bench/results/latest.txt, latest.json and
# profile.txt; when results/previous.json exists, its figures are shown
# beside the new ones.
#
# Exit status: 0; 3 when an llmgate path failed its first check or had
# errors under load (the figures are still written); 1 on other failures.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for a in "$@"; do
	case $a in
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	esac
done

# ------------------------------------------------------------ tools
apt_updated=
apt_install() {
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		die "missing: $* (install these packages, then run again)"
	fi
	if [ -z "$apt_updated" ]; then
		say "apt-get update"
		apt-get update -qq >/dev/null || die "apt-get update failed"
		apt_updated=1
	fi
	say "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
		die "apt-get install $* failed"
}

nginx_bin=${NGINX:-}
if [ -z "$nginx_bin" ]; then
	if [ -x /usr/sbin/nginx ]; then nginx_bin=/usr/sbin/nginx
	elif command -v nginx >/dev/null 2>&1; then nginx_bin=$(command -v nginx)
	fi
fi
if [ -z "$nginx_bin" ]; then
	# The package's scripts start the system nginx (port 80) where they
	# can; stop that one again: the benchmark runs its own.
	was_running=
	[ -s /run/nginx.pid ] && was_running=1
	apt_install nginx-light || true
	[ -x /usr/sbin/nginx ] || apt_install nginx
	if [ -z "$was_running" ] && [ -s /run/nginx.pid ]; then
		/usr/sbin/nginx -s quit 2>/dev/null || true
	fi
	nginx_bin=/usr/sbin/nginx
fi
export NGINX="$nginx_bin"

need=
command -v "${WRK:-wrk}" >/dev/null 2>&1 || need="$need wrk"
[ -n "${LIGHTTPD:-}" ] || [ -x /usr/sbin/lighttpd ] || command -v lighttpd >/dev/null 2>&1 || need="$need lighttpd"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
command -v strip >/dev/null 2>&1 || need="$need binutils"
command -v "${NODE:-node}" >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
# shellcheck disable=SC2086
[ -z "$need" ] || apt_install $need

node=${NODE:-node}
"$node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
	die "node >= 18 needed ($("$node" --version))"

# ------------------------------------------------------------ build
if [ -z "${LLMGATE_BUILDDIR:-}" ]; then
	bdir="$top/_build-bench"
	if [ ! -f "$bdir/Makefile" ]; then
		[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh) || die "autogen.sh failed"
		mkdir -p "$bdir"
		say "configuring an optimised build in $bdir"
		(cd "$bdir" && ../configure CFLAGS='-O2 -g' >configure.out 2>&1) ||
			die "configure failed; see $bdir/configure.out"
	fi
	say "building in $bdir"
	make -C "$bdir" -j"$(nproc)" llmgate-router llmgate-keys >"$bdir/make.out" 2>&1 ||
		{ tail -20 "$bdir/make.out" >&2; die "build failed; see $bdir/make.out"; }
	LLMGATE_BUILDDIR=$bdir
fi
export LLMGATE_BUILDDIR
[ -x "$LLMGATE_BUILDDIR/llmgate-router" ] || die "no llmgate-router in $LLMGATE_BUILDDIR"

# ------------------------------------------------------------ run
# bench.js stops what it started; this trap is the second line for when it
# cannot (killed): it lists the process groups it started in a file.
keep=
for a in "$@"; do [ "$a" = --keep ] && keep=1; done
work=$(mktemp -d "${TMPDIR:-/tmp}/llmgate-bench-XXXXXX")
pidfile=$work/pids
: >"$pidfile"
export LLMGATE_BENCH_WORKDIR="$work" LLMGATE_BENCH_PIDFILE="$pidfile"
child=
# shellcheck disable=SC2317  # called from the traps
cleanup() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	if [ -s "$pidfile" ]; then
		while read -r pg; do
			if [ -n "$pg" ]; then kill -9 "-$pg" 2>/dev/null || true; fi
		done <"$pidfile"
	fi
	if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# thousands of streams hold thousands of descriptors in every process:
# the soft limit up to the hard one (root may go further where allowed)
if [ "$(id -u)" = 0 ]; then ulimit -n 65536 2>/dev/null || true; fi
ulimit -n "$(ulimit -H -n)" 2>/dev/null || true

"$node" "$here/bench.js" "$@" &
child=$!
rc=0
wait "$child" || rc=$?
child=
exit "$rc"
