/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * INPU device MMU: how the device turns a device virtual address (DVA)
 * of a job into a bus address.  Programmed by the driver, walked by the
 * device (qemu-device/inpu_mmu.c).
 *
 *  - 4 KiB pages, 39-bit DVAs, three levels of 512 eight-byte entries
 *    (level 2 indexed by DVA bits 38:30, level 1 by 29:21, level 0 by
 *    20:12); every table is one 4 KiB page in guest memory.
 *  - A context table of INPU_MAX_CONTEXTS eight-byte entries, one page,
 *    at INPU_REG_CTX_TABLE; entry i is the bus address of context i's
 *    level-2 table with INPU_PTE_VALID set.  Each job names its context.
 *  - Table entries (levels 2 and 1): VALID, bus address of the next
 *    table in bits 51:12.  Leaf entries (level 0): VALID, READ and/or
 *    WRITE, page bus address in bits 51:12.  Other bits must be zero;
 *    an entry with reserved bits set is treated as invalid.
 *  - A walk is exactly three reads, so a hostile table cannot make the
 *    device loop; the device also caps the walks per job.
 *  - The device caches translations only for the duration of one job;
 *    the driver may change tables of contexts with no job running.
 */
#ifndef _INPU_MMU_H_
#define _INPU_MMU_H_

#define INPU_PAGE_SHIFT		12
#define INPU_PAGE_SIZE		(1u << INPU_PAGE_SHIFT)
#define INPU_DVA_BITS		39
#define INPU_PT_ENTRIES		512
#define INPU_PT_LEVELS		3
#define INPU_MAX_CONTEXTS	512

#define INPU_PTE_VALID		(1ull << 0)
#define INPU_PTE_READ		(1ull << 1)
#define INPU_PTE_WRITE		(1ull << 2)
#define INPU_PTE_ADDR_MASK	0x000ffffffffff000ull
#define INPU_PTE_RESERVED_MASK	(~(INPU_PTE_ADDR_MASK | INPU_PTE_VALID | \
				   INPU_PTE_READ | INPU_PTE_WRITE))

/* Index of @dva in the table of @level (2, 1 or 0). */
#define INPU_PT_INDEX(dva, level) \
	(((dva) >> (INPU_PAGE_SHIFT + 9 * (level))) & (INPU_PT_ENTRIES - 1))

#endif /* _INPU_MMU_H_ */
