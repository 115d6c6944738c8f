/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * INPU register map: the contract between the QEMU device model
 * (qemu-device/) and the kernel driver (kernel/).
 *
 * BAR0 is a 4 KiB block of 32-bit little-endian registers; only aligned
 * 32-bit accesses are defined.  BAR1 holds the MSI-X table and PBA.
 */
#ifndef _INPU_REGS_H_
#define _INPU_REGS_H_

/* PCI identity.  0x1234 is the vendor ID QEMU uses for its own test and
 * emulated-only devices; 0x4e50 ("NP") is used by no other QEMU device.
 */
#define INPU_PCI_VENDOR_ID	0x1234
#define INPU_PCI_DEVICE_ID	0x4e50
#define INPU_PCI_REVISION	0x01
/* Base class 0x12 "processing accelerator", subclass 0, prog-if 0. */
#define INPU_PCI_CLASS		0x1200

#define INPU_BAR0_SIZE		0x1000
#define INPU_MSIX_BAR		1
#define INPU_MSIX_VECTORS	1

/* Read-only identification: ASCII "INPU" read as a little-endian u32. */
#define INPU_REG_ID		0x000
#define   INPU_ID_MAGIC		0x55504e49u

/* Read-only hardware version: major << 16 | minor << 8 | patch. */
#define INPU_REG_HW_VERSION	0x004
#define   INPU_HW_VERSION(maj, min, pat) \
	(((maj) & 0xffffu) << 16 | ((min) & 0xffu) << 8 | ((pat) & 0xffu))
#define   INPU_HW_VERSION_MAJOR(v)	(((v) >> 16) & 0xffffu)
#define   INPU_HW_VERSION_MINOR(v)	(((v) >> 8) & 0xffu)
#define   INPU_HW_VERSION_PATCH(v)	((v) & 0xffu)

/* Read-only 64-bit capability mask, INPU_CAP_* bits. */
#define INPU_REG_CAPS_LO	0x008
#define INPU_REG_CAPS_HI	0x00c
/* Completion and test interrupts are delivered through MSI-X. */
#define   INPU_CAP_MSIX		(1u << 0)
/* The device supports soft reset through INPU_REG_RESET. */
#define   INPU_CAP_RESET	(1u << 1)
/* The device boots firmware images (INPU_REG_FW_*). */
#define   INPU_CAP_FW_BOOT	(1u << 2)
/* Command ring, device MMU and the engine (inpu_ring.h, inpu_mmu.h). */
#define   INPU_CAP_RING		(1u << 3)
/* Fault-injection registers (INPU_REG_FI_*) present: testing only. */
#define   INPU_CAP_FAULT_INJECT	(1u << 4)

/* Read-only systolic array geometry: rows in [15:0], columns in [31:16]. */
#define INPU_REG_SA_GEOM	0x010
#define   INPU_SA_GEOM_ROWS(v)	((v) & 0xffffu)
#define   INPU_SA_GEOM_COLS(v)	(((v) >> 16) & 0xffffu)

/* Read-write scratch register, cleared by reset; lets a driver check
 * that BAR0 writes reach the device.
 */
#define INPU_REG_SCRATCH	0x014

/* Read-only status, INPU_STATUS_* bits. */
#define INPU_REG_STATUS		0x018
#define   INPU_STATUS_READY	(1u << 0)

/* Write-only: writing INPU_RESET_MAGIC resets the device to its power-on
 * state (registers, pending interrupts).  Other values are ignored so a
 * stray write cannot reset the device.
 */
#define INPU_REG_RESET		0x01c
#define   INPU_RESET_MAGIC	0x52534554u	/* "RSET" */

/* Interrupt sources, one bit each, all routed to MSI-X vector 0. */
#define INPU_REG_IRQ_STATUS	0x020	/* read; write 1 to clear */
#define INPU_REG_IRQ_MASK	0x024	/* read-write; 1 = source enabled */
#define INPU_REG_IRQ_RAISE	0x028	/* write-only; sets status bits */
/* Raised only through INPU_REG_IRQ_RAISE, so a driver can prove at probe
 * time that interrupts reach it.
 */
#define   INPU_IRQ_TEST		(1u << 0)
/* A job completed: its record is written and RING_HEAD moved past it. */
#define   INPU_IRQ_JOB_DONE	(1u << 1)
#define   INPU_IRQ_ALL		(INPU_IRQ_TEST | INPU_IRQ_JOB_DONE)

/*
 * Firmware boot.  The driver places an image (uapi/inpu/inpu_fw.h) in
 * DMA-able memory, writes its bus address and size, then writes
 * INPU_FW_CTRL_BOOT to INPU_REG_FW_CTRL.  The device reads the image,
 * checks its structure, ABI version and SHA-256 digest, loads the tables
 * and reports the outcome in INPU_REG_FW_STATUS before the write returns.
 * Reset unloads the firmware.  The device runs no job without firmware.
 */
