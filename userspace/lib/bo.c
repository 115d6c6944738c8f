// SPDX-License-Identifier: MIT
/*
 * Buffer objects: allocation, CPU mapping, release.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xf86drm.h>

#include "libinpu.h"

struct inpu_bo {
	struct inpu_dev *dev;
	uint32_t handle;
	uint64_t dva;
	uint64_t size;
	void *ptr;
};

int inpu_bo_alloc(struct inpu_dev *dev, uint64_t size, uint32_t flags,
		  struct inpu_bo **out)
{
	struct drm_inpu_bo_create c = { .size = size, .flags = flags };
	struct drm_inpu_bo_info info = { 0 };
	struct drm_gem_close cl = { 0 };
	struct inpu_bo *bo;
	int fd = inpu_dev_fd(dev), ret;

	if (!dev || !out)
		return -EINVAL;
	*out = NULL;
	if (drmIoctl(fd, DRM_IOCTL_INPU_BO_CREATE, &c))
		return -errno;
	info.handle = c.handle;
	if (drmIoctl(fd, DRM_IOCTL_INPU_BO_INFO, &info)) {
		ret = -errno;
		goto err_close;
	}
	bo = calloc(1, sizeof(*bo));
	if (!bo) {
		ret = -ENOMEM;
		goto err_close;
	}
	bo->ptr = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)info.mmap_offset);
	if (bo->ptr == MAP_FAILED) {
		ret = -errno;
		free(bo);
		goto err_close;
	}
	bo->dev = dev;
	bo->handle = c.handle;
	bo->dva = c.dva;
	bo->size = info.size;
	*out = bo;
	return 0;

err_close:
	cl.handle = c.handle;
	drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
	return ret;
}

void inpu_bo_free(struct inpu_bo *bo)
{
	struct drm_gem_close cl = { 0 };

	if (!bo)
		return;
	munmap(bo->ptr, bo->size);
	cl.handle = bo->handle;
	drmIoctl(inpu_dev_fd(bo->dev), DRM_IOCTL_GEM_CLOSE, &cl);
	free(bo);
}

void *inpu_bo_ptr(const struct inpu_bo *bo)
{
	return bo->ptr;
}

uint64_t inpu_bo_dva(const struct inpu_bo *bo)
{
	return bo->dva;
}

uint64_t inpu_bo_size(const struct inpu_bo *bo)
{
	return bo->size;
}

uint32_t inpu_bo_handle(const struct inpu_bo *bo)
{
	return bo->handle;
}
