// SPDX-License-Identifier: MIT
/*
 * The cpu backend computes with the tables the device boots with: the
 * firmware image of this build (build/firmware/inpu-fw.bin), which the
 * Makefile turns into inpu_rt_fw_image[] and links into the runtime.  It
 * is read with the engine's own image parser and its SHA-256 checked, so
 * the runtime generates nothing in floating point.
 */
#include <errno.h>
#include <openssl/evp.h>

#include "inpu_fw_image.h"
#include "fw_tables.h"
#include "util.h"

extern const unsigned char inpu_rt_fw_image[];
extern const size_t inpu_rt_fw_image_len;

int inpu_rt_fw_tables(struct inpu_tables *t, char *err, size_t errlen)
{
	return inpu_rt_image_tables(inpu_rt_fw_image, inpu_rt_fw_image_len, t,
				    err, errlen);
}

int inpu_rt_image_tables(const void *image, size_t len, struct inpu_tables *t,
			 char *err, size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	struct inpu_fw_error fe;
	struct inpu_fw_info info;
	unsigned int md_len = 0;

	if (inpu_fw_parse(image, len, &info, &fe)) {
		inpu_model_seterr(err, errlen,
				  "firmware image: %s (%s)",
				  inpu_fw_strerror(fe.code), fe.field);
		return -EINVAL;
	}
	if (!EVP_Digest(image, info.digest_offset, md, &md_len,
			EVP_sha256(), NULL) ||
	    md_len != INPU_FW_DIGEST_BYTES ||
	    !inpu_fw_digest_ok(image, &info, md)) {
		inpu_model_seterr(err, errlen,
				  "firmware image: %s",
				  inpu_fw_strerror(INPU_FW_E_DIGEST));
		return -EINVAL;
	}
	*t = (struct inpu_tables){
		.exp = info.exp_values,
		.exp_len = info.exp.len,
		.exp_frac = info.exp.frac,
		.silu = info.silu_values,
		.silu_len = info.silu.len,
		.silu_zero = info.silu.zero,
		.silu_in_frac = info.silu.in_frac,
		.silu_out_frac = info.silu.out_frac,
	};
	if (inpu_tables_check(t) != INPU_OK) {
		inpu_model_seterr(err, errlen,
				  "firmware image: its tables are invalid");
		return -EINVAL;
	}
	return 0;
}
