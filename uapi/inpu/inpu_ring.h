/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * INPU command ring: job descriptors the driver writes and completion
 * records the device writes, both in guest memory.
 *
 * The ring is an array of INPU_REG_RING_SIZE descriptors (a power of two)
 * at INPU_REG_RING_BASE.  The driver fills the descriptor at its tail and
 * writes the new tail to INPU_REG_RING_TAIL (the doorbell).  The device
 * runs descriptors in order on its worker, writes each job's completion
 * record, advances INPU_REG_RING_HEAD and raises INPU_IRQ_JOB_DONE.
 * Positions count descriptors modulo 2^32; the slot is pos % size.
 */
#ifndef _INPU_RING_H_
#define _INPU_RING_H_

#include <linux/types.h>

#include "inpu_isa.h"

struct inpu_job_desc {
	__u64 job_id;		/* echoed in the completion record */
	__u32 context;		/* index into the context table */
	__u32 flags;		/* zero */
	__u64 stream_addr;	/* bus address of the (kernel-owned) stream */
	__u32 stream_len;
	__u32 n_params;		/* <= INPU_MAX_PARAMS */
	__u32 params[INPU_MAX_PARAMS];
	__u64 completion_addr;	/* bus address of struct inpu_completion */
	__u64 reserved;
};

/* Job status in struct inpu_completion; values from enum inpu_status
 * (uapi/inpu/inpu_isa.h), plus the device-level ones below.
 */
#define INPU_JOB_BAD_DESC	0x100	/* descriptor or stream unreadable */
#define INPU_JOB_NO_FIRMWARE	0x101	/* no firmware booted */
#define INPU_JOB_BAD_CONTEXT	0x102	/* context entry not valid */

struct inpu_completion {
	__u64 job_id;
	__u32 status;		/* INPU_OK, an enum inpu_status, or INPU_JOB_* */
	__u32 ops_done;
	__u32 fault_op;		/* op that failed */
	__u32 fault_write;	/* 1: the faulting access was a write */
	__u64 fault_addr;	/* device virtual address of a memory fault */
	__u64 cycles;		/* modelled device cycles */
	__u64 energy_fj;	/* modelled energy, femtojoules */
	__u64 macs;		/* multiply-accumulates */
	__u32 seq;		/* INPU_COMPLETION_DONE once written */
	__u32 reserved;
};

#define INPU_COMPLETION_DONE	0x454e4f44u	/* "DONE" */

#endif /* _INPU_RING_H_ */
