#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the test VM ('make soak'): reload inpu.ko with a short job
# timeout (hangs are found in 0.4 s) and no banning (the soak hangs the
# device on purpose, from every process), run inpu_soak with the given
# arguments, print the kernel's own warnings if any, and restore the
# module's defaults.
KO=/opt/inpu/inpu.ko
rmmod inpu || exit 1
insmod "$KO" job_timeout_ms=200 hang_limit=0 || exit 1
inpu_soak "$@"
rc=$?
rmmod inpu && insmod "$KO" || rc=1
exit $rc
