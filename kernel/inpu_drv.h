/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: DRM accel driver for the INPU integer-only NPU.
 */
#ifndef __INPU_DRV_H__
#define __INPU_DRV_H__

#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>
#include <drm/gpu_scheduler.h>

#include <inpu/inpu_isa.h>
#include <inpu/inpu_mmu.h>
#include <inpu/inpu_regs.h>
#include <inpu/inpu_ring.h>

#include "inpu_kcompat.h"

/* Descriptors in the command ring; also the scheduler's credit limit. */
#define INPU_RING_SIZE		256
/* Per-file job results kept for DRM_IOCTL_INPU_WAIT. */
#define INPU_RESULTS_KEPT	4096
/* Banned processes remembered (the oldest is forgotten first). */
#define INPU_BANNED_TGIDS	64

struct inpu_pt;
struct drm_inpu_bo_ref;

/* Why the device was reset (the inpu_reset tracepoint's reason). */
enum inpu_reset_reason {
	INPU_RESET_PROBE = 0,
	INPU_RESET_RECOVERY = 1,
};

#define DRIVER_NAME	"inpu"
#define DRIVER_DESC	"INPU integer-only NPU"

struct inpu_device {
	struct drm_device drm;
	struct pci_dev *pdev;
	void __iomem *regs;

	/* Read once at probe; the device cannot change them. */
	u32 hw_version;
	u64 capabilities;
	u32 sa_rows;
	u32 sa_cols;

	/* Of the booted firmware. */
	u32 fw_version;
	u64 fw_features;

	/* Signalled by the interrupt handler when the test source fires. */
	struct completion irq_test_done;

	/* Device MMU: context table and context ids (inpu_mmu.c). */
	u64 *ctx_table;
	dma_addr_t ctx_table_dma;
	struct ida ctx_ida;

	/* Command ring and completion records (inpu_ring.c). */
	struct inpu_job_desc *ring;
	dma_addr_t ring_dma;
	struct inpu_completion *comp;
	dma_addr_t comp_dma;
	spinlock_t ring_lock;		/* ring_tail, ring_done, slots */
	u32 ring_tail;
	u32 ring_done;
	struct inpu_job *slots[INPU_RING_SIZE];
	struct drm_gpu_scheduler sched;
	bool sched_ready;
	u64 fence_context;
	u64 fence_seqno;
	spinlock_t fence_lock;		/* the hardware fences' timeline */

	/* Statistics (sysfs, debugfs). */
	atomic64_t jobs_completed;
	atomic64_t jobs_failed;
	atomic64_t busy_ns;
	atomic64_t bo_count;
	atomic64_t bo_bytes;
	atomic64_t pinned_pages;	/* of mapped BOs */
	/* Objects alive, for leak checks (debugfs reliability). */
	atomic64_t jobs_alive;
	atomic64_t fences_alive;	/* hardware fences */
	atomic64_t cmdbufs_alive;
	atomic_t contexts;		/* address spaces */
	atomic_t resets;

	/* Recovery (inpu_recovery.c). */
	struct mutex recovery_lock;	/* one recovery at a time */
	bool recovering;		/* ring_lock: ignore completions */
	atomic_t recoveries;
	atomic_t timeouts;		/* jobs ended as hung */
	atomic_t lost_irqs;		/* completions found without interrupt */
	atomic_t banned;		/* files refused after too many hangs */
	u64 tdr_job;			/* the job and PROGRESS at the last */
	u32 tdr_ctx;			/* timeout, to see forward progress */
	u32 tdr_progress;

	/* Jobs taken off the ring by a recovery: preallocated, because a
	 * recovery runs while fences wait and must not allocate.
	 */
	struct inpu_job *recover_jobs[INPU_RING_SIZE];
	u32 recover_slots[INPU_RING_SIZE];

	/* The booted image, to boot it again after a reset (inpu_fw.c), and
	 * the DMA buffer the device reads it from, allocated at probe for the
	 * same reason.
	 */
	void *fw_image;
	size_t fw_image_size;
	void *fw_dma_buf;
	dma_addr_t fw_dma;

	/* Open files, so that remove can tear each one down (inpu_job.c);
	 * closes hold teardown_sem for reading while they end their queue.
	 */
	struct mutex files_lock;
	struct list_head files;
	struct rw_semaphore teardown_sem;
	/* Set by remove: run_job and the timeout handler touch nothing. */
	bool unplugged;

	/* Every address space, so that remove can free its page tables
	 * even when a BO keeps it alive after its file closed (inpu_mmu.c).
	 */
	struct mutex vms_lock;
	struct list_head vms;

	/* Processes banned for hanging the device, so that reopening the
	 * device does not escape the ban (inpu_recovery.c): a small ring,
	 * filled in the timeout handler, which must not allocate.
	 */
	spinlock_t ban_lock;
	/* The next devcoredump's buffer, allocated ahead (inpu_coredump.c). */
	void *dump_buf;
	struct work_struct dump_work;
	pid_t banned_tgids[INPU_BANNED_TGIDS];
	unsigned int n_banned;
};

