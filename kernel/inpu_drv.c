// SPDX-License-Identifier: GPL-2.0-only
/*
 * PCI driver and DRM accel device registration.
 */
#include <linux/module.h>
#include <linux/pci.h>

#include <drm/drm_accel.h>
#include <drm/drm_drv.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_print.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_coredump.h"
#include "inpu_debugfs.h"
#include "inpu_fw.h"
#include "inpu_gem.h"
#include "inpu_hw.h"
#include "inpu_irq.h"
#include "inpu_job.h"
#include "inpu_mmu.h"
#include "inpu_query.h"
#include "inpu_recovery.h"
#include "inpu_ring.h"
#include "inpu_sysfs.h"

static const struct drm_ioctl_desc inpu_ioctls[] = {
	DRM_IOCTL_DEF_DRV(INPU_QUERY, inpu_query_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(INPU_BO_CREATE, inpu_bo_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(INPU_BO_INFO, inpu_bo_info_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(INPU_CMDBUF_CREATE, inpu_cmdbuf_create_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(INPU_CMDBUF_DESTROY, inpu_cmdbuf_destroy_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(INPU_SUBMIT, inpu_submit_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(INPU_WAIT, inpu_wait_ioctl, DRM_RENDER_ALLOW),
};

static int inpu_open(struct drm_device *drm, struct drm_file *file)
{
	return inpu_file_open(to_inpu_device(drm), file);
}

static void inpu_postclose(struct drm_device *drm, struct drm_file *file)
{
	inpu_file_close(file);
}

DEFINE_DRM_ACCEL_FOPS(inpu_fops);

static const struct drm_driver inpu_drm_driver = {
	.driver_features = DRIVER_GEM | DRIVER_COMPUTE_ACCEL | DRIVER_SYNCOBJ,
	.fops = &inpu_fops,
	.open = inpu_open,
	.postclose = inpu_postclose,
	.gem_create_object = inpu_gem_create_object,
	.show_fdinfo = inpu_show_fdinfo,
	.ioctls = inpu_ioctls,
	.num_ioctls = ARRAY_SIZE(inpu_ioctls),
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	.major = 0,
	.minor = DRM_INPU_ABI_VERSION,
};

static int inpu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct inpu_device *idev;
	int ret;

	idev = devm_drm_dev_alloc(&pdev->dev, &inpu_drm_driver,
				  struct inpu_device, drm);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	idev->pdev = pdev;
	pci_set_drvdata(pdev, idev);
	mutex_init(&idev->files_lock);
	INIT_LIST_HEAD(&idev->files);
	init_rwsem(&idev->teardown_sem);
	inpu_recovery_init(idev);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);

	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	idev->regs = pcim_iomap_region(pdev, 0, DRIVER_NAME);
	if (IS_ERR(idev->regs)) {
		drm_err(&idev->drm, "cannot map BAR0\n");
		return PTR_ERR(idev->regs);
	}

	ret = inpu_hw_init(idev);
	if (ret)
		return ret;

	ret = inpu_irq_init(idev);
	if (ret)
		return ret;

	ret = inpu_irq_selftest(idev);
	if (ret)
		goto err_hw;

	ret = inpu_fw_load(idev);
	if (ret)
		goto err_hw;

	ret = inpu_coredump_init(idev);
	if (ret)
		goto err_hw;
	ret = inpu_mmu_init(idev);
	if (ret)
		goto err_dump;
	ret = inpu_ring_init(idev);
	if (ret)
		goto err_mmu;

	ret = drm_dev_register(&idev->drm, 0);
	if (ret)
		goto err_ring;
	inpu_debugfs_init(idev);
	return 0;

err_ring:
	inpu_ring_fini(idev);
err_mmu:
	inpu_mmu_fini(idev);
err_dump:
	inpu_coredump_fini(idev);
err_hw:
	inpu_hw_fini(idev);
	return ret;
}

static void inpu_remove(struct pci_dev *pdev)
{
	struct inpu_device *idev = pci_get_drvdata(pdev);

	/* Open files keep the drm_device alive; unplug makes their ioctls
	 * fail with -ENODEV instead of touching a device that is gone, and
	 * waits for those already inside.
	 */
	drm_dev_unplug(&idev->drm);
	mutex_lock(&idev->files_lock);
	WRITE_ONCE(idev->unplugged, true);
	mutex_unlock(&idev->files_lock);
	/* Every job ends: those on the device, then every file's queue. */
	inpu_ring_abort_all(idev);
	inpu_files_teardown(idev);
	inpu_ring_fini(idev);
	inpu_hw_fini(idev);
	/* What the device could reach goes while the device is still ours:
	 * page tables, contexts, the BOs' DMA mappings.
	 */
	inpu_vms_teardown(idev);
	inpu_mmu_fini(idev);
	inpu_coredump_fini(idev);
}

static const struct pci_device_id inpu_pci_ids[] = {
	{ PCI_DEVICE(INPU_PCI_VENDOR_ID, INPU_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, inpu_pci_ids);

static struct pci_driver inpu_pci_driver = {
	.name = DRIVER_NAME,
	.id_table = inpu_pci_ids,
	.probe = inpu_probe,
	.remove = inpu_remove,
	.dev_groups = inpu_dev_groups,
};
module_pci_driver(inpu_pci_driver);

MODULE_DESCRIPTION(DRIVER_DESC);
MODULE_LICENSE("GPL");
