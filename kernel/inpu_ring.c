// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command ring and the DRM scheduler backend: run_job writes a
 * descriptor and rings the doorbell, the interrupt handler reads the
 * completion records the device wrote and signals the hardware fences.
 *
 * The scheduler's credit limit equals the ring size, so the ring can never
 * overflow: a job holds one credit from run_job until its fence signals.
 *
 * The device runs the ring in order, one job at a time, so a job starts
 * when it is queued on an idle ring or when the job before it completes;
 * that instant (not the doorbell) is its start for the busy time and the
 * inpu_job_start tracepoint.
 */
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>

#include <drm/drm_gem.h>
#include <drm/drm_print.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_job.h"
#include "inpu_mmu.h"
#include "inpu_recovery.h"
#include "inpu_ring.h"
#include "inpu_trace.h"

static unsigned int job_timeout_ms = 10000;
module_param(job_timeout_ms, uint, 0444);
MODULE_PARM_DESC(job_timeout_ms,
		 "time a job may run before the driver checks it (default 10000); a job without forward progress over two such periods is declared hung and the device is reset");

static const char *inpu_fence_driver_name(struct dma_fence *fence)
{
	return DRIVER_NAME;
}

static const char *inpu_fence_timeline_name(struct dma_fence *fence)
{
	return "inpu-ring";
}

static void inpu_fence_release(struct dma_fence *fence)
{
	struct inpu_fence *f = container_of(fence, struct inpu_fence, base);

	atomic64_dec(&f->idev->fences_alive);
	dma_fence_free(fence);
}

static const struct dma_fence_ops inpu_fence_ops = {
	.get_driver_name = inpu_fence_driver_name,
	.get_timeline_name = inpu_fence_timeline_name,
	.release = inpu_fence_release,
};

static void inpu_job_started(struct inpu_job *job, u32 slot, u32 queued)
{
	job->start = ktime_get();
	trace_inpu_job_start(job->job_id, job->vm->ctx, slot, queued);
}

/*
 * Queue @job on the ring with the hardware fence it already has: from
 * run_job, and again for the jobs a recovery puts back.
 */
void inpu_ring_push_locked(struct inpu_device *idev, struct inpu_job *job)
{
	struct inpu_job_desc *d;
	u32 slot;

	lockdep_assert_held(&idev->ring_lock);
	slot = idev->ring_tail % INPU_RING_SIZE;
	d = &idev->ring[slot];
	memset(d, 0, sizeof(*d));
	d->job_id = job->job_id;
	d->context = job->vm->ctx;
	d->stream_addr = job->cmdbuf->stream_dma;
	d->stream_len = job->cmdbuf->len;
	d->n_params = job->n_params;
	memcpy(d->params, job->params, sizeof(d->params));
	d->completion_addr = idev->comp_dma + slot * sizeof(*idev->comp);
	memset(&idev->comp[slot], 0, sizeof(idev->comp[slot]));
	idev->slots[slot] = job;
	if (idev->ring_tail == idev->ring_done)
		inpu_job_started(job, slot, 1);
	idev->ring_tail++;
	/* The descriptor must be visible before the doorbell. */
	wmb();
	inpu_wr32(idev, INPU_REG_RING_TAIL, idev->ring_tail);
}

static struct dma_fence *inpu_run_job(struct drm_sched_job *sched_job)
{
	struct inpu_job *job = to_inpu_job(sched_job);
	struct inpu_device *idev = job->idev;
	struct dma_fence *fence;
	unsigned long flags;

	/* Skipped (a dependency failed, its file went away) or the device
	 * was removed: the job ends here, and WAIT says so.
	 */
	if (sched_job->s_fence->finished.error || READ_ONCE(idev->unplugged)) {
		WRITE_ONCE(job->result->status, DRM_INPU_JOB_ABORTED);
		return sched_job->s_fence->finished.error ? NULL :
							     ERR_PTR(-ENODEV);
	}

