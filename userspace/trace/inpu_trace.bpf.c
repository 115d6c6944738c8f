// SPDX-License-Identifier: MIT
/*
 * inpu-trace's BPF side: joins the driver's submit, start and done
 * tracepoints per job and folds the latencies into log2 histograms.
 *
 * Every handler exists twice, as a tp_btf program (needs the module's BTF;
 * reads the tracepoint's arguments directly) and as a classic tracepoint
 * program (reads the trace record); the loader enables one set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "inpu_trace.h"

const volatile __u32 targ_pid;		/* 0: every process */
const volatile __u32 targ_group = INPU_TRACE_GROUP_ALL;
const volatile __u64 targ_unit_ns = 1000;	/* histogram unit: us or ms */
const volatile bool targ_events;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, INPU_TRACE_MAX_JOBS);
	__type(key, struct inpu_trace_job_key);
	__type(value, struct inpu_trace_job);
} jobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct inpu_trace_hist_key);
	__type(value, struct inpu_trace_hist);
} hists SEC(".maps");

/* Ended jobs by status (INPU_OK included). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} statuses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INPU_TRACE_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* A zeroed histogram to create entries from (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inpu_trace_hist);
} zero_hist SEC(".maps");

static __always_inline void count(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		__sync_fetch_and_add(v, n);
}

/* floor(log2(v)) by halving the search range: no loop for the verifier. */
static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xffff) << 4;
	v >>= r;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	return r | (v >> 1);
}

static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 hi = v >> 32;
	__u32 slot = hi ? log2_u32(hi) + 32 : log2_u32((__u32)v);

	return slot < INPU_TRACE_SLOTS ? slot : INPU_TRACE_SLOTS - 1;
}

static __always_inline void hist_add(struct inpu_trace_hist *h, __u32 metric,
				     __u64 v, __u64 unit)
{
	__u32 slot = log2_slot(unit ? v / unit : v);

	__sync_fetch_and_add(&h->sum[metric & 3], v);
	__sync_fetch_and_add(&h->slots[metric & 3][slot & (INPU_TRACE_SLOTS - 1)], 1);
}

static __always_inline int on_submit(__u64 job_id, __u32 ctx, __u32 pid)
{
	struct inpu_trace_job_key key = { .job_id = job_id, .ctx = ctx };
	struct inpu_trace_job job = {};

	if (targ_pid && pid != targ_pid)
		return 0;
	job.submit_ns = bpf_ktime_get_ns();
	job.pid = pid;
	bpf_get_current_comm(job.comm, sizeof(job.comm));
	if (bpf_map_update_elem(&jobs, &key, &job, BPF_ANY))
		count(INPU_TRACE_DROPPED, 1);
	else
		count(INPU_TRACE_SUBMITTED, 1);
	return 0;
}

