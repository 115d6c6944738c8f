// SPDX-License-Identifier: GPL-2.0-only
/*
 * Command buffers, job submission and waiting.
 *
 * Every stream the device runs is first copied into kernel memory and
 * validated by the engine's own validator (engine/validate.c) against the
 * BOs the job lists, for every value its parameters may take.  A command
 * buffer keeps that validated copy, so a decode loop submits it again and
 * again with only a new parameter block, which costs a range check.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>
#include <drm/drm_syncobj.h>
#include <drm/drm_utils.h>
#include <drm/inpu_accel.h>

#include "inpu_drv.h"
#include "inpu_gem.h"
#include "inpu_job.h"
#include "inpu_mmu.h"
#include "inpu_recovery.h"
#include "inpu_ring.h"
#include "inpu_trace.h"
#include "inpu_validate.h"

static bool unsafe_skip_validation;
module_param(unsafe_skip_validation, bool, 0600);
MODULE_PARM_DESC(unsafe_skip_validation,
		 "TESTING ONLY: skip the per-buffer range checks of command streams, leaving isolation to the device MMU");

/* Limits on what one client can make the kernel and the device do. */
static unsigned int max_job_gwork = 64;
module_param(max_job_gwork, uint, 0644);
MODULE_PARM_DESC(max_job_gwork,
		 "largest work bound of one job, in 10^9 units of engine/ISA.md's work bound (default 64; 0 = no limit); larger jobs fail with -E2BIG");

static unsigned int max_cmdbufs = 1024;
module_param(max_cmdbufs, uint, 0644);
MODULE_PARM_DESC(max_cmdbufs,
		 "command buffers one file may hold (default 1024); more fail with -ENOSPC");

static unsigned int max_stream_mib = 64;
module_param(max_stream_mib, uint, 0644);
MODULE_PARM_DESC(max_stream_mib,
		 "MiB of validated command streams one file may hold, in command buffers and queued jobs (default 64); more fail with -ENOSPC");

static unsigned int max_jobs_queued = 1024;
module_param(max_jobs_queued, uint, 0644);
MODULE_PARM_DESC(max_jobs_queued,
		 "jobs one file may have submitted and not yet retired (default 1024); more fail with -EBUSY");

static unsigned int debug_lookup_delay_us;
module_param(debug_lookup_delay_us, uint, 0600);
MODULE_PARM_DESC(debug_lookup_delay_us,
		 "TESTING ONLY: sleep this long between finding an object by handle and taking a reference, so that race tests hit that window");

static void inpu_debug_lookup_delay(void)
{
	unsigned int us = READ_ONCE(debug_lookup_delay_us);

	if (us)
		fsleep(us);
}

/* ---- command buffers ------------------------------------------------ */

static void inpu_cmdbuf_release(struct kref *ref)
{
	struct inpu_cmdbuf *cb = container_of(ref, struct inpu_cmdbuf, ref);
	u32 i;

	for (i = 0; i < cb->n_bos; i++)
		drm_gem_object_put(cb->bos[i]);
	/* cb->len is set before the allocation, so a failed build frees
	 * with the size it allocated.
	 */
	if (cb->stream)
		dma_free_coherent(&cb->idev->pdev->dev, cb->len, cb->stream,
				  cb->stream_dma);
	if (cb->vm) {
		atomic64_sub(cb->len, &cb->vm->stream_bytes);
		inpu_vm_put(cb->vm);
	}
	atomic64_dec(&cb->idev->cmdbufs_alive);
	kfree(cb->bos);
	kfree(cb->bo_flags);
	kfree(cb);
}

void inpu_cmdbuf_put(struct inpu_cmdbuf *cb)
{
	if (cb)
		kref_put(&cb->ref, inpu_cmdbuf_release);
}

static int inpu_status_errno(int status)
{
	return status == INPU_ERR_ACCESS ? -EACCES : -EINVAL;
}

/*
 * A command buffer of @len stream bytes, charged to @vm: -ENOSPC beyond
 * the file's stream memory limit.
 */
