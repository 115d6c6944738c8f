// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs (per-client BO lists, queue state) and fdinfo (drm-engine-npu
 * busy time and memory statistics, see Documentation/gpu/drm-usage-stats).
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>
#include <drm/drm_print.h>

#include "inpu_drv.h"

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

static const struct drm_debugfs_info inpu_debugfs_list[] = {
	{ "bos", inpu_debugfs_bos, 0 },
	{ "queue", inpu_debugfs_queue, 0 },
};

void inpu_debugfs_init(struct inpu_device *idev)
{
	drm_debugfs_add_files(&idev->drm, inpu_debugfs_list,
			      ARRAY_SIZE(inpu_debugfs_list));
}

void inpu_show_fdinfo(struct drm_printer *p, struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;

	if (!ifile)
		return;
	drm_printf(p, "drm-engine-npu:\\t%lld ns\n",
		   atomic64_read(&ifile->vm->busy_ns));
	drm_show_memory_stats(p, file);
}
