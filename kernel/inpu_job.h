/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: command buffers, job submission and waiting, per-file state
 * (inpu_job.c).
 */
#ifndef __INPU_JOB_H__
#define __INPU_JOB_H__

#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/types.h>

#include <drm/gpu_scheduler.h>

#include <inpu/inpu_isa.h>

/* Per-file job results kept for DRM_IOCTL_INPU_WAIT. */
#define INPU_RESULTS_KEPT	4096

struct dma_fence;
struct drm_device;
struct drm_file;
struct drm_gem_object;
struct inpu_completion;
struct inpu_device;
struct inpu_fence;
struct inpu_vm;

/* A validated command stream in kernel memory, with the BOs it may use. */
struct inpu_cmdbuf {
	struct kref ref;
	struct inpu_device *idev;
	struct inpu_vm *vm;		/* charged for its bytes */
	void *stream;
	dma_addr_t stream_dma;
	u32 len;
	u32 n_params;
	struct inpu_param_decl params[INPU_MAX_PARAMS];
	u32 n_bos;
	struct drm_gem_object **bos;
	u32 *bo_flags;			/* DRM_INPU_REF_* */
};

/* What DRM_IOCTL_INPU_WAIT reports; shared by the job and the file. */
struct inpu_result {
	struct kref ref;
	struct dma_fence *done;		/* the scheduler's finished fence */
	u32 status;
	u32 ops_done;
	u32 fault_op;
	u32 fault_write;
	u64 fault_addr;
	u64 cycles;
	u64 energy_fj;
};

struct inpu_job {
	struct drm_sched_job base;
	struct inpu_device *idev;
	struct inpu_vm *vm;
	struct inpu_cmdbuf *cmdbuf;
	struct inpu_result *result;
	/* Allocated at submit, initialised by run_job (no allocation in the
	 * fence-signalling path); NULL until then.
	 */
	struct dma_fence *hw_fence;
	struct inpu_fence *hw_fence_mem;
	u64 job_id;
	u32 n_params;
	u32 params[INPU_MAX_PARAMS];
	/* When the device began it (inpu_ring.c), for the busy time. */
	ktime_t start;
};

static inline struct inpu_job *to_inpu_job(struct drm_sched_job *job)
{
	return container_of(job, struct inpu_job, base);
}

int inpu_file_open(struct inpu_device *idev, struct drm_file *file);
void inpu_file_close(struct drm_file *file);
void inpu_files_teardown(struct inpu_device *idev);
int inpu_cmdbuf_create_ioctl(struct drm_device *drm, void *data,
			     struct drm_file *file);
int inpu_cmdbuf_destroy_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file);
int inpu_submit_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file);
int inpu_wait_ioctl(struct drm_device *drm, void *data, struct drm_file *file);
void inpu_job_complete(struct inpu_job *job,
		       const struct inpu_completion *c);
void inpu_cmdbuf_put(struct inpu_cmdbuf *cb);
void inpu_result_put(struct inpu_result *r);

#endif /* __INPU_JOB_H__ */
