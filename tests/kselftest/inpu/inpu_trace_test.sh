#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kselftest (TAP): job tracing with inpu-trace.  While the tool traces,
# processes of known job counts run (inpu_trace_load), one of them with a
# job that faults in the device MMU; the tool's counts must equal what ran,
# split per process, its error and fault counters must see the fault, and
# for every job queue wait + execution must equal the total.  Once with
# tp_btf programs and once with classic tracepoints; a forced device reset
# shows in the reset counter.  Runs in the test VM
# as root with inpu.ko loaded.
SKIP_PARAM=/sys/module/inpu/parameters/unsafe_skip_validation
T=/tmp/inpu-trace-test
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; fails=$((fails + 1)); }
check() { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3: got '$1', want '$2'"; fi; }

# start_tracer NAME ARGS...: inpu-trace in the background, until it attached.
start_tracer() {
	name=$1
	shift
	inpu-trace "$@" >"$T/$name.out" 2>"$T/$name.err" &
	tracer=$!
	i=0
	while ! grep -q '^Tracing' "$T/$name.err" 2>/dev/null; do
		if ! kill -0 "$tracer" 2>/dev/null || [ $i -ge 600 ]; then
			sed 's/^/# /' "$T/$name.err"
			return 1
		fi
		i=$((i + 1))
		sleep 0.1
	done
}

stop_tracer() {
	kill -INT "$tracer"
	wait "$tracer"
}

# json_num FILE KEY: KEY's number in the summary line.
json_num() {
	grep '"type":"summary"' "$1" | tail -n 1 | grep -o "\"$2\":[0-9]*" |
		head -n 1 | cut -d: -f2
}

# group_jobs FILE PID: jobs of that process in the summary.
group_jobs() {
	grep '"type":"summary"' "$1" | tail -n 1 |
		grep -o "{\"pid\":$2,\"comm\":\"[^\"]*\",\"jobs\":[0-9]*" |
		sed 's/.*"jobs"://'
}

status_jobs() {
	grep '"type":"summary"' "$1" | tail -n 1 |
		grep -o "{\"status\":$2,\"name\":\"[^\"]*\",\"jobs\":[0-9]*" |
		sed 's/.*"jobs"://'
}

load_pid() { sed -n 's/^pid \([0-9]*\) .*/\1/p' "$1"; }

# One traced run: A (200 jobs one by one) and B (300 in batches of 16)
# at once, then C with one faulting job.
traced_run() {
	mode=$1
	if ! start_tracer "$mode" -P -j -e -a "$mode"; then
		not_ok "$mode: inpu-trace attached"
		return
	fi
	if grep -q "(attach: $mode)" "$T/$mode.err"; then
		ok "$mode: inpu-trace attached"
	else
		not_ok "$mode: inpu-trace attached with $mode: $(cat "$T/$mode.err")"
	fi
	inpu_trace_load -n 200 >"$T/a" &
	a=$!
	inpu_trace_load -n 300 -b 16 >"$T/b" &
	b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	echo 1 >"$SKIP_PARAM"
	inpu_trace_load -n 0 -f >"$T/c"; rc=$?
	echo 0 >"$SKIP_PARAM"
	stop_tracer
	out=$T/$mode.out
	if [ $ra$rb$rc != 000 ]; then
		not_ok "$mode: job loads ran (status $ra $rb $rc)"
		return
	fi
	pa=$(load_pid "$T/a")
	pb=$(load_pid "$T/b")
	pc=$(load_pid "$T/c")

	# The kernel skips a classic tracepoint program while another BPF
	# program runs on the CPU (the completion interrupt during the submit
	# program); it counts those, and so must the tool.  tp_btf never skips.
	ms=$(json_num "$out" submit) md=$(json_num "$out" done)
	missed=$(( ${ms:-0} + ${md:-0} + $(json_num "$out" start) + $(json_num "$out" other) ))
	if [ "$mode" = btf ]; then
		check "$missed" "0" "$mode: no event missed"
	fi
	if [ "$missed" != 0 ]; then
		echo "# $mode: the kernel skipped $missed program runs (submit $ms, done $md)"
		jobs=$(json_num "$out" jobs) unm=$(json_num "$out" unmatched)
		check "$((jobs + unm + md))/$(($(json_num "$out" submitted) + ms))" "501/501" \
			"$mode: every job ended or its event reported missed"
		check "$(grep -c '"type":"job"' "$out")" "$jobs" "$mode: a job event for every job counted"
		return
	fi
	check "$(json_num "$out" jobs)/$(json_num "$out" submitted)/$(json_num "$out" unmatched)" \
		"501/501/0" "$mode: 501 jobs ended, 501 submitted, none unmatched"
	check "$(group_jobs "$out" "$pa")/$(group_jobs "$out" "$pb")/$(group_jobs "$out" "$pc")" \
		"200/300/1" "$mode: per-process split 200/300/1"
	check "$(status_jobs "$out" 0)/$(status_jobs "$out" 11)/$(json_num "$out" mmu_faults)" \
		"500/1/1" "$mode: 500 ok, 1 MMU fault status, 1 MMU fault event"
	check "$(json_num "$out" dropped)" "0" "$mode: nothing dropped"

	# Per job: queue + exec == total, and the counts per pid again.
	grep '"type":"job"' "$out" |
		sed 's/.*"pid":\([0-9]*\),.*"status":\([0-9]*\),.*"queue_ns":\([0-9]*\),"exec_ns":\([0-9]*\),"total_ns":\([0-9]*\),.*/\1 \2 \3 \4 \5/' \
		>"$T/$mode.jobs"
	check "$(wc -l <"$T/$mode.jobs")" "501" "$mode: 501 job events"
	bad=$(awk '$3 + $4 != $5 || $5 == 0 { n++ } END { print n + 0 }' "$T/$mode.jobs")
	check "$bad" "0" "$mode: queue + exec == total (> 0) for every job"
	check "$(awk -v p="$pa" '$1 == p' "$T/$mode.jobs" | wc -l)/$(awk -v p="$pc" '$1 == p && $2 == 11' "$T/$mode.jobs" | wc -l)" \
		"200/1" "$mode: job events carry the submitting pid and the status"
}

echo "TAP version 13"
mkdir -p "$T"

if inpu-trace --help | grep -q '^usage: inpu-trace'; then
	ok "inpu-trace --help"
else
	not_ok "inpu-trace --help"
fi
if [ -e /sys/kernel/btf/inpu ]; then
	ok "the inpu module has BTF (/sys/kernel/btf/inpu)"
else
	not_ok "the inpu module has BTF (/sys/kernel/btf/inpu)"
fi

traced_run btf
traced_run tracepoint

# -p: only the chosen process, while another runs beside it.
rm -f "$T/go"
inpu_trace_load -n 40 -g "$T/go" >"$T/p1" &
p1=$!
if start_tracer pid -p "$p1" -j; then
	inpu_trace_load -n 60 >"$T/p2" &
	p2=$!
	touch "$T/go"
	wait $p1
	wait $p2
	stop_tracer
	check "$(json_num "$T/pid.out" jobs)/$(json_num "$T/pid.out" submitted)" "40/40" \
		"-p: only the 40 jobs of the chosen process"
else
	touch "$T/go"
	wait $p1
	not_ok "-p: inpu-trace attached"
fi

# A device reset (debugfs force_recovery) is counted.
D=$(ls -d /sys/kernel/debug/accel/*/ 2>/dev/null | head -n 1)
if [ -n "$D" ] && [ -e "$D/force_recovery" ] && start_tracer reset -j; then
	echo 1 >"$D/force_recovery"
	inpu_trace_load -n 5 >/dev/null
	stop_tracer
	check "$(json_num "$T/reset.out" resets)/$(json_num "$T/reset.out" jobs)" "1/5" \
		"a forced device reset is counted, jobs after it traced"
else
	not_ok "a forced device reset is counted (no debugfs force_recovery, or no tracer)"
fi

# The text report: histograms with their titles and the job count.
if start_tracer text -m; then
	inpu_trace_load -n 50 >/dev/null
	stop_tracer
	if grep -q 'jobs 50 (submitted 50)' "$T/text.out" &&
	   grep -q 'queue wait (submit -> device start)' "$T/text.out" &&
	   grep -q 'msecs' "$T/text.out" && grep -q '|\*' "$T/text.out"; then
		ok "text report: 50 jobs, histograms in ms"
	else
		not_ok "text report: 50 jobs, histograms in ms"
		sed 's/^/# /' "$T/text.out"
	fi
else
	not_ok "text report: inpu-trace attached"
fi

echo "1..$n"
[ $fails = 0 ]
