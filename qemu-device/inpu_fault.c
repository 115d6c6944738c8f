/*
 * INPU device model: fault injection, for testing the driver's error
 * handling (hangs, memory faults, lost interrupts, corrupt completion
 * records, slow jobs).  Off unless the device is created with
 * fault-inject=on; the registers are in uapi/inpu/inpu_regs.h.
 *
 * The worker asks for a fault when it takes a job; the choice depends
 * only on the register values and how many jobs came before, so a test
 * that programs the registers gets the same faults on the same jobs every
 * run.
 *
 * Copyright (c) 2026 The inpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"

#include "inpu.h"
#include "inpu/inpu_regs.h"

/* The number of fault kinds: the bits of INPU_FI_ALL. */
#define INPU_FI_KINDS   6
QEMU_BUILD_BUG_ON(INPU_FI_ALL != (1u << INPU_FI_KINDS) - 1);

/* Called by the worker with s->lock held, once per job it takes. */
uint32_t inpu_fault_pick_locked(INPUState *s)
{
    uint32_t kinds = s->fi_kinds & INPU_FI_ALL;
    uint32_t period = MAX(s->fi_period, 1);

    if (!s->fault_inject || !kinds || !s->fi_count) {
        return 0;
    }
    if (++s->fi_seen % period) {
        return 0;
    }
    /* The next selected kind after the last one injected. */
    for (unsigned int i = 0; i < INPU_FI_KINDS; i++) {
        uint32_t bit = 1u << ((s->fi_last + 1 + i) % INPU_FI_KINDS);

        if (kinds & bit) {
            s->fi_last = ctz32(bit);
            s->fi_count--;
            s->fi_injected++;
            return bit;
        }
    }
    return 0;
}

/*
 * An injected stall: @ms with no progress (PROGRESS stays still, so the
 * driver may declare the job hung), then the job runs normally.  Stops
 * early when a reset abandons the job.
 */
void inpu_fault_stall(INPUState *s, uint32_t gen, uint32_t ms)
{
    for (uint32_t i = 0; i < ms && qatomic_read(&s->gen) == gen; i++) {
        g_usleep(1000);
    }
}

bool inpu_fault_read(INPUState *s, hwaddr addr, uint64_t *val)
{
    switch (addr) {
    case INPU_REG_PROGRESS:
        *val = qatomic_read(&s->progress);
        return true;
    case INPU_REG_FI_KINDS:
    case INPU_REG_FI_PERIOD:
    case INPU_REG_FI_COUNT:
    case INPU_REG_FI_SLOW_MS:
    case INPU_REG_FI_INJECTED:
        break;
    default:
        return false;
    }
    *val = 0;
    if (!s->fault_inject) {
        return true;
    }
    qemu_mutex_lock(&s->lock);
    switch (addr) {
    case INPU_REG_FI_KINDS:
        *val = s->fi_kinds;
        break;
    case INPU_REG_FI_PERIOD:
        *val = s->fi_period;
        break;
    case INPU_REG_FI_COUNT:
        *val = s->fi_count;
        break;
    case INPU_REG_FI_SLOW_MS:
        *val = s->fi_slow_ms;
        break;
    case INPU_REG_FI_INJECTED:
        *val = s->fi_injected;
        break;
    }
    qemu_mutex_unlock(&s->lock);
    return true;
}

bool inpu_fault_write(INPUState *s, hwaddr addr, uint64_t val)
{
    switch (addr) {
    case INPU_REG_FI_KINDS:
    case INPU_REG_FI_PERIOD:
    case INPU_REG_FI_COUNT:
    case INPU_REG_FI_SLOW_MS:
        break;
    default:
        return false;
    }
    if (!s->fault_inject) {
        qemu_log_mask(LOG_GUEST_ERROR, "inpu: fault-injection register 0x%"
                      HWADDR_PRIx " written, but fault-inject is off\n", addr);
        return true;
    }
    qemu_mutex_lock(&s->lock);
    switch (addr) {
    case INPU_REG_FI_KINDS:
        s->fi_kinds = val & INPU_FI_ALL;
        break;
    case INPU_REG_FI_PERIOD:
        s->fi_period = val;
        break;
    case INPU_REG_FI_COUNT:
        /* Arming starts counting jobs afresh. */
        s->fi_count = val;
        s->fi_seen = 0;
        break;
    case INPU_REG_FI_SLOW_MS:
        s->fi_slow_ms = MIN(val, 60000);
        break;
    }
    qemu_mutex_unlock(&s->lock);
    return true;
}

/*
 * The injection registers survive reset: a test's setting outlives the
 * recoveries it provokes.
 */
void inpu_fault_reset(INPUState *s)
{
    qatomic_set(&s->progress, 0);
}
