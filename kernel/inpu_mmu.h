/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: the MMU context table and the per-file device address spaces
 * (inpu_mmu.c).
 */
#ifndef __INPU_MMU_H__
#define __INPU_MMU_H__

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include <drm/drm_mm.h>

#include <inpu/inpu_mmu.h>

struct inpu_bo;
struct inpu_device;
struct inpu_pt;
struct sg_table;

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

#endif /* __INPU_MMU_H__ */