static struct inpu_cmdbuf *inpu_cmdbuf_alloc(struct inpu_device *idev,
					     struct inpu_vm *vm, u32 len,
					     u32 n_bos)
{
	u64 limit = (u64)READ_ONCE(max_stream_mib) << 20;
	struct inpu_cmdbuf *cb;

	cb = kzalloc(sizeof(*cb), GFP_KERNEL_ACCOUNT);
	if (!cb)
		return ERR_PTR(-ENOMEM);
	kref_init(&cb->ref);
	cb->idev = idev;
	atomic64_inc(&idev->cmdbufs_alive);
	cb->len = len;
	cb->vm = inpu_vm_get(vm);
	if (atomic64_add_return(len, &vm->stream_bytes) > limit) {
		inpu_cmdbuf_put(cb);
		return ERR_PTR(-ENOSPC);
	}
	cb->bos = kcalloc(n_bos, sizeof(*cb->bos), GFP_KERNEL_ACCOUNT);
	cb->bo_flags = kcalloc(n_bos, sizeof(*cb->bo_flags), GFP_KERNEL_ACCOUNT);
	cb->stream = dma_alloc_coherent(&idev->pdev->dev, len, &cb->stream_dma,
					GFP_KERNEL_ACCOUNT);
	if (!cb->bos || !cb->bo_flags || !cb->stream) {
		inpu_cmdbuf_put(cb);
		return ERR_PTR(-ENOMEM);
	}
	return cb;
}

/*
 * Look up the BOs of @refs into @cb and describe them as validator
 * regions.  A BO listed twice is refused here: its reservation could not
 * be locked twice at submit.
 */
static int inpu_cmdbuf_bind_bos(struct drm_file *file, struct inpu_cmdbuf *cb,
				const struct drm_inpu_bo_ref *refs, u32 n_bos,
				struct inpu_region *regions)
{
	u32 i, j;
	int ret;

	ret = inpu_bo_lookup_refs(file, refs, n_bos, cb->bos);
	if (ret)
		return ret;
	cb->n_bos = n_bos;
	for (i = 0; i < n_bos; i++) {
		struct inpu_bo *bo = to_inpu_bo(cb->bos[i]);

		for (j = 0; j < i; j++)
			if (cb->bos[j] == cb->bos[i])
				return -EINVAL;
		cb->bo_flags[i] = refs[i].flags;
		regions[i].start = bo->node.start;
		regions[i].len = bo->base.base.size;
		regions[i].flags =
			(refs[i].flags & DRM_INPU_REF_READ ? INPU_REGION_READ : 0) |
			(refs[i].flags & DRM_INPU_REF_WRITE ? INPU_REGION_WRITE : 0);
	}
	return 0;
}

/* Validate the kernel's copy (userspace cannot change it any more). */
static int inpu_cmdbuf_validate(struct inpu_cmdbuf *cb,
				const struct inpu_region *regions,
				struct drm_inpu_verror *verr)
{
	static const struct inpu_region all = {
		.start = 0, .len = 1ull << INPU_DVA_BITS,
		.flags = INPU_REGION_READ | INPU_REGION_WRITE,
	};
	u64 budget = (u64)READ_ONCE(max_job_gwork) * 1000000000ull;
	struct inpu_verror err;
	int ret;

	if (unsafe_skip_validation)
		ret = inpu_validate_stream(cb->stream, cb->len, &all, 1, &err);
	else
		ret = inpu_validate_stream(cb->stream, cb->len, regions,
					   cb->n_bos, &err);
	if (ret) {
		verr->status = err.status;
		verr->op = err.op;
		verr->slot = err.slot;
		return inpu_status_errno(err.status);
	}
	/* A valid stream can still occupy the device for minutes. */
	if (budget && inpu_stream_work(cb->stream) > budget) {
		verr->status = INPU_ERR_BUDGET;
		verr->op = ~0u;
		verr->slot = -1;
		return -E2BIG;
	}
	return 0;
}

/*
 * Build a command buffer from @len bytes at @src (kernel memory), used by
 * the job's BOs @refs.  Validation failures fill @verr.
 */
