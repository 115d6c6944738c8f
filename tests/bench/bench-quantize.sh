#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make bench-quantize: how long 'inpu quantize' takes and how much memory it
# needs, W8A8 and W4A8 with the default options (W4A8: fine-tuning for
# small models, GPTQ above INPU_FT_AUTO_MAX_PARAMS), on random float
# checkpoints in the shapes of stories15M and stories110M (tests/bench/
# synth_model.c, as make bench makes them) and on the two real models of
# the shared folder (stories260K, BabyLlama 1M).  Calibration: the shared
# calibration text, every story.  Writes build/bench/quantize.md with the
# wall time, the peak resident memory (/usr/bin/time) and the targets of
# issue 20 (stories15M W8A8 <= 60 s, W4A8 <= 3 min; stories110M W8A8
# <= 5 min, W4A8 <= 15 min; peak memory <= 4x the float checkpoint).
# Numbers, not pass/fail: the machine is shared and noisy.
#
# Environment: BENCH_QUANT_MODELS (default "stories260K babyllama-1M
# stories15M stories110M") picks models; QUANT_OPTS_w8a8, QUANT_OPTS_w4a8
# extra options (default none); THREADS the --threads value
# (default: one per CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
B=build
out=$B/bench
work=$out/quantize
mkdir -p "$work"
shared=$(inpu_shared)
calib=$shared/data/tinystories-calib.txt
MODELS=${BENCH_QUANT_MODELS:-stories260K babyllama-1M stories15M stories110M}
opts_w8a8=${QUANT_OPTS_w8a8-}
opts_w4a8=${QUANT_OPTS_w4a8-}
threads=${THREADS:+--threads $THREADS}

# NAME -> "checkpoint tokenizer target_w8a8_s target_w4a8_s" (0: no target);
# the random checkpoints are made on first use and kept until make clean.
model_files() {
	case $1 in
	stories260K) echo "$shared/models/stories260K.bin $shared/models/tok512.bin 0 0" ;;
	babyllama-1M) echo "$shared/models/babyllama/babyllama-1M.bin" \
		"$shared/models/babyllama/tok105.bin 0 0" ;;
	stories15M) synth stories15M 288 768 6 6 32000 256 && echo "$work/stories15M.bin" \
		"$work/stories15M-tok.bin 60 180" ;;
	stories110M) synth stories110M 768 2048 12 12 32000 1024 && echo "$work/stories110M.bin" \
		"$work/stories110M-tok.bin 300 900" ;;
	*) echo "bench-quantize: unknown model '$1'" >&2; return 1 ;;
	esac
}

# synth NAME DIM HIDDEN LAYERS HEADS VOCAB SEQ (messages to stderr)
synth() {
	[ -f "$work/$1-tok.bin" ] && [ -f "$work/$1.bin" ] && return 0
	echo "bench-quantize: random $1-shaped checkpoint" >&2
	$B/bench/synth_model "$2" "$3" "$4" "$5" "$5" "$6" "$7" 1 \
		"$work/$1.bin" "$work/$1-tok.bin" >&2
}

# verdict VALUE LIMIT: "ok", "over" or "-" (no limit)
verdict() {
	awk -v v="$1" -v l="$2" 'BEGIN { print l <= 0 ? "-" : (v <= l ? "ok" : "over") }'
}

table=$work/rows.md
: >"$table"
for name in $MODELS; do
	read -r ckpt tok t8 t4 < <(model_files "$name")
	mb=$(awk -v b="$(stat -L -c %s "$ckpt")" 'BEGIN { printf "%.1f", b / 1048576 }')
	for s in w8a8 w4a8; do
		opts=$opts_w8a8 limit=$t8
		[ "$s" = w4a8 ] && opts=$opts_w4a8 limit=$t4
		echo "bench-quantize: $name $s ${opts:-(defaults)}"
		# shellcheck disable=SC2086 # options are words
		/usr/bin/time -f '%e %M' -o "$work/$name-$s.time" \
			$B/bin/inpu quantize -m "$ckpt" -z "$tok" -c "$calib" --scheme "$s" \
			$opts $threads -o "$work/$name-$s.inpu" >"$work/$name-$s.log" 2>&1 ||
			{ tail -n 5 "$work/$name-$s.log" >&2; exit 1; }
		read -r secs kb <"$work/$name-$s.time"
		rss=$(awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')
		ratio=$(awk -v r="$rss" -v m="$mb" 'BEGIN { printf "%.1f", r / m }')
		method=$(sed -n 's/^scheme: *//p' "$work/$name-$s.log" | head -n 1 |
			sed 's/^inpu quantize: //')
		printf '| %s | %s | %s | %s | %.1f | %s | %s | %s | %sx | %s |\n' \
			"$name" "$mb" "$s" "$method" "$secs" "${limit/#0/-}" \
			"$(verdict "$secs" "$limit")" "$rss" "$ratio" \
			"$(verdict "$ratio" 4)" >>"$table"
		grep -h ' done (' "$work/$name-$s.log" | sed "s/^/  $name $s: /"
	done
done

{
	echo "# inpu quantize: time and memory"
	echo
	echo "$(date -u +%F), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)),"
	echo "calibration text $(basename "$calib"), extra options: W8A8 '${opts_w8a8}', W4A8 '${opts_w4a8}'${threads:+, $threads}."
	echo
	echo "| model | float MB | scheme | method | wall s | target s | time | peak RSS MB | RSS / float | memory (<= 4x) |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	cat "$table"
} >"$out/quantize.md"
cat "$out/quantize.md"
