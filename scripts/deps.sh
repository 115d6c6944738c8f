#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Install everything the inpu build and tests need on Debian 12 (bookworm).
# Idempotent; run as root.  Only bookworm, bookworm-security and
# bookworm-backports provide binary packages: the trixie entry below is
# deb-src only (it is where QEMU 10.0.x source comes from), so it can never
# upgrade an installed package.
set -euo pipefail

if ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
	echo "deps: this project targets Debian 12 (bookworm)" >&2
	exit 1
fi

list=/etc/apt/sources.list.d/inpu.sources
want=$(cat <<'EOT'
# Written by inpu's scripts/deps.sh.
# bookworm-backports: meson >= 1.5, libbpf 1.4, bpftool 7.5 (installed by name
# with -t bookworm-backports; backports are never picked automatically).
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# Source only: QEMU 10.0.x.  deb-src adds no binary packages.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
)

stamp=/var/lib/apt/lists/inpu-updated
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
	[ "$(id -u)" = 0 ] || { echo "deps: run as root to set up $list" >&2; exit 1; }
	printf '%s\n' "$want" >"$list"
	rm -f "$stamp"
fi

# Installed with bookworm's (or bookworm-security's) versions.
pkgs=(
	build-essential pkg-config dpkg-dev xz-utils ca-certificates
	linux-image-6.12-amd64 linux-headers-6.12-amd64 linux-source-6.12
	pahole kmod cpio busybox-static
	# the debug kernel of make check-debug
	flex bison bc libelf-dev
	libdrm-dev libssl-dev
	# the quantizer's matrix products (userspace/quantizer/README.md)
	libopenblas-dev liblapacke-dev pkg-config
	# make bench-quantize: peak memory
	time
	clang libclang-rt-14-dev
	seabios qemu-system-data
	gnuplot-nox
	# make bench: llama.cpp, built from the shared anchors (tests/bench/llamacpp.sh)
	cmake
	ninja-build libglib2.0-dev libpixman-1-dev zlib1g-dev python3-venv
)
# Installed from bookworm-backports.
bpo_pkgs=(meson python3-pycotap libbpf-dev bpftool)

missing=0
for p in "${pkgs[@]}" "${bpo_pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing=1
	fi
done
if [ "$missing" = 0 ] && [ -f "$stamp" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: packages are missing; run 'make deps' as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
touch "$stamp"
apt-get install -y -q --no-install-recommends "${pkgs[@]}"
apt-get install -y -q --no-install-recommends -t bookworm-backports "${bpo_pkgs[@]}"
echo "deps: done"
