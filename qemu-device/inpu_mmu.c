/*
 * INPU device model: device memory access and the device MMU.
 *
 * Jobs name device virtual addresses (DVAs); this file turns them into
 * bus addresses through the per-context page tables of uapi/inpu/inpu_mmu.h
 * and gives the engine its struct inpu_mem_ops.
 *
 * Writes, and reads of what is not plain RAM, go through inpu_dma(), which
 * holds the device lock and checks the job's generation around each page
 * it copies.  A reset bumps the generation under the same lock, so once it
 * returns no write of an older job can land any more.  Holding the lock
 * across a DMA is only safe because the copy cannot need the BQL (the main
 * loop may hold it while waiting for the lock): it is restricted to
 * directly accessible RAM, never MMIO or ROM, which QEMU would dispatch to
 * a device under the BQL.
 *
 * Reads of RAM, the bulk of a job (weights), are done in place: a
 * translation caches the page's host pointer, with a reference on its RAM
 * region until the job ends, and the engine reads weight tiles through
 * map() without a copy.  Reads have no side effects, so they need no lock;
 * they still check the generation, so that an abandoned job stops at its
 * next access instead of computing on.
 *
 * Copyright (c) 2026 The inpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "qemu/rcu.h"
#include "exec/memory.h"
#include "hw/pci/pci_device.h"
#include "system/dma.h"

#include "inpu.h"
#include "inpu/inpu_mmu.h"

/* Bits a context or table (level 2, 1) entry may have. */
#define INPU_TABLE_ENTRY_BITS   (INPU_PTE_ADDR_MASK | INPU_PTE_VALID)

/*
 * Copy one run that lies inside one bus page.  The attribute "memory"
 * makes QEMU refuse non-RAM targets too, but only the explicit check
 * below also rules out ROM writes, which QEMU would dispatch as MMIO.
 */
static bool inpu_dma_page(AddressSpace *as, uint64_t addr, uint8_t *buf,
                          uint64_t len, bool is_write)
{
    MemTxAttrs attrs = { .memory = 1 };

    while (len) {
        hwaddr xlat, l = len;
        MemoryRegion *mr;

        RCU_READ_LOCK_GUARD();
        mr = address_space_translate(as, addr, &xlat, &l, is_write, attrs);
        if (!l || !memory_access_is_direct(mr, is_write, attrs)) {
            return false;
        }
        if (dma_memory_rw(as, addr, buf, l,
                          is_write ? DMA_DIRECTION_FROM_DEVICE
                                   : DMA_DIRECTION_TO_DEVICE,
                          attrs) != MEMTX_OK) {
            return false;
        }
        addr += l;
        buf += l;
        len -= l;
    }
    return true;
}

bool inpu_dma_locked(INPUState *s, uint32_t gen, uint64_t addr, void *buf,
                     uint64_t len, bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));
    uint8_t *p = buf;

    while (len) {
        uint64_t chunk = MIN(len, INPU_PAGE_SIZE -
                                  (addr & (INPU_PAGE_SIZE - 1)));

        if (gen != s->gen || addr + chunk < addr ||
            !inpu_dma_page(as, addr, p, chunk, is_write)) {
            return false;
        }
        addr += chunk;
        p += chunk;
        len -= chunk;
    }
    return true;
}

/*
 * Takes the lock per page rather than per call so that a large transfer
 * (a 1 MiB stream) never keeps MMIO handlers waiting for long.
 */
bool inpu_dma(INPUState *s, uint32_t gen, uint64_t addr, void *buf,
              uint64_t len, bool is_write)
{
    uint8_t *p = buf;

    while (len) {
        uint64_t chunk = MIN(len, INPU_PAGE_SIZE -
                                  (addr & (INPU_PAGE_SIZE - 1)));
        bool ok;

        qemu_mutex_lock(&s->lock);
        ok = inpu_dma_locked(s, gen, addr, p, chunk, is_write);
        qemu_mutex_unlock(&s->lock);
        if (!ok) {
            return false;
        }
        addr += chunk;
        p += chunk;
        len -= chunk;
    }
    return true;
}

/*
 * Host pointer to the bus page at @bus when it is RAM the device may read
 * in place; NULL otherwise (the caller then uses DMA).  A translation is
 * done once per contiguous RAM range and job, not once per page.
 */
