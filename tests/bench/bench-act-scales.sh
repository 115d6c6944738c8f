#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make bench-act-scales: what per-token activation scales and int16 keys
# (firmware ABI 2, the quantizer's defaults) cost in decode speed.  Each
# model is quantized twice by the same 'inpu quantize' (the bench's quick
# options: one calibration story, fixed smoothing, round-to-nearest):
# with '--act-scales static --key-cache 8' (the stream of ABI 1) and with
# the defaults; both decode the same prompt on the cpu backend of this
# host (the engine the device runs), ROUNDS times in alternation, and the
# best tokens/s of each is kept, with the cycle model's device cycles per
# generated token (deterministic, where the noise of a shared machine is
# not).  Prints a table with the ratios default / static and writes
# build/bench/act-scales.md.  Models: stories260K and
# random checkpoints in the stories15M and stories110M shapes (synth_model,
# as make bench makes them).  Numbers, not pass/fail.
#
# Environment: ROUNDS (default 5), STEPS (default 256), ACT_BENCH_MODELS
# (default "stories260K stories15M stories110M").
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
B=build
out=$B/bench
work=$out/act-scales
mkdir -p "$work"
shared=$(inpu_shared)
calib=$shared/data/tinystories-calib.txt
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-256}
MODELS=${ACT_BENCH_MODELS:-stories260K stories15M stories110M}
prompt=$(head -c 100 "$shared/data/tinystories-dev.txt" | tr '\n' ' ')
# inpu links OpenBLAS for the quantizer; its idle pool must not take a
# core from the run measured.
export OPENBLAS_NUM_THREADS=1

# checkpoint NAME: the float checkpoint and tokenizer into $work.
checkpoint() {
	case $1 in
	stories260K)
		cp "$shared/models/stories260K.bin" "$work/$1.bin"
		cp "$shared/models/tok512.bin" "$work/$1-tok.bin" ;;
	stories15M)
		$B/bench/synth_model 288 768 6 6 6 32000 256 1 "$work/$1.bin" \
			"$work/$1-tok.bin" ;;
	stories110M)
		$B/bench/synth_model 768 2048 12 12 12 32000 1024 1 \
			"$work/$1.bin" "$work/$1-tok.bin" ;;
	*)
		echo "bench-act-scales: unknown model '$1'" >&2
		exit 2 ;;
	esac
}

# decode MODEL TOKENIZER FIELD: FIELD of one cpu-backend run's JSON stats.
decode() {
	$B/bin/inpu run -m "$1" -z "$2" -p "$prompt" -n "$STEPS" --backend cpu \
		--quiet --ignore-eos --json | tail -n 1 |
		python3 -c "import json,sys; print(json.load(sys.stdin)['$3'])"
}

table=$out/act-scales.md
{
	echo "# Decode speed: per-token scales and int16 keys vs static int8 (cpu backend, this host)"
	echo
	echo "| model | scheme | static, int8 keys (tok/s) | defaults (tok/s) | defaults / static | cycle model: defaults / static |"
	echo "|---|---|---|---|---|---|"
} >"$table"
for name in $MODELS; do
	echo "bench-act-scales: $name"
	checkpoint "$name"
	for s in w8a8 w4a8; do
		for v in static defaults; do
			extra=()
			[ $v = static ] && extra=(--act-scales static --key-cache 8)
			$B/bin/inpu quantize -m "$work/$name.bin" -z "$work/$name-tok.bin" \
				-c "$calib" -S $s --max-stories 1 --samples 128 --smooth 0.5 \
				--rtn "${extra[@]}" -o "$work/$name-$s-$v.inpu" \
				>"$work/$name-$s-$v.log" 2>&1
		done
		best_s=0 best_d=0
		for _ in $(seq "$ROUNDS"); do
			for v in static defaults; do
				t=$(decode "$work/$name-$s-$v.inpu" "$work/$name-tok.bin" gen_tok_s)
				if [ $v = static ]; then
					best_s=$(python3 -c "print(max($best_s, $t))")
				else
					best_d=$(python3 -c "print(max($best_d, $t))")
				fi
			done
		done
		ratio=$(python3 -c "print(f'{$best_d / $best_s:.3f}')")
		cs=$(decode "$work/$name-$s-static.inpu" "$work/$name-tok.bin" gen_cycles_per_token)
		cd=$(decode "$work/$name-$s-defaults.inpu" "$work/$name-tok.bin" gen_cycles_per_token)
		cratio=$(python3 -c "print(f'{$cs / $cd:.3f}')")
		echo "| $name | $s | $best_s | $best_d | $ratio | $cratio |" >>"$table"
	done
	rm -f "$work/$name.bin"
done
{
	echo
	echo "Each: $STEPS positions after the prompt (the first 100 characters of"
	echo "tinystories-dev.txt), greedy, --ignore-eos; best of $ROUNDS alternating runs."
	echo "Cycle model: modelled device cycles per generated token (engine/ISA.md"
	echo "section 5), static / defaults, so that above 1 means the defaults are faster."
} >>"$table"
cat "$table"
