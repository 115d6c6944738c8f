// SPDX-License-Identifier: GPL-2.0-only
/*
 * Timeouts and recovery.
 *
 * When a job outlives job_timeout_ms, the scheduler calls
 * inpu_job_timedout() and three cases are told apart:
 *
 *  - lost interrupt: the device completed the job (HEAD moved past it)
 *    but no interrupt arrived: retire the completions and carry on;
 *  - slow job: the device's PROGRESS register moved since the last look:
 *    give it another period;
 *  - hang: reset the device and bring it back (MMU context table,
 *    firmware, ring), end the job the device was running with
 *    DRM_INPU_JOB_TIMEOUT, and queue the jobs behind it again: the
 *    device runs the ring in order, so they had not started.
 *
 * A forced recovery (debugfs force_recovery) does the same reset with no
 * hang: the running job ends with DRM_INPU_JOB_ABORTED (its outputs may
 * be half written, and running it again would not be idempotent for a
 * stream that updates in place), the rest run again.
 *
 * Every job therefore ends exactly once, with a truthful status, and its
 * fence signals (with -ETIMEDOUT or -ECANCELED when it did not run to
 * completion).  A file whose jobs hung hang_limit times is banned: its
 * further submissions fail with -EIO, so one client cannot keep resetting
 * the device under the others; it may open the device again.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include <drm/drm_print.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_trace.h"

static unsigned int hang_limit = 3;
module_param(hang_limit, uint, 0644);
MODULE_PARM_DESC(hang_limit,
		 "hung jobs after which a file's submissions fail with -EIO (default 3, 0 = never)");

/* End a job the device will not complete. */
static void inpu_job_end(struct inpu_job *job, u32 status, int error)
{
	struct inpu_device *idev = job->idev;

	WRITE_ONCE(job->result->status, status);
	atomic64_inc(&idev->jobs_completed);
	atomic64_inc(&idev->jobs_failed);
	trace_inpu_job_done(job->job_id, job->vm->ctx, status, 0, 0, 0);
	dma_fence_set_error(job->hw_fence, error);
	dma_fence_signal(job->hw_fence);
}

/*
 * Reset the device and restore it; the scheduler is stopped.  The job the
 * device was running ends with @status/@error, the others go back on the
 * ring in their order.
 */
static void inpu_recover_locked(struct inpu_device *idev, u32 status,
				int error)
{
	struct inpu_job **jobs;
	unsigned long flags;
	unsigned int n = 0, i;
	int ret;

	lockdep_assert_held(&idev->recovery_lock);
	/* Completions that made it before the reset count as such. */
	inpu_ring_irq(idev);

	jobs = kcalloc(INPU_RING_SIZE, sizeof(*jobs), GFP_KERNEL | __GFP_NOFAIL);
	spin_lock_irqsave(&idev->ring_lock, flags);
	idev->recovering = true;
	for (; idev->ring_done != idev->ring_tail; idev->ring_done++) {
		u32 slot = idev->ring_done % INPU_RING_SIZE;

		if (idev->slots[slot])
			jobs[n++] = idev->slots[slot];
		idev->slots[slot] = NULL;
	}
	spin_unlock_irqrestore(&idev->ring_lock, flags);

	inpu_hw_reset(idev, INPU_RESET_RECOVERY);
	inpu_wr32(idev, INPU_REG_IRQ_MASK, INPU_IRQ_ALL);
	inpu_mmu_hw_init(idev);
	ret = inpu_fw_reboot(idev);
	if (ret)
		drm_err(&idev->drm,
			"firmware did not boot again after reset (%d): jobs will fail\n",
			ret);

	spin_lock_irqsave(&idev->ring_lock, flags);
	inpu_ring_hw_init(idev);
	idev->recovering = false;
	for (i = 0; i < n; i++) {
		if (i == 0)
			inpu_job_end(jobs[i], status, error);
		else
			inpu_ring_push_locked(idev, jobs[i]);
	}
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	kfree(jobs);
	atomic_inc(&idev->recoveries);
	drm_info(&idev->drm, "device reset and restored (recovery %d): %u job%s ended, %u requeued\n",
		 atomic_read(&idev->recoveries), n ? 1 : 0, n == 1 ? "" : "s",
		 n ? n - 1 : 0);
}

