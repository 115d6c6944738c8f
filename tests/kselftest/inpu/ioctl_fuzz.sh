#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kselftest wrapper: the seeded ioctl fuzzer for a bounded time (seed and
# time from INPU_FUZZ_SEED / INPU_FUZZ_SECONDS, default 1 and 20).  It
# passes when the fuzzer ends with the device running a good job; the VM
# harness fails the run if the kernel log shows a warning or worse.
echo "TAP version 13"
echo "1..1"
if inpu_ioctl_fuzz -s "${INPU_FUZZ_SEED:-1}" -t "${INPU_FUZZ_SECONDS:-20}" >/tmp/ioctl-fuzz.out 2>&1; then
	grep '^#' /tmp/ioctl-fuzz.out
	echo "ok 1 ioctl fuzzer, then a good job bit-exact"
else
	sed 's/^/# /' /tmp/ioctl-fuzz.out
	echo "not ok 1 ioctl fuzzer, then a good job bit-exact"
	exit 1
fi
