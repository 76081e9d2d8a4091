#!/bin/sh
# Installs what llmgate needs to build, run and test on Debian/Ubuntu.
# Run as root. Skips apt entirely when everything is already there.
set -e
pkgs="build-essential autoconf automake libtool pkg-config curl ca-certificates
libfcgi-dev libcurl4-openssl-dev libmbedtls-dev libcjson-dev libgdbm-dev libcrypt-dev lighttpd"
# the tests drive the admin page in Debian's Chromium, with Node clients;
# they start real Redis, PostgreSQL, Apache, nginx, busybox httpd and
# Prometheus on loopback, read PDFs with poppler's pdftotext, and check
# the man pages with groff
[ "${1:-}" = "--test" ] && pkgs="$pkgs nodejs npm chromium valgrind clang libclang-rt-14-dev
redis-server libhiredis-dev postgresql libpq-dev apache2 libapache2-mod-fcgid nginx busybox
prometheus poppler-utils groff-base"
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
