#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kselftest (TAP): end-to-end inference through /dev/accel, bit-exact with
# the CPU backend.  For stories260K and BabyLlama 1M (a character-level
# vocabulary), each quantized W8A8 and W4A8, 'inpu run'
# generates greedily from "Once upon a time" on the device (one submission
# per position) and on the CPU backend (the same stream through the engine
# library in this process); the generated token ids must be identical and
# so must the text.  Then
# the same with sampling (temperature 0.8, top-p 0.9, seed 42: the SAMPLE
# op and its PRNG on the device, the same op on the CPU).  By default the
# device runs the generated steps chained (each reads the token the
# previous step chose on the device), 8 steps per job, 32 steps in flight;
# one step per job and at a time (--depth 1 --per-job 1: one job per
# position) must agree too.  A long prompt (the first 300 characters of
# the dev text, about 140 tokens) prefilled on the device in batches of 128
# tokens (matrix-matrix ops) must give the ids of the cpu run one token
# per step, greedy and sampled with the same batching on both.  Last, a
# model runs with the tokenizer it carries (no -z) and generates the text
# it generates with its tokenizer file.
# Runs in the test VM with the models under $MODELS.
MODELS=${MODELS:-/opt/inpu/models}
STEPS=${STEPS:-64}
PROMPT="Once upon a time"
TMP=${TMPDIR:-/tmp}/inpu_e2e
SYSFS=/sys/class/accel/accel0/device
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; fails=$((fails + 1)); }
show() { sed 's/^/# /' "$1" | tail -n "${2:-5}"; }

echo "TAP version 13"
echo "1..29"
mkdir -p "$TMP"

