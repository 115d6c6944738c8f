/* SPDX-License-Identifier: MIT */
/* Freestanding (no libc): built into inpu.ko, the QEMU device and userspace. */
/*
 * Firmware image parser (uapi/inpu/inpu_fw.h).  Freestanding like the
 * validator: the driver, the QEMU device and the tools all use it.  It
 * checks structure and contents; the SHA-256 digest is computed by the
 * caller with its own crypto (kernel, GLib, OpenSSL) and compared with
 * inpu_fw_digest_ok().
 */
#ifndef INPU_FW_IMAGE_H
#define INPU_FW_IMAGE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stddef.h>
#include <linux/types.h>
#endif

#include <inpu/inpu_fw.h>

#ifdef __cplusplus
extern "C" {
#endif

enum inpu_fw_err {
	INPU_FW_OK = 0,
	INPU_FW_E_TRUNCATED,	/* shorter than its structures need */
	INPU_FW_E_TOO_LARGE,	/* over INPU_FW_MAX_SIZE */
	INPU_FW_E_MAGIC,
	INPU_FW_E_FORMAT,	/* unknown format version or header size */
	INPU_FW_E_SIZE,		/* image_size differs from the real size */
	INPU_FW_E_ABI,		/* built for another engine ABI */
	INPU_FW_E_FEATURES,	/* unknown feature bits, or bits without data */
	INPU_FW_E_RESERVED,	/* a reserved field or flags not zero */
	INPU_FW_E_SECTIONS,	/* section count or table offset wrong */
	INPU_FW_E_SEC_TYPE,	/* unknown or repeated section type */
	INPU_FW_E_SEC_ALIGN,	/* bad alignment, or offset not aligned */
	INPU_FW_E_SEC_RANGE,	/* section outside the payload area */
	INPU_FW_E_SEC_OVERLAP,	/* sections overlap or are out of order */
	INPU_FW_E_TABLE,	/* table header or values invalid */
	INPU_FW_E_MISSING,	/* a required section is absent */
	INPU_FW_E_DIGEST,	/* SHA-256 mismatch (reported by the caller) */
	INPU_FW_E_COUNT
};

/* What is wrong and where: @field names the field (e.g. "offset" of
 * section @section, or "magic" with @section == -1), @offset is the
 * field's byte offset in the image.
 */
struct inpu_fw_error {
	int code;		/* enum inpu_fw_err */
	int section;		/* section index, or -1 */
	const char *field;
	__u32 offset;
};

struct inpu_fw_info {
	__u32 fw_version;
	__u32 abi_version;
	__u64 features;
	__u32 image_size;
	__u32 n_sections;
	struct inpu_fw_section sections[INPU_FW_MAX_SECTIONS];
	/* Table contents, pointing into the image (little-endian host). */
	struct inpu_fw_exp exp;
	const __u16 *exp_values;
	struct inpu_fw_silu silu;
	const __s32 *silu_values;
	const char *note;	/* NULL if absent */
	__u32 note_len;
	__u32 digest_offset;	/* image_size - 32 */
};

/* Parse and check everything but the digest.  Returns INPU_FW_OK or the
 * error code (also in @err, which may be NULL).
 */
int inpu_fw_parse(const void *image, size_t len, struct inpu_fw_info *info,
		  struct inpu_fw_error *err);

/* Compare a computed SHA-256 of the first digest_offset bytes with the
 * stored one; returns 1 if equal (constant time).
 */
int inpu_fw_digest_ok(const void *image, const struct inpu_fw_info *info,
		      const __u8 computed[INPU_FW_DIGEST_BYTES]);

const char *inpu_fw_strerror(int code);
const char *inpu_fw_section_name(__u32 type);

#ifdef __cplusplus
}
#endif

#endif /* INPU_FW_IMAGE_H */