static uint8_t *inpu_mmu_host_page(INPUJobMem *m, uint64_t bus)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(m->s));
    MemTxAttrs attrs = { .memory = 1 };
    hwaddr xlat, l = UINT64_MAX - bus;
    MemoryRegion *mr;
    uint64_t end;
    uint8_t *hva;
    unsigned int i;

    for (i = 0; i < m->n_ram; i++) {
        if (bus >= m->ram[i].start && bus < m->ram[i].end) {
            return m->ram[i].hva + (bus - m->ram[i].start);
        }
    }

    RCU_READ_LOCK_GUARD();
    /* @l comes back as the length of the section from @bus on. */
    mr = address_space_translate(as, bus, &xlat, &l, false, attrs);
    if (l < INPU_PAGE_SIZE || !memory_access_is_direct(mr, false, attrs)) {
        return NULL;
    }
    end = bus + (l & ~(hwaddr)(INPU_PAGE_SIZE - 1));
    hva = qemu_map_ram_ptr(mr->ram_block, xlat);
    /* Same section as a range that starts higher up: extend it down. */
    for (i = 0; i < m->n_ram; i++) {
        if (m->ram[i].mr == mr && m->ram[i].end == end) {
            m->ram[i].start = bus;
            m->ram[i].hva = hva;
            return hva;
        }
    }
    if (m->n_ram == INPU_RAM_RANGES) {
        return NULL;
    }
    /* Keeps the RAM block alive after the RCU section, as a map would. */
    memory_region_ref(mr);
    i = m->n_ram++;
    m->ram[i].mr = mr;
    m->ram[i].start = bus;
    m->ram[i].end = end;
    m->ram[i].hva = hva;
    return hva;
}

static bool inpu_read_entry(INPUState *s, uint32_t gen, uint64_t table,
                            unsigned int index, uint64_t *entry)
{
    uint64_t raw;

    if (!inpu_dma(s, gen, table + index * sizeof(raw), &raw, sizeof(raw),
                  false)) {
        return false;
    }
    *entry = le64_to_cpu(raw);
    return true;
}

bool inpu_mmu_context_root(INPUState *s, uint32_t gen, uint64_t ctx_table,
                           uint32_t ctx, uint64_t *root)
{
    uint64_t e;

    if (ctx >= INPU_MAX_CONTEXTS ||
        !inpu_read_entry(s, gen, ctx_table, ctx, &e) ||
        !(e & INPU_PTE_VALID) || (e & ~INPU_TABLE_ENTRY_BITS)) {
        return false;
    }
    *root = e & INPU_PTE_ADDR_MASK;
    return true;
}

void inpu_mmu_job_begin(INPUJobMem *m, INPUState *s, uint32_t gen,
                        uint64_t root)
{
    memset(m, 0, sizeof(*m));
    m->s = s;
    m->gen = gen;
    m->root = root;
}

/* Drops the host pointers of the job and the references behind them. */
void inpu_mmu_job_end(INPUJobMem *m)
{
    while (m->n_ram) {
        memory_region_unref(m->ram[--m->n_ram].mr);
    }
    memset(m->tlb, 0, sizeof(m->tlb));
    memset(m->pwc, 0, sizeof(m->pwc));
}

/* The level-0 entry of @dva; false if any level is invalid. */
static bool inpu_mmu_walk(INPUJobMem *m, uint64_t dva, uint64_t *leaf)
{
    uint64_t region = dva >> (INPU_PAGE_SHIFT + 9);
    unsigned int p = region % INPU_PWC_ENTRIES;
    unsigned int idx = INPU_PT_INDEX(dva, 0);
    uint64_t table, e;

    /* Bounds the work a job can make the device do on page tables. */
    if (m->walks >= INPU_WALK_CAP) {
        return false;
    }
    m->walks++;

    if (m->pwc[p].tag != region + 1) {
        table = m->root;
        for (int level = INPU_PT_LEVELS - 1; level > 0; level--) {
            if (!inpu_read_entry(m->s, m->gen, table,
                                 INPU_PT_INDEX(dva, level), &e) ||
                !(e & INPU_PTE_VALID) || (e & ~INPU_TABLE_ENTRY_BITS)) {
                return false;
            }
            table = e & INPU_PTE_ADDR_MASK;
        }
        m->pwc[p].tag = region + 1;
        m->pwc[p].table = table;
        m->pwc[p].hva = inpu_mmu_host_page(m, table);
    }
    if (m->pwc[p].hva) {
        e = ldq_le_p(m->pwc[p].hva + idx * sizeof(e));
    } else if (!inpu_read_entry(m->s, m->gen, m->pwc[p].table, idx, &e)) {
        return false;
    }
    if (!(e & INPU_PTE_VALID) || (e & INPU_PTE_RESERVED_MASK)) {
        return false;
    }
    *leaf = e;
    return true;
}

