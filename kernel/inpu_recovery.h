/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: job timeouts, device recovery and client banning (inpu_recovery.c).
 */
#ifndef __INPU_RECOVERY_H__
#define __INPU_RECOVERY_H__

#include <linux/types.h>

#include <drm/gpu_scheduler.h>

struct inpu_device;
struct inpu_job;

enum drm_gpu_sched_stat inpu_job_timedout(struct inpu_job *job);
int inpu_recover_forced(struct inpu_device *idev);
void inpu_job_end(struct inpu_job *job, u32 status, int error);
bool inpu_tgid_banned(struct inpu_device *idev, pid_t tgid);
void inpu_recovery_init(struct inpu_device *idev);

#endif /* __INPU_RECOVERY_H__ */
