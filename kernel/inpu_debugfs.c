// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs (per-client BO lists, queue state, reliability counters, forced
 * recovery, the device's fault injection) and fdinfo (drm-engine-npu busy
 * time and memory statistics, see Documentation/gpu/drm-usage-stats).
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>
#include <drm/drm_print.h>

#include "inpu_drv.h"
#include "inpu_debugfs.h"
#include "inpu_gem.h"
#include "inpu_mmu.h"
#include "inpu_recovery.h"

static int inpu_bo_print(int id, void *ptr, void *data)
{
	struct drm_gem_object *obj = ptr;
	struct inpu_bo *bo = to_inpu_bo(obj);
	struct seq_file *m = data;

	seq_printf(m, "  handle %4d  dva %#012llx  size %10zu  flags %#x\n", id,
		   bo->node.start, obj->size, bo->flags);
	return 0;
}

static int inpu_debugfs_bos(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct drm_device *drm = entry->dev;
	struct drm_file *file;

	mutex_lock(&drm->filelist_mutex);
	list_for_each_entry(file, &drm->filelist, lhead) {
		struct inpu_file *ifile = file->driver_priv;

		if (!ifile)
			continue;
		seq_printf(m, "client %llu (context %u, %llu bytes mapped)\n",
			   file->client_id, ifile->vm->ctx,
			   ifile->vm->mapped_bytes);
		spin_lock(&file->table_lock);
		idr_for_each(&file->object_idr, inpu_bo_print, m);
		spin_unlock(&file->table_lock);
	}
	mutex_unlock(&drm->filelist_mutex);
	return 0;
}

static int inpu_debugfs_queue(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct inpu_device *idev = to_inpu_device(entry->dev);
	unsigned long flags;
	u32 tail, done;

	spin_lock_irqsave(&idev->ring_lock, flags);
	tail = idev->ring_tail;
	done = idev->ring_done;
	spin_unlock_irqrestore(&idev->ring_lock, flags);
	seq_printf(m, "ring size %u, queued %u, completed %u, in flight %u\n",
		   INPU_RING_SIZE, tail, done, tail - done);
	seq_printf(m, "device head %u, jobs done %u\n",
		   inpu_rd32(idev, INPU_REG_RING_HEAD),
		   inpu_rd32(idev, INPU_REG_JOBS_DONE));
	seq_printf(m, "jobs completed %lld, failed %lld, busy %lld ns\n",
		   atomic64_read(&idev->jobs_completed),
		   atomic64_read(&idev->jobs_failed),
		   atomic64_read(&idev->busy_ns));
	seq_printf(m, "buffer objects %lld, %lld bytes\n",
		   atomic64_read(&idev->bo_count),
		   atomic64_read(&idev->bo_bytes));
	return 0;
}

/* One "name value" per line, for tests and monitoring. */
static int inpu_debugfs_reliability(struct seq_file *m, void *unused)
{
	struct drm_debugfs_entry *entry = m->private;
	struct inpu_device *idev = to_inpu_device(entry->dev);

	seq_printf(m, "jobs_completed %lld\n",
		   atomic64_read(&idev->jobs_completed));
	seq_printf(m, "jobs_failed %lld\n", atomic64_read(&idev->jobs_failed));
	seq_printf(m, "recoveries %d\n", atomic_read(&idev->recoveries));
	seq_printf(m, "resets %d\n", atomic_read(&idev->resets));
	seq_printf(m, "timeouts %d\n", atomic_read(&idev->timeouts));
	seq_printf(m, "lost_irqs %d\n", atomic_read(&idev->lost_irqs));
	seq_printf(m, "banned_files %d\n", atomic_read(&idev->banned));
	seq_printf(m, "bos %lld\n", atomic64_read(&idev->bo_count));
	seq_printf(m, "bo_bytes %lld\n", atomic64_read(&idev->bo_bytes));
	seq_printf(m, "pinned_pages %lld\n",
		   atomic64_read(&idev->pinned_pages));
	seq_printf(m, "jobs_alive %lld\n", atomic64_read(&idev->jobs_alive));
	seq_printf(m, "fences_alive %lld\n",
		   atomic64_read(&idev->fences_alive));
	seq_printf(m, "cmdbufs_alive %lld\n",
		   atomic64_read(&idev->cmdbufs_alive));
	seq_printf(m, "contexts %d\n", atomic_read(&idev->contexts));
	if (idev->capabilities & INPU_CAP_FAULT_INJECT)
		seq_printf(m, "faults_injected %u\n",
			   inpu_rd32(idev, INPU_REG_FI_INJECTED));
	return 0;
}

