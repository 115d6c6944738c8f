#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build the test VM's initramfs (an uncompressed newc cpio):
#   busybox-static, tests/vm/init, the Debian modules inpu.ko depends on
#   (decompressed, with their load order), and everything under STAGING
#   (the project's binaries and inpu.ko, under /opt/inpu) together with the
#   shared libraries those binaries need, and the firmware images in
#   FIRMWARE_DIR under /lib/firmware/inpu/.
# usage: mkinitramfs.sh KVER STAGING OUT.cpio [FIRMWARE_DIR]
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 KVER STAGING_DIR OUT.cpio [FIRMWARE_DIR]" >&2
	exit 2
fi
kver=$1 staging=$2 out=$3 fwdir=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
moddir=/lib/modules/$kver

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules,opt/inpu}
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$here/init" "$root/init"

# Modules inpu.ko needs, in the order modprobe would load them; none for
# a kernel with them built in (INPU_NO_MODULES=1, the debug kernel).
: >"$root/lib/modules/load-order"
[ "${INPU_NO_MODULES:-0}" = 1 ] ||
for m in drm drm_kms_helper drm_shmem_helper gpu_sched; do
	modprobe -S "$kver" -d / --show-depends "$m"
done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' | while read -r ko; do
	name=$(basename "$ko")
	case "$name" in
	*.ko.xz) xz -dc "$ko" >"$root/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$ko" >"$root/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*) cp "$ko" "$root/lib/modules/$name" ;;
	esac
	echo "$name" >>"$root/lib/modules/load-order"
done
if [ "${INPU_NO_MODULES:-0}" != 1 ] && [ ! -s "$root/lib/modules/load-order" ]; then
	echo "mkinitramfs: no modules found for kernel $kver in $moddir" >&2
	exit 1
fi

cp -a "$staging"/. "$root/opt/inpu/"
if [ -n "$fwdir" ]; then
	mkdir -p "$root/lib/firmware/inpu"
	cp -a "$fwdir"/. "$root/lib/firmware/inpu/"
fi

# Shared libraries of every dynamically linked program we ship.
find "$root/opt/inpu" -type f -perm -u+x | while read -r f; do
	readelf -l "$f" 2>/dev/null | grep -q 'program interpreter' || continue
	ldd "$f" | awk '/=>/ { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }'
done | sort -u | while read -r lib; do
	[ -n "$lib" ] && [ -e "$lib" ] || continue
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
# The dynamic loader is looked up at its canonical path.
if [ -e /lib64/ld-linux-x86-64.so.2 ] && [ -d "$root/lib/x86_64-linux-gnu" ]; then
	mkdir -p "$root/lib64"
	cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
fi

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
