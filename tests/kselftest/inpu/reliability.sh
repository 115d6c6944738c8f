#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kselftest wrapper: reload inpu.ko with a short job timeout (so hangs are
# found in a fraction of a second), run inpu_reliability_test, and load the
# module again with its defaults.  Needs the device created with
# fault-inject=on (make check does) and debugfs.
KO=${KO:-/opt/inpu/inpu.ko}
rmmod inpu || exit 1
insmod "$KO" job_timeout_ms=200 || exit 1
inpu_reliability_test
rc=$?
rmmod inpu && insmod "$KO" || rc=1
exit $rc
