/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: sysfs attributes of the PCI device (inpu_sysfs.c).
 */
#ifndef __INPU_SYSFS_H__
#define __INPU_SYSFS_H__

struct attribute_group;

extern const struct attribute_group *inpu_dev_groups[];

#endif /* __INPU_SYSFS_H__ */