#define INPU_REG_FW_ADDR_LO	0x040
#define INPU_REG_FW_ADDR_HI	0x044
#define INPU_REG_FW_SIZE	0x048
#define INPU_REG_FW_CTRL	0x04c	/* write-only */
#define   INPU_FW_CTRL_BOOT	1u
#define INPU_REG_FW_STATUS	0x050
#define   INPU_FW_STATUS_NONE	0	/* no firmware loaded */
#define   INPU_FW_STATUS_OK	1	/* loaded and running */
#define   INPU_FW_STATUS_ERROR	2	/* last boot failed, see FW_ERROR */
/*
 * Why the last boot failed: bits [15:0] hold an enum inpu_fw_err code
 * (engine/inpu_fw_image.h) or INPU_FW_DEV_E_DMA; bits [23:16] hold the
 * section index + 1 when the error concerns a section (0 otherwise).
 */
#define INPU_REG_FW_ERROR	0x054
#define   INPU_FW_DEV_E_DMA	0x100	/* the image could not be read */
#define   INPU_FW_ERROR_CODE(v)	((v) & 0xffffu)
#define   INPU_FW_ERROR_SECTION(v)	(((v) >> 16) & 0xffu)
/* Image offset of the field at fault. */
#define INPU_REG_FW_ERR_OFFSET	0x058
/* Version (major << 16 | minor << 8 | patch) and features of the loaded
 * firmware; zero when none is loaded.
 */
#define INPU_REG_FW_VERSION	0x05c
#define INPU_REG_FW_FEATURES_LO	0x060
#define INPU_REG_FW_FEATURES_HI	0x064

/*
 * Command ring (uapi/inpu/inpu_ring.h) and MMU context table
 * (uapi/inpu/inpu_mmu.h).  Base and size are latched when RING_CTRL is
 * written with INPU_RING_CTRL_ENABLE; reset disables the ring.
 */
#define INPU_REG_RING_BASE_LO	0x080
#define INPU_REG_RING_BASE_HI	0x084
#define INPU_REG_RING_SIZE	0x088	/* descriptors, power of two <= 4096 */
#define INPU_REG_RING_HEAD	0x08c	/* read-only: next position the device runs */
#define INPU_REG_RING_TAIL	0x090	/* doorbell: one past the last queued */
#define INPU_REG_RING_CTRL	0x094
#define   INPU_RING_CTRL_ENABLE	1u
#define INPU_REG_CTX_TABLE_LO	0x098
#define INPU_REG_CTX_TABLE_HI	0x09c
/* Read-only: jobs completed since reset, and modelled busy cycles. */
#define INPU_REG_JOBS_DONE	0x0a0
#define INPU_REG_BUSY_CYCLES_LO	0x0a4
#define INPU_REG_BUSY_CYCLES_HI	0x0a8
/*
 * Read-only: a counter that moves while the device works on a job (at
 * each job's start and end, and during long operations), so a driver can
 * tell a slow job from a hung one.
 */
#define INPU_REG_PROGRESS	0x0ac

/*
 * Fault injection, for testing the driver's error paths.  Off unless the
 * device was created with fault-inject=on (then INPU_CAP_FAULT_INJECT is
 * set); otherwise these registers read 0 and ignore writes.  Device reset
 * does not clear them, so a setting outlives the recoveries it provokes.
 *
 * FI_KINDS selects faults (a mask of INPU_FI_*); one of every FI_PERIOD
 * jobs (1 = every job) gets the next selected kind in turn, FI_COUNT
 * times (writing FI_COUNT arms it; 0 disarms).
 */
#define INPU_REG_FI_KINDS	0x0c0
#define   INPU_FI_HANG		(1u << 0)	/* never completes until reset */
#define   INPU_FI_DMA		(1u << 1)	/* memory fault at its first access */
#define   INPU_FI_DROP_IRQ	(1u << 2)	/* completes, no interrupt */
#define   INPU_FI_CORRUPT	(1u << 3)	/* completion record garbled */
#define   INPU_FI_SLOW		(1u << 4)	/* FI_SLOW_MS longer, making progress */
#define   INPU_FI_STALL		(1u << 5)	/* FI_SLOW_MS with no progress, then completes */
#define   INPU_FI_ALL		0x3fu
#define INPU_REG_FI_PERIOD	0x0c4
#define INPU_REG_FI_COUNT	0x0c8	/* injections left */
#define INPU_REG_FI_SLOW_MS	0x0cc
#define INPU_REG_FI_INJECTED	0x0d0	/* read-only: injections so far */
/* The faulting DVA an INPU_FI_DMA job reports. */
#define INPU_FI_DMA_ADDR	0x7ffff000ull

#endif /* _INPU_REGS_H_ */
