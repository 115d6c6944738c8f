#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kselftest (TAP): firmware boot.  The good image boots and shows its
# version; each corrupted image is refused with the message naming what is
# wrong, by the driver's check or, with fw_host_check=0, by the device's
# own; a missing image fails probe cleanly; the good image boots again.
# Runs in the test VM as root with inpu.ko at $KO.
KO=${KO:-/opt/inpu/inpu.ko}
FWDIR=/lib/firmware/inpu
GOOD=$FWDIR/inpu-fw.bin
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; fails=$((fails + 1)); }

# reload FIRMWARE HOST_CHECK: reload the driver with that image.
reload() {
	rmmod inpu 2>/dev/null
	dmesg -c >/dev/null
	insmod "$KO" firmware="$1" fw_host_check="$2"
}

# expect_reject NAME IMAGE HOST_CHECK MESSAGE
expect_reject() {
	reload "$2" "$3"
	if [ -e /dev/accel/accel0 ]; then
		not_ok "$1: device came up with a bad image"
		return
	fi
	if dmesg | grep -qF "$4"; then
		ok "$1"
	else
		not_ok "$1: no \"$4\" in the kernel log"
		dmesg | sed 's/^/# /' | tail -n 5
	fi
}

# patch FILE OFFSET OCTAL_BYTE: overwrite one byte.
patch() {
	printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

echo "TAP version 13"
echo "1..11"
mkdir -p "$FWDIR/test"
size=$(wc -c <"$GOOD")

# 1: the good image, as loaded at boot.
v=$(cat /sys/class/accel/accel0/device/fw_version 2>/dev/null)
if [ -n "$v" ] && [ "$v" != "0.0.0" ] && inpu info | grep -q "^firmware: *$v "; then
	ok "good image booted: version $v in sysfs and QUERY"
else
	not_ok "good image booted (sysfs fw_version '$v')"
fi

cp "$GOOD" "$FWDIR/test/magic.bin"
patch "$FWDIR/test/magic.bin" 0 '\130'
cp "$GOOD" "$FWDIR/test/abi.bin"
patch "$FWDIR/test/abi.bin" 12 '\003'
head -c $((size - 100)) "$GOOD" >"$FWDIR/test/truncated.bin"
cp "$GOOD" "$FWDIR/test/digest.bin"
patch "$FWDIR/test/digest.bin" $((size - 1)) '\000'
cmp -s "$GOOD" "$FWDIR/test/digest.bin" && patch "$FWDIR/test/digest.bin" $((size - 1)) '\001'
cp "$GOOD" "$FWDIR/test/align.bin"
# Section 0's align field (header 64 bytes + 16): 3 is not a power of two.
patch "$FWDIR/test/align.bin" 80 '\003'

expect_reject "driver refuses bad magic" inpu/test/magic.bin 1 \
	"firmware inpu/test/magic.bin rejected: bad magic (section -1, field magic at offset 0x0)"
expect_reject "driver refuses a future ABI version" inpu/test/abi.bin 1 \
	"firmware inpu/test/abi.bin rejected: built for another engine ABI version (section -1, field abi_version at offset 0xc)"
expect_reject "driver refuses a truncated image" inpu/test/truncated.bin 1 \
	"firmware inpu/test/truncated.bin rejected: image_size does not match the file size"
expect_reject "driver refuses a bad section alignment" inpu/test/align.bin 1 \
	"firmware inpu/test/align.bin rejected: section misaligned (section 0, field align at offset 0x50)"
expect_reject "device refuses a wrong digest" inpu/test/digest.bin 1 \
	"device rejected firmware inpu/test/digest.bin: SHA-256 digest mismatch"
expect_reject "device refuses bad magic" inpu/test/magic.bin 0 \
	"device rejected firmware inpu/test/magic.bin: bad magic (status 2, section -1, offset 0x0)"
expect_reject "device refuses a future ABI version" inpu/test/abi.bin 0 \
	"device rejected firmware inpu/test/abi.bin: built for another engine ABI version (status 2, section -1, offset 0xc)"
expect_reject "device refuses a truncated image" inpu/test/truncated.bin 0 \
	"device rejected firmware inpu/test/truncated.bin: image_size does not match the file size"
expect_reject "missing image fails probe" inpu/test/missing.bin 1 \
	"cannot load firmware inpu/test/missing.bin: -2"

reload inpu/inpu-fw.bin 1
if [ -e /dev/accel/accel0 ] && inpu info >/dev/null &&
	[ "$(cat /sys/class/accel/accel0/device/fw_version)" = "$v" ]; then
	ok "good image boots again after the rejections"
else
	not_ok "good image boots again after the rejections"
fi
rm -rf "$FWDIR/test"
[ "$fails" = 0 ]
