#!/bin/sh
# Runs the integration suite (node:test) as one TAP test for 'make check':
# a real lighttpd with llmgate-router as FastCGI, the mock upstreams, and
# the official client SDKs.
set -e
src=${LLMGATE_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
node=${NODE:-node}
if [ ! -d "$src/tests/node_modules" ]; then
	# e.g. 'make distcheck' from a tarball: nothing to run the clients with
	echo "1..0 # SKIP tests/node_modules missing: run 'npm ci --prefix tests' (scripts/test.sh does)"
	exit 0
fi
cd "$src/tests"
# a test that hangs fails after 5 minutes instead of holding the suite
exec "$node" --test --test-reporter=tap --test-concurrency=2 --test-timeout=300000 integration/
