/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: shmem buffer objects (inpu_gem.c).
 */
#ifndef __INPU_GEM_H__
#define __INPU_GEM_H__

#include <linux/list.h>
#include <linux/types.h>

#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>

struct drm_device;
struct drm_file;
struct drm_inpu_bo_ref;
struct inpu_vm;

struct inpu_bo {
	struct drm_gem_shmem_object base;
	struct inpu_vm *vm;		/* where it is mapped, NULL before */
	struct drm_mm_node node;
	struct list_head vm_link;	/* in vm->bos */
	u32 flags;			/* DRM_INPU_BO_* */
};

static inline struct inpu_bo *to_inpu_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct inpu_bo, base.base);
}

struct drm_gem_object *inpu_gem_create_object(struct drm_device *drm,
					      size_t size);
int inpu_bo_create_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);
int inpu_bo_info_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);
int inpu_bo_lookup_refs(struct drm_file *file,
			const struct drm_inpu_bo_ref *refs, u32 n,
			struct drm_gem_object **objs);
void inpu_bo_release_dma(struct inpu_bo *bo);

#endif /* __INPU_GEM_H__ */
