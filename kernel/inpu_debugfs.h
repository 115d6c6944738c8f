/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: debugfs files and fdinfo (inpu_debugfs.c).
 */
#ifndef __INPU_DEBUGFS_H__
#define __INPU_DEBUGFS_H__

struct drm_file;
struct drm_printer;
struct inpu_device;

void inpu_debugfs_init(struct inpu_device *idev);
void inpu_show_fdinfo(struct drm_printer *p, struct drm_file *file);

#endif /* __INPU_DEBUGFS_H__ */
