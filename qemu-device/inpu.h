/*
 * INPU device model: state shared by the device's files.
 *
 * Copyright (c) 2026 The inpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_INPU_H
#define HW_INPU_H

#include "hw/pci/pci_device.h"
#include "qom/object.h"

#include "inpu_engine.h"

#define TYPE_INPU "inpu"
OBJECT_DECLARE_SIMPLE_TYPE(INPUState, INPU)

struct INPUState {
    PCIDevice parent_obj;

    MemoryRegion mmio;

    /* Properties. */
    uint32_t sa_rows;
    uint32_t sa_cols;

    /* Register state. */
    uint32_t scratch;
    uint32_t irq_status;
    uint32_t irq_mask;

    /* Firmware boot registers and the loaded firmware. */
    uint64_t fw_addr;
    uint32_t fw_size;
    uint32_t fw_status;
    uint32_t fw_error;
    uint32_t fw_err_offset;
    uint32_t fw_version;
    uint64_t fw_features;
    uint16_t *fw_exp;
    int32_t *fw_silu;
    struct inpu_tables tables;
};

/* inpu_fw.c */
void inpu_fw_boot(INPUState *s);
void inpu_fw_unload(INPUState *s);

#endif
