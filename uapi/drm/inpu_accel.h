/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Userspace interface of the inpu DRM accel driver (/dev/accel/accelN).
 *
 * Every ioctl argument is made of fixed-width fields with explicit padding,
 * so the layout is the same for 32- and 64-bit userspace and needs no
 * compat handling.  Fields documented as "must be zero" are rejected with
 * -EINVAL when they are not, which keeps them free for later use.
 */
#ifndef _UAPI_INPU_ACCEL_H_
#define _UAPI_INPU_ACCEL_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_INPU_QUERY		0x00
#define DRM_INPU_BO_CREATE	0x01
#define DRM_INPU_BO_INFO	0x02
#define DRM_INPU_CMDBUF_CREATE	0x03
#define DRM_INPU_CMDBUF_DESTROY	0x04
#define DRM_INPU_SUBMIT		0x05
#define DRM_INPU_WAIT		0x06

#define DRM_IOCTL_INPU_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_INPU_QUERY, struct drm_inpu_query)
#define DRM_IOCTL_INPU_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_INPU_BO_CREATE, struct drm_inpu_bo_create)
#define DRM_IOCTL_INPU_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_INPU_BO_INFO, struct drm_inpu_bo_info)
#define DRM_IOCTL_INPU_CMDBUF_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_INPU_CMDBUF_CREATE, \
		 struct drm_inpu_cmdbuf_create)
#define DRM_IOCTL_INPU_CMDBUF_DESTROY \
	DRM_IOW(DRM_COMMAND_BASE + DRM_INPU_CMDBUF_DESTROY, \
		struct drm_inpu_cmdbuf_destroy)
#define DRM_IOCTL_INPU_SUBMIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_INPU_SUBMIT, struct drm_inpu_submit)
#define DRM_IOCTL_INPU_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_INPU_WAIT, struct drm_inpu_wait)

/* What DRM_IOCTL_INPU_QUERY reports; selects the struct behind data. */
enum drm_inpu_query_type {
	/* struct drm_inpu_device_info */
	DRM_INPU_QUERY_DEVICE_INFO = 0,
};

/**
 * struct drm_inpu_query - read a block of device information
 *
 * Extensible: @size says how large the caller's buffer is.
 *  - @size == 0: nothing is copied; the kernel sets @size to the size of
 *    its own struct, so a caller can learn it first.
 *  - @size smaller than the first published version of the struct
 *    (DRM_INPU_DEVICE_INFO_SIZE_V1) or larger than 4096: -EINVAL.
 *  - otherwise the kernel copies min(@size, its struct size) bytes,
 *    zero-fills the rest of the caller's buffer and sets @size to the
 *    number of bytes it filled in.  Older callers thus keep working with
 *    newer kernels and newer callers see zeros where an older kernel has
 *    nothing to say.
 */
struct drm_inpu_query {
	/** @type: one of enum drm_inpu_query_type */
	__u32 type;
	/** @size: in: size of the buffer at @data; out: bytes filled in */
	__u32 size;
	/** @flags: must be zero */
	__u32 flags;
	/** @pad: must be zero */
	__u32 pad;
	/** @data: user pointer to the struct selected by @type */
	__u64 data;
};

/* Bits of drm_inpu_device_info.capabilities; the same as the device's
 * INPU_REG_CAPS register (see inpu/inpu_regs.h).
 */
#define DRM_INPU_CAP_MSIX	(1ull << 0)
#define DRM_INPU_CAP_RESET	(1ull << 1)
#define DRM_INPU_CAP_FW_BOOT	(1ull << 2)
#define DRM_INPU_CAP_RING	(1ull << 3)

/**
 * struct drm_inpu_device_info - identity, version and capabilities
 */
