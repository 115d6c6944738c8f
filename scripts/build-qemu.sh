#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Fetch QEMU 10.0.x source from Debian (trixie deb-src, see deps.sh), graft
# our device into it and build a minimal qemu-system-x86_64 under
# $INPU_CACHE/qemu.  Reruns are incremental.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

top=$INPU_CACHE/qemu
build=$top/build
mkdir -p "$top"

src=$(ls -d "$top"/qemu-10.0.*/ 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$src" ]; then
	echo "build-qemu: fetching QEMU source with apt-get source qemu/trixie"
	(cd "$top" && apt-get source -q qemu/trixie) >"$top/fetch.log" 2>&1 || {
		cat "$top/fetch.log" >&2
		echo "build-qemu: apt-get source failed (is the trixie deb-src entry set up? run 'make deps')" >&2
		exit 1
	}
	src=$(ls -d "$top"/qemu-10.0.*/ | sort -V | tail -n 1)
fi
src=${src%/}

"$here/../qemu-device/graft.sh" "$src"

if [ ! -f "$build/build.ninja" ]; then
	echo "build-qemu: configuring $src"
	rm -rf "$build"
	mkdir -p "$build"
	(cd "$build" && "$src/configure" \
		--target-list=x86_64-softmmu --without-default-features \
		--enable-tcg --enable-kvm --disable-docs --disable-tools \
		--disable-user --disable-download --disable-install-blobs \
		--disable-werror --python=/usr/bin/python3) >"$top/configure.log" 2>&1 || {
		tail -n 40 "$top/configure.log" >&2
		echo "build-qemu: configure failed, full log in $top/configure.log" >&2
		exit 1
	}
fi
echo "build-qemu: building (ninja, incremental)"
ninja -C "$build" qemu-system-x86_64 >"$top/build.log" 2>&1 || {
	grep -E 'error|Error' "$top/build.log" | head -n 40 >&2
	echo "build-qemu: build failed, full log in $top/build.log" >&2
	exit 1
}
ln -sf "$build/qemu-system-x86_64" "$top/qemu-system-x86_64"
echo "build-qemu: $top/qemu-system-x86_64"
