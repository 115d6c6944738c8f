// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the firmware image parser (engine/fw_image.c), the
 * code the driver and the device run on untrusted images, and the digest
 * check that follows it.  Besides ASan and UBSan, it checks the parser's
 * promises: an error names a field at an offset inside the image, and an
 * accepted image has sections and tables inside it that the engine would
 * accept (the same rules as inpu_tables_check()).
 *
 * Build: make fuzz.  Run: build/fuzz/fuzz_fw_image CORPUS_DIR
 * (tests/check.sh seeds it with images built by inpu-fw).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_build.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint32_t rd16(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void check_accepted(const uint8_t *data, size_t size,
			   const struct inpu_fw_info *info)
{
	const uint8_t *exp = (const uint8_t *)info->exp_values;
	const uint8_t *silu = (const uint8_t *)info->silu_values;
	uint32_t i, prev = 0xffff, end = 0;
	int64_t sum = 0;

	CHECK(info->image_size == size);
	CHECK(info->digest_offset + INPU_FW_DIGEST_BYTES == size);
	CHECK(info->n_sections >= 1 && info->n_sections <= INPU_FW_MAX_SECTIONS);
	CHECK(info->features == INPU_FW_FEAT_ALL);
	for (i = 0; i < info->n_sections; i++) {
		const struct inpu_fw_section *s = &info->sections[i];

		CHECK(s->offset >= end);
		CHECK(s->offset <= info->digest_offset);
		CHECK(s->size <= info->digest_offset - s->offset);
		CHECK(s->align && !(s->align & (s->align - 1)) &&
		      !(s->offset % s->align));
		end = s->offset + s->size;
	}
	/* Tables inside the payload area, and valid for the engine. */
	CHECK(exp && exp >= data + 64 && exp + 2 * (size_t)info->exp.len <=
	      data + info->digest_offset);
	CHECK(silu && silu >= data + 64 && silu + 4 * (size_t)info->silu.len <=
	      data + info->digest_offset);
	CHECK(info->exp.len && info->exp.frac <= 30);
	CHECK(info->silu.len && info->silu.zero < info->silu.len &&
	      info->silu.in_frac <= 30 && info->silu.out_frac <= 30);
	for (i = 0; i < info->exp.len; i++) {
		uint32_t v = rd16(exp + 2 * i);

		CHECK(v <= prev && (i || v));
		prev = v;
	}
	for (i = 0; i < info->silu.len; i++)
		sum += (int32_t)rd32(silu + 4 * i);
	if (info->note) {
		CHECK((const uint8_t *)info->note >= data + 64 &&
		      (const uint8_t *)info->note + info->note_len <=
		      data + info->digest_offset);
		for (i = 0; i < info->note_len; i++)
			sum += (unsigned char)info->note[i];
	}
	/* Keep the reads. */
	__asm__ volatile("" : : "r"(sum));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inpu_fw_error err;
	struct inpu_fw_info info;
	uint8_t *copy;
	int rc;

	/* An exact-size copy: any overread is an ASan error. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);

	memset(&err, 0xa5, sizeof(err));
	rc = inpu_fw_parse(copy, size, &info, &err);
	CHECK(rc == err.code);
	CHECK(rc >= INPU_FW_OK && rc < INPU_FW_E_DIGEST);
	CHECK(err.field != NULL);
	CHECK(strcmp(inpu_fw_strerror(rc), "unknown error") != 0);
	if (rc == INPU_FW_OK) {
		CHECK(err.section == -1);
		check_accepted(copy, size, &info);
		/* The digest path, as the tools and the device run it. */
		CHECK(inpu_fw_check_digest(copy, &info) >= 0);
	} else {
		CHECK(err.section >= -1 && err.section < INPU_FW_MAX_SECTIONS);
		/* The named field lies inside the image. */
		CHECK(size == 0 || err.offset < size);
	}
	/* Parsing without an error report gives the same answer. */
	CHECK(inpu_fw_parse(copy, size, &info, NULL) == rc);
	free(copy);
	return 0;
}
