/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of the inpu driver (system "inpu").  A job is named by its
 * MMU context and its per-file job id, so a tool can join submit, start
 * and done per job and attribute them to a process.  The arguments are
 * scalars only: a BTF program (tp_btf) reads them without the driver's
 * private types, and the classic record layout stays stable (u64 fields
 * first, no padding): userspace/trace/inpu_trace.h mirrors it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM inpu

#if !defined(__INPU_TRACE_H__) || defined(TRACE_HEADER_MULTI_READ)
#define __INPU_TRACE_H__

#include <linux/tracepoint.h>

TRACE_EVENT(inpu_job_submit,
	    TP_PROTO(u64 job_id, u32 ctx, u32 pid, u32 stream_len, u32 n_bos,
		     u32 n_params),
	    TP_ARGS(job_id, ctx, pid, stream_len, n_bos, n_params),
	    TP_STRUCT__entry(__field(u64, job_id)
			     __field(u32, ctx)
			     __field(u32, pid)
			     __field(u32, stream_len)
			     __field(u32, n_bos)
			     __field(u32, n_params)
			     __field(u32, pad)),
	    TP_fast_assign(__entry->job_id = job_id;
			   __entry->ctx = ctx;
			   __entry->pid = pid;
			   __entry->stream_len = stream_len;
			   __entry->n_bos = n_bos;
			   __entry->n_params = n_params;
			   __entry->pad = 0;),
	    TP_printk("ctx=%u job=%llu pid=%u stream_len=%u bos=%u params=%u",
		      __entry->ctx, __entry->job_id, __entry->pid,
		      __entry->stream_len, __entry->n_bos, __entry->n_params)
);

/* The device begins the job: its ring was idle, or the job before ended. */
TRACE_EVENT(inpu_job_start,
	    TP_PROTO(u64 job_id, u32 ctx, u32 slot, u32 queued),
	    TP_ARGS(job_id, ctx, slot, queued),
	    TP_STRUCT__entry(__field(u64, job_id)
			     __field(u32, ctx)
			     __field(u32, slot)
			     __field(u32, queued)
			     __field(u32, pad)),
	    TP_fast_assign(__entry->job_id = job_id;
			   __entry->ctx = ctx;
			   __entry->slot = slot;
			   __entry->queued = queued;
			   __entry->pad = 0;),
	    TP_printk("ctx=%u job=%llu slot=%u queued=%u", __entry->ctx,
		      __entry->job_id, __entry->slot, __entry->queued)
);

/*
 * Every submitted job ends here exactly once, also when it never reached
 * the device (status DRM_INPU_JOB_ABORTED, zero cycles).
 */
TRACE_EVENT(inpu_job_done,
	    TP_PROTO(u64 job_id, u32 ctx, u32 status, u32 ops_done, u64 cycles,
		     u64 energy_fj),
	    TP_ARGS(job_id, ctx, status, ops_done, cycles, energy_fj),
	    TP_STRUCT__entry(__field(u64, job_id)
			     __field(u64, cycles)
			     __field(u64, energy_fj)
			     __field(u32, ctx)
			     __field(u32, status)
			     __field(u32, ops_done)
			     __field(u32, pad)),
	    TP_fast_assign(__entry->job_id = job_id;
			   __entry->cycles = cycles;
			   __entry->energy_fj = energy_fj;
			   __entry->ctx = ctx;
			   __entry->status = status;
			   __entry->ops_done = ops_done;
			   __entry->pad = 0;),
	    TP_printk("ctx=%u job=%llu status=%#x ops=%u cycles=%llu energy_fj=%llu",
		      __entry->ctx, __entry->job_id, __entry->status,
		      __entry->ops_done, __entry->cycles, __entry->energy_fj)
);

TRACE_EVENT(inpu_reset,
	    TP_PROTO(u32 reason, u32 count),
	    TP_ARGS(reason, count),
	    TP_STRUCT__entry(__field(u32, reason)
			     __field(u32, count)),
	    TP_fast_assign(__entry->reason = reason;
			   __entry->count = count;),
	    TP_printk("reason=%s count=%u",
		      __print_symbolic(__entry->reason,
				       { INPU_RESET_PROBE, "probe" },
				       { INPU_RESET_RECOVERY, "recovery" }),
		      __entry->count)
);

TRACE_EVENT(inpu_mmu_fault,
	    TP_PROTO(u64 job_id, u32 ctx, u64 addr, u32 op, u32 write),
	    TP_ARGS(job_id, ctx, addr, op, write),
	    TP_STRUCT__entry(__field(u64, job_id)
			     __field(u64, addr)
			     __field(u32, ctx)
			     __field(u32, op)
			     __field(u32, write)
			     __field(u32, pad)),
	    TP_fast_assign(__entry->job_id = job_id;
			   __entry->addr = addr;
			   __entry->ctx = ctx;
			   __entry->op = op;
			   __entry->write = write;
			   __entry->pad = 0;),
	    TP_printk("ctx=%u job=%llu addr=%#llx op=%u %s", __entry->ctx,
		      __entry->job_id, __entry->addr, __entry->op,
		      __entry->write ? "write" : "read")
);

#endif /* __INPU_TRACE_H__ */

/* Out of tree: Kbuild puts kernel/ on the include path. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE inpu_trace
#include <trace/define_trace.h>
