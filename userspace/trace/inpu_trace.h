/* SPDX-License-Identifier: MIT */
/*
 * What inpu-trace's BPF programs (inpu_trace.bpf.c) and its loader
 * (inpu_trace.c) share: map keys and values, the per-job event, and the
 * record layouts of the driver's classic tracepoints (kernel/inpu_trace.h),
 * which the loader checks against tracefs before it relies on them.
 */
#ifndef INPU_TRACE_H
#define INPU_TRACE_H

#define INPU_TRACE_SLOTS	32	/* log2 buckets per histogram */
#define INPU_TRACE_COMM_LEN	16
#define INPU_TRACE_MAX_JOBS	16384	/* jobs between submit and done */

/* What a histogram measures. */
enum inpu_trace_metric {
	INPU_TRACE_QUEUE,	/* submit to start on the device */
	INPU_TRACE_EXEC,	/* start to done */
	INPU_TRACE_TOTAL,	/* submit to done */
	INPU_TRACE_CYCLES,	/* device cycles the job reported */
	INPU_TRACE_METRICS
};

/* How jobs are grouped into histograms (-P, -C). */
enum inpu_trace_group {
	INPU_TRACE_GROUP_ALL,
	INPU_TRACE_GROUP_PID,
	INPU_TRACE_GROUP_CTX,
};

/* Global counters, indexes of the "counters" array. */
enum inpu_trace_counter {
	INPU_TRACE_SUBMITTED,	/* submits seen (after the pid filter) */
	INPU_TRACE_DONE,	/* jobs ended whose submit was seen */
	INPU_TRACE_UNMATCHED,	/* ended, submit not seen (began earlier) */
	INPU_TRACE_RESETS,
	INPU_TRACE_MMU_FAULTS,
	INPU_TRACE_DROPPED,	/* job table or event buffer full */
	INPU_TRACE_COUNTERS
};

struct inpu_trace_job_key {
	__u64 job_id;
	__u32 ctx;
	__u32 pad;
};

struct inpu_trace_job {
	__u64 submit_ns;
	__u64 start_ns;		/* 0 until the device starts it */
	__u32 pid;
	__u32 pad;
	char comm[INPU_TRACE_COMM_LEN];
};

struct inpu_trace_hist_key {
	__u32 id;		/* pid, context or 0 */
	__u32 pad;
};

struct inpu_trace_hist {
	__u64 jobs;
	__u64 sum[INPU_TRACE_METRICS];	/* ns, except cycles */
	__u32 slots[INPU_TRACE_METRICS][INPU_TRACE_SLOTS];
	char comm[INPU_TRACE_COMM_LEN];
};

/* One ended job (-e). */
struct inpu_trace_event {
	__u64 job_id;
	__u64 queue_ns;
	__u64 exec_ns;
	__u64 total_ns;
	__u64 cycles;
	__u32 ctx;
	__u32 pid;
	__u32 status;
	__u32 ops_done;
	char comm[INPU_TRACE_COMM_LEN];
};

/*
 * Classic tracepoint records: the 8-byte common header, then the fields
 * in kernel/inpu_trace.h's order.
 */
struct inpu_tp_job_submit {
	__u64 common;
	__u64 job_id;
	__u32 ctx;
	__u32 pid;
	__u32 stream_len;
	__u32 n_bos;
	__u32 n_params;
	__u32 pad;
};

struct inpu_tp_job_start {
	__u64 common;
	__u64 job_id;
	__u32 ctx;
	__u32 slot;
	__u32 queued;
	__u32 pad;
};

struct inpu_tp_job_done {
	__u64 common;
	__u64 job_id;
	__u64 cycles;
	__u64 energy_fj;
	__u32 ctx;
	__u32 status;
	__u32 ops_done;
	__u32 pad;
};

struct inpu_tp_reset {
	__u64 common;
	__u32 reason;
	__u32 count;
};

struct inpu_tp_mmu_fault {
	__u64 common;
	__u64 job_id;
	__u64 addr;
	__u32 ctx;
	__u32 op;
	__u32 write;
	__u32 pad;
};

#endif /* INPU_TRACE_H */