static struct inpu_cmdbuf *
inpu_cmdbuf_build(struct drm_file *file, const void *src, u32 len,
		  const struct drm_inpu_bo_ref *refs, u32 n_bos,
		  struct drm_inpu_verror *verr)
{
	struct inpu_file *ifile = file->driver_priv;
	const struct inpu_stream_header *hdr;
	struct inpu_region *regions;
	struct inpu_cmdbuf *cb;
	int ret;

	cb = inpu_cmdbuf_alloc(ifile->idev, ifile->vm, len, n_bos);
	if (IS_ERR(cb))
		return cb;
	regions = kcalloc(n_bos, sizeof(*regions), GFP_KERNEL);
	if (!regions) {
		inpu_cmdbuf_put(cb);
		return ERR_PTR(-ENOMEM);
	}
	memcpy(cb->stream, src, len);
	ret = inpu_cmdbuf_bind_bos(file, cb, refs, n_bos, regions);
	if (!ret)
		ret = inpu_cmdbuf_validate(cb, regions, verr);
	kfree(regions);
	if (ret) {
		inpu_cmdbuf_put(cb);
		return ERR_PTR(ret);
	}
	hdr = cb->stream;
	cb->n_params = hdr->n_params;
	memcpy(cb->params, hdr->params, sizeof(cb->params));
	return cb;
}

static int inpu_copy_refs(u64 uptr, u32 n, struct drm_inpu_bo_ref **refs)
{
	if (!n || n > DRM_INPU_MAX_BOS_PER_JOB)
		return -EINVAL;
	*refs = memdup_array_user(u64_to_user_ptr(uptr), n, sizeof(**refs));
	return PTR_ERR_OR_ZERO(*refs);
}

int inpu_cmdbuf_create_ioctl(struct drm_device *drm, void *data,
			     struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;
	struct drm_inpu_cmdbuf_create *args = data;
	struct drm_inpu_bo_ref *refs;
	struct inpu_cmdbuf *cb;
	void *stream;
	int ret, idx;
	u32 id;

	if (!ifile)
		return -ENODEV;
	memset(&args->verr, 0, sizeof(args->verr));
	if (args->flags || args->handle)
		return -EINVAL;
	if (!args->stream_len || args->stream_len > DRM_INPU_MAX_STREAM_BYTES)
		return -EINVAL;
	if (atomic_inc_return(&ifile->vm->n_cmdbufs) > READ_ONCE(max_cmdbufs)) {
		atomic_dec(&ifile->vm->n_cmdbufs);
		return -ENOSPC;
	}
	/* The stream goes to DMA memory of the device. */
	if (!drm_dev_enter(drm, &idx)) {
		atomic_dec(&ifile->vm->n_cmdbufs);
		return -ENODEV;
	}
	ret = inpu_copy_refs(args->bos, args->n_bos, &refs);
	if (ret)
		goto out;
	stream = vmemdup_user(u64_to_user_ptr(args->stream), args->stream_len);
	if (IS_ERR(stream)) {
		kfree(refs);
		ret = PTR_ERR(stream);
		goto out;
	}
	cb = inpu_cmdbuf_build(file, stream, args->stream_len, refs,
			       args->n_bos, &args->verr);
	kvfree(stream);
	kfree(refs);
	if (IS_ERR(cb)) {
		ret = PTR_ERR(cb);
		goto out;
	}

	mutex_lock(&ifile->lock);
	ret = xa_alloc(&ifile->cmdbufs, &id, cb, xa_limit_31b,
		       GFP_KERNEL_ACCOUNT);
	mutex_unlock(&ifile->lock);
	if (ret)
		inpu_cmdbuf_put(cb);
	else
		args->handle = id;
out:
	if (ret)
		atomic_dec(&ifile->vm->n_cmdbufs);
	drm_dev_exit(idx);
	return ret;
}

int inpu_cmdbuf_destroy_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;
	struct drm_inpu_cmdbuf_destroy *args = data;
	struct inpu_cmdbuf *cb;

	if (!ifile)
		return -ENODEV;
	if (args->pad)
		return -EINVAL;
	/* Under the lock that SUBMIT's lookup holds while it takes its
	 * reference, so the lookup never sees a buffer being freed.
	 */
	mutex_lock(&ifile->lock);
	cb = xa_erase(&ifile->cmdbufs, args->handle);
	mutex_unlock(&ifile->lock);
	if (!cb)
		return -ENOENT;
	atomic_dec(&ifile->vm->n_cmdbufs);
	inpu_cmdbuf_put(cb);
	return 0;
}

