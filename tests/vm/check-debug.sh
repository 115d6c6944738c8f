#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 'make check-debug': build (once, cached) a KASAN + lockdep + fault
# injection + DMA-API debug + kmemleak kernel from Debian's
# linux-source-6.12, build inpu.ko against it, and run in the VM the
# kselftests that do not need BTF, the hostile-client tests (with
# fail-nth over every allocation of CMDBUF_CREATE), the reliability tests
# and a short soak, then a kmemleak scan.  Any KASAN, lockdep, kmemleak or
# DMA-API report fails it (run-vm.sh checks the kernel log).  Prints
# TAP; the last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
B=build
out=$B/debug
mkdir -p "$out"
start=$(date +%s)
pass=0 fail=0
result() {
	if [ "$1" = 0 ]; then echo "ok - $2"; pass=$((pass + 1));
	else echo "not ok - $2"; fail=$((fail + 1)); fi
}

t0=$(date +%s)
if ksrc=$(bash scripts/build-debug-kernel.sh); then
	result 0 "debug kernel built or cached ($(( $(date +%s) - t0 ))s)"
else
	result 1 "debug kernel build"
	echo "$pass passed, $fail failed"
	exit 1
fi

# inpu.ko for the debug kernel, built in a copy so the normal build's
# objects next to the sources stay as they are.
mod=$out/module
rm -rf "$mod" && mkdir -p "$mod/engine"
cp -r Kbuild kernel uapi "$mod/"
cp engine/validate.c engine/inpu_validate.h engine/fw_image.c \
	engine/inpu_fw_image.h "$mod/engine/"
rm -f "$mod"/kernel/*.o "$mod"/kernel/.*.cmd
if bash scripts/kcompat.sh "$ksrc" "$PWD/$mod/kcompat/inpu_kcompat.h" >"$out/module.log" 2>&1 &&
	make -C "$ksrc" M="$PWD/$mod" KCOMPAT_DIR="$PWD/$mod/kcompat" W=1 modules \
		>>"$out/module.log" 2>&1; then
	result 0 "inpu.ko builds against the debug kernel"
else
	tail -n 30 "$out/module.log"
	result 1 "inpu.ko builds against the debug kernel (log: $out/module.log)"
	echo "$pass passed, $fail failed"
	exit 1
fi

# The normal VM image with this inpu.ko, the debug guest script and no
# Debian modules (the debug kernel has DRM built in).
root=$out/root
rm -rf "$root" && cp -a $B/vm/root "$root"
cp "$mod/inpu.ko" "$root/inpu.ko"
cp tests/vm/guest-check-debug.sh "$root/"
INPU_NO_MODULES=1 bash tests/vm/mkinitramfs.sh none "$root" "$out/initramfs.cpio" \
	$B/vm/firmware || { result 1 "debug initramfs"; exit 1; }

t0=$(date +%s)
bash tests/vm/run-vm.sh -t 4800 -m 2048 -c 2 -k "$ksrc/arch/x86/boot/bzImage" \
	-l "$out/serial.log" -q fault-inject=on "$out/initramfs.cpio" \
	'sh /opt/inpu/guest-check-debug.sh'
result $? "debug kernel VM run: kselftests, hostile clients, soak, kmemleak; clean kernel log ($(( $(date +%s) - t0 ))s, log: $out/serial.log)"
echo "make check-debug took $(( $(date +%s) - start ))s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