struct drm_inpu_device_info {
	/** @identity: the device's ID register, INPU_ID_MAGIC ("INPU") */
	__u32 identity;
	/** @hw_version: major << 16 | minor << 8 | patch */
	__u32 hw_version;
	/** @capabilities: DRM_INPU_CAP_* bits */
	__u64 capabilities;
	/** @pci_vendor: PCI vendor ID */
	__u16 pci_vendor;
	/** @pci_device: PCI device ID */
	__u16 pci_device;
	/** @pci_revision: PCI revision ID */
	__u8 pci_revision;
	/** @pad0: zero */
	__u8 pad0[3];
	/** @sa_rows: rows of the systolic array */
	__u32 sa_rows;
	/** @sa_cols: columns of the systolic array */
	__u32 sa_cols;
	/** @driver_abi: DRM_INPU_ABI_VERSION of the running driver */
	__u32 driver_abi;
	/** @fw_version: booted firmware, major << 16 | minor << 8 | patch */
	__u32 fw_version;
	/** @fw_features: INPU_FW_FEAT_* bits of the booted firmware */
	__u64 fw_features;
};

/* Sizes of the published versions.  V2 (ABI 2) turned V1's trailing pad
 * into fw_version and appended fw_features.
 */
#define DRM_INPU_DEVICE_INFO_SIZE_V1	40
#define DRM_INPU_DEVICE_INFO_SIZE_V2	48
#define DRM_INPU_QUERY_MAX_SIZE		4096

/* Raised whenever the ioctl interface gains something. */
#define DRM_INPU_ABI_VERSION		2

/* ---- buffers ---------------------------------------------------------- */

/* The device may read the BO but never write it (its pages are mapped
 * read-only in the device MMU).
 */
#define DRM_INPU_BO_DEVICE_READONLY	(1u << 0)
#define DRM_INPU_BO_FLAGS		DRM_INPU_BO_DEVICE_READONLY
#define DRM_INPU_BO_MAX_SIZE		(1ull << 32)

/**
 * struct drm_inpu_bo_create - allocate a buffer object
 *
 * The BO is shmem-backed, mapped at creation into the calling file's
 * device address space (its pages stay pinned while mapped) and unmapped
 * when its last handle is closed.  Errors: -EINVAL (size 0 or over
 * DRM_INPU_BO_MAX_SIZE, unknown flags), -ENOSPC (address space full),
 * -ENOMEM.
 */
struct drm_inpu_bo_create {
	/** @size: in: bytes (rounded up to pages) */
	__u64 size;
	/** @flags: in: DRM_INPU_BO_* */
	__u32 flags;
	/** @handle: out */
	__u32 handle;
	/** @dva: out: device virtual address of the first byte */
	__u64 dva;
};

/** struct drm_inpu_bo_info - where a BO is, for mmap(2) and for the device */
struct drm_inpu_bo_info {
	/** @handle: in */
	__u32 handle;
	/** @flags: in: must be zero; out: the BO's DRM_INPU_BO_* flags */
	__u32 flags;
	/** @mmap_offset: out: offset to pass to mmap(2) on the device file */
	__u64 mmap_offset;
	/** @dva: out */
	__u64 dva;
	/** @size: out */
	__u64 size;
};

/* ---- jobs --------------------------------------------------------------- */

#define DRM_INPU_REF_READ	(1u << 0)
#define DRM_INPU_REF_WRITE	(1u << 1)

/** struct drm_inpu_bo_ref - a BO a job uses, and how */
struct drm_inpu_bo_ref {
	__u32 handle;
	/** @flags: DRM_INPU_REF_READ and/or DRM_INPU_REF_WRITE */
	__u32 flags;
};

#define DRM_INPU_MAX_BOS_PER_JOB	256
#define DRM_INPU_MAX_STREAM_BYTES	(80 + 256 * 4096)
#define DRM_INPU_MAX_IN_SYNCOBJS	64

/*
 * Where validation of a command stream failed (out fields of CMDBUF_CREATE
 * and SUBMIT when they return -EINVAL because of the stream): an enum
 * inpu_status (uapi/inpu/inpu_isa.h), the op index (~0 for the header) and
 * the operand slot (-1 if none).
 */
struct drm_inpu_verror {
	__u32 status;
	__u32 op;
	__s32 slot;
	__u32 pad;
};

