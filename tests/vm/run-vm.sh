#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot the Debian 6.12 kernel in our QEMU with an INPU device, run a command
# in the guest and return its exit status.
#
# usage: run-vm.sh [-t SECONDS] [-l LOG] [-s] INITRAMFS [COMMAND...]
#   -t  wall-clock limit for the whole VM run (default 600)
#   -l  also write the full serial log to LOG
#   -s  interactive shell instead of a command (ends with 'poweroff -f')
#   -q  extra arguments for the -device inpu option (e.g. -q sa-rows=32)
#   -m  guest memory in MiB (default 1024)
#   -x  another cpio archive to add to the initramfs (e.g. benchmark models)
#   -c  virtual CPUs (default 2: the driver's races need real parallelism,
#       which multi-threaded TCG gives)
#   -k  kernel image (default Debian's /boot/vmlinuz-<ver>)
#
# Fails (status 1) when the command fails, when the VM times out or dies
# before reporting a status, or when the kernel log shows BUG:, WARNING:,
# Oops, Call Trace, a lockup or a panic.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/env.sh"

timeout_s=600 log= shell=0 devopts= mem=1024 extra= cpus=2 kernel=
while getopts "t:l:sq:m:x:c:k:" o; do
	case $o in
	t) timeout_s=$OPTARG ;;
	l) log=$OPTARG ;;
	s) shell=1 ;;
	q) devopts=,$OPTARG ;;
	m) mem=$OPTARG ;;
	x) extra=$OPTARG ;;
	c) cpus=$OPTARG ;;
	k) kernel=$OPTARG ;;
	*) sed -n '4,21p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ]; then
	sed -n '4,21p' "$0" >&2
	exit 2
fi
initrd=$1
shift

kver=$(inpu_kver)
kernel=${kernel:-/boot/vmlinuz-$kver}
qemu=$INPU_CACHE/qemu/qemu-system-x86_64
if [ ! -x "$qemu" ]; then
	echo "run-vm: $qemu missing; run 'make qemu'" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The command travels as a second cpio archive appended to the first; the
# kernel unpacks both into the same rootfs.
mkdir -p "$work/cmd"
if [ $# -gt 0 ]; then
	printf '%s\n' "$*" >"$work/cmd/cmd.sh"
else
	echo 'true' >"$work/cmd/cmd.sh"
fi
(cd "$work/cmd" && echo cmd.sh | cpio -o -H newc --quiet) >"$work/cmd.cpio"
cat "$initrd" ${extra:+"$extra"} "$work/cmd.cpio" >"$work/initrd.cpio"

append="console=ttyS0 loglevel=3 panic=-1 oops=panic softlockup_panic=1 nokaslr"
qargs=(
	-M q35 -accel tcg,thread=multi -cpu max -m "$mem" -smp "$cpus"
	-nodefaults -no-user-config -no-reboot -nic none
	-L /usr/share/seabios -L /usr/share/qemu
	-kernel "$kernel" -initrd "$work/initrd.cpio"
	-device "inpu$devopts"
)

if [ "$shell" = 1 ]; then
	exec "$qemu" "${qargs[@]}" -nographic -append "$append inpu_vm.shell=1"
fi

out=$work/serial.log
set +e
timeout -k 10 "$timeout_s" "$qemu" "${qargs[@]}" -display none \
	-serial stdio -monitor none -append "$append" </dev/null 2>&1 |
	tr -d '\r' | tee "$out" | sed -n '/^INPU-VM-DMESG-BEGIN$/,$!p'
rc=${PIPESTATUS[0]}
set -e
[ -n "$log" ] && cp "$out" "$log"

fail=0
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "run-vm: VM timed out after ${timeout_s}s" >&2
	fail=1
fi
status=$(sed -n 's/^INPU-VM-EXIT: \([0-9]*\)$/\1/p' "$out" | tail -n 1)
if [ -z "$status" ]; then
	echo "run-vm: the guest reported no exit status (QEMU exit $rc)" >&2
	fail=1
elif [ "$status" != 0 ]; then
	echo "run-vm: guest command exited with status $status" >&2
	fail=1
fi
bad='BUG:|WARNING:|Oops|Call Trace|suspected memory leak|soft lockup|hard LOCKUP|blocked for more than|Kernel panic|RCU stall|rcu_sched detected stall'
if grep -E "^\[ *[0-9]+\.[0-9]+\] .*($bad)" "$out" >"$work/bad"; then
	echo "run-vm: kernel log shows problems:" >&2
	sed 's/^/run-vm:   /' "$work/bad" >&2
	echo "run-vm: kernel log follows" >&2
	sed -n '/^INPU-VM-DMESG-BEGIN$/,/^INPU-VM-DMESG-END$/p' "$out" >&2
	fail=1
fi
exit "$fail"
