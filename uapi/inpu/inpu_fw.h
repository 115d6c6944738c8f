/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * INPU firmware image format, shared by the image tools
 * (firmware-blob-tools/), the driver (which checks the header before it
 * hands the image over) and the device (which verifies and loads it).
 * Documented in firmware-blob-tools/FORMAT.md.
 *
 * Layout, all little-endian, every offset from the start of the image:
 *
 *   struct inpu_fw_header                          (64 bytes)
 *   struct inpu_fw_section[n_sections]             (24 bytes each)
 *   section payloads, each at an offset aligned to its alignment,
 *   in increasing offset order, not overlapping
 *   SHA-256 of every byte before it                (32 bytes, last)
 */
#ifndef _INPU_FW_H_
#define _INPU_FW_H_

#include <linux/types.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define INPU_FW_MAGIC		0x57464e49u	/* "INFW" */
#define INPU_FW_FORMAT_VERSION	1
/*
 * The engine ABI (ISA and table semantics) an image is built for, and the
 * oldest one an engine still runs.  ABI 2 added the I8ROW element type
 * (per-token activation scales), INT16 keys and W4 group codes
 * (engine/ISA.md); ABI 1 images and models mean the same on it.
 */
#define INPU_FW_ABI_VERSION	2
#define INPU_FW_ABI_MIN		1
#define INPU_FW_DIGEST_BYTES	32
#define INPU_FW_MAX_SECTIONS	16
#define INPU_FW_MAX_ALIGN	4096
/* Devices and drivers refuse larger images. */
#define INPU_FW_MAX_SIZE	(1u << 20)

/* Feature bits: what the image enables on the device. */
#define INPU_FW_FEAT_EXP_TABLE	(1ull << 0)
#define INPU_FW_FEAT_SILU_TABLE	(1ull << 1)
#define INPU_FW_FEAT_ALL	(INPU_FW_FEAT_EXP_TABLE | INPU_FW_FEAT_SILU_TABLE)

struct inpu_fw_header {
	__u32 magic;		/* INPU_FW_MAGIC */
	__u16 format_version;	/* INPU_FW_FORMAT_VERSION */
	__u16 header_size;	/* sizeof(struct inpu_fw_header) */
	__u32 fw_version;	/* major << 16 | minor << 8 | patch */
	__u32 abi_version;	/* INPU_FW_ABI_VERSION */
	__u64 features;		/* INPU_FW_FEAT_* */
	__u32 image_size;	/* whole image, digest included */
	__u32 n_sections;	/* 1..INPU_FW_MAX_SECTIONS */
	__u32 section_offset;	/* == header_size */
	__u32 reserved[7];	/* zero */
};

enum inpu_fw_section_type {
	INPU_FW_SEC_EXP = 1,	/* struct inpu_fw_exp, then __u16 exp[len] */
	INPU_FW_SEC_SILU = 2,	/* struct inpu_fw_silu, then __s32 silu[len] */
	INPU_FW_SEC_NOTE = 3,	/* free text: build description, not NUL-terminated */
};

struct inpu_fw_section {
	__u32 type;		/* enum inpu_fw_section_type, each at most once */
	__u32 flags;		/* zero */
	__u32 offset;		/* multiple of align */
	__u32 size;
	__u32 align;		/* power of two, 1..INPU_FW_MAX_ALIGN */
	__u32 reserved;		/* zero */
};

/* exp[i] = round(32768 * e^(-i / 2^frac)); see engine/ISA.md section 3. */
struct inpu_fw_exp {
	__u32 len;		/* entries that follow */
	__u32 frac;		/* <= 30 */
};

/* silu[i] = round(2^out_frac * silu((i - zero) / 2^in_frac)) */
struct inpu_fw_silu {
	__u32 len;
	__u32 zero;		/* < len */
	__u32 in_frac;		/* <= 30 */
	__u32 out_frac;		/* <= 30 */
};

#if defined(__cplusplus)
}
#endif

#endif /* _INPU_FW_H_ */
