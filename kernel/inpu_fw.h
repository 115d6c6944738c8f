/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: loading, checking and booting the firmware (inpu_fw.c).
 */
#ifndef __INPU_FW_H__
#define __INPU_FW_H__

struct inpu_device;

int inpu_fw_load(struct inpu_device *idev);
int inpu_fw_reboot(struct inpu_device *idev);

#endif /* __INPU_FW_H__ */