/* ---- results ------------------------------------------------------------ */

static void inpu_result_release(struct kref *ref)
{
	struct inpu_result *r = container_of(ref, struct inpu_result, ref);

	dma_fence_put(r->done);
	kfree(r);
}

void inpu_result_put(struct inpu_result *r)
{
	if (r)
		kref_put(&r->ref, inpu_result_release);
}

/* Interrupt context: copy the device's record into the job's result. */
void inpu_job_complete(struct inpu_job *job, const struct inpu_completion *c)
{
	struct inpu_device *idev = job->idev;
	struct inpu_result *r = job->result;
	u64 ns = ktime_to_ns(ktime_sub(ktime_get(), job->start));

	if (READ_ONCE(c->seq) != INPU_COMPLETION_DONE || c->job_id != job->job_id) {
		r->status = INPU_JOB_BAD_DESC;
	} else {
		r->status = c->status;
		r->ops_done = c->ops_done;
		r->fault_op = c->fault_op;
		r->fault_write = c->fault_write;
		r->fault_addr = c->fault_addr;
		r->cycles = c->cycles;
		r->energy_fj = c->energy_fj;
	}
	if (r->status == INPU_ERR_FAULT)
		trace_inpu_mmu_fault(job->job_id, job->vm->ctx, r->fault_addr,
				     r->fault_op, r->fault_write);
	trace_inpu_job_done(job->job_id, job->vm->ctx, r->status, r->ops_done,
			    r->cycles, r->energy_fj);
	atomic64_inc(&idev->jobs_completed);
	if (r->status)
		atomic64_inc(&idev->jobs_failed);
	atomic64_add(ns, &idev->busy_ns);
	atomic64_add(ns, &job->vm->busy_ns);
}

/* ---- submission -------------------------------------------------------- */

static int inpu_submit_get_cmdbuf(struct drm_file *file,
				  struct drm_inpu_submit *args,
				  struct inpu_cmdbuf **out)
{
	struct inpu_file *ifile = file->driver_priv;
	struct drm_inpu_bo_ref *refs;
	struct drm_gem_object *obj;
	struct inpu_cmdbuf *cb;
	struct iosys_map map;
	int ret;

	if (args->cmdbuf) {
		if (args->stream_bo || args->stream_offset || args->stream_len ||
		    args->n_bos || args->bos)
			return -EINVAL;
		mutex_lock(&ifile->lock);
		cb = xa_load(&ifile->cmdbufs, args->cmdbuf);
		inpu_debug_lookup_delay();
		if (cb && !kref_get_unless_zero(&cb->ref))
			cb = NULL;
		mutex_unlock(&ifile->lock);
		if (!cb)
			return -ENOENT;
		*out = cb;
		return 0;
	}

	if (!args->stream_len || args->stream_len > DRM_INPU_MAX_STREAM_BYTES)
		return -EINVAL;
	ret = inpu_copy_refs(args->bos, args->n_bos, &refs);
	if (ret)
		return ret;
	obj = drm_gem_object_lookup(file, args->stream_bo);
	if (!obj) {
		ret = -ENOENT;
		goto out_refs;
	}
	if (args->stream_offset > obj->size ||
	    args->stream_len > obj->size - args->stream_offset) {
		ret = -EINVAL;
		goto out_obj;
	}
	ret = drm_gem_vmap_unlocked(obj, &map);
	if (ret)
		goto out_obj;
	cb = inpu_cmdbuf_build(file, (u8 *)map.vaddr + args->stream_offset,
			       args->stream_len, refs, args->n_bos, &args->verr);
	drm_gem_vunmap_unlocked(obj, &map);
	if (IS_ERR(cb))
		ret = PTR_ERR(cb);
	else
		*out = cb;
out_obj:
	drm_gem_object_put(obj);
out_refs:
	kfree(refs);
	return ret;
}