	/* Allocated at submit: no allocation while fences wait. */
	fence = &job->hw_fence_mem->base;
	job->hw_fence_mem = NULL;
	spin_lock_irqsave(&idev->ring_lock, flags);
	dma_fence_init(fence, &inpu_fence_ops, &idev->fence_lock,
		       idev->fence_context, ++idev->fence_seqno);
	job->hw_fence = dma_fence_get(fence);
	inpu_ring_push_locked(idev, job);
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	return fence;
}

static enum drm_gpu_sched_stat inpu_timedout_job(struct drm_sched_job *sched_job)
{
	return inpu_job_timedout(to_inpu_job(sched_job));
}

static void inpu_free_job(struct drm_sched_job *sched_job)
{
	struct inpu_job *job = to_inpu_job(sched_job);
	u32 i;

	/* Never handed to the device (a dependency failed, the file was
	 * closed first, the device went away): the job still ends, for
	 * whoever traces it.
	 */
	if (!job->hw_fence)
		trace_inpu_job_done(job->job_id, job->vm->ctx,
				    DRM_INPU_JOB_ABORTED, 0, 0, 0);
	drm_sched_job_cleanup(sched_job);
	dma_fence_put(job->hw_fence);
	if (job->hw_fence_mem) {
		atomic64_dec(&job->idev->fences_alive);
		kfree(job->hw_fence_mem);
	}
	atomic64_dec(&job->idev->jobs_alive);
	for (i = 0; i < job->cmdbuf->n_bos; i++)
		drm_gem_object_put(job->cmdbuf->bos[i]);
	inpu_cmdbuf_put(job->cmdbuf);
	inpu_result_put(job->result);
	atomic_dec(&job->vm->jobs_queued);
	inpu_vm_put(job->vm);
	kfree(job);
}

static const struct drm_sched_backend_ops inpu_sched_ops = {
	.run_job = inpu_run_job,
	.timedout_job = inpu_timedout_job,
	.free_job = inpu_free_job,
};

void inpu_ring_hw_init(struct inpu_device *idev)
{
	inpu_wr32(idev, INPU_REG_RING_BASE_LO, lower_32_bits(idev->ring_dma));
	inpu_wr32(idev, INPU_REG_RING_BASE_HI, upper_32_bits(idev->ring_dma));
	inpu_wr32(idev, INPU_REG_RING_SIZE, INPU_RING_SIZE);
	inpu_wr32(idev, INPU_REG_RING_CTRL, INPU_RING_CTRL_ENABLE);
	idev->ring_tail = inpu_rd32(idev, INPU_REG_RING_HEAD);
	idev->ring_done = idev->ring_tail;
}

int inpu_ring_init(struct inpu_device *idev)
{
	struct device *dev = &idev->pdev->dev;
	int ret;

	/* An older device model without the ring still answers QUERY. */
	if (!(idev->capabilities & INPU_CAP_RING)) {
		drm_warn(&idev->drm, "device has no command ring: jobs disabled\n");
		return 0;
	}
	spin_lock_init(&idev->ring_lock);
	spin_lock_init(&idev->fence_lock);
	idev->fence_context = dma_fence_context_alloc(1);
	idev->ring = dmam_alloc_coherent(dev, INPU_RING_SIZE * sizeof(*idev->ring),
					 &idev->ring_dma, GFP_KERNEL);
	idev->comp = dmam_alloc_coherent(dev, INPU_RING_SIZE * sizeof(*idev->comp),
					 &idev->comp_dma, GFP_KERNEL);
	if (!idev->ring || !idev->comp)
		return -ENOMEM;
	inpu_ring_hw_init(idev);

#ifdef INPU_HAVE_SCHED_INIT_ARGS
	{
		const struct drm_sched_init_args args = {
			.ops = &inpu_sched_ops,
			.num_rqs = DRM_SCHED_PRIORITY_COUNT,
			.credit_limit = INPU_RING_SIZE,
			.timeout = msecs_to_jiffies(job_timeout_ms),
			.name = DRIVER_NAME,
			.dev = dev,
		};

		ret = drm_sched_init(&idev->sched, &args);
	}
#else
	ret = drm_sched_init(&idev->sched, &inpu_sched_ops, NULL,
			     DRM_SCHED_PRIORITY_COUNT, INPU_RING_SIZE, 0,
			     msecs_to_jiffies(job_timeout_ms), NULL, NULL,
			     DRIVER_NAME, dev);
#endif
	if (ret) {
		drm_err(&idev->drm, "cannot initialise the scheduler: %d\n", ret);
		return ret;
	}
	idev->sched_ready = true;
	return 0;
}

