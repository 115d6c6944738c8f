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
#include "qemu/thread.h"
#include "qom/object.h"

#include "inpu_engine.h"

#define TYPE_INPU "inpu"
OBJECT_DECLARE_SIMPLE_TYPE(INPUState, INPU)

/*
 * Loaded firmware tables.  Reference counted (g_atomic_rc_box) so that a
 * job keeps the tables it started with while the main loop unloads or
 * replaces them (reset, a new boot).
 */
typedef struct INPUFirmware {
    struct inpu_tables tables;
    uint16_t *exp;
    int32_t *silu;
} INPUFirmware;

struct INPUState {
    PCIDevice parent_obj;

    MemoryRegion mmio;

    /* Properties. */
    uint32_t sa_rows;
    uint32_t sa_cols;
    uint32_t engine_isa;
    bool fault_inject;      /* the INPU_REG_FI_* registers work */

    /* Register state. */
    uint32_t scratch;
    uint32_t irq_status;
    uint32_t irq_mask;

    /* Firmware boot registers. */
    uint64_t fw_addr;
    uint32_t fw_size;
    uint32_t fw_status;
    uint32_t fw_error;
    uint32_t fw_err_offset;
    uint32_t fw_version;
    uint64_t fw_features;

    /*
     * Ring registers only the main loop touches.  ring_head advances in
     * the completion bottom half, so HEAD, JOBS_DONE and BUSY_CYCLES
     * always agree with each other and with the records in memory.
     */
    uint64_t ring_base_reg;
    uint32_t ring_size_reg;
    uint32_t ring_head;
    uint32_t jobs_done;
    uint64_t busy_cycles;

    /*
     * Shared with the worker thread, under @lock.  The worker also holds
     * @lock across every DMA it does, so once a reset (which bumps @gen
     * under @lock) returns, no DMA of an older job can still happen.
     */
    QemuMutex lock;
    QemuCond cond;
    uint32_t gen;           /* bumped by reset and ring disable */
    bool worker_quit;
    bool ring_enabled;
    uint64_t ring_base;     /* latched on enable */
    uint32_t ring_size;
    uint32_t ring_tail;
    uint32_t run_pos;       /* next descriptor the worker fetches */
    uint64_t ctx_table;
    uint32_t done_pending;  /* completions the bottom half has not seen */
    uint64_t cycles_pending;
    INPUFirmware *fw;       /* NULL when no firmware is loaded */
    /* Fault injection (inpu_fault.c); the first four are also properties. */
    uint32_t fi_kinds;
    uint32_t fi_period;
    uint32_t fi_count;
    uint32_t fi_slow_ms;
    uint32_t fi_injected;
    uint32_t fi_seen;       /* jobs taken since FI_COUNT was written */
    uint32_t fi_last;       /* index of the kind injected last */
    uint32_t progress;      /* INPU_REG_PROGRESS; atomic */
    uint32_t done_irqs;     /* completions that want an interrupt */

    /* Worker side: used only by the worker thread once realized. */
    QemuThread worker;
    QEMUBH *done_bh;
    struct inpu_engine *engine;
};

/* inpu.c */
void inpu_raise_irq(INPUState *s, uint32_t bits);

/* inpu_fw.c */
void inpu_fw_boot(INPUState *s);
void inpu_fw_unload(INPUState *s);
INPUFirmware *inpu_fw_get_locked(INPUState *s);
void inpu_fw_put(INPUFirmware *fw);

/* inpu_mmu.c: device memory access and address translation */

#define INPU_TLB_ENTRIES    256
#define INPU_PWC_ENTRIES    16
/* Page-table walks one job may do before it faults. */
#define INPU_WALK_CAP       (1u << 20)
/* Bus ranges of RAM one job may read in place (guest RAM is one or two). */
#define INPU_RAM_RANGES     8

/* A cached leaf entry; hva is the page in host memory once looked up. */
typedef struct INPUTlbEntry {
    uint64_t tag;           /* DVA page number + 1; 0: empty */
    uint64_t pte;
    uint8_t *hva;
} INPUTlbEntry;

/* Translation state of the job on the worker; reset at each job start. */
typedef struct INPUJobMem {
    INPUState *s;
    uint32_t gen;           /* s->gen when the job started */
    uint64_t root;          /* bus address of the level-2 table */
    uint32_t walks;
    /* First memory fault of the job. */
    bool faulted;
    bool fault_write;
    uint64_t fault_dva;
    INPUTlbEntry tlb[INPU_TLB_ENTRIES];
    /* Level-0 tables by 2 MiB region (a page-walk cache). */
    struct {
        uint64_t tag;       /* region number + 1; 0: empty */
        uint64_t table;
        const uint8_t *hva;
    } pwc[INPU_PWC_ENTRIES];
    /*
     * Bus ranges that are contiguous RAM, with their host address; each
     * holds a reference on its region until the job ends.
     */
    struct {
        MemoryRegion *mr;
        uint64_t start;
        uint64_t end;
        uint8_t *hva;
    } ram[INPU_RAM_RANGES];
    unsigned int n_ram;
} INPUJobMem;

bool inpu_dma(INPUState *s, uint32_t gen, uint64_t addr, void *buf,
              uint64_t len, bool is_write);
bool inpu_dma_locked(INPUState *s, uint32_t gen, uint64_t addr, void *buf,
                     uint64_t len, bool is_write);
bool inpu_mmu_context_root(INPUState *s, uint32_t gen, uint64_t ctx_table,
                           uint32_t ctx, uint64_t *root);
void inpu_mmu_job_begin(INPUJobMem *m, INPUState *s, uint32_t gen,
                        uint64_t root);
void inpu_mmu_job_end(INPUJobMem *m);
bool inpu_mmu_translate(INPUJobMem *m, uint64_t dva, bool write,
                        uint64_t *bus);
extern const struct inpu_mem_ops inpu_mmu_mem_ops;

/* inpu_fault.c: fault injection */
uint32_t inpu_fault_pick_locked(INPUState *s);
void inpu_fault_stall(INPUState *s, uint32_t gen, uint32_t ms);
bool inpu_fault_read(INPUState *s, hwaddr addr, uint64_t *val);
bool inpu_fault_write(INPUState *s, hwaddr addr, uint64_t val);
void inpu_fault_reset(INPUState *s);

/* inpu_ring.c: command ring and the worker thread */
bool inpu_ring_init(INPUState *s, Error **errp);
void inpu_ring_exit(INPUState *s);
void inpu_ring_reset(INPUState *s);
bool inpu_ring_read(INPUState *s, hwaddr addr, uint64_t *val);
bool inpu_ring_write(INPUState *s, hwaddr addr, uint64_t val);

#endif