/* Remember @r under @job_id, dropping results too old to ask about. */
static int inpu_result_store(struct inpu_file *ifile, u64 job_id,
			     struct inpu_result *r)
{
	struct inpu_result *old;
	int ret;

	lockdep_assert_held(&ifile->lock);
	kref_get(&r->ref);
	ret = xa_err(xa_store(&ifile->results, job_id, r, GFP_KERNEL_ACCOUNT));
	if (ret) {
		inpu_result_put(r);
		return ret;
	}
	if (job_id > INPU_RESULTS_KEPT) {
		old = xa_erase(&ifile->results, job_id - INPU_RESULTS_KEPT);
		inpu_result_put(old);
	}
	return 0;
}

static int inpu_job_add_deps(struct inpu_job *job, struct drm_file *file,
			     struct drm_inpu_submit *args)
{
	u32 __user *uhandles = u64_to_user_ptr(args->in_syncobjs);
	u32 i, handle;
	int ret;

	if (args->n_in_syncobjs > DRM_INPU_MAX_IN_SYNCOBJS)
		return -EINVAL;
	for (i = 0; i < args->n_in_syncobjs; i++) {
		if (get_user(handle, uhandles + i))
			return -EFAULT;
		ret = drm_sched_job_add_syncobj_dependency(&job->base, file,
							   handle, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/* The parameters of @args against @cb's declarations. */
static int inpu_submit_check_params(const struct inpu_cmdbuf *cb,
				    struct drm_inpu_submit *args)
{
	u32 i;

	if (args->n_params != cb->n_params)
		return -EINVAL;
	for (i = 0; i < cb->n_params; i++) {
		if (args->params[i] < cb->params[i].min ||
		    args->params[i] > cb->params[i].max) {
			args->verr.status = INPU_ERR_PARAM;
			args->verr.op = ~0u;
			args->verr.slot = -1;
			return -ERANGE;
		}
	}
	for (i = cb->n_params; i < INPU_MAX_PARAMS; i++)
		if (args->params[i])
			return -EINVAL;
	return 0;
}

static void inpu_job_free_unarmed(struct inpu_job *job)
{
	struct inpu_device *idev = job->vm->idev;

	if (job->hw_fence_mem)
		atomic64_dec(&idev->fences_alive);
	atomic64_dec(&idev->jobs_alive);
	atomic_dec(&job->vm->jobs_queued);
	kfree(job->hw_fence_mem);
	inpu_result_put(job->result);
	inpu_vm_put(job->vm);
	kfree(job);
}

/*
 * A job for @cb (whose reference it takes over on success), with
 * everything it will need later allocated now: the fence signalling path
 * (run_job, completion, recovery) must not allocate.
 */
static struct inpu_job *inpu_job_alloc(struct inpu_file *ifile,
				       struct inpu_cmdbuf *cb,
				       const struct drm_inpu_submit *args)
{
	struct inpu_job *job;

	job = kzalloc(sizeof(*job), GFP_KERNEL_ACCOUNT);
	if (!job)
		return ERR_PTR(-ENOMEM);
	atomic64_inc(&ifile->idev->jobs_alive);
	job->vm = inpu_vm_get(ifile->vm);
	if (atomic_inc_return(&job->vm->jobs_queued) >
	    READ_ONCE(max_jobs_queued)) {
		inpu_job_free_unarmed(job);
		return ERR_PTR(-EBUSY);
	}
	job->result = kzalloc(sizeof(*job->result), GFP_KERNEL_ACCOUNT);
	job->hw_fence_mem = kzalloc(sizeof(*job->hw_fence_mem),
				    GFP_KERNEL_ACCOUNT);
	if (job->hw_fence_mem) {
		job->hw_fence_mem->idev = ifile->idev;
		atomic64_inc(&ifile->idev->fences_alive);
	}
	if (!job->result || !job->hw_fence_mem) {
		inpu_job_free_unarmed(job);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&job->result->ref);
	job->result->status = DRM_INPU_JOB_PENDING;
	job->idev = ifile->idev;
	job->cmdbuf = cb;
	job->n_params = args->n_params;
	memcpy(job->params, args->params, sizeof(job->params));
	return job;
}

/*
 * Arm and queue @job under the file lock: its id, its result (stored
 * before arming, the last step that can fail), the fences on its BOs.
 */
static int inpu_job_push(struct inpu_file *ifile, struct inpu_job *job,
			 struct drm_syncobj *out_sync,
			 struct drm_inpu_submit *args)
{
	struct inpu_cmdbuf *cb = job->cmdbuf;
	u32 i;
	int ret;

	mutex_lock(&ifile->lock);
	job->job_id = ++ifile->next_job_id;
	ret = inpu_result_store(ifile, job->job_id, job->result);
	if (ret) {
		ifile->next_job_id--;
		mutex_unlock(&ifile->lock);
		return ret;
	}
	drm_sched_job_arm(&job->base);
	job->result->done = dma_fence_get(&job->base.s_fence->finished);
	args->job_id = job->job_id;
	for (i = 0; i < cb->n_bos; i++) {
		drm_gem_object_get(cb->bos[i]);
		dma_resv_add_fence(cb->bos[i]->resv, job->result->done,
				   cb->bo_flags[i] & DRM_INPU_REF_WRITE ?
				   DMA_RESV_USAGE_WRITE : DMA_RESV_USAGE_READ);
	}
	if (out_sync)
		drm_syncobj_replace_fence(out_sync, job->result->done);
	trace_inpu_job_submit(job->job_id, ifile->vm->ctx,
			      task_tgid_nr(current), cb->len, cb->n_bos,
			      job->n_params);
	drm_sched_entity_push_job(&job->base);
	mutex_unlock(&ifile->lock);
	return 0;
}

/* Dependencies, reservations and the push of an initialised @job. */
static int inpu_job_queue(struct inpu_file *ifile, struct inpu_job *job,
			  struct drm_file *file, struct drm_syncobj *out_sync,
			  struct drm_inpu_submit *args)
{
	struct inpu_cmdbuf *cb = job->cmdbuf;
	struct ww_acquire_ctx ticket;
	u32 i;
	int ret;

	ret = inpu_job_add_deps(job, file, args);
	if (ret)
		return ret;
	ret = drm_gem_lock_reservations(cb->bos, cb->n_bos, &ticket);
	if (ret)
		return ret;
	/*
	 * Once pushed, the job may run, end and drop the last reference to
	 * @cb (a racing DESTROY drops the handle's) before the unlock below
	 * reads cb->bos: hold one of our own until then.
	 */
	kref_get(&cb->ref);
	for (i = 0; i < cb->n_bos; i++) {
		bool write = cb->bo_flags[i] & DRM_INPU_REF_WRITE;

		ret = dma_resv_reserve_fences(cb->bos[i]->resv, 1);
		if (!ret)
			ret = drm_sched_job_add_implicit_dependencies(&job->base,
								      cb->bos[i],
								      write);
		if (ret)
			goto out_unlock;
	}
	ret = inpu_job_push(ifile, job, out_sync, args);
out_unlock:
	drm_gem_unlock_reservations(cb->bos, cb->n_bos, &ticket);
	inpu_cmdbuf_put(cb);
	return ret;
}

static int inpu_job_init_sched(struct inpu_file *ifile, struct inpu_job *job,
			       struct drm_file *file)
{
#ifdef INPU_HAVE_SCHED_CLIENT_ID
	return drm_sched_job_init(&job->base, &ifile->entity, 1, NULL,
				  file->client_id);
#else
	return drm_sched_job_init(&job->base, &ifile->entity, 1, NULL);
#endif
}

int inpu_submit_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;
	struct drm_inpu_submit *args = data;
	struct drm_syncobj *out_sync = NULL;
	struct inpu_cmdbuf *cb;
	struct inpu_job *job;
	int ret, idx;

	if (!ifile)
		return -ENODEV;
	memset(&args->verr, 0, sizeof(args->verr));
	args->job_id = 0;
	if (args->flags || args->n_params > INPU_MAX_PARAMS)
		return -EINVAL;
	/* Banned after too many hangs (inpu_recovery.c). */
	if (READ_ONCE(ifile->vm->banned))
		return -EIO;
	if (!drm_dev_enter(drm, &idx))
		return -ENODEV;

	ret = inpu_submit_get_cmdbuf(file, args, &cb);
	if (ret)
		goto err_exit;
	ret = inpu_submit_check_params(cb, args);
	if (ret)
		goto err_put_cmdbuf;
	if (args->out_syncobj) {
		out_sync = drm_syncobj_find(file, args->out_syncobj);
		if (!out_sync) {
			ret = -ENOENT;
			goto err_put_cmdbuf;
		}
	}

	job = inpu_job_alloc(ifile, cb, args);
	if (IS_ERR(job)) {
		ret = PTR_ERR(job);
		goto err_put_sync;
	}
	ret = inpu_job_init_sched(ifile, job, file);
	if (ret)
		goto err_free_job;
	ret = inpu_job_queue(ifile, job, file, out_sync, args);
	if (ret)
		goto err_cleanup_job;

	/* The job owns the command buffer reference now. */
	if (out_sync)
		drm_syncobj_put(out_sync);
	drm_dev_exit(idx);
	return 0;

err_cleanup_job:
	drm_sched_job_cleanup(&job->base);
err_free_job:
	inpu_job_free_unarmed(job);
err_put_sync:
	if (out_sync)
		drm_syncobj_put(out_sync);
err_put_cmdbuf:
	inpu_cmdbuf_put(cb);
err_exit:
	drm_dev_exit(idx);
	return ret;
}

static int inpu_wait_bo(struct drm_file *file, struct drm_inpu_wait *args)
{
	struct drm_gem_object *obj;
	long left;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	/* READ usage covers every fence: kernel, write and read. */
	left = dma_resv_wait_timeout(obj->resv, DMA_RESV_USAGE_READ, true,
				     drm_timeout_abs_to_jiffies(args->timeout_ns));
	drm_gem_object_put(obj);
	if (left < 0)
		return left;
	args->status = left ? INPU_OK : DRM_INPU_JOB_PENDING;
	return left ? 0 : -ETIME;
}

int inpu_wait_ioctl(struct drm_device *drm, void *data, struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;
	struct drm_inpu_wait *args = data;
	struct inpu_result *r;
	long left;

	if (!ifile)
		return -ENODEV;
	if (args->flags & ~DRM_INPU_WAIT_FLAGS)
		return -EINVAL;
	if (args->flags & DRM_INPU_WAIT_BO)
		return inpu_wait_bo(file, args);
	mutex_lock(&ifile->lock);
	r = xa_load(&ifile->results, args->job_id);
	inpu_debug_lookup_delay();
	if (r && !kref_get_unless_zero(&r->ref))
		r = NULL;
	mutex_unlock(&ifile->lock);
	if (!r)
		return -ENOENT;

	left = dma_fence_wait_timeout(r->done, true,
				      drm_timeout_abs_to_jiffies(args->timeout_ns));
	if (left < 0) {
		inpu_result_put(r);
		return left;
	}
	args->status = left ? READ_ONCE(r->status) : DRM_INPU_JOB_PENDING;
	/* Ended without reaching the device (the scheduler skipped it, or
	 * the device went away): not pending any more.
	 */
	if (left && (args->status == DRM_INPU_JOB_PENDING ||
		     (r->done->error && !args->status)))
		args->status = DRM_INPU_JOB_ABORTED;
	args->ops_done = r->ops_done;
	args->fault_op = r->fault_op;
	args->fault_write = r->fault_write;
	args->fault_addr = r->fault_addr;
	args->cycles = r->cycles;
	args->energy_fj = r->energy_fj;
	inpu_result_put(r);
	return left ? 0 : -ETIME;
}

/* ---- per-file state ---------------------------------------------------- */

int inpu_file_open(struct inpu_device *idev, struct drm_file *file)
{
	struct drm_gpu_scheduler *sched = &idev->sched;
	struct inpu_file *ifile;
	int ret;

	if (!idev->sched_ready) {
		/* No ring: the file can query, nothing else. */
		file->driver_priv = NULL;
		return 0;
	}
	ifile = kzalloc(sizeof(*ifile), GFP_KERNEL_ACCOUNT);
	if (!ifile)
		return -ENOMEM;
	ifile->idev = idev;
	mutex_init(&ifile->lock);
	xa_init_flags(&ifile->cmdbufs, XA_FLAGS_ALLOC1);
	xa_init(&ifile->results);
	ifile->vm = inpu_vm_create(idev);
	if (IS_ERR(ifile->vm)) {
		ret = PTR_ERR(ifile->vm);
		goto err_free;
	}
	/* A process banned for hanging the device stays banned. */
	if (inpu_tgid_banned(idev, ifile->vm->tgid))
		ifile->vm->banned = true;
	ret = drm_sched_entity_init(&ifile->entity, DRM_SCHED_PRIORITY_NORMAL,
				    &sched, 1, NULL);
	if (ret)
		goto err_vm;
	mutex_lock(&idev->files_lock);
	if (idev->unplugged) {
		mutex_unlock(&idev->files_lock);
		drm_sched_entity_destroy(&ifile->entity);
		ret = -ENODEV;
		goto err_vm;
	}
	list_add_tail(&ifile->link, &idev->files);
	mutex_unlock(&idev->files_lock);
	file->driver_priv = ifile;
	return 0;

err_vm:
	inpu_vm_put(ifile->vm);
err_free:
	mutex_destroy(&ifile->lock);
	kfree(ifile);
	return ret;
}

/*
 * Drop every command buffer the file holds by handle.  Each is put outside
 * the file lock: the last put frees BOs, which takes their reservation
 * locks, and SUBMIT takes the file lock inside those.
 */
static void inpu_file_drop_cmdbufs(struct inpu_file *ifile)
{
	struct inpu_cmdbuf *cb;
	unsigned long id;

	for (;;) {
		id = 0;
		mutex_lock(&ifile->lock);
		cb = xa_find(&ifile->cmdbufs, &id, ULONG_MAX, XA_PRESENT);
		if (cb)
			xa_erase(&ifile->cmdbufs, id);
		mutex_unlock(&ifile->lock);
		if (!cb)
			break;
		atomic_dec(&ifile->vm->n_cmdbufs);
		inpu_cmdbuf_put(cb);
	}
}

void inpu_file_close(struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;
	struct inpu_device *idev;
	struct inpu_result *r;
	unsigned long id;
	bool torn_down;

	if (!ifile)
		return;
	idev = ifile->idev;
	/* Remove waits for closes in progress before the scheduler goes. */
	down_read(&idev->teardown_sem);
	mutex_lock(&idev->files_lock);
	list_del(&ifile->link);
	torn_down = ifile->torn_down;
	mutex_unlock(&idev->files_lock);
	/* Waits for this file's queued jobs to be handed to the device;
	 * after remove the entity is gone with the scheduler.
	 */
	if (!torn_down)
		drm_sched_entity_destroy(&ifile->entity);
	up_read(&idev->teardown_sem);
	inpu_file_drop_cmdbufs(ifile);
	xa_destroy(&ifile->cmdbufs);
	xa_for_each(&ifile->results, id, r)
		inpu_result_put(r);
	xa_destroy(&ifile->results);
	/* Jobs in flight hold their own references to the VM. */
	inpu_vm_put(ifile->vm);
	mutex_destroy(&ifile->lock);
	kfree(ifile);
}

/*
 * Device remove, with the device unplugged and its ring aborted: end every
 * file's queue (run_job fails them now) and drop the command buffers, whose
 * streams are DMA memory of the device.  The files stay open; every ioctl
 * that needs the device fails with -ENODEV.
 */
void inpu_files_teardown(struct inpu_device *idev)
{
	struct inpu_file *ifile;

	down_write(&idev->teardown_sem);
	mutex_lock(&idev->files_lock);
	list_for_each_entry(ifile, &idev->files, link) {
		drm_sched_entity_destroy(&ifile->entity);
		ifile->torn_down = true;
		inpu_file_drop_cmdbufs(ifile);
	}
	mutex_unlock(&idev->files_lock);
	up_write(&idev->teardown_sem);
}
