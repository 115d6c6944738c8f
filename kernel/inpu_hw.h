/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: identification and reset of the device (inpu_hw.c).
 */
#ifndef __INPU_HW_H__
#define __INPU_HW_H__

struct inpu_device;

/* Why the device was reset (the inpu_reset tracepoint's reason). */
enum inpu_reset_reason {
	INPU_RESET_PROBE = 0,
	INPU_RESET_RECOVERY = 1,
};

int inpu_hw_init(struct inpu_device *idev);
void inpu_hw_fini(struct inpu_device *idev);
int inpu_hw_reset(struct inpu_device *idev, enum inpu_reset_reason reason);

#endif /* __INPU_HW_H__ */
