// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device MMU: the context table and one device address space per open
 * file, in the page-table format of uapi/inpu/inpu_mmu.h.
 *
 * Tables are DMA-coherent pages the device walks; each has a CPU-side
 * shadow with pointers to its children so that unmapping never has to read
 * what the device sees.  The device caches translations only within a job,
 * and a BO is never unmapped while a job holds it, so no invalidation
 * command is needed.
 */
#include <linux/dma-mapping.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_print.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_gem.h"
#include "inpu_mmu.h"

/* Device addresses below this stay unmapped, so a NULL-ish DVA faults. */
#define INPU_VA_START	SZ_1M
#define INPU_VA_END	BIT_ULL(INPU_DVA_BITS)

struct inpu_pt {
	u64 *cpu;
	dma_addr_t dma;
	struct inpu_pt *child[INPU_PT_ENTRIES];
};

int inpu_mmu_init(struct inpu_device *idev)
{
	idev->ctx_table = dmam_alloc_coherent(&idev->pdev->dev, INPU_PAGE_SIZE,
					      &idev->ctx_table_dma, GFP_KERNEL);
	if (!idev->ctx_table)
		return -ENOMEM;
	ida_init(&idev->ctx_ida);
	mutex_init(&idev->vms_lock);
	INIT_LIST_HEAD(&idev->vms);
	inpu_mmu_hw_init(idev);
	return 0;
}

/* Program the context table; also after a device reset. */
void inpu_mmu_hw_init(struct inpu_device *idev)
{
	inpu_wr32(idev, INPU_REG_CTX_TABLE_LO, lower_32_bits(idev->ctx_table_dma));
	inpu_wr32(idev, INPU_REG_CTX_TABLE_HI, upper_32_bits(idev->ctx_table_dma));
}

void inpu_mmu_fini(struct inpu_device *idev)
{
	ida_destroy(&idev->ctx_ida);
}

static struct inpu_pt *inpu_pt_alloc(struct inpu_device *idev)
{
	struct inpu_pt *pt = kzalloc(sizeof(*pt), GFP_KERNEL_ACCOUNT);

	if (!pt)
		return NULL;
	pt->cpu = dma_alloc_coherent(&idev->pdev->dev, INPU_PAGE_SIZE, &pt->dma,
				     GFP_KERNEL_ACCOUNT);
	if (!pt->cpu) {
		kfree(pt);
		return NULL;
	}
	return pt;
}

static void inpu_pt_free(struct inpu_device *idev, struct inpu_pt *pt,
			 int level)
{
	int i;

	if (!pt)
		return;
	for (i = 0; level > 0 && i < INPU_PT_ENTRIES; i++)
		inpu_pt_free(idev, pt->child[i], level - 1);
	dma_free_coherent(&idev->pdev->dev, INPU_PAGE_SIZE, pt->cpu, pt->dma);
	kfree(pt);
}

struct inpu_vm *inpu_vm_create(struct inpu_device *idev)
{
	struct inpu_vm *vm;
	int ctx;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	INIT_LIST_HEAD(&vm->bos);
	vm->idev = idev;
	vm->tgid = task_tgid_nr(current);
	drm_mm_init(&vm->mm, INPU_VA_START, INPU_VA_END - INPU_VA_START);