/*
 * drm_sched_stop() dropped each pending job's hardware fence; give them
 * back (signalled or requeued) so drm_sched_start() waits on them.
 */
static void inpu_sched_restart(struct inpu_device *idev)
{
	struct drm_sched_job *s_job;

	list_for_each_entry(s_job, &idev->sched.pending_list, list) {
		struct inpu_job *job = to_inpu_job(s_job);

		if (!s_job->s_fence->parent && job->hw_fence)
			s_job->s_fence->parent = dma_fence_get(job->hw_fence);
	}
#ifdef INPU_HAVE_SCHED_START_ERRNO
	drm_sched_start(&idev->sched, 0);
#else
	drm_sched_start(&idev->sched);
#endif
}

static bool inpu_job_on_ring(struct inpu_device *idev, struct inpu_job *job)
{
	unsigned long flags;
	bool found = false;
	u32 pos;

	spin_lock_irqsave(&idev->ring_lock, flags);
	for (pos = idev->ring_done; pos != idev->ring_tail && !found; pos++)
		found = idev->slots[pos % INPU_RING_SIZE] == job;
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	return found;
}

/* The scheduler took the job off its list to call us: put it back. */
static enum drm_gpu_sched_stat inpu_job_keep(struct inpu_job *job)
{
	struct drm_gpu_scheduler *sched = &job->idev->sched;

	spin_lock(&sched->job_list_lock);
	list_add(&job->base.list, &sched->pending_list);
	spin_unlock(&sched->job_list_lock);
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

enum drm_gpu_sched_stat inpu_job_timedout(struct inpu_job *job)
{
	struct inpu_device *idev = job->idev;
	enum drm_gpu_sched_stat stat;
	u32 progress;

	mutex_lock(&idev->recovery_lock);
	if (inpu_ring_irq(idev) && dma_fence_is_signaled(job->hw_fence)) {
		atomic_inc(&idev->lost_irqs);
		drm_warn(&idev->drm,
			 "job %llu of context %u completed without an interrupt\n",
			 job->job_id, job->vm->ctx);
	}
	/* Done (just now, or ended by a forced recovery meanwhile). */
	if (dma_fence_is_signaled(job->hw_fence) || !inpu_job_on_ring(idev, job)) {
		stat = inpu_job_keep(job);
		goto out;
	}

	progress = inpu_rd32(idev, INPU_REG_PROGRESS);
	if (idev->tdr_job != job->job_id || idev->tdr_ctx != job->vm->ctx ||
	    idev->tdr_progress != progress) {
		idev->tdr_job = job->job_id;
		idev->tdr_ctx = job->vm->ctx;
		idev->tdr_progress = progress;
		stat = inpu_job_keep(job);
		goto out;
	}

	drm_warn(&idev->drm, "job %llu of context %u hung: resetting the device\n",
		 job->job_id, job->vm->ctx);
	atomic_inc(&idev->timeouts);
	if (hang_limit && atomic_inc_return(&job->vm->hangs) >= hang_limit &&
	    !READ_ONCE(job->vm->banned)) {
		WRITE_ONCE(job->vm->banned, true);
		atomic_inc(&idev->banned);
		drm_warn(&idev->drm,
			 "context %u hung the device %u times: its submissions now fail with -EIO\n",
			 job->vm->ctx, hang_limit);
	}
	idev->tdr_job = 0;
	drm_sched_stop(&idev->sched, &job->base);
	inpu_recover_locked(idev, DRM_INPU_JOB_TIMEOUT, -ETIMEDOUT);
	inpu_sched_restart(idev);
	stat = DRM_GPU_SCHED_STAT_NOMINAL;
out:
	mutex_unlock(&idev->recovery_lock);
	return stat;
}

int inpu_recover_forced(struct inpu_device *idev)
{
	if (!idev->sched_ready)
		return -ENODEV;
	mutex_lock(&idev->recovery_lock);
	drm_sched_stop(&idev->sched, NULL);
	inpu_recover_locked(idev, DRM_INPU_JOB_ABORTED, -ECANCELED);
	inpu_sched_restart(idev);
	mutex_unlock(&idev->recovery_lock);
	return 0;
}
