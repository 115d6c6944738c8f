#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build a debug kernel for 'make check-debug' from Debian's linux-source-6.12
# (the same version as the headers inpu.ko is normally built against) into
# $INPU_CACHE/debug-kernel/<version>: x86_64_defconfig plus what the test VM
# needs (DRM, DRM accel, the GPU scheduler and the shmem GEM helper built in,
# so the VM loads no module but inpu.ko) and the checkers: KASAN, lockdep,
# sleep-in-atomic checks, failslab/fail_page_alloc with fail-nth,
# DMA_API_DEBUG and kmemleak.  Prints the build directory; reruns are
# incremental and a finished build is reused as is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1 || true)
if [ -z "$tarball" ]; then
	echo "build-debug-kernel: /usr/src/linux-source-6.12.tar.* missing; run 'make deps'" >&2
	exit 1
fi
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
top=$INPU_CACHE/debug-kernel/$ver
src=$top/linux-source-6.12
log=$top/build.log

if [ -f "$top/.done" ]; then
	echo "$src"
	exit 0
fi
mkdir -p "$top"
start=$(date +%s)
if [ ! -f "$top/.extracted" ]; then
	echo "build-debug-kernel: extracting $tarball" >&2
	rm -rf "$src"
	tar -xf "$tarball" -C "$top"
	# The scheduler and the shmem helper are selected by GPU drivers and
	# have no prompt; give them one so that the config can build them in
	# without building a GPU driver.
	sed -i '/^config DRM_SCHED$/,/^$/s/^\ttristate$/\ttristate "GPU scheduler"/;
		/^config DRM_GEM_SHMEM_HELPER$/,/^$/s/^\ttristate$/\ttristate "shmem GEM helper"/' \
		"$src/drivers/gpu/drm/Kconfig"
	# Likewise devcoredump, which drivers select.
	sed -i '/^config WANT_DEV_COREDUMP$/,/^$/s/^\tbool$/\tbool "device coredump"/' \
		"$src/drivers/base/Kconfig"
	touch "$top/.extracted"
fi

cd "$src"
if [ ! -f .config ]; then
	make -s x86_64_defconfig
	scripts/config \
		-e MODULES -e MODULE_UNLOAD -d MODULE_SIG -d MODULE_SIG_FORCE \
		-e PCI -e PCI_MSI -e DEVTMPFS -e BLK_DEV_INITRD -e RD_GZIP \
		-e SERIAL_8250 -e SERIAL_8250_CONSOLE -e FW_LOADER \
		-e DEBUG_FS -e TRACING -e FTRACE -e ENABLE_DEFAULT_TRACERS \
		-e DRM -e DRM_ACCEL -e DRM_SCHED -e DRM_GEM_SHMEM_HELPER \
		-e SYNC_FILE -e WANT_DEV_COREDUMP -e DEV_COREDUMP \
		-e KASAN -e KASAN_GENERIC -e KASAN_INLINE \
		-e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP -e DEBUG_OBJECTS \
		-e DEBUG_OBJECTS_FREE -e DEBUG_OBJECTS_TIMERS \
		-e DEBUG_OBJECTS_WORK -e DEBUG_OBJECTS_RCU_HEAD \
		-e FAULT_INJECTION -e FAILSLAB -e FAIL_PAGE_ALLOC \
		-e FAULT_INJECTION_DEBUG_FS \
		-e DMA_API_DEBUG \
		-e DEBUG_KMEMLEAK -e DEBUG_KMEMLEAK_AUTO_SCAN \
		--set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 32000 \
		-d DEBUG_INFO -d DEBUG_INFO_DWARF5 -d DEBUG_INFO_BTF \
		-e DEBUG_INFO_NONE \
		-d DRM_I915 -d DRM_FBDEV_EMULATION \
		-d WLAN -d WIRELESS -d SOUND -d USB_SUPPORT -d HID -d INPUT_MOUSE \
		-d NETFILTER -d IPV6 -d WIRELESS -d RFKILL
	make -s olddefconfig
	for opt in KASAN PROVE_LOCKING DEBUG_ATOMIC_SLEEP FAILSLAB FAIL_PAGE_ALLOC \
		FAULT_INJECTION_DEBUG_FS DMA_API_DEBUG DEBUG_KMEMLEAK DRM_ACCEL \
		DRM_SCHED DRM_GEM_SHMEM_HELPER DEVTMPFS PCI_MSI DEV_COREDUMP; do
		grep -q "^CONFIG_$opt=y" .config || {
			echo "build-debug-kernel: CONFIG_$opt did not stay enabled" >&2
			rm -f .config
			exit 1
		}
	done
fi
echo "build-debug-kernel: building (log: $log)" >&2
if ! make -j"$(nproc)" bzImage modules >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	exit 1
fi
echo "build-debug-kernel: built in $(( $(date +%s) - start ))s" >&2
touch "$top/.done"
echo "$src"
