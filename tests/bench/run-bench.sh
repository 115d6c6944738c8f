#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make bench: decode and prefill speed of the quantized models through
# /dev/accel in the VM, per-token latency (median, 99th percentile), the
# same models on the cpu backend natively on this host, and the device
# time per token the cycle model gives; in the same run, llama.cpp on the
# same checkpoints (tests/bench/llamacpp.sh: built once into the cache,
# llama-bench on one thread) and the decode ceiling of this machine (one
# core's memory read speed over the bytes a token reads).  Three shapes:
# stories260K (the real model) and random models in the shapes of
# stories15M and stories110M (tests/bench/synth_model.c, quantized by
# 'inpu quantize' with a short calibration).
# Writes build/bench/bench.md (the tables) and build/bench/bench.png.
# Numbers, not pass/fail: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
. tests/bench/llamacpp.sh
B=build
out=$B/bench
models=$out/models
mkdir -p "$models"
shared=$(inpu_shared)
calib=$shared/data/tinystories-calib.txt
STEPS=${STEPS:-256}

# The prompt: the first 100 characters of the dev text (a prefill of
# 25 to 100 tokens, depending on the tokenizer).
head -c 100 "$shared/data/tinystories-dev.txt" | tr '\n' ' ' >"$models/prompt.txt"

# synth NAME DIM HIDDEN LAYERS HEADS VOCAB SEQ: checkpoint and tokenizer,
# then W8A8 and W4A8 models, kept while no newer inpu was built (the
# checkpoint is made again, the same from its seed, when they are not).
# W4A8 in 4-bit codes only (4.5 bits per weight, as llama.cpp's Q4_0):
# the speed of the 4-bit kernels, no 8-bit layers mixed in.
synth() {
	local name=$1 s stale=0 opts
	for s in w8a8 w4a8; do
		[ "$models/$name-$s.inpu" -nt "$B/bin/inpu" ] || stale=1
	done
	[ -f "$models/$name.bin" ] || stale=1
	[ $stale = 1 ] || return 0
	echo "bench: random $name-shaped checkpoint"
	$B/bench/synth_model "$2" "$3" "$4" "$5" "$5" "$6" "$7" 1 \
		"$models/$name.bin" "$models/$name-tok.bin"
	for s in w8a8 w4a8; do
		[ "$models/$name-$s.inpu" -nt "$B/bin/inpu" ] && continue
		opts=
		[ $s = w4a8 ] && opts="--avg-bits 4"
		echo "bench: quantize $name ($s; one calibration story, fixed smoothing, round-to-nearest)"
		# shellcheck disable=SC2086 # options are words
		$B/bin/inpu quantize -m "$models/$name.bin" -z "$models/$name-tok.bin" \
			-c "$calib" -S "$s" --max-stories 1 --samples 128 --smooth 0.5 --rtn $opts \
			-o "$models/$name-$s.inpu.tmp" >"$models/$name-$s.log" 2>&1
		mv "$models/$name-$s.inpu.tmp" "$models/$name-$s.inpu"
	done
}
synth stories15M 288 768 6 6 32000 256
synth stories110M 768 2048 12 12 32000 1024
cp $B/models/stories260K-w8a8.inpu $B/models/stories260K-w4a8.inpu \
	$B/models/tok512.bin "$models/"
# llama.cpp's blocks of 32 need stories260K's FFN (172) padded: same function.
[ "$models/stories260K.bin" -nt "$shared/models/stories260K.bin" ] ||
	$B/bench/pad_model "$shared/models/stories260K.bin" "$models/stories260K.bin"

# NAME MODEL TOKENIZER STEPS
cat >"$models/list" <<LIST
stories260K-w8a8 stories260K-w8a8.inpu tok512.bin $STEPS
stories260K-w4a8 stories260K-w4a8.inpu tok512.bin $STEPS
stories15M-w8a8 stories15M-w8a8.inpu stories15M-tok.bin $STEPS
stories15M-w4a8 stories15M-w4a8.inpu stories15M-tok.bin $STEPS
stories110M-w8a8 stories110M-w8a8.inpu stories110M-tok.bin $STEPS
stories110M-w4a8 stories110M-w4a8.inpu stories110M-tok.bin $STEPS
LIST

# The cpu backend on this host, one process at a time, three runs each
# (the table keeps the best).
: >"$out/host.txt"
while read -r name model tok steps; do
	echo "bench: $name on the cpu backend (host)"
	for _ in 1 2 3; do
		j=$(OPENBLAS_NUM_THREADS=1 $B/bin/inpu run -m "$models/$model" -z "$models/$tok" \
			-p "$(cat "$models/prompt.txt")" -n "$steps" --backend cpu --quiet \
			--ignore-eos --json | tail -n 1)
		echo "BENCH $name cpu $j" >>"$out/host.txt"
	done
done <"$models/list"

# llama.cpp on the same checkpoints, one thread: the prompt at the length
# inpu ran it (its tokenizer's count) and at 256, and as many generated
# tokens.  It runs, as the memory read speed does, once before the VM and
# once after it (pass 1 and 2 below), so both sides are measured across
# the same stretch of this shared machine; the table keeps the best.
llamacpp_build
declare -A pp_n tg_n
for m in stories260K stories15M stories110M; do
	tok=$models/$m-tok.bin
	[ $m = stories260K ] && tok=$models/tok512.bin
	echo "bench: llama.cpp converts $m ($LLAMACPP_TYPES)"
	llamacpp_gguf "$m" "$models/$m.bin" "$tok" "$models"
	read -r "pp_n[$m]" "tg_n[$m]" < <(python3 -c 'import json, sys
j = json.loads(sys.stdin.read().split(" ", 3)[3])
print(j["prompt_tokens"], j["generated_tokens"])' <<<"$(grep -m 1 "^BENCH $m-w8a8 cpu " "$out/host.txt")")
done
anchor_pass() {
	local m
	for m in stories260K stories15M stories110M; do
		echo "bench: llama.cpp on $m, pass $1"
		# shellcheck disable=SC2046 # one file per type
		llamacpp_bench "$out/llamacpp-$1-$m.json" "${pp_n[$m]}" "${tg_n[$m]}" \
			$(for t in $LLAMACPP_TYPES; do echo "$models/$m-$t.gguf"; done)
	done
	echo "bench: memory read speed, one core, pass $1"
	$B/bench/memread >"$out/memread-$1.json"
}
rm -f "$out"/llamacpp-*.json "$out"/memread*.json
anchor_pass 1

# The device in the VM: the models as an extra initramfs archive.
echo "bench: the VM (TCG), models under /opt/inpu/bench"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/opt/inpu/bench"
cp "$models"/*.inpu "$models"/*tok*.bin "$models/list" "$models/prompt.txt" \
	"$stage/opt/inpu/bench/"
cp tests/bench/guest-bench.sh "$stage/opt/inpu/bench/"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out/models.cpio"
bash tests/vm/run-vm.sh -t 1200 -m 2048 -x "$out/models.cpio" $B/vm/initramfs.cpio \
	'sh /opt/inpu/bench/guest-bench.sh' | tee "$out/vm.txt" | grep -E '^BENCH' || true
rm -f "$out/models.cpio"
anchor_pass 2

python3 tests/bench/bench_table.py "$out"