# MODEL:TOKENIZER:CHARS (of the dev text in the long prompt).  BabyLlama
# has a character-level vocabulary: a character is a token, so its long
# prompt is shorter.
for spec in stories260K-w8a8:tok512.bin:300 stories260K-w4a8:tok512.bin:300 \
	babyllama-1M-w8a8:tok105.bin:150 babyllama-1M-w4a8:tok105.bin:150; do
	s=${spec%%:*} rest=${spec#*:}
	tok=$MODELS/${rest%%:*} chars=${rest#*:}
	m=$MODELS/$s.inpu
	args="-m $m -z $tok -n $STEPS --ids"

	jobs0=$(cat "$SYSFS/jobs_completed" 2>/dev/null || echo 0)
	inpu run $args -p "$PROMPT" --backend device -d /dev/accel/accel0 \
		>"$TMP/dev.out" 2>"$TMP/dev.err"
	rd=$?
	jobs1=$(cat "$SYSFS/jobs_completed" 2>/dev/null || echo 0)
	inpu run $args -p "$PROMPT" --backend cpu >"$TMP/cpu.out" 2>"$TMP/cpu.err"
	rcpu=$?
	jobs=$((jobs1 - jobs0))

	if [ $rd = 0 ] && [ $rcpu = 0 ] && [ "$jobs" -ge 1 ] && [ "$jobs" -le "$STEPS" ]; then
		ok "$s: inpu run on the device ($jobs jobs for $STEPS positions) and on the cpu"
		grep '^stats:' "$TMP/dev.err" | sed 's/^/# device: /'
		grep '^stats:' "$TMP/cpu.err" | sed 's/^/# cpu:    /'
	else
		not_ok "$s: inpu run on the device (status $rd, $jobs jobs for $STEPS positions) and on the cpu (status $rcpu)"
		show "$TMP/dev.err"
		show "$TMP/cpu.err"
	fi

	grep '^ids:' "$TMP/dev.out" >"$TMP/dev.ids"
	grep '^ids:' "$TMP/cpu.out" >"$TMP/cpu.ids"
	count=$(wc -w <"$TMP/dev.ids")
	if [ "$count" -gt 1 ] && cmp -s "$TMP/dev.ids" "$TMP/cpu.ids"; then
		ok "$s: device and cpu generate the same $((count - 1)) token ids"
	else
		not_ok "$s: device and cpu generate the same token ids"
		echo "# device: $(cat "$TMP/dev.ids")"
		echo "# cpu:    $(cat "$TMP/cpu.ids")"
	fi

	grep -v '^ids:' "$TMP/dev.out" >"$TMP/dev.txt"
	grep -v '^ids:' "$TMP/cpu.out" >"$TMP/cpu.txt"
	if grep -q "^$PROMPT" "$TMP/dev.txt" && cmp -s "$TMP/dev.txt" "$TMP/cpu.txt"; then
		ok "$s: the device text is the cpu text: $(head -c 60 "$TMP/dev.txt")..."
	else
		not_ok "$s: the device text is the cpu text"
		show "$TMP/dev.txt" 3
		show "$TMP/cpu.txt" 3
	fi

	jobs0=$(cat "$SYSFS/jobs_completed" 2>/dev/null || echo 0)
	inpu run $args -p "$PROMPT" -q --depth 1 --per-job 1 --batch 1 --backend device \
		>"$TMP/dev1.out" 2>"$TMP/dev1.err"
	rd=$?
	jobs1=$(cat "$SYSFS/jobs_completed" 2>/dev/null || echo 0)
	jobs=$((jobs1 - jobs0))
	grep '^ids:' "$TMP/dev1.out" >"$TMP/dev1.ids"
	if [ $rd = 0 ] && [ "$jobs" = "$STEPS" ] && cmp -s "$TMP/dev1.ids" "$TMP/cpu.ids"; then
		ok "$s: one step per job, one at a time ($jobs jobs): the same ids"
	else
		not_ok "$s: one step per job, one at a time: the same ids (status $rd, $jobs jobs for $STEPS positions)"
		echo "# device: $(cat "$TMP/dev1.ids")"
		show "$TMP/dev1.err"
	fi

	samp="-t 0.8 -P 0.9 -s 42 -q"
	inpu run $args -p "$PROMPT" $samp --backend device >"$TMP/dev.out" 2>"$TMP/dev.err"
	rd=$?
	inpu run $args -p "$PROMPT" $samp --backend cpu >"$TMP/cpu.out" 2>"$TMP/cpu.err"
	rcpu=$?
	grep '^ids:' "$TMP/dev.out" >"$TMP/dev.ids"
	grep '^ids:' "$TMP/cpu.out" >"$TMP/cpu.ids"
	count=$(wc -w <"$TMP/dev.ids")
	if [ $rd = 0 ] && [ $rcpu = 0 ] && [ "$count" -gt 1 ] &&
		cmp -s "$TMP/dev.ids" "$TMP/cpu.ids"; then
		ok "$s: sampled on the device (T 0.8, top-p 0.9, seed 42): the same $((count - 1)) token ids as the cpu"
	else
		not_ok "$s: sampled on the device: the same token ids as the cpu (status $rd, $rcpu)"
		echo "# device: $(cat "$TMP/dev.ids")"
		echo "# cpu:    $(cat "$TMP/cpu.ids")"
		show "$TMP/dev.err"
		show "$TMP/cpu.err"
	fi

	long=$(head -c "$chars" "${DATA:-/opt/inpu/data}/tinystories-dev.txt" | tr '\n' ' ')
	largs="-m $m -z $tok -n 200 --ids -q"
	jobs0=$(cat "$SYSFS/jobs_completed" 2>/dev/null || echo 0)
	inpu run $largs -p "$long" --backend device >"$TMP/dev.out" 2>"$TMP/dev.err"
	rd=$?
	jobs=$(($(cat "$SYSFS/jobs_completed" 2>/dev/null || echo 0) - jobs0))
	inpu run $largs -p "$long" --backend cpu --batch 1 >"$TMP/cpu.out" 2>"$TMP/cpu.err"
	rcpu=$?
	grep '^ids:' "$TMP/dev.out" >"$TMP/dev.ids"
	grep '^ids:' "$TMP/cpu.out" >"$TMP/cpu.ids"
	count=$(wc -w <"$TMP/dev.ids")
	# 140 prompt tokens in 2 prefill jobs, not 140 steps.
	if [ $rd = 0 ] && [ $rcpu = 0 ] && [ "$count" -gt 1 ] && [ "$jobs" -lt 60 ] &&
		cmp -s "$TMP/dev.ids" "$TMP/cpu.ids"; then
		ok "$s: long prompt prefilled on the device in batches ($jobs jobs for 200 positions): the ids of the cpu one token per step"
		grep '^stats:' "$TMP/dev.err" | sed 's/^/# device: /'
	else
		not_ok "$s: long prompt prefilled on the device: the ids of the cpu one token per step (status $rd, $rcpu; $jobs jobs)"
		echo "# device: $(cat "$TMP/dev.ids")"
		echo "# cpu:    $(cat "$TMP/cpu.ids")"
		show "$TMP/dev.err"
	fi
	inpu run $largs -p "$long" $samp --backend device >"$TMP/dev.out" 2>"$TMP/dev.err"
	rd=$?
	inpu run $largs -p "$long" $samp --backend cpu >"$TMP/cpu.out" 2>"$TMP/cpu.err"
	rcpu=$?
	grep '^ids:' "$TMP/dev.out" >"$TMP/dev.ids"
	grep '^ids:' "$TMP/cpu.out" >"$TMP/cpu.ids"
	if [ $rd = 0 ] && [ $rcpu = 0 ] && [ "$(wc -w <"$TMP/dev.ids")" -gt 1 ] &&
		cmp -s "$TMP/dev.ids" "$TMP/cpu.ids"; then
		ok "$s: long prompt, prefill and sampling on the device: the ids of the cpu"
	else
		not_ok "$s: long prompt, prefill and sampling on the device: the ids of the cpu (status $rd, $rcpu)"
		echo "# device: $(cat "$TMP/dev.ids")"
		echo "# cpu:    $(cat "$TMP/cpu.ids")"
		show "$TMP/dev.err"
	fi
done

# One file to run: the tokenizer inside the .inpu file.
m=$MODELS/babyllama-1M-w8a8.inpu
inpu run -m "$m" -z "$MODELS/tok105.bin" -p "$PROMPT" -n "$STEPS" --backend device \
	>"$TMP/z.out" 2>"$TMP/z.err"
rz=$?
inpu run -m "$m" -p "$PROMPT" -n "$STEPS" --backend device >"$TMP/own.out" 2>"$TMP/own.err"
rown=$?
if [ $rz = 0 ] && [ $rown = 0 ] && grep -q "^$PROMPT" "$TMP/own.out" &&
	cmp -s "$TMP/z.out" "$TMP/own.out"; then
	ok "babyllama-1M-w8a8: runs without -z (its own tokenizer), the same text"
else
	not_ok "babyllama-1M-w8a8: runs without -z (status $rown; with -z $rz), the same text"
	show "$TMP/own.err"
fi
rm -rf "$TMP"
[ "$fails" = 0 ]
