#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The inpu CLI's argument handling and error messages, without a device.
# usage: test_cli.sh PATH_TO_INPU   (prints TAP)
set -u
inpu=$1
TAP_NAME=cli
. "$(dirname "$0")/tap.sh"

echo "TAP version 13"
echo "1..20"
check "--help exits 0 and lists commands" 0 '^usage: inpu <command>' "$inpu" --help
check "no arguments is a usage error" 2 '^usage:' "$inpu"
check "unknown command is named" 2 "unknown command 'frobnicate'" "$inpu" frobnicate
check "--version" 0 '^inpu [0-9]+\.[0-9]+\.[0-9]+ \(driver ABI [0-9]+\)' "$inpu" --version
check "info --help" 0 '^usage: inpu info' "$inpu" info --help
check "info bad option" 2 'usage: inpu info' "$inpu" info --bogus
check "info names a missing device" 1 '/nonexistent/accel7: no such device' "$inpu" info -d /nonexistent/accel7
check "info rejects a non-DRM node" 1 '/dev/null: not a DRM device' "$inpu" info -d /dev/null

# inpu run and inpu ppl --backend device (issue 7): arguments and messages.
check "run --help" 0 '^usage: inpu run' "$inpu" run --help
check "--help lists run" 0 '^  run ' "$inpu" --help
check "run without a model" 2 'inpu run: missing -m MODEL' "$inpu" run -z tok.bin
check "run names an unknown backend" 2 "--backend: unknown backend 'gpu'" "$inpu" run -m x -z y -b gpu
check "run rejects a negative temperature" 2 "--temperature: '-1' is not a number" "$inpu" run -m x -z y -t -1
check "run rejects top-p out of range" 2 "--top-p: '1.5' is not a number in" "$inpu" run -m x -z y -t 1 -P 1.5
check "run: --seed needs a temperature" 2 '--seed: only with --temperature' "$inpu" run -m x -z y -s 3
check "run names a model that is not .inpu" 1 "$0 is not an integer .inpu model" "$inpu" run -m "$0" -z y -b cpu
check "ppl --backend device --help" 0 'usage: inpu ppl .*--backend float.cpu.device' "$inpu" ppl --backend device --help
model=$(dirname "$inpu")/../../models/stories260K-w8a8.inpu
if [ -f "$model" ]; then
	check "run names a missing device" 1 '/nonexistent/accel7: no such device' \
		"$inpu" run -m "$model" -z "$(dirname "$model")/tok512.bin" -d /nonexistent/accel7
else
	n=$((n + 1))
	echo "ok $n cli: run names a missing device # SKIP no $model (make models)"
fi
# A character-level vocabulary (BabyLlama's tok105, no byte tokens):
# characters it lacks are <unk>, and the commands say how many.
baby=${INPU_SHARED:-}/models/babyllama
if [ -n "${INPU_SHARED:-}" ] && [ -f "$baby/tok105.bin" ]; then
	check "ppl counts characters outside the vocabulary" 0 \
		'unknown: +[1-9][0-9]* characters not in the vocabulary, scored as <unk>' \
		"$inpu" ppl -m "$baby/babyllama-1M.bin" -z "$baby/tok105.bin" \
		-f "$INPU_SHARED/data/tinystories-dev.txt" -s 1
	check "generate names prompt characters outside the vocabulary" 0 \
		'--prompt: 2 characters not in .*tok105.bin.s vocabulary, encoded as <unk>' \
		"$inpu" generate -m "$baby/babyllama-1M.bin" -z "$baby/tok105.bin" \
		-p $'Zo\xc3\xab ate \xd0\xb6' -n 12
else
	for what in "ppl counts characters outside the vocabulary" \
		"generate names prompt characters outside the vocabulary"; do
		n=$((n + 1))
		echo "ok $n cli: $what # SKIP no ../shared/models/babyllama (set INPU_SHARED)"
	done
fi
exit $failed
