// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device coredump on every hang and reset: a text snapshot of the
 * registers, the ring and the guilty job, taken before the reset, read
 * from /sys/class/devcoredump/devcdN/data.  The format is documented in
 * kernel/README.md ("Device coredump").
 *
 * It is taken in the timeout handler, while fences wait, so it must not
 * allocate: the buffer is allocated ahead (at probe, and again by a work
 * item after each dump takes it), handed to dev_coredumpv(), which frees
 * it, and a dump is simply skipped when no buffer is ready.  A dump held
 * by the devcoredump core does not pin the module.
 */
#include <linux/devcoredump.h>
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "inpu_drv.h"
#include "inpu_coredump.h"
#include "inpu_job.h"
#include "inpu_mmu.h"

#define INPU_COREDUMP_SIZE	(24 * 1024)

struct inpu_dump {
	char *buf;
	size_t len;
};

static __printf(2, 3) void inpu_dump_printf(struct inpu_dump *d,
					    const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	d->len += vscnprintf(d->buf + d->len, INPU_COREDUMP_SIZE - d->len, fmt,
			     args);
	va_end(args);
}

static void inpu_dump_regs(struct inpu_dump *d, struct inpu_device *idev)
{
	static const struct {
		const char *name;
		u32 reg;
	} regs[] = {
		{ "STATUS", INPU_REG_STATUS },
		{ "IRQ_STATUS", INPU_REG_IRQ_STATUS },
		{ "IRQ_MASK", INPU_REG_IRQ_MASK },
		{ "FW_STATUS", INPU_REG_FW_STATUS },
		{ "FW_ERROR", INPU_REG_FW_ERROR },
		{ "RING_SIZE", INPU_REG_RING_SIZE },
		{ "RING_HEAD", INPU_REG_RING_HEAD },
		{ "RING_TAIL", INPU_REG_RING_TAIL },
		{ "RING_CTRL", INPU_REG_RING_CTRL },
		{ "JOBS_DONE", INPU_REG_JOBS_DONE },
		{ "PROGRESS", INPU_REG_PROGRESS },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		inpu_dump_printf(d, "reg %s 0x%08x\n", regs[i].name,
				 inpu_rd32(idev, regs[i].reg));
}

static void inpu_dump_job(struct inpu_dump *d, struct inpu_device *idev,
			  struct inpu_job *job, u32 slot)
{
	const struct inpu_stream_header *hdr = job->cmdbuf->stream;
	const struct inpu_completion *c = &idev->comp[slot];
	u32 i;

	inpu_dump_printf(d, "guilty job %llu ctx %u tgid %d slot %u\n",
			 job->job_id, job->vm->ctx, job->vm->tgid, slot);
	inpu_dump_printf(d, "guilty stream len %u magic 0x%08x version %u n_ops %u n_params %u\n",
			 job->cmdbuf->len, hdr->magic, hdr->version, hdr->n_ops,
			 hdr->n_params);
	for (i = 0; i < job->n_params; i++)
		inpu_dump_printf(d, "guilty param %u %u (declared %u..%u)\n", i,
				 job->params[i], hdr->params[i].min,
				 hdr->params[i].max);
	inpu_dump_printf(d, "guilty completion seq 0x%08x job %llu status %u ops_done %u",
			 READ_ONCE(c->seq), c->job_id, c->status, c->ops_done);
	inpu_dump_printf(d, " fault_op %u fault_write %u fault_addr 0x%llx cycles %llu\n",
			 c->fault_op, c->fault_write, c->fault_addr, c->cycles);
}

/* The ring and the guilty job; called with ring_lock held. */
static void inpu_dump_ring_locked(struct inpu_dump *d,
				  struct inpu_device *idev,
				  struct inpu_job *guilty)
{
	u32 pos;

	lockdep_assert_held(&idev->ring_lock);
	inpu_dump_printf(d, "ring done %u tail %u size %u\n", idev->ring_done,
			 idev->ring_tail, INPU_RING_SIZE);
	for (pos = idev->ring_done; pos != idev->ring_tail; pos++) {
		u32 slot = pos % INPU_RING_SIZE;
		struct inpu_job *job = idev->slots[slot];

		if (!job)
			continue;
		inpu_dump_printf(d, "slot %u job %llu ctx %u\n", slot,
				 job->job_id, job->vm->ctx);
		if (job == guilty)
			inpu_dump_job(d, idev, job, slot);
	}
}

static void inpu_coredump_refill(struct work_struct *work)
{
	struct inpu_device *idev = container_of(work, struct inpu_device,
						dump_work);
	void *buf = vmalloc(INPU_COREDUMP_SIZE);

	if (buf && cmpxchg(&idev->dump_buf, NULL, buf))
		vfree(buf);
}

int inpu_coredump_init(struct inpu_device *idev)
{
	INIT_WORK(&idev->dump_work, inpu_coredump_refill);
	idev->dump_buf = vmalloc(INPU_COREDUMP_SIZE);
	return idev->dump_buf ? 0 : -ENOMEM;
}

void inpu_coredump_fini(struct inpu_device *idev)
{
	cancel_work_sync(&idev->dump_work);
	vfree(xchg(&idev->dump_buf, NULL));
	/* A dump nobody read is dropped with the device. */
	dev_coredump_put(&idev->pdev->dev);
}

void inpu_coredump(struct inpu_device *idev, struct inpu_job *guilty,
		   const char *reason)
{
	struct inpu_dump d = { 0 };
	unsigned long flags;

	d.buf = xchg(&idev->dump_buf, NULL);
	if (!d.buf)
		return;
	inpu_dump_printf(&d, "inpu devcoredump 1\n");
	inpu_dump_printf(&d, "reason %s\n", reason);
	inpu_dump_printf(&d, "time_ns %lld\n", ktime_get_boottime_ns());
	inpu_dump_printf(&d, "hw_version 0x%08x fw_version 0x%08x",
			 idev->hw_version, idev->fw_version);
	inpu_dump_printf(&d, " fw_features 0x%llx capabilities 0x%llx\n",
			 idev->fw_features, idev->capabilities);
	inpu_dump_regs(&d, idev);
	spin_lock_irqsave(&idev->ring_lock, flags);
	inpu_dump_ring_locked(&d, idev, guilty);
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	inpu_dump_printf(&d, "end\n");
	/* Takes the buffer (and vfrees it) whether or not it keeps the dump. */
	dev_coredumpv(&idev->pdev->dev, d.buf, d.len, GFP_NOWAIT);
	schedule_work(&idev->dump_work);
}
