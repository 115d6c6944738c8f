/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inpu: the interrupt vector and its probe-time self-test (inpu_irq.c).
 */
#ifndef __INPU_IRQ_H__
#define __INPU_IRQ_H__

struct inpu_device;

int inpu_irq_init(struct inpu_device *idev);
int inpu_irq_selftest(struct inpu_device *idev);

#endif /* __INPU_IRQ_H__ */
