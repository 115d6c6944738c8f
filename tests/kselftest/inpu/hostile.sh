#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kselftest wrapper: reload inpu.ko with a one-second job timeout (so a
# lost interrupt or a stall is found quickly, and a long job must show
# progress to survive), run inpu_hostile_test, and load the module again
# with its defaults.  Needs the device created with fault-inject=on (make
# check does), debugfs and root (unbind, module parameters).
KO=${KO:-/opt/inpu/inpu.ko}
rmmod inpu || exit 1
insmod "$KO" job_timeout_ms=1000 || exit 1
inpu_hostile_test
rc=$?
rmmod inpu && insmod "$KO" || rc=1
exit $rc
