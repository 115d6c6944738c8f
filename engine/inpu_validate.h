/* SPDX-License-Identifier: MIT */
/* Freestanding (no libc): built into inpu.ko, the QEMU device and userspace. */
/*
 * Command-stream validation, shared by the engine and the kernel driver.
 * Freestanding: no libc, no allocation, no floating point, so it compiles
 * unchanged inside inpu.ko.
 */
#ifndef INPU_VALIDATE_H
#define INPU_VALIDATE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stddef.h>
#include <linux/types.h>
#endif

#include <inpu/inpu_isa.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A buffer a job may touch: device addresses [start, start + len). */
#define INPU_REGION_READ	(1u << 0)
#define INPU_REGION_WRITE	(1u << 1)

struct inpu_region {
	__u64 start;
	__u64 len;
	__u32 flags;
	__u32 reserved;
};

/* Where and why validation failed. */
struct inpu_verror {
	int status;		/* enum inpu_status */
	__u32 op;		/* op index, or ~0u for the header */
	int slot;		/* operand slot within the op, or -1 */
};

/*
 * Check a whole stream: header, every op's fields, shapes and immediates,
 * and that every operand, at every address its parameters' declared ranges
 * allow, lies inside one of @regions with the access the op needs.
 * Returns INPU_OK (0) or the status also stored in @err (may be NULL).
 */
int inpu_validate_stream(const void *stream, size_t len,
			 const struct inpu_region *regions,
			 unsigned int n_regions, struct inpu_verror *err);

/*
 * Upper bound of the work of a stream that passed inpu_validate_stream(),
 * at the largest values its parameters may take: multiply-accumulates of
 * MATMUL and ATTENTION plus elements touched (ISA.md, "Work bound"),
 * saturating at 2^64 - 1.  The driver refuses streams above its budget.
 */
__u64 inpu_stream_work(const void *stream);

/* Short name of an enum inpu_status value, e.g. "bad dtype". */
const char *inpu_status_name(int status);

/* Bytes of a packed weight tensor, 0 for an unknown type or overflow. */
__u64 inpu_tiled_bytes(__u8 dtype, __u32 n, __u32 k);

/* Number of operand slots of an opcode (0 for unknown opcodes). */
unsigned int inpu_op_slots(unsigned int opcode);

#ifdef __cplusplus
}
#endif

#endif /* INPU_VALIDATE_H */
