#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make bench: decode and prefill speed of the quantized models through
# /dev/accel in the VM, per-token latency (median, 99th percentile), the
# same models on the cpu backend natively on this host, and the device
# time per token the cycle model gives; compared with llama.cpp's numbers
# measured natively on this kind of machine (issue anchors, one thread,
# 256 tokens).  Three shapes: stories260K (the real model) and random
# models in the shapes of stories15M and stories110M (tests/bench/
# synth_model.c, quantized by 'inpu quantize' with a short calibration).
# Writes build/bench/bench.md (the table) and build/bench/bench.png.
# Numbers, not pass/fail: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
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
synth() {
	local name=$1 s stale=0
	for s in w8a8 w4a8; do
		[ "$models/$name-$s.inpu" -nt "$B/bin/inpu" ] || stale=1
	done
	[ $stale = 1 ] || return 0
	echo "bench: random $name-shaped checkpoint"
	$B/bench/synth_model "$2" "$3" "$4" "$5" "$5" "$6" "$7" 1 \
		"$models/$name.bin" "$models/$name-tok.bin"
	for s in w8a8 w4a8; do
		[ "$models/$name-$s.inpu" -nt "$B/bin/inpu" ] && continue
		echo "bench: quantize $name ($s; one calibration story, fixed smoothing, round-to-nearest)"
		$B/bin/inpu quantize -m "$models/$name.bin" -z "$models/$name-tok.bin" \
			-c "$calib" -S "$s" --max-stories 1 --samples 128 --smooth 0.5 --rtn \
			-o "$models/$name-$s.inpu.tmp" >"$models/$name-$s.log" 2>&1
		mv "$models/$name-$s.inpu.tmp" "$models/$name-$s.inpu"
	done
	rm -f "$models/$name.bin"
}
synth stories15M 288 768 6 6 32000 256
synth stories110M 768 2048 12 12 32000 1024
cp $B/models/stories260K-w8a8.inpu $B/models/stories260K-w4a8.inpu \
	$B/models/tok512.bin "$models/"

# NAME MODEL TOKENIZER STEPS  llama.cpp decode tok/s (Q8_0 for W8A8,
# Q4_0 for W4A8) and prompt tok/s (Q8_0), from the issue.
cat >"$models/list" <<LIST
stories260K-w8a8 stories260K-w8a8.inpu tok512.bin $STEPS
stories260K-w4a8 stories260K-w4a8.inpu tok512.bin $STEPS
stories15M-w8a8 stories15M-w8a8.inpu stories15M-tok.bin $STEPS
stories15M-w4a8 stories15M-w4a8.inpu stories15M-tok.bin $STEPS
stories110M-w8a8 stories110M-w8a8.inpu stories110M-tok.bin $STEPS
stories110M-w4a8 stories110M-w4a8.inpu stories110M-tok.bin $STEPS
LIST
cat >"$models/anchors" <<'ANCHORS'
stories260K-w8a8 7080 8414
stories260K-w4a8 7204 8414
stories15M-w8a8 875 5103
stories15M-w4a8 1005 5103
stories110M-w8a8 153 527
stories110M-w4a8 213 527
ANCHORS

# The cpu backend on this host, one process at a time.
: >"$out/host.txt"
while read -r name model tok steps; do
	echo "bench: $name on the cpu backend (host)"
	j=$($B/bin/inpu run -m "$models/$model" -z "$models/$tok" -p "$(cat "$models/prompt.txt")" \
		-n "$steps" --backend cpu --quiet --ignore-eos --json | tail -n 1)
	echo "BENCH $name cpu $j" >>"$out/host.txt"
done <"$models/list"

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

python3 tests/bench/bench_table.py "$models/anchors" "$out/host.txt" "$out/vm.txt" "$out"