static const struct drm_debugfs_info inpu_debugfs_list[] = {
	{ "bos", inpu_debugfs_bos, 0 },
	{ "queue", inpu_debugfs_queue, 0 },
	{ "reliability", inpu_debugfs_reliability, 0 },
};

/* Any write resets the device and restores it (inpu_recovery.c). */
static ssize_t inpu_force_recovery_write(struct file *file,
					 const char __user *buf, size_t len,
					 loff_t *pos)
{
	struct inpu_device *idev = file->private_data;
	int ret;

	ret = inpu_recover_forced(idev);
	return ret ? ret : len;
}

static const struct file_operations inpu_force_recovery_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = inpu_force_recovery_write,
};

/*
 * "KINDS PERIOD COUNT [SLOW_MS]" programs the device's fault injection
 * (INPU_REG_FI_*, uapi/inpu/inpu_regs.h); "0 0 0" disarms it.
 */
static int inpu_fault_inject_show(struct seq_file *m, void *unused)
{
	struct inpu_device *idev = m->private;

	seq_printf(m, "kinds %#x period %u count %u slow_ms %u injected %u\n",
		   inpu_rd32(idev, INPU_REG_FI_KINDS),
		   inpu_rd32(idev, INPU_REG_FI_PERIOD),
		   inpu_rd32(idev, INPU_REG_FI_COUNT),
		   inpu_rd32(idev, INPU_REG_FI_SLOW_MS),
		   inpu_rd32(idev, INPU_REG_FI_INJECTED));
	return 0;
}

static int inpu_fault_inject_open(struct inode *inode, struct file *file)
{
	return single_open(file, inpu_fault_inject_show, inode->i_private);
}

static ssize_t inpu_fault_inject_write(struct file *file,
				       const char __user *ubuf, size_t len,
				       loff_t *pos)
{
	struct inpu_device *idev = file_inode(file)->i_private;
	u32 kinds, period, count, slow_ms = 0;
	char buf[64];
	int n;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	n = sscanf(buf, "%i %u %u %u", &kinds, &period, &count, &slow_ms);
	if (n < 3 || kinds & ~INPU_FI_ALL)
		return -EINVAL;
	inpu_wr32(idev, INPU_REG_FI_KINDS, kinds);
	inpu_wr32(idev, INPU_REG_FI_PERIOD, period);
	if (n == 4)
		inpu_wr32(idev, INPU_REG_FI_SLOW_MS, slow_ms);
	/* Last: writing the count arms it. */
	inpu_wr32(idev, INPU_REG_FI_COUNT, count);
	return len;
}

static const struct file_operations inpu_fault_inject_fops = {
	.owner = THIS_MODULE,
	.open = inpu_fault_inject_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = inpu_fault_inject_write,
};

void inpu_debugfs_init(struct inpu_device *idev)
{
	struct dentry *root = idev->drm.debugfs_root;

	drm_debugfs_add_files(&idev->drm, inpu_debugfs_list,
			      ARRAY_SIZE(inpu_debugfs_list));
	if (!root)
		return;
	debugfs_create_file("force_recovery", 0200, root, idev,
			    &inpu_force_recovery_fops);
	if (idev->capabilities & INPU_CAP_FAULT_INJECT)
		debugfs_create_file("fault_inject", 0600, root, idev,
				    &inpu_fault_inject_fops);
}

void inpu_show_fdinfo(struct drm_printer *p, struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;

	if (!ifile)
		return;
	drm_printf(p, "drm-engine-npu:\t%lld ns\n",
		   atomic64_read(&ifile->vm->busy_ns));
	drm_show_memory_stats(p, file);
}
