/* SPDX-License-Identifier: MIT */
/*
 * libinpu: userspace access to INPU devices through /dev/accel.
 *
 * Functions return 0 or a negative errno; none of them print.  Callers
 * decide how to report, and inpu_strerror() adds the driver-specific
 * meaning of the errno values that need one.
 */
#ifndef LIBINPU_H
#define LIBINPU_H

#include <stddef.h>
#include <stdint.h>

#include <drm/inpu_accel.h>
#include <inpu/inpu_isa.h>

#ifdef __cplusplus
extern "C" {
#endif

struct inpu_dev;

/* Where accel device nodes live and how many are looked at. */
#define INPU_ACCEL_DIR      "/dev/accel"
#define INPU_ACCEL_MAX_MINORS 64

/*
 * Open an INPU device.  With @path NULL, the first /dev/accel/accelN whose
 * driver is "inpu" is used.  Errors: -ENOENT (no such node, or no INPU
 * device found), -ENOTTY (not a DRM device), -ENODEV (a DRM device, but
 * not driven by inpu), -ENOMEM, or the errno of open(2).
 */
int inpu_dev_open(const char *path, struct inpu_dev **out);
void inpu_dev_close(struct inpu_dev *dev);
int inpu_dev_fd(const struct inpu_dev *dev);
const char *inpu_dev_path(const struct inpu_dev *dev);

/* DRM_IOCTL_INPU_QUERY for DRM_INPU_QUERY_DEVICE_INFO. */
int inpu_query_device_info(struct inpu_dev *dev,
			   struct drm_inpu_device_info *info);

/*
 * Write the names of the DRM_INPU_CAP_* bits in @caps, space separated,
 * with unknown bits as one hex number.  Returns the length the full text
 * needs (like snprintf), or a negative errno.
 */
int inpu_format_caps(uint64_t caps, char *buf, size_t len);

/* Human-readable text for an error returned by this library. */
const char *inpu_strerror(int err);

/* ---- buffer objects (bo.c) ------------------------------------------- */

struct inpu_bo;

/*
 * Allocate a BO of @size bytes (DRM_INPU_BO_* @flags) and map it into
 * this process: inpu_bo_ptr() is valid until inpu_bo_free().
 */
int inpu_bo_alloc(struct inpu_dev *dev, uint64_t size, uint32_t flags,
		  struct inpu_bo **out);
void inpu_bo_free(struct inpu_bo *bo);
void *inpu_bo_ptr(const struct inpu_bo *bo);
uint64_t inpu_bo_dva(const struct inpu_bo *bo);
uint64_t inpu_bo_size(const struct inpu_bo *bo);
uint32_t inpu_bo_handle(const struct inpu_bo *bo);

/* ---- command streams (stream.c) --------------------------------------- */

struct inpu_stream;

struct inpu_stream *inpu_stream_new(void);
void inpu_stream_free(struct inpu_stream *s);
/* Declare the next parameter with its range; returns its dyn_param /
 * pos_param reference (index + 1), or a negative errno.
 */
int inpu_stream_param(struct inpu_stream *s, uint32_t min, uint32_t max);
/* Append an op (copied); returns its index or a negative errno. */
int inpu_stream_add(struct inpu_stream *s, const struct inpu_op *op);
/* The stream bytes (valid until the next change) and their length. */
const void *inpu_stream_data(const struct inpu_stream *s, size_t *len);
/* A dense row-major tensor descriptor at @addr. */
struct inpu_tensor inpu_tensor_2d(uint64_t addr, uint8_t dtype, uint32_t rows,
				  uint32_t cols);

/* ---- jobs (job.c) -------------------------------------------------------- */

/* A validated, reusable command buffer.  On -EINVAL/-EACCES from
 * validation, @verr (may be NULL) says where.
 */
int inpu_cmdbuf_create(struct inpu_dev *dev, const void *stream, size_t len,
		       const struct drm_inpu_bo_ref *refs, uint32_t n_refs,
		       uint32_t *handle, struct drm_inpu_verror *verr);
int inpu_cmdbuf_destroy(struct inpu_dev *dev, uint32_t handle);

/* Submit a command buffer with a parameter block; returns the job id. */
int inpu_submit_cmdbuf(struct inpu_dev *dev, uint32_t cmdbuf,
		       const uint32_t *params, uint32_t n_params,
		       const uint32_t *in_syncobjs, uint32_t n_in,
		       uint32_t out_syncobj, uint64_t *job_id);
/* Full control: the ioctl argument as is. */
int inpu_submit(struct inpu_dev *dev, struct drm_inpu_submit *args);

/* Wait until job @job_id is done or @timeout_ns (relative, ns; <0 forever)
 * passes; fills @res.  Returns 0, -ETIME, or another negative errno.
 */
int inpu_wait(struct inpu_dev *dev, uint64_t job_id, int64_t timeout_ns,
	      struct drm_inpu_wait *res);

/* Name of a job status (enum inpu_status, INPU_JOB_*, DRM_INPU_JOB_*). */
const char *inpu_job_status_name(uint32_t status);

#ifdef __cplusplus
}
#endif

#endif /* LIBINPU_H */
