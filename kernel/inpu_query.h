/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: DRM_IOCTL_INPU_QUERY (inpu_query.c).
 */
#ifndef __INPU_QUERY_H__
#define __INPU_QUERY_H__

struct drm_device;
struct drm_file;

int inpu_query_ioctl(struct drm_device *drm, void *data,
		     struct drm_file *file);

#endif /* __INPU_QUERY_H__ */