/* The cached leaf of @dva if it allows the access, else NULL. */
static INPUTlbEntry *inpu_mmu_lookup(INPUJobMem *m, uint64_t dva, bool write)
{
    uint64_t vpn = dva >> INPU_PAGE_SHIFT;
    INPUTlbEntry *t = &m->tlb[vpn % INPU_TLB_ENTRIES];
    uint64_t pte;

    if (dva >> INPU_DVA_BITS) {
        return NULL;
    }
    if (t->tag != vpn + 1) {
        if (!inpu_mmu_walk(m, dva, &pte)) {
            return NULL;
        }
        t->tag = vpn + 1;
        t->pte = pte;
        t->hva = NULL;
    }
    if (!(t->pte & (write ? INPU_PTE_WRITE : INPU_PTE_READ))) {
        return NULL;
    }
    return t;
}

bool inpu_mmu_translate(INPUJobMem *m, uint64_t dva, bool write,
                        uint64_t *bus)
{
    INPUTlbEntry *t = inpu_mmu_lookup(m, dva, write);

    if (!t) {
        return false;
    }
    *bus = (t->pte & INPU_PTE_ADDR_MASK) | (dva & (INPU_PAGE_SIZE - 1));
    return true;
}

/* Host pointer to the readable page of @t, looked up once per entry. */
static uint8_t *inpu_mmu_entry_hva(INPUJobMem *m, INPUTlbEntry *t)
{
    if (qatomic_read(&m->s->gen) != m->gen) {
        return NULL;
    }
    if (!t->hva) {
        t->hva = inpu_mmu_host_page(m, t->pte & INPU_PTE_ADDR_MASK);
    }
    return t->hva;
}

/*
 * The engine reports the address it passed to read() or write(); keep the
 * first byte of the page run that actually failed so the completion
 * record can name it.
 */
static int inpu_mmu_access(INPUJobMem *m, uint64_t dva, uint8_t *buf,
                           uint64_t len, bool write)
{
    while (len) {
        uint64_t off = dva & (INPU_PAGE_SIZE - 1);
        uint64_t chunk = MIN(len, INPU_PAGE_SIZE - off);
        INPUTlbEntry *t = inpu_mmu_lookup(m, dva, write);
        uint8_t *hva = t && !write ? inpu_mmu_entry_hva(m, t) : NULL;

        if (hva) {
            memcpy(buf, hva + off, chunk);
        } else if (!t ||
                   !inpu_dma(m->s, m->gen,
                             (t->pte & INPU_PTE_ADDR_MASK) | off, buf, chunk,
                             write)) {
            if (!m->faulted) {
                m->faulted = true;
                m->fault_dva = dva;
                m->fault_write = write;
            }
            return -1;
        }
        dva += chunk;
        buf += chunk;
        len -= chunk;
    }
    return 0;
}

static int inpu_mmu_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
    return inpu_mmu_access(ctx, addr, dst, len, false);
}

static int inpu_mmu_write(void *ctx, uint64_t addr, const void *src,
                          uint64_t len)
{
    /* The buffer is only read: the direction is that of the DMA. */
    return inpu_mmu_access(ctx, addr, (uint8_t *)src, len, true);
}

/*
 * Weight tiles in place.  A failure here records no fault: the engine
 * falls back to read(), which fails the same way and records it.
 */
static const void *inpu_mmu_map(void *ctx, uint64_t addr, uint64_t len)
{
    INPUJobMem *m = ctx;
    uint64_t off = addr & (INPU_PAGE_SIZE - 1);
    INPUTlbEntry *t;
    uint8_t *hva;

    if (len > INPU_PAGE_SIZE - off) {
        return NULL;
    }
    t = inpu_mmu_lookup(m, addr, false);
    hva = t ? inpu_mmu_entry_hva(m, t) : NULL;
    return hva ? hva + off : NULL;
}

const struct inpu_mem_ops inpu_mmu_mem_ops = {
    .read = inpu_mmu_read,
    .write = inpu_mmu_write,
    .map = inpu_mmu_map,
};
