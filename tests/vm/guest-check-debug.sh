#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the VM on the debug kernel ('make check-debug'): the
# kselftests that run there (the tracing test needs BTF, which the debug
# kernel is built without, and the end-to-end model runs are covered by
# make check), a short soak, then a kmemleak scan.
rc=0
cd /opt/inpu/kselftest || exit 1
for t in inpu_query_test inpu_job_test fw_boot.sh reliability.sh hostile.sh \
	ioctl_fuzz.sh; do
	echo "# kselftest $t"
	./"$t" || rc=1
done
echo "# soak"
sh /opt/inpu/soak.sh -j 5000 -p 4 || rc=1
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Objects freed by RCU or work items need a moment; scan twice.
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	if grep -q unreferenced /sys/kernel/debug/kmemleak; then
		echo "# kmemleak reports leaks:"
		head -n 80 /sys/kernel/debug/kmemleak
		rc=1
	else
		echo "# kmemleak: no leaks"
	fi
else
	echo "# kmemleak: not available"
	rc=1
fi
exit $rc
