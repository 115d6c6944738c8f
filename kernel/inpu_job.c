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
#include "inpu_trace.h"
#include "inpu_validate.h"

static bool unsafe_skip_validation;
module_param(unsafe_skip_validation, bool, 0600);
MODULE_PARM_DESC(unsafe_skip_validation,
		 "TESTING ONLY: skip the per-buffer range checks of command streams, leaving isolation to the device MMU");

/* ---- command buffers ------------------------------------------------ */

static void inpu_cmdbuf_release(struct kref *ref)
{
	struct inpu_cmdbuf *cb = container_of(ref, struct inpu_cmdbuf, ref);
	u32 i;

	for (i = 0; i < cb->n_bos; i++)
		drm_gem_object_put(cb->bos[i]);
	if (cb->stream)
		dma_free_coherent(&cb->idev->pdev->dev, cb->len, cb->stream,
				  cb->stream_dma);
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
 * Build a command buffer from @len bytes at @src (kernel memory), used by
 * the job's BOs @refs.  Validation failures fill @verr.
 */
static struct inpu_cmdbuf *
inpu_cmdbuf_build(struct drm_file *file, const void *src, u32 len,
		  const struct drm_inpu_bo_ref *refs, u32 n_bos,
		  struct drm_inpu_verror *verr)
{
	struct inpu_file *ifile = file->driver_priv;
	struct inpu_device *idev = ifile->idev;
	const struct inpu_stream_header *hdr;
	struct inpu_region *regions = NULL;
	struct inpu_verror err;
	struct inpu_cmdbuf *cb;
	u32 i;
	int ret;

	cb = kzalloc(sizeof(*cb), GFP_KERNEL);
	if (!cb)
		return ERR_PTR(-ENOMEM);
	kref_init(&cb->ref);
	cb->idev = idev;
	cb->bos = kcalloc(n_bos, sizeof(*cb->bos), GFP_KERNEL);
	cb->bo_flags = kcalloc(n_bos, sizeof(*cb->bo_flags), GFP_KERNEL);
	regions = kcalloc(n_bos, sizeof(*regions), GFP_KERNEL);
	cb->stream = dma_alloc_coherent(&idev->pdev->dev, len, &cb->stream_dma,
					GFP_KERNEL);
	if (!cb->bos || !cb->bo_flags || !regions || !cb->stream) {
		ret = -ENOMEM;
		goto err;
	}
	cb->len = len;
	memcpy(cb->stream, src, len);

	ret = inpu_bo_lookup_refs(file, refs, n_bos, cb->bos);
	if (ret)
		goto err;
	cb->n_bos = n_bos;
	for (i = 0; i < n_bos; i++) {
		struct inpu_bo *bo = to_inpu_bo(cb->bos[i]);

		cb->bo_flags[i] = refs[i].flags;
		regions[i].start = bo->node.start;
		regions[i].len = bo->base.base.size;
		regions[i].flags =
			(refs[i].flags & DRM_INPU_REF_READ ? INPU_REGION_READ : 0) |
			(refs[i].flags & DRM_INPU_REF_WRITE ? INPU_REGION_WRITE : 0);
	}

	/* Validate the kernel's copy: userspace cannot change it any more. */
	if (unsafe_skip_validation) {
		struct inpu_region all = {
			.start = 0, .len = 1ull << INPU_DVA_BITS,
			.flags = INPU_REGION_READ | INPU_REGION_WRITE,
		};

		ret = inpu_validate_stream(cb->stream, len, &all, 1, &err);
	} else {
		ret = inpu_validate_stream(cb->stream, len, regions, n_bos, &err);
	}
	if (ret) {
		verr->status = err.status;
		verr->op = err.op;
		verr->slot = err.slot;
		ret = inpu_status_errno(err.status);
		goto err;
	}
	hdr = cb->stream;
	cb->n_params = hdr->n_params;
	memcpy(cb->params, hdr->params, sizeof(cb->params));
	kfree(regions);
	return cb;

err:
	kfree(regions);
	inpu_cmdbuf_put(cb);
	return ERR_PTR(ret);
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
	u32 id;
	int ret;

	if (!ifile)
		return -ENODEV;
	memset(&args->verr, 0, sizeof(args->verr));
	if (args->flags || args->handle)
		return -EINVAL;
	if (!args->stream_len || args->stream_len > DRM_INPU_MAX_STREAM_BYTES)
		return -EINVAL;
	ret = inpu_copy_refs(args->bos, args->n_bos, &refs);
	if (ret)
		return ret;
	stream = vmemdup_user(u64_to_user_ptr(args->stream), args->stream_len);
	if (IS_ERR(stream)) {
		kfree(refs);
		return PTR_ERR(stream);
	}
	cb = inpu_cmdbuf_build(file, stream, args->stream_len, refs,
			       args->n_bos, &args->verr);
	kvfree(stream);
	kfree(refs);
	if (IS_ERR(cb))
		return PTR_ERR(cb);

	ret = xa_alloc(&ifile->cmdbufs, &id, cb, xa_limit_31b, GFP_KERNEL);
	if (ret) {
		inpu_cmdbuf_put(cb);
		return ret;
	}
	args->handle = id;
	return 0;
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
	cb = xa_erase(&ifile->cmdbufs, args->handle);
	if (!cb)
		return -ENOENT;
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
		if (cb)
			kref_get(&cb->ref);
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

	kref_get(&r->ref);
	ret = xa_err(xa_store(&ifile->results, job_id, r, GFP_KERNEL));
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

int inpu_submit_ioctl(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct inpu_device *idev = to_inpu_device(drm);
	struct inpu_file *ifile = file->driver_priv;
	struct drm_inpu_submit *args = data;
	struct drm_syncobj *out_sync = NULL;
	struct ww_acquire_ctx ticket;
	struct inpu_cmdbuf *cb = NULL;
	struct inpu_job *job;
	u32 i;
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
		goto out_exit;
	if (args->n_params != cb->n_params) {
		ret = -EINVAL;
		goto out_cb;
	}
	for (i = 0; i < cb->n_params; i++) {
		if (args->params[i] < cb->params[i].min ||
		    args->params[i] > cb->params[i].max) {
			args->verr.status = INPU_ERR_PARAM;
			args->verr.op = ~0u;
			args->verr.slot = -1;
			ret = -ERANGE;
			goto out_cb;
		}
	}
	for (i = cb->n_params; i < INPU_MAX_PARAMS; i++) {
		if (args->params[i]) {
			ret = -EINVAL;
			goto out_cb;
		}
	}
	if (args->out_syncobj) {
		out_sync = drm_syncobj_find(file, args->out_syncobj);
		if (!out_sync) {
			ret = -ENOENT;
			goto out_cb;
		}
	}

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job) {
		ret = -ENOMEM;
		goto out_sync;
	}
	job->result = kzalloc(sizeof(*job->result), GFP_KERNEL);
	if (!job->result) {
		kfree(job);
		ret = -ENOMEM;
		goto out_sync;
	}
	kref_init(&job->result->ref);
	job->result->status = DRM_INPU_JOB_PENDING;
	job->idev = idev;
	job->vm = inpu_vm_get(ifile->vm);
	job->cmdbuf = cb;
	job->n_params = args->n_params;
	memcpy(job->params, args->params, sizeof(job->params));

#ifdef INPU_HAVE_SCHED_CLIENT_ID
	ret = drm_sched_job_init(&job->base, &ifile->entity, 1, NULL,
				 file->client_id);
#else
	ret = drm_sched_job_init(&job->base, &ifile->entity, 1, NULL);
#endif
	if (ret)
		goto out_free_job;
	ret = inpu_job_add_deps(job, file, args);
	if (ret)
		goto out_cleanup;

	ret = drm_gem_lock_reservations(cb->bos, cb->n_bos, &ticket);
	if (ret)
		goto out_cleanup;
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

	mutex_lock(&ifile->lock);
	job->job_id = ++ifile->next_job_id;
	drm_sched_job_arm(&job->base);
	job->result->done = dma_fence_get(&job->base.s_fence->finished);
	ret = inpu_result_store(ifile, job->job_id, job->result);
	if (ret) {
		/* Armed jobs must run; it will simply not be waitable. */
		drm_warn(drm, "cannot record result of job %llu\n", job->job_id);
	}
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
	drm_gem_unlock_reservations(cb->bos, cb->n_bos, &ticket);
	ret = 0;
	goto out_sync;

out_unlock:
	drm_gem_unlock_reservations(cb->bos, cb->n_bos, &ticket);
out_cleanup:
	drm_sched_job_cleanup(&job->base);
out_free_job:
	inpu_result_put(job->result);
	inpu_vm_put(job->vm);
	kfree(job);
out_sync:
	if (out_sync)
		drm_syncobj_put(out_sync);
	if (!ret)
		goto out_exit;
out_cb:
	inpu_cmdbuf_put(cb);
out_exit:
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
	if (r)
		kref_get(&r->ref);
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
	if (left && r->done->error && !args->status)
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
	ifile = kzalloc(sizeof(*ifile), GFP_KERNEL);
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
	ret = drm_sched_entity_init(&ifile->entity, DRM_SCHED_PRIORITY_NORMAL,
				    &sched, 1, NULL);
	if (ret)
		goto err_vm;
	file->driver_priv = ifile;
	return 0;

err_vm:
	inpu_vm_put(ifile->vm);
err_free:
	mutex_destroy(&ifile->lock);
	kfree(ifile);
	return ret;
}

void inpu_file_close(struct drm_file *file)
{
	struct inpu_file *ifile = file->driver_priv;
	struct inpu_cmdbuf *cb;
	struct inpu_result *r;
	unsigned long id;

	if (!ifile)
		return;
	/* Waits for this file's queued jobs to be handed to the device. */
	drm_sched_entity_destroy(&ifile->entity);
	xa_for_each(&ifile->cmdbufs, id, cb)
		inpu_cmdbuf_put(cb);
	xa_destroy(&ifile->cmdbufs);
	xa_for_each(&ifile->results, id, r)
		inpu_result_put(r);
	xa_destroy(&ifile->results);
	/* Jobs in flight hold their own references to the VM. */
	inpu_vm_put(ifile->vm);
	mutex_destroy(&ifile->lock);
	kfree(ifile);
}
