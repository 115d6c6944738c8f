// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device identification and reset.
 */
#include <linux/iopoll.h>

#include <drm/drm_print.h>

#include "inpu_drv.h"
#include "inpu_hw.h"
#include "inpu_trace.h"

/* Generous: under TCG emulation a register round trip can take tens of µs. */
#define INPU_RESET_TIMEOUT_US	100000

int inpu_hw_reset(struct inpu_device *idev, enum inpu_reset_reason reason)
{
	u32 status;
	int ret;

	trace_inpu_reset(reason, atomic_inc_return(&idev->resets));
	inpu_wr32(idev, INPU_REG_RESET, INPU_RESET_MAGIC);
	ret = readl_poll_timeout(idev->regs + INPU_REG_STATUS, status,
				 status & INPU_STATUS_READY, 10,
				 INPU_RESET_TIMEOUT_US);
	if (ret)
		drm_err(&idev->drm, "device not ready after reset (status %#x)\n",
			status);
	return ret;
}

int inpu_hw_init(struct inpu_device *idev)
{
	struct drm_device *drm = &idev->drm;
	u32 id, geom;
	int ret;

	id = inpu_rd32(idev, INPU_REG_ID);
	if (id != INPU_ID_MAGIC) {
		drm_err(drm, "unexpected ID register %#010x (want %#010x)\n",
			id, INPU_ID_MAGIC);
		return -ENODEV;
	}

	ret = inpu_hw_reset(idev, INPU_RESET_PROBE);
	if (ret)
		return ret;

	idev->hw_version = inpu_rd32(idev, INPU_REG_HW_VERSION);
	idev->capabilities = inpu_rd32(idev, INPU_REG_CAPS_LO) |
			     (u64)inpu_rd32(idev, INPU_REG_CAPS_HI) << 32;
	geom = inpu_rd32(idev, INPU_REG_SA_GEOM);
	idev->sa_rows = INPU_SA_GEOM_ROWS(geom);
	idev->sa_cols = INPU_SA_GEOM_COLS(geom);

	if (!(idev->capabilities & INPU_CAP_MSIX)) {
		drm_err(drm, "device lacks MSI-X (caps %#llx)\n",
			idev->capabilities);
		return -ENODEV;
	}

	drm_info(drm, "INPU hw %u.%u.%u, %ux%u systolic array, caps %#llx\n",
		 INPU_HW_VERSION_MAJOR(idev->hw_version),
		 INPU_HW_VERSION_MINOR(idev->hw_version),
		 INPU_HW_VERSION_PATCH(idev->hw_version),
		 idev->sa_rows, idev->sa_cols, idev->capabilities);
	return 0;
}

void inpu_hw_fini(struct inpu_device *idev)
{
	/* Leave nothing that could raise an interrupt after unbind. */
	inpu_wr32(idev, INPU_REG_IRQ_MASK, 0);
	inpu_wr32(idev, INPU_REG_IRQ_STATUS, INPU_IRQ_ALL);
}
