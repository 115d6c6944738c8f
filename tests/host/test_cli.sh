#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The inpu CLI's argument handling and error messages, without a device.
# usage: test_cli.sh PATH_TO_INPU   (prints TAP)
set -u
inpu=$1
n=0 failed=0

check() { # description, expected status, grep pattern for output, command...
	local desc=$1 want=$2 pat=$3 out rc
	shift 3
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$pat" <<<"$out"; then
		echo "ok $n cli: $desc"
	else
		echo "not ok $n cli: $desc (status $rc, want $want; output: $out)"
		failed=1
	fi
}

echo "TAP version 13"
echo "1..8"
check "--help exits 0 and lists commands" 0 '^usage: inpu <command>' "$inpu" --help
check "no arguments is a usage error" 2 '^usage:' "$inpu"
check "unknown command is named" 2 "unknown command 'frobnicate'" "$inpu" frobnicate
check "--version" 0 '^inpu [0-9]+\.[0-9]+\.[0-9]+ \(driver ABI [0-9]+\)' "$inpu" --version
check "info --help" 0 '^usage: inpu info' "$inpu" info --help
check "info bad option" 2 'usage: inpu info' "$inpu" info --bogus
check "info names a missing device" 1 '/nonexistent/accel7: no such device' "$inpu" info -d /nonexistent/accel7
check "info rejects a non-DRM node" 1 '/dev/null: not a DRM device' "$inpu" info -d /dev/null
exit $failed
