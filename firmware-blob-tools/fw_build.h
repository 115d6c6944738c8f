/* SPDX-License-Identifier: MIT */
/*
 * Host-side firmware image helpers shared by the inpu-fw tool, the host
 * tests and the fuzzer: the image builder, the SHA-256 digest (OpenSSL's
 * libcrypto) and file input/output.  The format is in FORMAT.md; the
 * parser is engine/fw_image.c.
 */
#ifndef INPU_FW_BUILD_H
#define INPU_FW_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "inpu_fw_image.h"

/* Alignment the builder gives every section (a power of two). */
#define INPU_FW_BUILD_ALIGN	64u
/* The digest follows the last payload, padded to this many bytes. */
#define INPU_FW_BUILD_TAIL_ALIGN 8u

struct inpu_fw_build_opts {
	uint32_t fw_version;	/* major << 16 | minor << 8 | patch */
	uint32_t exp_len;
	uint32_t exp_frac;
	uint32_t silu_len;	/* silu_zero is silu_len / 2 */
	uint32_t silu_in_frac;
	uint32_t silu_out_frac;
	const char *note;	/* NOTE section text; NULL for none */
};

/* Version 1.0.0 and the table geometry of engine/tables_gen.h, no note. */
void inpu_fw_build_defaults(struct inpu_fw_build_opts *o);

/*
 * Build an image in memory (malloc'd, *image_out, *len_out).  Same options,
 * same bytes.  Returns 0, or a negative errno with a message in @msg (may
 * be NULL): -EINVAL for options out of range (or tables that would not fit
 * the format), -ENOMEM, -EIO if libcrypto fails.
 */
int inpu_fw_build(const struct inpu_fw_build_opts *o, uint8_t **image_out,
		  size_t *len_out, char *msg, size_t msg_len);

/* SHA-256 of @len bytes; returns 0, or -1 if libcrypto fails. */
int inpu_fw_sha256(const void *data, size_t len,
		   uint8_t out[INPU_FW_DIGEST_BYTES]);

/* Recompute the trailer of an image of @len (>= 32) bytes. */
int inpu_fw_seal(uint8_t *image, size_t len);

/*
 * Check the digest of an image inpu_fw_parse() accepted: 1 if it matches,
 * 0 if not, -1 if libcrypto fails.
 */
int inpu_fw_check_digest(const void *image, const struct inpu_fw_info *info);

/*
 * Read at most INPU_FW_MAX_SIZE + 1 bytes of a file (so that an oversized
 * file still reads as oversized without reading it all).  Returns 0 or a
 * negative errno.
 */
int inpu_fw_read_file(const char *path, uint8_t **data_out, size_t *len_out);

/*
 * Write a file atomically: a temporary file in the same directory, then
 * rename().  Mode 0644 minus the umask.  Returns 0 or a negative errno.
 */
int inpu_fw_write_file(const char *path, const void *data, size_t len);

#endif /* INPU_FW_BUILD_H */
