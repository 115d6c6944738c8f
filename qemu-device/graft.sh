#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Graft the INPU device into a QEMU source tree:
#   qemu-device/*  -> <qemu>/hw/inpu/
#   uapi/          -> <qemu>/hw/inpu/uapi/
#   engine/        -> <qemu>/hw/inpu/engine/   (the shared engine sources)
# and hook hw/inpu into QEMU's Kconfig and meson.  Files are copied only
# when their content differs, so ninja rebuilds exactly what changed.
# Safe to run any number of times.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/hw/meson.build" ]; then
	echo "usage: $0 <qemu-source-dir>" >&2
	exit 2
fi
qemu=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

sync_file() {
	mkdir -p "$(dirname "$2")"
	cmp -s "$1" "$2" || cp "$1" "$2"
}

for f in "$here"/*.c "$here"/*.h "$here"/meson.build "$here"/Kconfig; do
	[ -e "$f" ] || continue
	sync_file "$f" "$qemu/hw/inpu/$(basename "$f")"
done
(cd "$repo/uapi" && find . -name '*.h') | while read -r h; do
	sync_file "$repo/uapi/$h" "$qemu/hw/inpu/uapi/$h"
done
for f in "$repo"/engine/*.c "$repo"/engine/*.h; do
	sync_file "$f" "$qemu/hw/inpu/engine/$(basename "$f")"
done

# Hook the directory in, once.
grep -qx "subdir('inpu')" "$qemu/hw/meson.build" ||
	echo "subdir('inpu')" >>"$qemu/hw/meson.build"
grep -qx "source inpu/Kconfig" "$qemu/hw/Kconfig" ||
	echo "source inpu/Kconfig" >>"$qemu/hw/Kconfig"

# Debian's "+ds" tarball has no edk2 firmware blobs; never try to unpack
# them (the VM boots with SeaBIOS from Debian's seabios package).
sed -i 's/^\( *unpack_edk2_blobs = \)bzip2\.found()$/\1false/' "$qemu/meson.build"
