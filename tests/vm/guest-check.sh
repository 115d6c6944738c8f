#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the test VM (from /opt/inpu): the kselftests, then module
# lifecycle checks.  Prints TAP; exits non-zero if anything failed.
rc=0
n=0
ok() { n=$((n + 1)); echo "ok $n vm: $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n vm: $1"; rc=1; }

for t in /opt/inpu/kselftest/*; do
	[ -x "$t" ] || continue
	echo "# kselftest $(basename "$t")"
	"$t" || rc=1
done

echo "TAP version 13"
if inpu info >/tmp/info 2>&1 && grep -q '^identity: *0x55504e49$' /tmp/info; then
	ok "inpu info reads the device"
else
	not_ok "inpu info reads the device: $(cat /tmp/info)"
fi

# An open file pins the module: unload must be refused, not crash.
exec 3</dev/accel/accel0
if rmmod inpu 2>/dev/null; then
	not_ok "rmmod refused while /dev/accel/accel0 is open"
	insmod /opt/inpu/inpu.ko
else
	ok "rmmod refused while /dev/accel/accel0 is open"
fi
exec 3<&-

reload_ok=1
for i in $(seq 1 20); do
	if ! rmmod inpu; then
		reload_ok=0; echo "# rmmod failed in round $i"; break
	fi
	if [ -e /dev/accel/accel0 ]; then
		reload_ok=0; echo "# /dev/accel/accel0 still present after rmmod"; break
	fi
	if ! insmod /opt/inpu/inpu.ko; then
		reload_ok=0; echo "# insmod failed in round $i"; break
	fi
	if ! inpu info >/dev/null; then
		reload_ok=0; echo "# inpu info failed after reload $i"; break
	fi
done
if [ $reload_ok = 1 ]; then
	ok "20 rounds of module unload and reload, device usable after each"
else
	not_ok "20 rounds of module unload and reload, device usable after each"
fi
echo "1..$n"
exit $rc
