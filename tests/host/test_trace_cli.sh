#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# inpu-trace on the host, where no inpu module is loaded: argument
# handling and the messages for a user who cannot trace and for a missing
# module.  (Tracing itself is tested in the VM: inpu_trace_test.sh.)
# usage: test_trace_cli.sh PATH_TO_INPU_TRACE   (prints TAP)
set -u
tool=$1
TAP_NAME=trace-cli
. "$(dirname "$0")/tap.sh"

check "--help prints the usage" 0 '^usage: inpu-trace .*INTERVAL' "$tool" --help
check "--help lists every option" 0 '--per-context' "$tool" -h
check "unknown option" 2 'usage: inpu-trace' "$tool" --bogus
check "-P and -C together" 2 '-P and -C exclude each other' "$tool" -P -C
check "interval 0" 2 "INTERVAL: not a number in 1\\.\\." "$tool" 0
check "count not a number" 2 "COUNT: not a number" "$tool" 1 x
check "a third argument" 2 "unexpected argument '3'" "$tool" 1 2 3
check "bad --attach" 2 "want auto, btf or tracepoint, not 'kprobe'" "$tool" -a kprobe
check "bad --pid" 2 "--pid: not a number" "$tool" -p -5
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	check "not root: says what it needs" 1 'needs root \(or CAP_BPF and CAP_PERFMON\)' \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$tool"
else
	n=$((n + 1))
	echo "ok $n trace-cli: not root # SKIP needs root and setpriv to drop privileges"
fi
if [ ! -e /sys/module/inpu ] && [ "$(id -u)" = 0 ]; then
	check "module not loaded: says so" 1 'the inpu module is not loaded \(no /sys/module/inpu\)' "$tool"
else
	n=$((n + 1))
	echo "ok $n trace-cli: module not loaded # SKIP the inpu module is loaded here, or not root"
fi
echo "1..$n"
exit $failed
