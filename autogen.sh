#!/bin/sh
# Regenerates the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --install --force
# the TAP driver used by 'make check'
for d in /usr/share/automake-*; do
	if [ -f "$d/tap-driver.sh" ]; then
		cp "$d/tap-driver.sh" build-aux/
		break
	fi
done
