#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# 'make check': build everything, run the quality gates, the host tests and
# the kselftests in the VM.  Every result is a TAP "ok"/"not ok" line; the
# last line is the summary "N passed, N failed[, N skipped]" and the exit
# status is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

B=build
mkdir -p "$B"
log=$B/check.log
: >"$log"
MAKE=${MAKE:-make}
start=$(date +%s)

# Echo to the terminal and keep a copy for counting.
emit() { tee -a "$log"; }
result() { # status description
	if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi | emit
}
section() { printf '\n==== %s\n' "$*" | emit; }

section "build"
for t in module userspace trace engine firmware kselftest host-tests fuzz qemu initramfs; do
	if $MAKE --no-print-directory "$t" >"$B/make-$t.log" 2>&1; then
		result 0 "build: make $t"
	else
		tail -n 30 "$B/make-$t.log"
		result 1 "build: make $t (log: $B/make-$t.log)"
	fi
done

section "quality gates"
kver=$(inpu_kver)
ksrc=$(bash scripts/ksrc.sh)

if [ -f "$B/module.log" ] && ! grep -E 'warning:|error:' "$B/module.log"; then
	result 0 "gate: inpu.ko builds with W=1 and no warnings"
else
	result 1 "gate: inpu.ko builds with W=1 and no warnings"
fi

if perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	-f $(ls kernel/*.[ch] | grep -v "\.mod\.c$") >"$B/checkpatch.log" 2>&1; then
	result 0 "gate: checkpatch.pl --strict clean on kernel/"
else
	cat "$B/checkpatch.log"
	result 1 "gate: checkpatch.pl --strict clean on kernel/"
fi

qsrc=$(ls -d "$INPU_CACHE"/qemu/qemu-10.0.*/ 2>/dev/null | sort -V | tail -n 1)
if [ -n "$qsrc" ] && perl "$qsrc/scripts/checkpatch.pl" --no-tree --terse \
	-f qemu-device/*.c >"$B/qemu-checkpatch.log" 2>&1; then
	result 0 "gate: QEMU checkpatch.pl clean on qemu-device/"
else
	cat "$B/qemu-checkpatch.log" 2>/dev/null
	result 1 "gate: QEMU checkpatch.pl clean on qemu-device/"
fi

# Every uapi header compiles on its own in C, C++ and the kernel.
drm_cflags=$(pkg-config --cflags libdrm)
kb=$B/uapi-kbuild
rm -rf "$kb" && mkdir -p "$kb"
echo 'obj-m := uapi_check.o' >"$kb/Kbuild"
printf '%s\n' '#include <linux/module.h>' 'MODULE_LICENSE("GPL");' \
	'MODULE_DESCRIPTION("inpu uapi header check");' >"$kb/main.c"
objs="main.o"
for h in uapi/*/*.h; do
	inc=${h#uapi/}
	name=$(basename "${inc%.h}")
	for lang in c c++; do
		std=c11; [ $lang = c++ ] && std=c++17
		cc=gcc; [ $lang = c++ ] && cc=g++
		# The declaration keeps a macro-only header from being an empty
		# translation unit, which -pedantic rejects.
		if printf "#include <%s>\nint inpu_uapi_check;\n" "$inc" | $cc -x $lang -std=$std -Wall -Wextra \
			-Werror -pedantic -fsyntax-only -Iuapi $drm_cflags - 2>&1; then
			result 0 "gate: $inc compiles alone as $lang"
		else
			result 1 "gate: $inc compiles alone as $lang"
		fi
	done
	printf '#include <%s>\n' "$inc" >"$kb/h_$name.c"
	objs="$objs h_$name.o"
done
echo "uapi_check-y := $objs" >>"$kb/Kbuild"
echo "ccflags-y := -I$PWD/uapi -I\$(srctree)/include/uapi/drm" >>"$kb/Kbuild"
if make -C "/usr/src/linux-headers-$kver" M="$PWD/$kb" W=1 modules \
	>"$kb/build.log" 2>&1 && ! grep -q 'warning:' "$kb/build.log"; then
	result 0 "gate: every uapi header compiles alone in the kernel (W=1)"
else
	cat "$kb/build.log"
	result 1 "gate: every uapi header compiles alone in the kernel (W=1)"
fi

# The engine is integer-only: no floating-point instruction in the object
# of any engine source except tables_gen.c (the offline table generator).
engine_objs=""
for c in engine/*.c; do
	[ "$c" = engine/tables_gen.c ] && continue
	engine_objs="$engine_objs $B/engine/$(basename "${c%.c}").o"
done
bash tests/host/check_no_float.sh $engine_objs 2>&1 | emit
# So is the per-token path: the generation loop, the device and cpu
# backends over it, the host SAMPLE op and the tables the cpu backend
# reads from the firmware image.
bash tests/host/check_no_float.sh $B/runtime/generate.o $B/runtime/backend_device.o \
	$B/runtime/backend_cpu.o $B/runtime/qdev.o $B/runtime/qsample.o \
	$B/runtime/qcpu.o $B/runtime/fw_tables.o 2>&1 | emit

section "host tests (ASan + UBSan)"
# The model tests read ../shared/{models,data}; say where it is once.
if INPU_SHARED=$(inpu_shared); then
	export INPU_SHARED
	echo "# shared model files: $INPU_SHARED"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "$B"/host-tests/*; do
	[ -x "$t" ] || continue
	echo "# $(basename "$t")" | emit
	"$t" 2>&1 | emit
done
bash tests/host/test_cli.sh "$B/asan/bin/inpu" 2>&1 | emit
# GGUF import end to end: three quantizations, so the optimised inpu (4.5
# minutes under ASan, 1 without); the GGUF readers run under ASan in
# test_model_gguf and in the fuzzer below.
bash tests/host/test_gguf_cli.sh "$B/bin/inpu" 2>&1 | emit
bash tests/host/test_fw_cli.sh "$B/asan/bin/inpu-fw" 2>&1 | emit
bash tests/host/test_trace_cli.sh "$B/asan/bin/inpu-trace" 2>&1 | emit

section "fuzzing (bounded)"
# Every parser of untrusted input, 10 s each with a fixed seed, from a fresh
# corpus seeded with files made now (no binary files in git): firmware
# images by inpu-fw, tiny models and streams by fuzz_seeds, and the shared
# stories260K.bin and tok512.bin.
fz=$B/fuzz
fuzz_iters=0
# The last "DONE" line of a libFuzzer log as "N runs, cov: ...".
fuzz_stats() {
	grep -E '^#[0-9]+[[:space:]]+DONE' "$1" | tail -n 1 |
		sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/\1 runs, /; s/[[:space:]]+/ /g'
}
# Runs done, also when it stopped early: the last "#N" status line.
fuzz_count() {
	grep -oE '^#[0-9]+' "$1" | tail -n 1 | tr -d '#'
}
if [ -x "$fz/fuzz_fw_image" ] && [ -f "$B/firmware/inpu-fw.bin" ]; then
	rm -rf "$fz/corpus" && mkdir -p "$fz/corpus"
	cp "$B/firmware/inpu-fw.bin" "$fz/corpus/default.bin"
	"$B/bin/inpu-fw" build -o "$fz/corpus/small.bin" --exp-len 8 --silu-len 8 \
		--note seed >/dev/null
	"$fz/fuzz_fw_image" -seed=1 -max_total_time=10 -artifact_prefix="$fz/" \
		"$fz/corpus" >"$fz/fuzz.log" 2>&1
	st=$?
	stats=$(fuzz_stats "$fz/fuzz.log")
	n=$(fuzz_count "$fz/fuzz.log")
	fuzz_iters=$((fuzz_iters + ${n:-0}))
	[ "$st" = 0 ] || tail -n 30 "$fz/fuzz.log"
	result "$st" "fuzz: firmware image parser, 10 s, seed 1 (${stats:-no stats}; log: $fz/fuzz.log)"
else
	result 1 "fuzz: not run, the fuzzer or the firmware image failed to build"
fi

fuzz_shared=$(inpu_shared 2>/dev/null) || fuzz_shared=
[ -n "$fuzz_shared" ] ||
	echo "# fuzz: shared model files not found, generated seeds only" | emit
# fuzz_run NAME WHAT SHARED_SEEDS [libFuzzer flags]: build/fuzz/fuzz_NAME
# on a fresh corpus of fuzz_seeds NAME and the files of SHARED_SEEDS (a
# list separated by ':', may be empty).
fuzz_run() {
	# flog, not log: emit() appends to $log, which a local would shadow.
	local name=$1 what=$2 seed=$3 corpus=$fz/corpus-$1 flog=$fz/$1.log st stats n
	shift 3
	if [ ! -x "$fz/fuzz_$name" ] || [ ! -x "$fz/fuzz_seeds" ]; then
		result 1 "fuzz: $what: not run, the fuzzer failed to build"
		return
	fi
	rm -rf "$corpus" && mkdir -p "$corpus"
	if ! "$fz/fuzz_seeds" "$name" "$corpus" >"$flog" 2>&1; then
		cat "$flog"
		result 1 "fuzz: $what: not run, no seeds (log: $flog)"
		return
	fi
	if [ -n "$seed" ]; then
		local seeds
		IFS=: read -ra seeds <<<"$seed"
		cp "${seeds[@]}" "$corpus/"
	fi
	"$fz/fuzz_$name" -seed=1 -max_total_time=10 -timeout=30 \
		-artifact_prefix="$fz/$name-" "$@" "$corpus" >"$flog" 2>&1
	st=$?
	stats=$(fuzz_stats "$flog")
	n=$(fuzz_count "$flog")
	fuzz_iters=$((fuzz_iters + ${n:-0}))
	[ "$st" = 0 ] || tail -n 30 "$flog"
	result "$st" "fuzz: $what, 10 s, seed 1 (${stats:-no stats}; log: $flog)"
}
fuzz_run validate "command-stream validator" ""
fuzz_run qmodel ".inpu model reader" ""
if [ -n "$fuzz_shared" ]; then
	ckpt=$fuzz_shared/models/stories260K.bin
	# libFuzzer would cut a seed longer than 1 MiB.
	fuzz_run checkpoint "llama2.c checkpoint reader" "$ckpt" \
		-max_len="$(stat -c %s "$ckpt")"
	# tok105: a character-level vocabulary without byte tokens.
	fuzz_run tokenizer "llama2.c tokenizer reader, encode and decode" \
		"$fuzz_shared/models/tok512.bin:$fuzz_shared/models/babyllama/tok105.bin"
	gg=$fuzz_shared/models/gguf
	# -max_len: the larger seed, so libFuzzer keeps both whole.
	fuzz_run gguf "GGUF reader" \
		"$gg/stories260K-pad192-q4_0.gguf:$gg/stories260K-pad192-q8_0.gguf" \
		-max_len="$(stat -c %s "$gg/stories260K-pad192-q8_0.gguf")"
else
	fuzz_run checkpoint "llama2.c checkpoint reader" ""
	fuzz_run tokenizer "llama2.c tokenizer reader, encode and decode" ""
	fuzz_run gguf "GGUF reader" ""
fi
echo "# fuzz iterations: $fuzz_iters" | emit

section "device qtest (QEMU alone, no guest)"
# The device model over QEMU's qtest protocol: ring, MMU, engine results,
# faults, reset and cancellation of a long op (one TAP line per check).
qemu_bin=$INPU_CACHE/qemu/qemu-system-x86_64
if [ -x "$qemu_bin" ] && [ -f "$B/firmware/inpu-fw.bin" ]; then
	python3 tests/qtest/ring-check.py --qemu "$qemu_bin" \
		--fw "$B/firmware/inpu-fw.bin" 2>&1 | emit
	result "${PIPESTATUS[0]}" "qtest: ring-check.py finished with status 0"
else
	result 1 "qtest: not run, QEMU or the firmware image failed to build"
fi

section "VM: kselftests and module lifecycle (Debian $kver, TCG)"
if [ -f "$B/vm/initramfs.cpio" ] && [ -x "$INPU_CACHE/qemu/qemu-system-x86_64" ]; then
	bash tests/vm/run-vm.sh -t 900 -l "$B/vm/serial.log" -q fault-inject=on \
		"$B/vm/initramfs.cpio" 'sh /opt/inpu/guest-check.sh' 2>&1 | emit
	result "${PIPESTATUS[0]}" "vm: guest run finished with status 0 and a clean kernel log"
else
	result 1 "vm: not run, the initramfs or QEMU failed to build"
fi

# Reliability summary: the VM stress run (inpu_reliability_test), the
# ioctl fuzzer in the VM and the host fuzzers.
rel=$(grep -oE 'reliability: jobs [0-9]+, faults injected [0-9]+, recoveries [0-9]+, lost completions [0-9]+, leaked objects [0-9]+' "$log" | tail -n 1)
ioctl_iter=$(sed -nE 's/.*# ioctl fuzz: seed [0-9]+, ([0-9]+) iterations.*/\1/p' "$log" | tail -n 1)
host_iter=$(sed -nE 's/^# fuzz iterations: ([0-9]+).*/\1/p' "$log" | tail -n 1)
echo
if [ -n "$rel" ]; then
	echo "reliability: ${rel#reliability: }, fuzz iterations $(( ${ioctl_iter:-0} + ${host_iter:-0} )) (ioctl ${ioctl_iter:-not run}, host ${host_iter:-not run})"
else
	echo "reliability: the stress test did not report (see the VM section)"
fi

pass=$(grep -E '^ok ' "$log" | grep -vc '# SKIP' || true)
skip=$(grep -E '^ok ' "$log" | grep -c '# SKIP' || true)
fail=$(grep -cE '^not ok ' "$log" || true)
echo
echo "make check took $(( $(date +%s) - start ))s"
summary="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary" | tee -a "$log"
[ "$fail" = 0 ]
