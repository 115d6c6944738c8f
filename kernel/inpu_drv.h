/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: DRM accel driver for the INPU integer-only NPU.
 */
#ifndef __INPU_DRV_H__
#define __INPU_DRV_H__

#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/gpu_scheduler.h>

#include <inpu/inpu_regs.h>
#include <inpu/inpu_ring.h>

#include "inpu_kcompat.h"

/* Descriptors in the command ring; also the scheduler's credit limit. */
#define INPU_RING_SIZE		256
/* Banned processes remembered (the oldest is forgotten first). */
#define INPU_BANNED_TGIDS	64

struct inpu_job;
struct inpu_vm;

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

#endif /* __INPU_DRV_H__ */
