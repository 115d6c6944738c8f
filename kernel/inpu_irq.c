// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSI-X interrupt handling.
 */
#include <linux/interrupt.h>

#include <drm/drm_print.h>

#include "inpu_drv.h"
#include "inpu_irq.h"
#include "inpu_ring.h"

#define INPU_IRQ_SELFTEST_TIMEOUT_MS	2000

static irqreturn_t inpu_irq_handler(int irq, void *arg)
{
	struct inpu_device *idev = arg;
	u32 status;

	status = inpu_rd32(idev, INPU_REG_IRQ_STATUS);
	if (!status)
		return IRQ_NONE;
	inpu_wr32(idev, INPU_REG_IRQ_STATUS, status);

	if (status & INPU_IRQ_TEST)
		complete(&idev->irq_test_done);
	if (status & INPU_IRQ_JOB_DONE)
		inpu_ring_irq(idev);
	return IRQ_HANDLED;
}

int inpu_irq_init(struct inpu_device *idev)
{
	struct pci_dev *pdev = idev->pdev;
	int ret;

	init_completion(&idev->irq_test_done);

	/* Freed by pcim on driver detach: the device is managed. */
	ret = pci_alloc_irq_vectors(pdev, INPU_MSIX_VECTORS, INPU_MSIX_VECTORS,
				    PCI_IRQ_MSIX);
	if (ret < 0) {
		drm_err(&idev->drm, "cannot allocate MSI-X vector: %d\n", ret);
		return ret;
	}

	ret = devm_request_irq(&pdev->dev, pci_irq_vector(pdev, 0),
			       inpu_irq_handler, 0, DRIVER_NAME, idev);
	if (ret) {
		drm_err(&idev->drm, "cannot request IRQ: %d\n", ret);
		return ret;
	}
	return 0;
}

/*
 * Raise the test interrupt and wait for it, so that a device whose MSI-X
 * delivery is broken fails probe instead of hanging the first job.
 */
int inpu_irq_selftest(struct inpu_device *idev)
{
	unsigned long left;

	reinit_completion(&idev->irq_test_done);
	inpu_wr32(idev, INPU_REG_IRQ_MASK, INPU_IRQ_ALL);
	inpu_wr32(idev, INPU_REG_IRQ_RAISE, INPU_IRQ_TEST);

	left = wait_for_completion_timeout(&idev->irq_test_done,
					   msecs_to_jiffies(INPU_IRQ_SELFTEST_TIMEOUT_MS));
	if (!left) {
		drm_err(&idev->drm, "test interrupt not delivered within %d ms\n",
			INPU_IRQ_SELFTEST_TIMEOUT_MS);
		return -EIO;
	}
	return 0;
}
