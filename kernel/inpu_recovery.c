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
#include <linux/delay.h>
#include <linux/module.h>

#include <drm/drm_print.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_coredump.h"
#include "inpu_fw.h"
#include "inpu_hw.h"
#include "inpu_job.h"
#include "inpu_mmu.h"
#include "inpu_recovery.h"
#include "inpu_ring.h"
#include "inpu_trace.h"

static unsigned int debug_tdr_delay_ms;
module_param(debug_tdr_delay_ms, uint, 0600);
MODULE_PARM_DESC(debug_tdr_delay_ms,
		 "TESTING ONLY: sleep this long after declaring a job hung and before resetting, so that tests can have it complete in between");

static unsigned int debug_lost_irq_delay_ms;
module_param(debug_lost_irq_delay_ms, uint, 0600);
MODULE_PARM_DESC(debug_lost_irq_delay_ms,
		 "TESTING ONLY: sleep this long after the timeout handler retired a completion whose interrupt was lost, so that tests see the scheduler's free worker run meanwhile");

static unsigned int hang_limit = 3;
module_param(hang_limit, uint, 0644);
MODULE_PARM_DESC(hang_limit,
		 "hung jobs after which a file's submissions fail with -EIO (default 3, 0 = never)");

/* End a job the device will not complete. */
void inpu_job_end(struct inpu_job *job, u32 status, int error)
{
	struct inpu_device *idev = job->idev;

	WRITE_ONCE(job->result->status, status);
	atomic64_inc(&idev->jobs_completed);
	atomic64_inc(&idev->jobs_failed);
	trace_inpu_job_done(job->job_id, job->vm->ctx, status, 0, 0, 0);
	dma_fence_set_error(job->hw_fence, error);
	dma_fence_signal(job->hw_fence);
}

bool inpu_tgid_banned(struct inpu_device *idev, pid_t tgid)
{
	unsigned int i, n;
	bool found = false;

	spin_lock(&idev->ban_lock);
	n = min_t(unsigned int, idev->n_banned, INPU_BANNED_TGIDS);
	for (i = 0; i < n && !found; i++)
		found = idev->banned_tgids[i] == tgid;
	spin_unlock(&idev->ban_lock);
	return found;
}

/* Ban @vm's file and its process (a ring of the most recent ones). */
static void inpu_ban(struct inpu_device *idev, struct inpu_vm *vm)
{
	WRITE_ONCE(vm->banned, true);
	atomic_inc(&idev->banned);
	spin_lock(&idev->ban_lock);
	idev->banned_tgids[idev->n_banned++ % INPU_BANNED_TGIDS] = vm->tgid;
	spin_unlock(&idev->ban_lock);
	drm_warn(&idev->drm,
		 "context %u (process %d) hung the device %u times: its submissions now fail with -EIO\n",
		 vm->ctx, vm->tgid, hang_limit);
}

void inpu_recovery_init(struct inpu_device *idev)
{
	mutex_init(&idev->recovery_lock);
	spin_lock_init(&idev->ban_lock);
}

/*
 * Take every job off the ring into idev->recover_jobs (and their slots
 * into recover_slots), in ring order.
 */
static unsigned int inpu_ring_take_all(struct inpu_device *idev)
{
	unsigned int n = 0;
	unsigned long flags;

	spin_lock_irqsave(&idev->ring_lock, flags);
	idev->recovering = true;
	for (; idev->ring_done != idev->ring_tail; idev->ring_done++) {
		u32 slot = idev->ring_done % INPU_RING_SIZE;

		if (!idev->slots[slot])
			continue;
		idev->recover_slots[n] = slot;
		idev->recover_jobs[n++] = idev->slots[slot];
		idev->slots[slot] = NULL;
	}
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	return n;
}

/* Whether the device finished @job before the reset (its record says so). */
static bool inpu_job_record_done(struct inpu_device *idev,
				 struct inpu_job *job, u32 slot)
{
	const struct inpu_completion *c = &idev->comp[slot];

	return READ_ONCE(c->seq) == INPU_COMPLETION_DONE &&
	       c->job_id == job->job_id;
}

/*
 * Put the jobs taken off the ring back: those whose completion record the
 * device wrote before the reset complete normally; the first other one is
 * the job the device was running: it ends with @status/@error if it is
 * @guilty or the recovery was forced (@guilty NULL); an innocent one (the
 * guilty job finished just before the reset) runs again, as do those
 * behind it, which had not started.  Returns how many were ended.
 */
static unsigned int inpu_ring_put_back(struct inpu_device *idev,
				       unsigned int n, struct inpu_job *guilty,
				       u32 status, int error)
{
	unsigned int i, ended = 0;
	bool running_seen = false;
	unsigned long flags;

	spin_lock_irqsave(&idev->ring_lock, flags);
	inpu_ring_hw_init(idev);
	idev->recovering = false;
	for (i = 0; i < n; i++) {
		struct inpu_job *job = idev->recover_jobs[i];
		u32 slot = idev->recover_slots[i];

		if (!running_seen && inpu_job_record_done(idev, job, slot)) {
			inpu_job_complete(job, &idev->comp[slot]);
			dma_fence_signal(job->hw_fence);
			continue;
		}
		if (!running_seen && (!guilty || job == guilty)) {
			inpu_job_end(job, status, error);
			ended++;
		} else {
			inpu_ring_push_locked(idev, job);
		}
		running_seen = true;
	}
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	return ended;
}

