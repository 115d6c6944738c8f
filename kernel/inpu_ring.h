/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: the command ring, the drm_sched backend and the hardware fences
 * (inpu_ring.c).
 */
#ifndef __INPU_RING_H__
#define __INPU_RING_H__

#include <linux/dma-fence.h>

struct inpu_device;
struct inpu_job;

/* A hardware fence, counted while alive (debugfs fences). */
struct inpu_fence {
	struct dma_fence base;
	struct inpu_device *idev;
};

int inpu_ring_init(struct inpu_device *idev);
void inpu_ring_hw_init(struct inpu_device *idev);
void inpu_ring_fini(struct inpu_device *idev);
unsigned int inpu_ring_irq(struct inpu_device *idev);
void inpu_ring_push_locked(struct inpu_device *idev, struct inpu_job *job);
void inpu_ring_abort_all(struct inpu_device *idev);

#endif /* __INPU_RING_H__ */
