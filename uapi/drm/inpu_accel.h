/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Userspace interface of the inpu DRM accel driver (/dev/accel/accelN).
 *
 * Every ioctl argument is made of fixed-width fields with explicit padding,
 * so the layout is the same for 32- and 64-bit userspace and needs no
 * compat handling.  Fields documented as "must be zero" are rejected with
 * -EINVAL when they are not, which keeps them free for later use.
 */
#ifndef _UAPI_INPU_ACCEL_H_
#define _UAPI_INPU_ACCEL_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_INPU_QUERY		0x00

#define DRM_IOCTL_INPU_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_INPU_QUERY, struct drm_inpu_query)

/* What DRM_IOCTL_INPU_QUERY reports; selects the struct behind data. */
enum drm_inpu_query_type {
	/* struct drm_inpu_device_info */
	DRM_INPU_QUERY_DEVICE_INFO = 0,
};

/**
 * struct drm_inpu_query - read a block of device information
 *
 * Extensible: @size says how large the caller's buffer is.
 *  - @size == 0: nothing is copied; the kernel sets @size to the size of
 *    its own struct, so a caller can learn it first.
 *  - @size smaller than the first published version of the struct
 *    (DRM_INPU_DEVICE_INFO_SIZE_V1) or larger than 4096: -EINVAL.
 *  - otherwise the kernel copies min(@size, its struct size) bytes,
 *    zero-fills the rest of the caller's buffer and sets @size to the
 *    number of bytes it filled in.  Older callers thus keep working with
 *    newer kernels and newer callers see zeros where an older kernel has
 *    nothing to say.
 */
struct drm_inpu_query {
	/** @type: one of enum drm_inpu_query_type */
	__u32 type;
	/** @size: in: size of the buffer at @data; out: bytes filled in */
	__u32 size;
	/** @flags: must be zero */
	__u32 flags;
	/** @pad: must be zero */
	__u32 pad;
	/** @data: user pointer to the struct selected by @type */
	__u64 data;
};

/* Bits of drm_inpu_device_info.capabilities; the same as the device's
 * INPU_REG_CAPS register (see inpu/inpu_regs.h).
 */
#define DRM_INPU_CAP_MSIX	(1ull << 0)
#define DRM_INPU_CAP_RESET	(1ull << 1)
#define DRM_INPU_CAP_FW_BOOT	(1ull << 2)

/**
 * struct drm_inpu_device_info - identity, version and capabilities
 */
struct drm_inpu_device_info {
	/** @identity: the device's ID register, INPU_ID_MAGIC ("INPU") */
	__u32 identity;
	/** @hw_version: major << 16 | minor << 8 | patch */
	__u32 hw_version;
	/** @capabilities: DRM_INPU_CAP_* bits */
	__u64 capabilities;
	/** @pci_vendor: PCI vendor ID */
	__u16 pci_vendor;
	/** @pci_device: PCI device ID */
	__u16 pci_device;
	/** @pci_revision: PCI revision ID */
	__u8 pci_revision;
	/** @pad0: zero */
	__u8 pad0[3];
	/** @sa_rows: rows of the systolic array */
	__u32 sa_rows;
	/** @sa_cols: columns of the systolic array */
	__u32 sa_cols;
	/** @driver_abi: DRM_INPU_ABI_VERSION of the running driver */
	__u32 driver_abi;
	/** @fw_version: booted firmware, major << 16 | minor << 8 | patch */
	__u32 fw_version;
	/** @fw_features: INPU_FW_FEAT_* bits of the booted firmware */
	__u64 fw_features;
};

/* Sizes of the published versions.  V2 (ABI 2) turned V1's trailing pad
 * into fw_version and appended fw_features.
 */
#define DRM_INPU_DEVICE_INFO_SIZE_V1	40
#define DRM_INPU_DEVICE_INFO_SIZE_V2	48
#define DRM_INPU_QUERY_MAX_SIZE		4096

/* Raised whenever the ioctl interface gains something. */
#define DRM_INPU_ABI_VERSION		2

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_INPU_ACCEL_H_ */
