// SPDX-License-Identifier: MIT
/*
 * Command buffers, submission and waiting.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>
#include <time.h>

#include <xf86drm.h>

#include <inpu/inpu_ring.h>

#include "libinpu.h"

int inpu_cmdbuf_create(struct inpu_dev *dev, const void *stream, size_t len,
		       const struct drm_inpu_bo_ref *refs, uint32_t n_refs,
		       uint32_t *handle, struct drm_inpu_verror *verr)
{
	struct drm_inpu_cmdbuf_create c;
	int ret = 0;

	if (!dev || !stream || !handle || len > UINT32_MAX)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.stream = (uintptr_t)stream;
	c.stream_len = (uint32_t)len;
	c.bos = (uintptr_t)refs;
	c.n_bos = n_refs;
	if (drmIoctl(inpu_dev_fd(dev), DRM_IOCTL_INPU_CMDBUF_CREATE, &c))
		ret = -errno;
	if (verr)
		*verr = c.verr;
	*handle = ret ? 0 : c.handle;
	return ret;
}

int inpu_cmdbuf_destroy(struct inpu_dev *dev, uint32_t handle)
{
	struct drm_inpu_cmdbuf_destroy d = { .handle = handle };

	if (drmIoctl(inpu_dev_fd(dev), DRM_IOCTL_INPU_CMDBUF_DESTROY, &d))
		return -errno;
	return 0;
}

int inpu_submit(struct inpu_dev *dev, struct drm_inpu_submit *args)
{
	if (drmIoctl(inpu_dev_fd(dev), DRM_IOCTL_INPU_SUBMIT, args))
		return -errno;
	return 0;
}

int inpu_submit_cmdbuf(struct inpu_dev *dev, uint32_t cmdbuf,
		       const uint32_t *params, uint32_t n_params,
		       const uint32_t *in_syncobjs, uint32_t n_in,
		       uint32_t out_syncobj, uint64_t *job_id)
{
	struct drm_inpu_submit s;
	int ret;

	if (n_params > INPU_MAX_PARAMS || (n_params && !params))
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.cmdbuf = cmdbuf;
	s.n_params = n_params;
	if (n_params)
		memcpy(s.params, params, n_params * sizeof(*params));
	s.in_syncobjs = (uintptr_t)in_syncobjs;
	s.n_in_syncobjs = n_in;
	s.out_syncobj = out_syncobj;
	ret = inpu_submit(dev, &s);
	if (!ret && job_id)
		*job_id = s.job_id;
	return ret;
}

int inpu_wait(struct inpu_dev *dev, uint64_t job_id, int64_t timeout_ns,
	      struct drm_inpu_wait *res)
{
	struct drm_inpu_wait w;
	struct timespec now;
	int ret = 0;

	memset(&w, 0, sizeof(w));
	w.job_id = job_id;
	if (timeout_ns < 0) {
		w.timeout_ns = INT64_MAX;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &now);
		w.timeout_ns = now.tv_sec * 1000000000ll + now.tv_nsec + timeout_ns;
	}
	if (drmIoctl(inpu_dev_fd(dev), DRM_IOCTL_INPU_WAIT, &w))
		ret = -errno;
	if (res)
		*res = w;
	return ret;
}

const char *inpu_job_status_name(uint32_t status)
{
	switch (status) {
	case INPU_OK:
		return "ok";
	case INPU_ERR_FAULT:
		return "device MMU fault";
	case INPU_ERR_INDEX:
		return "index out of range";
	case INPU_ERR_PARAM:
		return "parameter out of its declared range";
	case INPU_ERR_TABLES:
		return "firmware tables missing";
	case INPU_ERR_NOMEM:
		return "device out of memory";
	case INPU_JOB_BAD_DESC:
		return "bad job descriptor";
	case INPU_JOB_NO_FIRMWARE:
		return "no firmware booted";
	case INPU_JOB_BAD_CONTEXT:
		return "bad MMU context";
	case DRM_INPU_JOB_PENDING:
		return "pending";
	case DRM_INPU_JOB_TIMEOUT:
		return "timed out";
	case DRM_INPU_JOB_ABORTED:
		return "aborted by a device reset";
	default:
		return status < INPU_ERR_COUNT ? "invalid command stream" :
						 "unknown status";
	}
}
