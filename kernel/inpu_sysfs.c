// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysfs attributes of the PCI device (/sys/bus/pci/devices/<bdf>/).
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "inpu_drv.h"
#include "inpu_sysfs.h"

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

static ssize_t jobs_completed_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct inpu_device *idev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&idev->jobs_completed));
}
static DEVICE_ATTR_RO(jobs_completed);

static ssize_t jobs_failed_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct inpu_device *idev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&idev->jobs_failed));
}
static DEVICE_ATTR_RO(jobs_failed);

/*
 * Wall time jobs spent on the device, in ns: from when the device began
 * each (inpu_ring.c) to its completion interrupt.
 */
static ssize_t busy_time_ns_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct inpu_device *idev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%lld\n", atomic64_read(&idev->busy_ns));
}
static DEVICE_ATTR_RO(busy_time_ns);

/* Device resets that recovered it from a hang or on request (debugfs). */
static ssize_t recoveries_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct inpu_device *idev = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&idev->recoveries));
}
static DEVICE_ATTR_RO(recoveries);

static struct attribute *inpu_dev_attrs[] = {
	&dev_attr_fw_version.attr,
	&dev_attr_hw_version.attr,
	&dev_attr_jobs_completed.attr,
	&dev_attr_jobs_failed.attr,
	&dev_attr_busy_time_ns.attr,
	&dev_attr_recoveries.attr,
	NULL,
};

static const struct attribute_group inpu_dev_group = {
	.attrs = inpu_dev_attrs,
};

const struct attribute_group *inpu_dev_groups[] = {
	&inpu_dev_group,
	NULL,
};
