#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Extract the few files the project takes from Debian's linux-source-6.12
# tarball (never committed): the kselftest harness headers and
# checkpatch.pl with its data files.  Cached per package version; prints
# the directory that holds them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1 || true)
if [ -z "$tarball" ]; then
	echo "ksrc: /usr/src/linux-source-6.12.tar.* missing; run 'make deps'" >&2
	exit 1
fi
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
dir=$INPU_CACHE/ksrc/$ver
files=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)
if [ ! -f "$dir/.done" ]; then
	echo "ksrc: extracting kselftest headers and checkpatch.pl from $tarball" >&2
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xf "$tarball" -C "$dir" --strip-components=1 \
		"${files[@]/#/linux-source-6.12/}"
	touch "$dir/.done"
fi
echo "$dir"
