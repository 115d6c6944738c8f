/*
 * INPU: an integer-only NPU modeled as a PCI device.
 *
 * This file is the device front end: PCI identity, the BAR0 register file
 * and MSI-X.  The register map is shared with the Linux driver through
 * uapi/inpu/inpu_regs.h; firmware boot lives in inpu_fw.c, the command
 * ring and its worker in inpu_ring.c, the device MMU in inpu_mmu.c.
 *
 * Copyright (c) 2026 The inpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/resettable.h"
#include "migration/vmstate.h"

#include "inpu.h"
#include "inpu/inpu_regs.h"

/* Version of the device model; bumped with every visible change. */
#define INPU_MODEL_VERSION INPU_HW_VERSION(0, 3, 0)

static uint64_t inpu_caps(INPUState *s)
{
    return INPU_CAP_MSIX | INPU_CAP_RESET | INPU_CAP_FW_BOOT | INPU_CAP_RING |
           (s->fault_inject ? INPU_CAP_FAULT_INJECT : 0);
}

/*
 * MSI-X is edge triggered: signal once when an enabled source becomes
 * pending, and again only after the driver has acknowledged it.
 */
static void inpu_update_irq(INPUState *s, uint32_t was_pending)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t pending = s->irq_status & s->irq_mask;

    if ((pending & ~was_pending) && msix_enabled(pdev)) {
        msix_notify(pdev, 0);
    }
}

/* Set interrupt status bits from the device side; needs the BQL. */
void inpu_raise_irq(INPUState *s, uint32_t bits)
{
    uint32_t was_pending = s->irq_status & s->irq_mask;

    s->irq_status |= bits & INPU_IRQ_ALL;
    inpu_update_irq(s, was_pending);
}

/* The ring first: from then on no DMA of a job that was running lands. */
static void inpu_reset_regs(INPUState *s)
{
    inpu_ring_reset(s);
    inpu_fault_reset(s);
    s->scratch = 0;
    s->irq_status = 0;
    s->irq_mask = 0;
    s->fw_addr = 0;
    s->fw_size = 0;
    s->fw_error = 0;
    s->fw_err_offset = 0;
    inpu_fw_unload(s);
}

static uint64_t inpu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    INPUState *s = opaque;
    uint64_t val;

    switch (addr) {
    case INPU_REG_ID:
        return INPU_ID_MAGIC;
    case INPU_REG_HW_VERSION:
        return INPU_MODEL_VERSION;
    case INPU_REG_CAPS_LO:
        return (uint32_t)inpu_caps(s);
    case INPU_REG_CAPS_HI:
        return (uint32_t)(inpu_caps(s) >> 32);
    case INPU_REG_SA_GEOM:
        return (s->sa_rows & 0xffff) | (s->sa_cols & 0xffff) << 16;
    case INPU_REG_SCRATCH:
        return s->scratch;
    case INPU_REG_STATUS:
        return INPU_STATUS_READY;
    case INPU_REG_IRQ_STATUS:
        return s->irq_status;
    case INPU_REG_IRQ_MASK:
        return s->irq_mask;
    case INPU_REG_FW_ADDR_LO:
        return (uint32_t)s->fw_addr;
    case INPU_REG_FW_ADDR_HI:
        return (uint32_t)(s->fw_addr >> 32);
    case INPU_REG_FW_SIZE:
        return s->fw_size;
    case INPU_REG_FW_STATUS:
        return s->fw_status;
    case INPU_REG_FW_ERROR:
        return s->fw_error;
    case INPU_REG_FW_ERR_OFFSET:
        return s->fw_err_offset;
    case INPU_REG_FW_VERSION:
        return s->fw_version;
    case INPU_REG_FW_FEATURES_LO:
        return (uint32_t)s->fw_features;
    case INPU_REG_FW_FEATURES_HI:
        return (uint32_t)(s->fw_features >> 32);
    default:
        if (inpu_ring_read(s, addr, &val) ||
            inpu_fault_read(s, addr, &val)) {
            return val;
        }
        qemu_log_mask(LOG_GUEST_ERROR,
                      "inpu: read of unknown register 0x%" HWADDR_PRIx "\n",
                      addr);
        return 0;
    }
}