void inpu_ring_fini(struct inpu_device *idev)
{
	if (!idev->sched_ready)
		return;
	/*
	 * Every job has ended (inpu_ring_abort_all, inpu_files_teardown);
	 * drm_sched_stop() frees those the free worker has not freed yet,
	 * which drm_sched_fini() would leave behind.
	 */
	drm_sched_stop(&idev->sched, NULL);
	drm_sched_fini(&idev->sched);
	idev->sched_ready = false;
	inpu_wr32(idev, INPU_REG_RING_CTRL, 0);
}

/* Called from the interrupt handler (and by recovery, which looks for
 * completions whose interrupt was lost): retire every job the device is
 * done with, in ring order.  Returns how many it retired.
 */
unsigned int inpu_ring_irq(struct inpu_device *idev)
{
	unsigned int retired = 0;
	unsigned long flags;
	u32 head;

	spin_lock_irqsave(&idev->ring_lock, flags);
	/* Mid-reset, HEAD and the records belong to no job. */
	if (idev->recovering) {
		spin_unlock_irqrestore(&idev->ring_lock, flags);
		return 0;
	}
	head = inpu_rd32(idev, INPU_REG_RING_HEAD);
	/* Never retire beyond what was queued, whatever the register says. */
	if (head - idev->ring_done > idev->ring_tail - idev->ring_done)
		head = idev->ring_tail;
	while (idev->ring_done != head) {
		u32 slot = idev->ring_done % INPU_RING_SIZE;
		struct inpu_job *job = idev->slots[slot];

		idev->slots[slot] = NULL;
		idev->ring_done++;
		if (!job)
			continue;
		/* The record is written before HEAD moves; read it after. */
		rmb();
		inpu_job_complete(job, &idev->comp[slot]);
		dma_fence_signal(job->hw_fence);
		retired++;
		if (idev->ring_done != idev->ring_tail) {
			u32 next = idev->ring_done % INPU_RING_SIZE;

			if (idev->slots[next])
				inpu_job_started(idev->slots[next], next,
						 idev->ring_tail - idev->ring_done);
		}
	}
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	return retired;
}

/*
 * Device remove: stop the device and end every job on the ring with
 * DRM_INPU_JOB_ABORTED (fence error -ENODEV).  run_job queues nothing
 * more once idev->unplugged is set.
 */
void inpu_ring_abort_all(struct inpu_device *idev)
{
	unsigned long flags;
	unsigned int n = 0, i;

	if (!idev->sched_ready)
		return;
	mutex_lock(&idev->recovery_lock);
	inpu_ring_irq(idev);
	spin_lock_irqsave(&idev->ring_lock, flags);
	idev->recovering = true;
	for (; idev->ring_done != idev->ring_tail; idev->ring_done++) {
		u32 slot = idev->ring_done % INPU_RING_SIZE;

		if (idev->slots[slot])
			idev->recover_jobs[n++] = idev->slots[slot];
		idev->slots[slot] = NULL;
	}
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	/* Disabling the ring makes the device abandon the job it runs and
	 * write nothing more (qemu-device/README.md); no reset is needed.
	 */
	inpu_wr32(idev, INPU_REG_RING_CTRL, 0);
	for (i = 0; i < n; i++)
		inpu_job_end(idev->recover_jobs[i], DRM_INPU_JOB_ABORTED,
			     -ENODEV);
	mutex_unlock(&idev->recovery_lock);
}