static __always_inline int on_start(__u64 job_id, __u32 ctx)
{
	struct inpu_trace_job_key key = { .job_id = job_id, .ctx = ctx };
	struct inpu_trace_job *job = bpf_map_lookup_elem(&jobs, &key);

	if (job)
		job->start_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_done(__u64 job_id, __u32 ctx, __u32 status,
				   __u32 ops_done, __u64 cycles)
{
	struct inpu_trace_job_key key = { .job_id = job_id, .ctx = ctx };
	struct inpu_trace_hist_key hkey = {};
	struct inpu_trace_event *e;
	struct inpu_trace_job *job;
	struct inpu_trace_hist *h;
	__u64 now = bpf_ktime_get_ns(), one = 1, *n;
	__u64 queue, exec, total;
	__u32 zero = 0;

	job = bpf_map_lookup_elem(&jobs, &key);
	if (!job) {
		if (!targ_pid)
			count(INPU_TRACE_UNMATCHED, 1);
		return 0;
	}
	count(INPU_TRACE_DONE, 1);
	n = bpf_map_lookup_elem(&statuses, &status);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&statuses, &status, &one, BPF_NOEXIST);

	total = now - job->submit_ns;
	/* A job that never reached the device waited all its life. */
	if (job->start_ns) {
		queue = job->start_ns - job->submit_ns;
		exec = now - job->start_ns;
	} else {
		queue = total;
		exec = 0;
	}

	if (targ_group == INPU_TRACE_GROUP_PID)
		hkey.id = job->pid;
	else if (targ_group == INPU_TRACE_GROUP_CTX)
		hkey.id = ctx;
	h = bpf_map_lookup_elem(&hists, &hkey);
	if (!h) {
		struct inpu_trace_hist *z = bpf_map_lookup_elem(&zero_hist, &zero);

		if (!z)
			goto out;
		__builtin_memcpy(z->comm, job->comm, sizeof(z->comm));
		bpf_map_update_elem(&hists, &hkey, z, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &hkey);
		if (!h)
			goto out;
	}
	__sync_fetch_and_add(&h->jobs, 1);
	hist_add(h, INPU_TRACE_QUEUE, queue, targ_unit_ns);
	hist_add(h, INPU_TRACE_EXEC, exec, targ_unit_ns);
	hist_add(h, INPU_TRACE_TOTAL, total, targ_unit_ns);
	hist_add(h, INPU_TRACE_CYCLES, cycles, 0);

	if (targ_events) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (!e) {
			count(INPU_TRACE_DROPPED, 1);
			goto out;
		}
		e->job_id = job_id;
		e->queue_ns = queue;
		e->exec_ns = exec;
		e->total_ns = total;
		e->cycles = cycles;
		e->ctx = ctx;
		e->pid = job->pid;
		e->status = status;
		e->ops_done = ops_done;
		__builtin_memcpy(e->comm, job->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
out:
	bpf_map_delete_elem(&jobs, &key);
	return 0;
}

static __always_inline int on_reset(void)
{
	count(INPU_TRACE_RESETS, 1);
	return 0;
}

static __always_inline int on_mmu_fault(__u64 job_id, __u32 ctx)
{
	struct inpu_trace_job_key key = { .job_id = job_id, .ctx = ctx };

	/* Counted for the traced processes only, like the jobs. */
	if (targ_pid && !bpf_map_lookup_elem(&jobs, &key))
		return 0;
	count(INPU_TRACE_MMU_FAULTS, 1);
	return 0;
}

/* ---- with the module's BTF ------------------------------------------- */

SEC("tp_btf/inpu_job_submit")
int BPF_PROG(btf_job_submit, __u64 job_id, __u32 dctx, __u32 pid)
{
	return on_submit(job_id, dctx, pid);
}

SEC("tp_btf/inpu_job_start")
int BPF_PROG(btf_job_start, __u64 job_id, __u32 dctx)
{
	return on_start(job_id, dctx);
}

SEC("tp_btf/inpu_job_done")
int BPF_PROG(btf_job_done, __u64 job_id, __u32 dctx, __u32 status,
	     __u32 ops_done, __u64 cycles)
{
	return on_done(job_id, dctx, status, ops_done, cycles);
}

SEC("tp_btf/inpu_reset")
int BPF_PROG(btf_reset)
{
	return on_reset();
}

SEC("tp_btf/inpu_mmu_fault")
int BPF_PROG(btf_mmu_fault, __u64 job_id, __u32 dctx)
{
	return on_mmu_fault(job_id, dctx);
}

/* ---- classic tracepoints ---------------------------------------------- */

SEC("tracepoint/inpu/inpu_job_submit")
int tp_job_submit(struct inpu_tp_job_submit *r)
{
	return on_submit(r->job_id, r->ctx, r->pid);
}

SEC("tracepoint/inpu/inpu_job_start")
int tp_job_start(struct inpu_tp_job_start *r)
{
	return on_start(r->job_id, r->ctx);
}

SEC("tracepoint/inpu/inpu_job_done")
int tp_job_done(struct inpu_tp_job_done *r)
{
	return on_done(r->job_id, r->ctx, r->status, r->ops_done, r->cycles);
}

SEC("tracepoint/inpu/inpu_reset")
int tp_reset(struct inpu_tp_reset *r)
{
	return on_reset();
}

SEC("tracepoint/inpu/inpu_mmu_fault")
int tp_mmu_fault(struct inpu_tp_mmu_fault *r)
{
	return on_mmu_fault(r->job_id, r->ctx);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