/*
 * Reset the device and restore it; the scheduler is stopped.  The job the
 * device was running ends (see inpu_ring_put_back), the others go back on
 * the ring in their order.
 */
static void inpu_recover_locked(struct inpu_device *idev,
				struct inpu_job *guilty, u32 status, int error)
{
	unsigned int n, ended;
	int ret;

	lockdep_assert_held(&idev->recovery_lock);
	/* Completions that made it before the reset count as such. */
	inpu_ring_irq(idev);
	inpu_coredump(idev, guilty, guilty ? "hang" : "forced");
	n = inpu_ring_take_all(idev);

	inpu_hw_reset(idev, INPU_RESET_RECOVERY);
	inpu_wr32(idev, INPU_REG_IRQ_MASK, INPU_IRQ_ALL);
	inpu_mmu_hw_init(idev);
	ret = inpu_fw_reboot(idev);
	if (ret)
		drm_err(&idev->drm,
			"firmware did not boot again after reset (%d): jobs will fail\n",
			ret);

	ended = inpu_ring_put_back(idev, n, guilty, status, error);
	atomic_inc(&idev->recoveries);
	drm_info(&idev->drm, "device reset and restored (recovery %d): %u job%s ended, %u requeued or completed\n",
		 atomic_read(&idev->recoveries), ended, ended == 1 ? "" : "s",
		 n - ended);
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

/*
 * The job has ended (its hardware fence signalled, or it never got one)
 * while off the scheduler's list, where the free worker cannot find it:
 * once the fence callbacks are done, have the scheduler free it now.
 */
static enum drm_gpu_sched_stat inpu_job_release_ended(struct inpu_job *job)
{
	dma_fence_wait(&job->base.s_fence->finished, false);
	job->idev->sched.free_guilty = true;
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

static bool inpu_job_ended(struct inpu_job *job)
{
	return !job->hw_fence || dma_fence_is_signaled(job->hw_fence);
}

/*
 * Retire what the device completed without its interrupt having done so.
 * The device may finish the job between any two of the timeout handler's
 * register reads, so every place the handler looks at HEAD goes through
 * here and the job's lost interrupt is counted once, wherever it is found.
 */
static void inpu_retire_lost(struct inpu_device *idev, struct inpu_job *job)
{
	bool ended = inpu_job_ended(job);

	if (!inpu_ring_irq(idev) || ended || !inpu_job_ended(job))
		return;
	atomic_inc(&idev->lost_irqs);
	drm_warn(&idev->drm,
		 "job %llu of context %u completed without an interrupt\n",
		 job->job_id, job->vm->ctx);
	if (READ_ONCE(debug_lost_irq_delay_ms))
		msleep(READ_ONCE(debug_lost_irq_delay_ms));
}

/* A hang: charge the job's file and process, then reset. */
static void inpu_job_hung(struct inpu_device *idev, struct inpu_job *job)
{
	drm_warn(&idev->drm, "job %llu of context %u hung: resetting the device\n",
		 job->job_id, job->vm->ctx);
	atomic_inc(&idev->timeouts);
	if (hang_limit && atomic_inc_return(&job->vm->hangs) >= hang_limit &&
	    !READ_ONCE(job->vm->banned))
		inpu_ban(idev, job->vm);
	idev->tdr_job = 0;
	drm_sched_stop(&idev->sched, &job->base);
	inpu_recover_locked(idev, job, DRM_INPU_JOB_TIMEOUT, -ETIMEDOUT);
	inpu_sched_restart(idev);
}

enum drm_gpu_sched_stat inpu_job_timedout(struct inpu_job *job)
{
	struct inpu_device *idev = job->idev;
	enum drm_gpu_sched_stat stat;
	u32 progress;

	mutex_lock(&idev->recovery_lock);
	/* After remove every job on the ring has ended. */
	if (READ_ONCE(idev->unplugged)) {
		stat = inpu_job_ended(job) ? inpu_job_release_ended(job) :
					     inpu_job_keep(job);
		goto out;
	}
	inpu_retire_lost(idev, job);
	/* Done (just now, ended by a forced recovery, or never run). */
	if (inpu_job_ended(job)) {
		stat = inpu_job_release_ended(job);
		goto out;
	}
	if (!inpu_job_on_ring(idev, job)) {
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

	if (READ_ONCE(debug_tdr_delay_ms))
		msleep(READ_ONCE(debug_tdr_delay_ms));
	/* It may have finished since: then there is nothing to reset. */
	inpu_retire_lost(idev, job);
	if (dma_fence_is_signaled(job->hw_fence)) {
		stat = inpu_job_release_ended(job);
		goto out;
	}
	inpu_job_hung(idev, job);
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
	if (READ_ONCE(idev->unplugged)) {
		mutex_unlock(&idev->recovery_lock);
		return -ENODEV;
	}
	drm_sched_stop(&idev->sched, NULL);
	inpu_recover_locked(idev, NULL, DRM_INPU_JOB_ABORTED, -ECANCELED);
	inpu_sched_restart(idev);
	mutex_unlock(&idev->recovery_lock);
	return 0;
}
