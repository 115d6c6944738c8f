// SPDX-License-Identifier: GPL-2.0-only
/*
 * Firmware loading and device boot.
 *
 * Policy: the device is useless without firmware (the engine's tables come
 * from it), so a missing or rejected image fails probe and leaves no
 * device node behind; the reason is logged with dev_err.
 */
#include <linux/dma-mapping.h>
#include <linux/firmware.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <drm/drm_print.h>

#include "inpu_drv.h"
#include "inpu_fw.h"
#include "inpu_fw_image.h"

static char *firmware = "inpu/inpu-fw.bin";
module_param(firmware, charp, 0444);
MODULE_PARM_DESC(firmware, "firmware image under /lib/firmware (default inpu/inpu-fw.bin)");

static bool fw_host_check = true;
module_param(fw_host_check, bool, 0644);
MODULE_PARM_DESC(fw_host_check,
		 "check the image before the device sees it (default true; false lets tests exercise the device's own checks)");

MODULE_FIRMWARE("inpu/inpu-fw.bin");

/* Without the host check the device still bounds what it reads. */
#define INPU_FW_UNCHECKED_MAX	(2 * INPU_FW_MAX_SIZE)

static int inpu_fw_check(struct inpu_device *idev, const struct firmware *fw)
{
	struct inpu_fw_error err = { 0 };
	struct inpu_fw_info *info;
	int ret;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	ret = inpu_fw_parse(fw->data, fw->size, info, &err);
	if (ret)
		drm_err(&idev->drm,
			"firmware %s rejected: %s (section %d, field %s at offset %#x)\n",
			firmware, inpu_fw_strerror(ret), err.section, err.field,
			err.offset);
	kfree(info);
	return ret ? -EINVAL : 0;
}

/* Boot the image in idev->fw_dma_buf (@size bytes). */
static int inpu_fw_boot(struct inpu_device *idev, size_t size)
{
	u32 status, error, offset;
	int ret = 0;

	inpu_wr32(idev, INPU_REG_FW_ADDR_LO, lower_32_bits(idev->fw_dma));
	inpu_wr32(idev, INPU_REG_FW_ADDR_HI, upper_32_bits(idev->fw_dma));
	inpu_wr32(idev, INPU_REG_FW_SIZE, size);
	inpu_wr32(idev, INPU_REG_FW_CTRL, INPU_FW_CTRL_BOOT);
	status = inpu_rd32(idev, INPU_REG_FW_STATUS);

	if (status != INPU_FW_STATUS_OK) {
		error = inpu_rd32(idev, INPU_REG_FW_ERROR);
		offset = inpu_rd32(idev, INPU_REG_FW_ERR_OFFSET);
		drm_err(&idev->drm,
			"device rejected firmware %s: %s (status %u, section %d, offset %#x)\n",
			firmware,
			INPU_FW_ERROR_CODE(error) == INPU_FW_DEV_E_DMA ?
			"DMA read failed" :
			inpu_fw_strerror(INPU_FW_ERROR_CODE(error)),
			status, (int)INPU_FW_ERROR_SECTION(error) - 1, offset);
		ret = INPU_FW_ERROR_CODE(error) == INPU_FW_DEV_E_DMA ? -EIO :
								    -EINVAL;
	} else {
		idev->fw_version = inpu_rd32(idev, INPU_REG_FW_VERSION);
		idev->fw_features = inpu_rd32(idev, INPU_REG_FW_FEATURES_LO) |
				    (u64)inpu_rd32(idev, INPU_REG_FW_FEATURES_HI) << 32;
	}
	return ret;
}

/*
 * Keep the image, and a DMA buffer the device boots it from, for the life
 * of the device: a recovery boots it again while fences wait, where it
 * must not allocate.
 */
static int inpu_fw_keep(struct inpu_device *idev, const struct firmware *fw)
{
	struct device *dev = &idev->pdev->dev;

	idev->fw_image = devm_kmemdup(dev, fw->data, fw->size, GFP_KERNEL);
	idev->fw_dma_buf = dmam_alloc_coherent(dev, fw->size, &idev->fw_dma,
					       GFP_KERNEL);
	if (!idev->fw_image || !idev->fw_dma_buf)
		return -ENOMEM;
	idev->fw_image_size = fw->size;
	memcpy(idev->fw_dma_buf, fw->data, fw->size);
	return 0;
}

int inpu_fw_load(struct inpu_device *idev)
{
	const struct firmware *fw;
	int ret;

	if (!(idev->capabilities & INPU_CAP_FW_BOOT)) {
		drm_err(&idev->drm, "device cannot boot firmware\n");
		return -ENODEV;
	}
	ret = request_firmware(&fw, firmware, &idev->pdev->dev);
	if (ret) {
		drm_err(&idev->drm, "cannot load firmware %s: %d\n", firmware,
			ret);
		return ret;
	}

	if (fw_host_check) {
		ret = inpu_fw_check(idev, fw);
	} else if (!fw->size || fw->size > INPU_FW_UNCHECKED_MAX) {
		drm_err(&idev->drm, "firmware %s: size %zu out of range\n",
			firmware, fw->size);
		ret = -EINVAL;
	}
	/* Kept for recovery: a reset unloads the device's tables. */
	if (!ret)
		ret = inpu_fw_keep(idev, fw);
	if (!ret)
		ret = inpu_fw_boot(idev, fw->size);
	if (!ret)
		drm_info(&idev->drm, "firmware %s version %u.%u.%u booted\n",
			 firmware, INPU_HW_VERSION_MAJOR(idev->fw_version),
			 INPU_HW_VERSION_MINOR(idev->fw_version),
			 INPU_HW_VERSION_PATCH(idev->fw_version));
	release_firmware(fw);
	return ret;
}

/*
 * After a reset: the image that booted at probe, already checked, copied
 * again in case the device wrote into its buffer.
 */
int inpu_fw_reboot(struct inpu_device *idev)
{
	if (!idev->fw_image)
		return -ENOENT;
	memcpy(idev->fw_dma_buf, idev->fw_image, idev->fw_image_size);
	return inpu_fw_boot(idev, idev->fw_image_size);
}