/* A device address space: one per open file, one MMU context each. */
struct inpu_vm {
	struct kref ref;
	struct inpu_device *idev;
	struct mutex lock;		/* mm and page tables */
	struct drm_mm mm;
	struct inpu_pt *root;
	u32 ctx;
	u64 mapped_bytes;
	atomic64_t busy_ns;		/* device time of this file's jobs */
	atomic_t hangs;			/* jobs of this file that hung */
	bool banned;			/* submissions fail with -EIO */
	pid_t tgid;			/* of the process that opened it */
	/* What the file holds in kernel memory, against the per-file limits
	 * (inpu_job.c): command buffers, their stream bytes (named ones and
	 * those of queued inline jobs), jobs not yet freed.  Here rather
	 * than in the file because jobs and buffers can outlive it.
	 */
	atomic_t n_cmdbufs;
	atomic64_t stream_bytes;
	atomic_t jobs_queued;
	/* Set by remove: page tables and context are gone; the BOs that
	 * still point here only give back their address range.
	 */
	bool dead;
	struct list_head bos;		/* lock: its BOs (vm_link) */
	struct list_head link;		/* in idev->vms */
};

struct inpu_bo {
	struct drm_gem_shmem_object base;
	struct inpu_vm *vm;		/* where it is mapped, NULL before */
	struct drm_mm_node node;
	struct list_head vm_link;	/* in vm->bos */
	u32 flags;			/* DRM_INPU_BO_* */
};

static inline struct inpu_bo *to_inpu_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct inpu_bo, base.base);
}

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

/* A hardware fence, counted while alive (debugfs fences). */
struct inpu_fence {
	struct dma_fence base;
	struct inpu_device *idev;
};

static inline struct inpu_job *to_inpu_job(struct drm_sched_job *job)
{
	return container_of(job, struct inpu_job, base);
}

struct inpu_file {
	struct inpu_device *idev;
	struct inpu_vm *vm;
	struct drm_sched_entity entity;
	struct mutex lock;		/* cmdbufs, results, next_job_id */
	struct xarray cmdbufs;
	struct xarray results;
	u64 next_job_id;
	struct list_head link;		/* in idev->files, files_lock */
	bool torn_down;			/* files_lock: by remove */
};

static inline struct inpu_device *to_inpu_device(struct drm_device *drm)
{
	return container_of(drm, struct inpu_device, drm);
}

static inline u32 inpu_rd32(struct inpu_device *idev, u32 reg)
{
	return readl(idev->regs + reg);
}

static inline void inpu_wr32(struct inpu_device *idev, u32 reg, u32 val)
{
	writel(val, idev->regs + reg);
}

/* inpu_hw.c */
int inpu_hw_init(struct inpu_device *idev);
void inpu_hw_fini(struct inpu_device *idev);
int inpu_hw_reset(struct inpu_device *idev, enum inpu_reset_reason reason);

/* inpu_mmu.c */
int inpu_mmu_init(struct inpu_device *idev);
void inpu_mmu_hw_init(struct inpu_device *idev);
void inpu_mmu_fini(struct inpu_device *idev);
struct inpu_vm *inpu_vm_create(struct inpu_device *idev);
struct inpu_vm *inpu_vm_get(struct inpu_vm *vm);
void inpu_vm_put(struct inpu_vm *vm);
int inpu_vm_map_bo(struct inpu_vm *vm, struct inpu_bo *bo,
		   struct sg_table *sgt);
void inpu_vm_unmap_bo(struct inpu_vm *vm, struct inpu_bo *bo);
void inpu_vms_teardown(struct inpu_device *idev);

/* inpu_gem.c */
struct drm_gem_object *inpu_gem_create_object(struct drm_device *drm,
					      size_t size);
int inpu_bo_create_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);
int inpu_bo_info_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);
int inpu_bo_lookup_refs(struct drm_file *file,
			const struct drm_inpu_bo_ref *refs, u32 n,
			struct drm_gem_object **objs);
void inpu_bo_release_dma(struct inpu_bo *bo);

/* inpu_ring.c */
int inpu_ring_init(struct inpu_device *idev);
void inpu_ring_hw_init(struct inpu_device *idev);
void inpu_ring_fini(struct inpu_device *idev);
unsigned int inpu_ring_irq(struct inpu_device *idev);
void inpu_ring_push_locked(struct inpu_device *idev, struct inpu_job *job);
void inpu_ring_abort_all(struct inpu_device *idev);

/* inpu_recovery.c */
enum drm_gpu_sched_stat inpu_job_timedout(struct inpu_job *job);
int inpu_recover_forced(struct inpu_device *idev);
void inpu_job_end(struct inpu_job *job, u32 status, int error);
bool inpu_tgid_banned(struct inpu_device *idev, pid_t tgid);
void inpu_recovery_init(struct inpu_device *idev);

/* inpu_job.c */
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

/* inpu_debugfs.c */
void inpu_debugfs_init(struct inpu_device *idev);
void inpu_show_fdinfo(struct drm_printer *p, struct drm_file *file);

/* inpu_coredump.c */
int inpu_coredump_init(struct inpu_device *idev);
void inpu_coredump_fini(struct inpu_device *idev);
void inpu_coredump(struct inpu_device *idev, struct inpu_job *guilty,
		   const char *reason);

/* inpu_fw.c */
int inpu_fw_load(struct inpu_device *idev);
int inpu_fw_reboot(struct inpu_device *idev);

/* inpu_sysfs.c */
extern const struct attribute_group *inpu_dev_groups[];

/* inpu_irq.c */
int inpu_irq_init(struct inpu_device *idev);
int inpu_irq_selftest(struct inpu_device *idev);

/* inpu_query.c */
int inpu_query_ioctl(struct drm_device *drm, void *data,
		     struct drm_file *file);

#endif /* __INPU_DRV_H__ */
