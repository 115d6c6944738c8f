/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: DRM accel driver for the INPU integer-only NPU.
 */
#ifndef __INPU_DRV_H__
#define __INPU_DRV_H__

#include <linux/completion.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/types.h>

#include <drm/drm_device.h>

#include <inpu/inpu_regs.h>

#define DRIVER_NAME	"inpu"
#define DRIVER_DESC	"INPU integer-only NPU"

struct inpu_device {
	struct drm_device drm;
	struct pci_dev *pdev;
	void __iomem *regs;

	/* Read once at probe; the device cannot change them. */
	u32 hw_version;
	u64 capabilities;
	u32 sa_rows;
	u32 sa_cols;

	/* Of the booted firmware. */
	u32 fw_version;
	u64 fw_features;

	/* Signalled by the interrupt handler when the test source fires. */
	struct completion irq_test_done;
};

static inline struct inpu_device *to_inpu_device(struct drm_device *drm)
{
	return container_of(drm, struct inpu_device, drm);
}

static inline u32 inpu_rd32(struct inpu_device *idev, u32 reg)
{
	return readl(idev->regs + reg);
}

static inline void inpu_wr32(struct inpu_device *idev, u32 reg, u32 val)
{
	writel(val, idev->regs + reg);
}

/* inpu_hw.c */
int inpu_hw_init(struct inpu_device *idev);
void inpu_hw_fini(struct inpu_device *idev);
int inpu_hw_reset(struct inpu_device *idev);

/* inpu_fw.c */
int inpu_fw_load(struct inpu_device *idev);

/* inpu_sysfs.c */
extern const struct attribute_group *inpu_dev_groups[];

/* inpu_irq.c */
int inpu_irq_init(struct inpu_device *idev);
int inpu_irq_selftest(struct inpu_device *idev);

/* inpu_query.c */
int inpu_query_ioctl(struct drm_device *drm, void *data,
		     struct drm_file *file);

#endif /* __INPU_DRV_H__ */
