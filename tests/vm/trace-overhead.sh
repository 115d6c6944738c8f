#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs in the test VM: job throughput (inpu_job_bench) without and with
# inpu-trace attached, alternating three times each and keeping each
# configuration's best run (the host is shared and noisy), then one table
# of jobs/s and the ratio traced / untraced.  'make bench-trace'.
set -u
ROUNDS=${ROUNDS:-3}
ARGS=${ARGS:--n 2000 -b 200 -m 1000}
T=/tmp/trace-overhead
mkdir -p $T

# bench OUT: "name jobs/s" lines from one inpu_job_bench run.
bench() {
	inpu_job_bench $ARGS | awk '/ jobs\/s/ {
		name = $1; for (i = 2; $i != ""; i++) { if ($(i + 1) == "jobs") break; name = name "_" $i }
		for (i = 1; i <= NF; i++) if ($(i + 1) == "jobs/s") print name, $i
	}' >"$1"
}

for r in $(seq 1 "$ROUNDS"); do
	bench "$T/off.$r" || exit 1
	inpu-trace -a "${ATTACH:-auto}" >"$T/trace.$r" 2>"$T/trace.err" &
	tp=$!
	i=0
	until grep -q '^Tracing' "$T/trace.err" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 $tp 2>/dev/null; then
			echo "trace-overhead: inpu-trace did not start:" >&2
			cat "$T/trace.err" >&2
			exit 1
		fi
		sleep 0.1
	done
	bench "$T/on.$r" || exit 1
	kill -INT $tp
	wait $tp
done

echo
echo "inpu-trace overhead ($(sed -n 's/.*(attach: \([a-z]*\)).*/\1/p' "$T/trace.err"), best of $ROUNDS alternating runs, inpu_job_bench $ARGS)"
printf "%-30s %14s %14s %8s\n" benchmark "jobs/s off" "jobs/s traced" ratio
cat $T/off.* | awk '{ if ($2 > best[$1]) best[$1] = $2 } END { for (k in best) print k, best[k] }' | sort >$T/off
cat $T/on.* | awk '{ if ($2 > best[$1]) best[$1] = $2 } END { for (k in best) print k, best[k] }' | sort >$T/on
# busybox has no join(1).
awk 'NR == FNR { off[$1] = $2; next } ($1 in off) {
	printf "%-30s %14.1f %14.1f %8.3f\n", $1, off[$1], $2, $2 / off[$1] }' $T/off $T/on
