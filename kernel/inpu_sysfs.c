// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysfs attributes of the PCI device (/sys/bus/pci/devices/<bdf>/).
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "inpu_drv.h"

static ssize_t fw_version_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct inpu_device *idev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u.%u.%u\n",
			  INPU_HW_VERSION_MAJOR(idev->fw_version),
			  INPU_HW_VERSION_MINOR(idev->fw_version),
			  INPU_HW_VERSION_PATCH(idev->fw_version));
}
static DEVICE_ATTR_RO(fw_version);

static ssize_t hw_version_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct inpu_device *idev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u.%u.%u\n",
			  INPU_HW_VERSION_MAJOR(idev->hw_version),
			  INPU_HW_VERSION_MINOR(idev->hw_version),
			  INPU_HW_VERSION_PATCH(idev->hw_version));
}
static DEVICE_ATTR_RO(hw_version);

static struct attribute *inpu_dev_attrs[] = {
	&dev_attr_fw_version.attr,
	&dev_attr_hw_version.attr,
	NULL,
};

static const struct attribute_group inpu_dev_group = {
	.attrs = inpu_dev_attrs,
};

const struct attribute_group *inpu_dev_groups[] = {
	&inpu_dev_group,
	NULL,
};
