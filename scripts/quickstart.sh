#!/bin/sh
# Sets up and starts llmgate on this machine: builds it, writes a config and
# a state folder under ./run, and starts lighttpd with llmgate-router as
# FastCGI on http://127.0.0.1:8080 (PORT=... to change).
#
# Provider keys come from the environment (DEEPSEEK_API_KEY, MOONSHOT_API_KEY,
# ZAI_API_KEY, OPENAI_API_KEY, SILICONFLOW_API_KEY, OPENROUTER_API_KEY). With
# none set, a local test upstream is started and configured as the provider
# "demo" (model demo-chat), so that the first request works offline.
#   scripts/quickstart.sh         set up and start
#   scripts/quickstart.sh stop    stop what it started
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
port=${PORT:-8080}

stop() {
	for f in "$run/lighttpd.pid" "$run/demo-upstream.pid"; do
		if [ -f "$f" ]; then
			kill "$(cat "$f")" 2>/dev/null || true
			rm -f "$f"
		fi
	done
}
if [ "${1:-}" = "stop" ]; then
	stop
	echo "llmgate stopped"
	exit 0
fi

cd "$top"
if [ "$(id -u)" = 0 ]; then
	sh scripts/deps.sh
fi
[ -x configure ] || ./autogen.sh >/dev/null
build="$top/_build"
mkdir -p "$build"
[ -f "$build/Makefile" ] || (cd "$build" && "$top/configure" -q)
make -s -C "$build" -j"$(nproc 2>/dev/null || echo 2)"
stop
mkdir -p "$run/state"
chmod 700 "$run/state"

have_key=""
for v in DEEPSEEK_API_KEY MOONSHOT_API_KEY ZAI_API_KEY OPENAI_API_KEY SILICONFLOW_API_KEY OPENROUTER_API_KEY; do
	eval "val=\${$v:-}"
	[ -n "$val" ] && have_key="$have_key $v"
done

conf="$run/llmgate.conf"
{
	echo "# written by scripts/quickstart.sh"
	echo "[server]"
	echo "threads = 8"
} > "$conf"
if [ -z "$have_key" ]; then
	if ! command -v node >/dev/null 2>&1; then
		echo "no provider key in the environment and no node for the demo upstream:" >&2
		echo "set e.g. DEEPSEEK_API_KEY=sk-... and run again" >&2
		exit 1
	fi
	node tests/mock/upstream.js --port 0 > "$run/demo-upstream.out" 2>&1 &
	echo $! > "$run/demo-upstream.pid"
	i=0
	while ! grep -q LISTENING "$run/demo-upstream.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 50 ] && { echo "demo upstream did not start" >&2; exit 1; }
		sleep 0.1
	done
	mport=$(awk '/LISTENING/ {print $2}' "$run/demo-upstream.out")
	cat >> "$conf" <<EOC

# No provider key was in the environment: "demo" is the local test upstream
# (tests/mock/upstream.js), not a real model.
[provider.demo]
base_url = http://127.0.0.1:$mport/demo/v1
keys = demo-upstream-key
models = demo-chat
EOC
fi

# a gateway key for the first request (AUTH_KEY, if set, works too)
if [ ! -f "$run/gateway-key" ]; then
	LLMGATE_CONFIG="$conf" LLMGATE_STATE_DIR="$run/state" "$build/llmgate-keys" create --name quickstart \
		> "$run/gateway-key" 2>/dev/null
	chmod 600 "$run/gateway-key"
fi
key=$(cat "$run/gateway-key")

env_lines=""
for v in $have_key AUTH_KEY DEEPSEEK_BASE_URL MOONSHOT_BASE_URL ZAI_BASE_URL OPENAI_BASE_URL SILICONFLOW_BASE_URL OPENROUTER_BASE_URL; do
	eval "val=\${$v:-}"
	[ -n "$val" ] && env_lines="$env_lines \"$v\" => \"$val\","
done
cat > "$run/lighttpd.conf" <<EOC
server.modules = ( "mod_fastcgi", "mod_setenv" )
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$top/www"
\$HTTP["url"] !~ "^/(v1/|api/|admin/api/|health)" {
  setenv.add-response-header += ( "Content-Security-Policy" => "frame-ancestors 'none'", "X-Frame-Options" => "DENY" )
}
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html; charset=utf-8", ".js" => "text/javascript; charset=utf-8",
  ".css" => "text/css; charset=utf-8", ".svg" => "image/svg+xml" )
server.errorlog = "$run/error.log"
server.pid-file = "$run/lighttpd.pid"
server.stream-response-body = 2
server.stream-request-body = 0
fastcgi.server = (
  "/v1/" => ((
    "socket" => "$run/router.sock",
    "bin-path" => "$build/llmgate-router",
    "max-procs" => 1,
    "check-local" => "disable",
    "bin-environment" => ( "LLMGATE_CONFIG" => "$conf", "LLMGATE_STATE_DIR" => "$run/state", $env_lines ),
  )),
  "/api/" => (( "socket" => "$run/router.sock-0", "check-local" => "disable" )),
  "/health" => (( "socket" => "$run/router.sock-0", "check-local" => "disable" )),
  "/v1beta/" => (( "socket" => "$run/router.sock-0", "check-local" => "disable" )),
  "/mcp" => (( "socket" => "$run/router.sock-0", "check-local" => "disable" )),
  "/sse" => (( "socket" => "$run/router.sock-0", "check-local" => "disable" )),
  "/metrics" => (( "socket" => "$run/router.sock-0", "check-local" => "disable" )),
  "/analyze_error" => (( "socket" => "$run/router.sock-0", "check-local" => "disable" )),
  "/admin/api/" => ((
    "socket" => "$run/admin.sock",
    "bin-path" => "$build/llmgate-admin",
    "max-procs" => 1,
    "check-local" => "disable",
    "bin-environment" => ( "LLMGATE_CONFIG" => "$conf", "LLMGATE_STATE_DIR" => "$run/state" ),
  )),
)
EOC
lighttpd -f "$run/lighttpd.conf"
i=0
until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 50 ] && { echo "gateway did not start; see $run/error.log" >&2; exit 1; }
	sleep 0.1
done
model=demo-chat
[ -n "$have_key" ] && model=deepseek-chat
cat <<EOM
llmgate is running on http://127.0.0.1:$port  (logs: $run/error.log; stop: scripts/quickstart.sh stop)
admin page: http://127.0.0.1:$port/   (the first visit sets the admin password)
providers:${have_key:- demo (local test upstream)}
gateway key: $key   (more: LLMGATE_CONFIG=$conf LLMGATE_STATE_DIR=$run/state _build/llmgate-keys create --name NAME)
try:
  curl http://127.0.0.1:$port/v1/chat/completions -H "Authorization: Bearer $key" \\
       -H 'Content-Type: application/json' -d '{"model":"$model","messages":[{"role":"user","content":"Hello"}]}'
EOM