	vm->root = inpu_pt_alloc(idev);
	if (!vm->root) {
		ctx = -ENOMEM;
		goto err_free;
	}
	mutex_lock(&idev->vms_lock);
	/* Context 0 is never handed out: an all-zero descriptor faults. */
	ctx = idev->unplugged ? -ENODEV :
	      ida_alloc_range(&idev->ctx_ida, 1, INPU_MAX_CONTEXTS - 1,
			      GFP_KERNEL);
	if (ctx >= 0) {
		vm->ctx = ctx;
		WRITE_ONCE(idev->ctx_table[ctx], vm->root->dma | INPU_PTE_VALID);
		list_add_tail(&vm->link, &idev->vms);
		atomic_inc(&idev->contexts);
	}
	mutex_unlock(&idev->vms_lock);
	if (ctx < 0) {
		inpu_pt_free(idev, vm->root, INPU_PT_LEVELS - 1);
		goto err_free;
	}
	return vm;

err_free:
	drm_mm_takedown(&vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
	return ERR_PTR(ctx == -ENOSPC ? -EBUSY : ctx);
}

/* Give the context and the page tables back; under vms_lock. */
static void inpu_vm_free_hw(struct inpu_vm *vm)
{
	struct inpu_device *idev = vm->idev;

	lockdep_assert_held(&idev->vms_lock);
	WRITE_ONCE(idev->ctx_table[vm->ctx], 0);
	ida_free(&idev->ctx_ida, vm->ctx);
	inpu_pt_free(idev, vm->root, INPU_PT_LEVELS - 1);
	vm->root = NULL;
}

static void inpu_vm_release(struct kref *ref)
{
	struct inpu_vm *vm = container_of(ref, struct inpu_vm, ref);
	struct inpu_device *idev = vm->idev;

	mutex_lock(&idev->vms_lock);
	list_del(&vm->link);
	atomic_dec(&idev->contexts);
	/* After remove, the context table is gone with the device. */
	if (!vm->dead)
		inpu_vm_free_hw(vm);
	mutex_unlock(&idev->vms_lock);
	drm_mm_takedown(&vm->mm);
	mutex_destroy(&vm->lock);
	kfree(vm);
}

void inpu_vm_put(struct inpu_vm *vm)
{
	if (vm)
		kref_put(&vm->ref, inpu_vm_release);
}

struct inpu_vm *inpu_vm_get(struct inpu_vm *vm)
{
	kref_get(&vm->ref);
	return vm;
}

/*
 * Device remove: free every address space's page tables and context and
 * the DMA mappings of its BOs, while the device is still there to unmap
 * them.  The BOs and address spaces themselves live on until their last
 * user lets go; they then only give their address ranges back.
 */
void inpu_vms_teardown(struct inpu_device *idev)
{
	struct inpu_vm *vm;
	struct inpu_bo *bo;

	mutex_lock(&idev->vms_lock);
	list_for_each_entry(vm, &idev->vms, link) {
		mutex_lock(&vm->lock);
		list_for_each_entry(bo, &vm->bos, vm_link)
			inpu_bo_release_dma(bo);
		inpu_vm_free_hw(vm);
		vm->dead = true;
		mutex_unlock(&vm->lock);
	}
	mutex_unlock(&idev->vms_lock);
}

/* The level-0 table holding @dva's entry, allocated on demand. */
static u64 *inpu_vm_leaf(struct inpu_vm *vm, u64 dva, bool alloc)
{
	struct inpu_pt *pt = vm->root;
	int level;

	for (level = INPU_PT_LEVELS - 1; level > 0; level--) {
		unsigned int i = INPU_PT_INDEX(dva, level);

		if (!pt->child[i]) {
			if (!alloc)
				return NULL;
			pt->child[i] = inpu_pt_alloc(vm->idev);
			if (!pt->child[i])
				return NULL;
			WRITE_ONCE(pt->cpu[i], pt->child[i]->dma | INPU_PTE_VALID);
		}
		pt = pt->child[i];
	}
	return &pt->cpu[INPU_PT_INDEX(dva, 0)];
}

static void inpu_vm_clear(struct inpu_vm *vm, u64 dva, u64 size)
{
	u64 off;

	for (off = 0; off < size; off += INPU_PAGE_SIZE) {
		u64 *pte = inpu_vm_leaf(vm, dva + off, false);

		if (pte)
			WRITE_ONCE(*pte, 0);
	}
}

/*
 * Reserve a DVA range for @bo plus one unmapped guard page (so running off
 * the end of a buffer faults instead of reaching the next one) and map the
 * DMA pages of @sgt there.
 */
int inpu_vm_map_bo(struct inpu_vm *vm, struct inpu_bo *bo,
		   struct sg_table *sgt)
{
	u64 size = bo->base.base.size;
	u64 flags = INPU_PTE_VALID | INPU_PTE_READ |
		    (bo->flags & DRM_INPU_BO_DEVICE_READONLY ? 0 : INPU_PTE_WRITE);
	struct drm_mm_node *node = &bo->node;
	struct sg_dma_page_iter iter;
	u64 dva, off = 0;
	int ret;

	mutex_lock(&vm->lock);
	if (vm->dead) {
		ret = -ENODEV;
		goto out;
	}
	ret = drm_mm_insert_node_generic(&vm->mm, node, size + INPU_PAGE_SIZE,
					 INPU_PAGE_SIZE, 0, DRM_MM_INSERT_BEST);
	if (ret)
		goto out;
	dva = node->start;
	for_each_sgtable_dma_page(sgt, &iter, 0) {
		u64 *pte;

		if (off >= size)
			break;
		pte = inpu_vm_leaf(vm, dva + off, true);
		if (!pte) {
			inpu_vm_clear(vm, dva, off);
			drm_mm_remove_node(node);
			ret = -ENOMEM;
			goto out;
		}
		WRITE_ONCE(*pte, (sg_page_iter_dma_address(&iter) &
				  INPU_PTE_ADDR_MASK) | flags);
		off += INPU_PAGE_SIZE;
	}
	vm->mapped_bytes += size;
	list_add_tail(&bo->vm_link, &vm->bos);
out:
	mutex_unlock(&vm->lock);
	return ret;
}

void inpu_vm_unmap_bo(struct inpu_vm *vm, struct inpu_bo *bo)
{
	u64 size = bo->base.base.size;

	mutex_lock(&vm->lock);
	if (drm_mm_node_allocated(&bo->node)) {
		if (!vm->dead)
			inpu_vm_clear(vm, bo->node.start, size);
		drm_mm_remove_node(&bo->node);
		vm->mapped_bytes -= size;
		list_del(&bo->vm_link);
	}
	mutex_unlock(&vm->lock);
}
