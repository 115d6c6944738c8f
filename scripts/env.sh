# SPDX-License-Identifier: MIT
# Sourced by the build scripts: where the cache lives and which kernel to use.

INPU_CACHE=${INPU_CACHE:-${HOME:-/root}/.cache/inpu}
export INPU_CACHE


# The newest installed Debian 6.12 kernel that has both an image and headers.
inpu_kver() {
	local v best=
	for v in $(ls /lib/modules 2>/dev/null | grep -E '^6\.12\.[0-9]+' | sort -V); do
		if [ -f "/boot/vmlinuz-$v" ] && [ -d "/usr/src/linux-headers-$v" ]; then
			best=$v
		fi
	done
	if [ -z "$best" ]; then
		echo "no Debian 6.12 kernel with headers installed; run 'make deps' as root" >&2
		return 1
	fi
	echo "$best"
}

# The folder with the shared model and data files (models/, data/): never
# copied into the repository.  $INPU_SHARED wins; else ../shared next to
# the checkout; else /work/shared, where this workplace keeps it (a CI
# clone may live elsewhere).
inpu_shared() {
	local top d
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	for d in "${INPU_SHARED:-}" "$top/../shared" /work/shared; do
		if [ -n "$d" ] && [ -f "$d/models/stories260K.bin" ]; then
			(cd "$d" && pwd)
			return 0
		fi
	done
	echo "shared model files not found: set INPU_SHARED to the folder with models/ and data/" >&2
	return 1
}
