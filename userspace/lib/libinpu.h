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

#ifdef __cplusplus
}
#endif

#endif /* LIBINPU_H */
