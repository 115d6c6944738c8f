#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs in the VM for 'make bench' (tests/bench/run-bench.sh): every model
# listed in /opt/inpu/bench/list ("NAME MODEL TOKENIZER STEPS") through
# /dev/accel: throughput (the default: steps chained on the device, 8 per
# job, 32 in flight) three times, and latency (one step per job, each
# waited for) once.  One line "BENCH NAME MODE {json}" per run.
set -u
prompt=$(cat /opt/inpu/bench/prompt.txt)
rc=0
while read -r name model tok steps; do
	# A short warm-up run first: the first jobs of a process pay for page
	# faults in the VM, which would land on whichever model runs first.
	inpu run -m "/opt/inpu/bench/$model" -z "/opt/inpu/bench/$tok" -p "$prompt" \
		-n 64 --quiet --ignore-eos >/dev/null 2>&1
	# Throughput three times (the table keeps the best of each figure:
	# the host is shared), latency once.
	for mode in throughput throughput throughput latency; do
		extra=
		[ "$mode" = latency ] && extra="--depth 1 --per-job 1"
		# shellcheck disable=SC2086
		if out=$(inpu run -m "/opt/inpu/bench/$model" -z "/opt/inpu/bench/$tok" \
			-p "$prompt" -n "$steps" --quiet --ignore-eos --json $extra 2>/tmp/err); then
			echo "BENCH $name $mode $(echo "$out" | tail -n 1)"
		else
			echo "BENCH-FAIL $name $mode: $(cat /tmp/err)"
			rc=1
		fi
	done
done </opt/inpu/bench/list
exit $rc
