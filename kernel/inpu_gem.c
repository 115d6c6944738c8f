// SPDX-License-Identifier: GPL-2.0-only
/*
 * Buffer objects: shmem GEM objects, each mapped at creation into the
 * device address space of the file that created it.  The mapping pins the
 * pages (drm_gem_shmem_get_pages_sgt) until the object is freed, which
 * happens only after the last handle is closed and the last job using it
 * has finished.
 */
#include <linux/dma-mapping.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_print.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_gem.h"
#include "inpu_mmu.h"

static void inpu_bo_free(struct drm_gem_object *obj)
{
	struct inpu_bo *bo = to_inpu_bo(obj);
	struct inpu_device *idev = to_inpu_device(obj->dev);

	if (bo->vm) {
		inpu_vm_unmap_bo(bo->vm, bo);
		inpu_vm_put(bo->vm);
		atomic64_sub(obj->size >> PAGE_SHIFT, &idev->pinned_pages);
	}
	atomic64_dec(&idev->bo_count);
	atomic64_sub(obj->size, &idev->bo_bytes);
	drm_gem_shmem_free(&bo->base);
}

static const struct drm_gem_object_funcs inpu_bo_funcs = {
	.free = inpu_bo_free,
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/*
 * Device remove: unmap the pages from the device (they stay pinned until
 * the BO is freed, for the CPU mappings userspace may still hold).  The
 * caller holds the BO's address space lock.
 */
void inpu_bo_release_dma(struct inpu_bo *bo)
{
	struct drm_gem_shmem_object *shmem = &bo->base;

	dma_resv_lock(shmem->base.resv, NULL);
	if (shmem->sgt) {
		dma_unmap_sgtable(shmem->base.dev->dev, shmem->sgt,
				  DMA_BIDIRECTIONAL, 0);
		sg_free_table(shmem->sgt);
		kfree(shmem->sgt);
		shmem->sgt = NULL;
	}
	dma_resv_unlock(shmem->base.resv);
}

struct drm_gem_object *inpu_gem_create_object(struct drm_device *drm,
					      size_t size)
{
	struct inpu_bo *bo = kzalloc(sizeof(*bo), GFP_KERNEL_ACCOUNT);

	if (!bo)
		return ERR_PTR(-ENOMEM);
	bo->base.base.funcs = &inpu_bo_funcs;
	bo->base.map_wc = false;
	return &bo->base.base;
}

int inpu_bo_create_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct inpu_device *idev = to_inpu_device(drm);
	struct inpu_file *ifile = file->driver_priv;
	struct drm_inpu_bo_create *args = data;
	struct drm_gem_shmem_object *shmem;
	struct sg_table *sgt;
	struct inpu_bo *bo;
	int ret, idx;

	if (!ifile)
		return -ENODEV;
	if (args->flags & ~DRM_INPU_BO_FLAGS)
		return -EINVAL;
	if (!args->size || args->size > DRM_INPU_BO_MAX_SIZE)
		return -EINVAL;
	/* Page tables and DMA mappings need the device. */
	if (!drm_dev_enter(drm, &idx))
		return -ENODEV;

	shmem = drm_gem_shmem_create(drm, PAGE_ALIGN(args->size));
	if (IS_ERR(shmem)) {
		ret = PTR_ERR(shmem);
		goto out_exit;
	}
	bo = to_inpu_bo(&shmem->base);
	bo->flags = args->flags;
	atomic64_inc(&idev->bo_count);
	atomic64_add(shmem->base.size, &idev->bo_bytes);

	sgt = drm_gem_shmem_get_pages_sgt(shmem);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto out_put;
	}
	ret = inpu_vm_map_bo(ifile->vm, bo, sgt);
	if (ret)
		goto out_put;
	bo->vm = inpu_vm_get(ifile->vm);
	atomic64_add(shmem->base.size >> PAGE_SHIFT, &idev->pinned_pages);

	ret = drm_gem_handle_create(file, &shmem->base, &args->handle);
	if (!ret)
		args->dva = bo->node.start;
out_put:
	/* On success the handle holds the BO. */
	drm_gem_object_put(&shmem->base);
out_exit:
	drm_dev_exit(idx);
	return ret;
}

int inpu_bo_info_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file)
{
	struct drm_inpu_bo_info *args = data;
	struct drm_gem_object *obj;
	struct inpu_bo *bo;
	int ret;

	if (args->flags)
		return -EINVAL;
	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	bo = to_inpu_bo(obj);
	ret = drm_gem_create_mmap_offset(obj);
	if (!ret) {
		args->mmap_offset = drm_vma_node_offset_addr(&obj->vma_node);
		args->dva = bo->node.start;
		args->size = obj->size;
		args->flags = bo->flags;
	}
	drm_gem_object_put(obj);
	return ret;
}

/*
 * Look up a job's BOs: each must be this file's (its VM) and the access
 * asked for must fit the BO.  On success @objs holds references.
 */
int inpu_bo_lookup_refs(struct drm_file *file,
			const struct drm_inpu_bo_ref *refs, u32 n,
			struct drm_gem_object **objs)
{
	struct inpu_file *ifile = file->driver_priv;
	u32 i;
	int ret;

	for (i = 0; i < n; i++) {
		struct inpu_bo *bo;

		if (!refs[i].flags || refs[i].flags &
		    ~(DRM_INPU_REF_READ | DRM_INPU_REF_WRITE)) {
			ret = -EINVAL;
			goto err;
		}
		objs[i] = drm_gem_object_lookup(file, refs[i].handle);
		if (!objs[i]) {
			ret = -ENOENT;
			goto err;
		}
		bo = to_inpu_bo(objs[i]);
		if (bo->vm != ifile->vm) {
			i++;
			ret = -ENOENT;
			goto err;
		}
		if ((refs[i].flags & DRM_INPU_REF_WRITE) &&
		    (bo->flags & DRM_INPU_BO_DEVICE_READONLY)) {
			i++;
			ret = -EACCES;
			goto err;
		}
	}
	return 0;
err:
	while (i--)
		drm_gem_object_put(objs[i]);
	return ret;
}
