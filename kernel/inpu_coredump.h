/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: the devcoredump taken before every recovery reset (inpu_coredump.c).
 */
#ifndef __INPU_COREDUMP_H__
#define __INPU_COREDUMP_H__

struct inpu_device;
struct inpu_job;

int inpu_coredump_init(struct inpu_device *idev);
void inpu_coredump_fini(struct inpu_device *idev);
void inpu_coredump(struct inpu_device *idev, struct inpu_job *guilty,
		   const char *reason);

#endif /* __INPU_COREDUMP_H__ */