/**
 * struct drm_inpu_cmdbuf_create - an immutable, validated command buffer
 *
 * The stream is copied into kernel memory and validated once against the
 * listed BOs (which the command buffer keeps referenced) for every value
 * its parameters may take.  Submitting it later costs no validation.
 */
struct drm_inpu_cmdbuf_create {
	/** @stream: user pointer to the stream bytes */
	__u64 stream;
	/** @stream_len: bytes, 1..DRM_INPU_MAX_STREAM_BYTES */
	__u32 stream_len;
	/** @n_bos: entries at @bos, 1..DRM_INPU_MAX_BOS_PER_JOB */
	__u32 n_bos;
	/** @bos: user pointer to struct drm_inpu_bo_ref[n_bos] */
	__u64 bos;
	/** @flags: must be zero */
	__u32 flags;
	/** @handle: out: command buffer handle, never 0 */
	__u32 handle;
	/** @verr: out: where validation failed */
	struct drm_inpu_verror verr;
};

struct drm_inpu_cmdbuf_destroy {
	__u32 handle;
	__u32 pad;
};

/**
 * struct drm_inpu_submit - queue a job
 *
 * Either @cmdbuf names a command buffer (then @stream_bo, @stream_offset,
 * @stream_len, @n_bos and @bos must be zero), or the stream is taken from
 * @stream_bo at @stream_offset and validated now against @bos.  The job
 * waits for @in_syncobjs and for the implicit fences of its BOs; its
 * completion fence is installed in @out_syncobj (if non-zero) and in the
 * BOs' reservations.  Errors: -EINVAL (bad fields, stream rejected: see
 * @verr), -ENOENT (unknown handle), -EFAULT.
 */
struct drm_inpu_submit {
	__u32 cmdbuf;
	__u32 stream_bo;
	__u64 stream_offset;
	__u32 stream_len;
	__u32 n_bos;
	__u64 bos;
	/** @n_params: values in @params; must match the stream's header */
	__u32 n_params;
	__u32 flags;
	__u32 params[8];
	/** @in_syncobjs: user pointer to __u32 syncobj handles */
	__u64 in_syncobjs;
	__u32 n_in_syncobjs;
	__u32 out_syncobj;
	/** @job_id: out: identifies the job for DRM_IOCTL_INPU_WAIT */
	__u64 job_id;
	/** @verr: out */
	struct drm_inpu_verror verr;
};

/* Job status beyond enum inpu_status and INPU_JOB_* (inpu_ring.h). */
#define DRM_INPU_JOB_PENDING	0x200
#define DRM_INPU_JOB_TIMEOUT	0x201
#define DRM_INPU_JOB_ABORTED	0x202	/* the device was reset */

/* Wait for every job using BO @handle instead of job @job_id. */
#define DRM_INPU_WAIT_BO	(1u << 0)
#define DRM_INPU_WAIT_FLAGS	DRM_INPU_WAIT_BO

/**
 * struct drm_inpu_wait - wait for a job (or a BO) and read the job's result
 *
 * Waits until job @job_id of this file has completed or @timeout_ns
 * (absolute, CLOCK_MONOTONIC) passes.  Returns 0 with the result filled
 * in, -ETIME on timeout (status DRM_INPU_JOB_PENDING), -ENOENT for an
 * unknown or forgotten job (the last 4096 results are kept per file).
 * With DRM_INPU_WAIT_BO, waits for every job that reads or writes BO
 * @handle (-ENOENT for an unknown handle); only @status is filled in
 * (INPU_OK, or DRM_INPU_JOB_PENDING on -ETIME).
 */
struct drm_inpu_wait {
	__u64 job_id;
	__s64 timeout_ns;
	/** @flags: DRM_INPU_WAIT_* */
	__u32 flags;
	/** @status: out: INPU_OK (0) or why the job failed */
	__u32 status;
	__u32 ops_done;
	__u32 fault_op;
	__u64 fault_addr;
	__u32 fault_write;
	/** @handle: in: the BO, with DRM_INPU_WAIT_BO */
	__u32 handle;
	__u64 cycles;
	__u64 energy_fj;
};

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_INPU_ACCEL_H_ */
