// SPDX-License-Identifier: GPL-2.0-only
/*
 * DRM_IOCTL_INPU_QUERY: report device information to userspace.
 */
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_query.h"

static void inpu_fill_device_info(struct inpu_device *idev,
				  struct drm_inpu_device_info *info)
{
	struct pci_dev *pdev = idev->pdev;

	memset(info, 0, sizeof(*info));
	info->identity = INPU_ID_MAGIC;
	info->hw_version = idev->hw_version;
	info->capabilities = idev->capabilities;
	info->pci_vendor = pdev->vendor;
	info->pci_device = pdev->device;
	info->pci_revision = pdev->revision;
	info->sa_rows = idev->sa_rows;
	info->sa_cols = idev->sa_cols;
	info->driver_abi = DRM_INPU_ABI_VERSION;
	info->fw_version = idev->fw_version;
	info->fw_features = idev->fw_features;
}

/*
 * Copy @ksize bytes of @kbuf to a user buffer of @args->size bytes,
 * following the size rules documented at struct drm_inpu_query.
 */
static int inpu_query_copy(struct drm_inpu_query *args, const void *kbuf,
			   u32 ksize, u32 min_size)
{
	void __user *ubuf = u64_to_user_ptr(args->data);
	u32 n;

	if (!args->size) {
		args->size = ksize;
		return 0;
	}
	if (args->size < min_size || args->size > DRM_INPU_QUERY_MAX_SIZE)
		return -EINVAL;

	n = min(args->size, ksize);
	if (copy_to_user(ubuf, kbuf, n))
		return -EFAULT;
	if (args->size > n && clear_user(ubuf + n, args->size - n))
		return -EFAULT;
	args->size = n;
	return 0;
}

int inpu_query_ioctl(struct drm_device *drm, void *data, struct drm_file *file)
{
	struct inpu_device *idev = to_inpu_device(drm);
	struct drm_inpu_query *args = data;
	struct drm_inpu_device_info info;
	int ret, idx;

	if (args->flags || args->pad)
		return -EINVAL;

	if (!drm_dev_enter(drm, &idx))
		return -ENODEV;

	switch (args->type) {
	case DRM_INPU_QUERY_DEVICE_INFO:
		inpu_fill_device_info(idev, &info);
		ret = inpu_query_copy(args, &info, sizeof(info),
				      DRM_INPU_DEVICE_INFO_SIZE_V1);
		break;
	default:
		ret = -EINVAL;
		break;
	}

	drm_dev_exit(idx);
	return ret;
}