static void inpu_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                            unsigned size)
{
    INPUState *s = opaque;
    uint32_t was_pending = s->irq_status & s->irq_mask;

    switch (addr) {
    case INPU_REG_SCRATCH:
        s->scratch = val;
        break;
    case INPU_REG_RESET:
        if (val == INPU_RESET_MAGIC) {
            inpu_reset_regs(s);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "inpu: ignored reset with bad magic 0x%" PRIx64 "\n",
                          val);
        }
        break;
    case INPU_REG_IRQ_STATUS:
        s->irq_status &= ~(uint32_t)val;
        break;
    case INPU_REG_IRQ_MASK:
        s->irq_mask = val & INPU_IRQ_ALL;
        /* Unmasking an already pending source must still notify. */
        was_pending = 0;
        break;
    case INPU_REG_IRQ_RAISE:
        s->irq_status |= val & INPU_IRQ_ALL;
        break;
    case INPU_REG_FW_ADDR_LO:
        s->fw_addr = deposit64(s->fw_addr, 0, 32, val);
        break;
    case INPU_REG_FW_ADDR_HI:
        s->fw_addr = deposit64(s->fw_addr, 32, 32, val);
        break;
    case INPU_REG_FW_SIZE:
        s->fw_size = val;
        break;
    case INPU_REG_FW_CTRL:
        if (val == INPU_FW_CTRL_BOOT) {
            inpu_fw_boot(s);
        }
        break;
    default:
        if (inpu_ring_write(s, addr, val) ||
            inpu_fault_write(s, addr, val)) {
            break;
        }
        qemu_log_mask(LOG_GUEST_ERROR,
                      "inpu: write of 0x%" PRIx64 " to unknown or read-only "
                      "register 0x%" HWADDR_PRIx "\n", val, addr);
        return;
    }
    inpu_update_irq(s, was_pending);
}

static const MemoryRegionOps inpu_mmio_ops = {
    .read = inpu_mmio_read,
    .write = inpu_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
        .unaligned = false,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

static void inpu_realize(PCIDevice *pdev, Error **errp)
{
    INPUState *s = INPU(pdev);

    if (s->sa_rows == 0 || s->sa_rows > 0xffff ||
        s->sa_cols == 0 || s->sa_cols > 0xffff) {
        error_setg(errp, "inpu: sa-rows and sa-cols must be in 1..65535");
        return;
    }

    memory_region_init_io(&s->mmio, OBJECT(s), &inpu_mmio_ops, s,
                          "inpu-mmio", INPU_BAR0_SIZE);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);

    if (msix_init_exclusive_bar(pdev, INPU_MSIX_VECTORS, INPU_MSIX_BAR,
                                errp)) {
        return;
    }
    for (unsigned i = 0; i < INPU_MSIX_VECTORS; i++) {
        msix_vector_use(pdev, i);
    }
    if (!inpu_ring_init(s, errp)) {
        msix_uninit_exclusive_bar(pdev);
    }
}

static void inpu_exit(PCIDevice *pdev)
{
    INPUState *s = INPU(pdev);

    inpu_ring_exit(s);
    inpu_fw_unload(s);
    msix_uninit_exclusive_bar(pdev);
}

static void inpu_instance_init(Object *obj)
{
    INPUState *s = INPU(obj);

    qemu_mutex_init(&s->lock);
    qemu_cond_init(&s->cond);
}

static void inpu_instance_finalize(Object *obj)
{
    INPUState *s = INPU(obj);

    qemu_cond_destroy(&s->cond);
    qemu_mutex_destroy(&s->lock);
}

static void inpu_reset_hold(Object *obj, ResetType type)
{
    inpu_reset_regs(INPU(obj));
}

static const Property inpu_properties[] = {
    DEFINE_PROP_UINT32("sa-rows", INPUState, sa_rows, 64),
    DEFINE_PROP_UINT32("sa-cols", INPUState, sa_cols, 64),
    /* Cap on the engine's kernels (enum inpu_isa_level); the CPU caps too. */
    DEFINE_PROP_UINT32("engine-isa", INPUState, engine_isa,
                       INPU_ISA_AVX512_VNNI),
    /* Testing only: the fault-injection registers and their start values. */
    DEFINE_PROP_BOOL("fault-inject", INPUState, fault_inject, false),
    DEFINE_PROP_UINT32("fi-kinds", INPUState, fi_kinds, 0),
    DEFINE_PROP_UINT32("fi-period", INPUState, fi_period, 1),
    DEFINE_PROP_UINT32("fi-count", INPUState, fi_count, 0),
    DEFINE_PROP_UINT32("fi-slow-ms", INPUState, fi_slow_ms, 100),
};

/* Device state lives partly in host threads and mappings: not migratable. */
static const VMStateDescription inpu_vmstate = {
    .name = TYPE_INPU,
    .unmigratable = 1,
};

static void inpu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    k->realize = inpu_realize;
    k->exit = inpu_exit;
    k->vendor_id = INPU_PCI_VENDOR_ID;
    k->device_id = INPU_PCI_DEVICE_ID;
    k->revision = INPU_PCI_REVISION;
    k->class_id = INPU_PCI_CLASS;
    rc->phases.hold = inpu_reset_hold;
    dc->desc = "INPU integer-only NPU";
    dc->vmsd = &inpu_vmstate;
    device_class_set_props(dc, inpu_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo inpu_types[] = {
    {
        .name = TYPE_INPU,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(INPUState),
        .instance_init = inpu_instance_init,
        .instance_finalize = inpu_instance_finalize,
        .class_init = inpu_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { },
        },
    },
};

DEFINE_TYPES(inpu_types)
