// SPDX-License-Identifier: MIT
/*
 * Firmware images: the shared parser (engine/fw_image.c) against images
 * broken one field at a time, starting from a good image built in memory by
 * the same builder as inpu-fw (firmware-blob-tools/fw_build.c); the digest
 * check; the builder and the file helpers.
 *
 * Every rejection is checked for its code, section index, field name and
 * field offset, the values the driver and the device report.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_build.h"
#include "inpu_engine.h"
#include "tables_gen.h"
#include "kselftest_harness.h"

#define NOTE		"inpu test image"
#define HDR_SIZE	64u
#define DIGEST		INPU_FW_DIGEST_BYTES
/* Section table entry @i and its fields. */
#define SECB(i)		(HDR_SIZE + 24u * (i))
#define F_TYPE		0u
#define F_FLAGS		4u
#define F_OFFSET	8u
#define F_SIZE		12u
#define F_ALIGN		16u
#define F_RESERVED	20u
/* Header fields. */
#define H_MAGIC		0u
#define H_FORMAT	4u
#define H_HDR_SIZE	6u
#define H_FW_VERSION	8u
#define H_ABI		12u
#define H_FEATURES	16u
#define H_IMAGE_SIZE	24u
#define H_N_SECTIONS	28u
#define H_SEC_OFFSET	32u
#define H_RESERVED	36u

static uint32_t get32(const uint8_t *p, uint32_t off)
{
	p += off;
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint32_t get16(const uint8_t *p, uint32_t off)
{
	return p[off] | (uint32_t)p[off + 1] << 8;
}

static void set32(uint8_t *p, uint32_t off, uint32_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
	p[off + 2] = (uint8_t)(v >> 16);
	p[off + 3] = (uint8_t)(v >> 24);
}

static void set16(uint8_t *p, uint32_t off, uint32_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void set64(uint8_t *p, uint32_t off, uint64_t v)
{
	set32(p, off, (uint32_t)v);
	set32(p, off + 4, (uint32_t)(v >> 32));
}

FIXTURE(fw) {
	uint8_t *img;		/* exact size: overreads are ASan errors */
	size_t len;
	uint8_t *orig;
	struct inpu_fw_info info;
	struct inpu_fw_error err;
	/* Good image layout, read from its section table. */
	uint32_t off[3], size[3];
};

FIXTURE_SETUP(fw)
{
	struct inpu_fw_build_opts o;
	int i;

	inpu_fw_build_defaults(&o);
	o.note = NOTE;
	ASSERT_EQ(0, inpu_fw_build(&o, &self->img, &self->len, NULL, 0));
	self->orig = malloc(self->len);
	ASSERT_NE(NULL, self->orig);
	memcpy(self->orig, self->img, self->len);
	for (i = 0; i < 3; i++) {
		self->off[i] = get32(self->img, SECB(i) + F_OFFSET);
		self->size[i] = get32(self->img, SECB(i) + F_SIZE);
	}
}

FIXTURE_TEARDOWN(fw)
{
	free(self->img);
	free(self->orig);
}

static int parse(FIXTURE_DATA(fw) *self)
{
	memset(&self->err, 0x5a, sizeof(self->err));
	return inpu_fw_parse(self->img, self->len, &self->info, &self->err);
}

static void restore(FIXTURE_DATA(fw) *self)
{
	memcpy(self->img, self->orig, self->len);
}

/* Parse; expect the code, section, field and offset; restore the image. */
#define EXPECT_REJECT(code_, sec_, field_, off_) do {			\
	int rc_ = parse(self);						\
	EXPECT_EQ((code_), rc_);					\
	EXPECT_EQ((code_), self->err.code);				\
	EXPECT_EQ((sec_), self->err.section);				\
	EXPECT_STREQ((field_), self->err.field);			\
	EXPECT_EQ((uint32_t)(off_), self->err.offset);			\
	if (rc_ != (code_) || self->err.offset != (uint32_t)(off_))	\
		TH_LOG("%s:%d: got %s (%d), section %d field \"%s\" at %#x", \
		       __FILE__, __LINE__, inpu_fw_strerror(rc_), rc_,	\
		       self->err.section, self->err.field,		\
		       self->err.offset);				\
	restore(self);							\
} while (0)

/* ---- the good image ------------------------------------------------------ */

TEST_F(fw, good_image_parses)
{
	struct inpu_tables_store ref;
	struct inpu_tables t;
	uint32_t i;

	ASSERT_EQ(INPU_FW_OK, parse(self));
	EXPECT_EQ(INPU_FW_OK, self->err.code);
	EXPECT_EQ(-1, self->err.section);
	EXPECT_EQ(1u << 16, self->info.fw_version);
	EXPECT_EQ(INPU_FW_ABI_VERSION, self->info.abi_version);
	EXPECT_EQ(INPU_FW_FEAT_ALL, self->info.features);
	EXPECT_EQ(self->len, self->info.image_size);
	EXPECT_EQ(self->len - DIGEST, self->info.digest_offset);
	ASSERT_EQ(3, self->info.n_sections);
	EXPECT_EQ(INPU_FW_SEC_EXP, self->info.sections[0].type);
	EXPECT_EQ(INPU_FW_SEC_SILU, self->info.sections[1].type);
	EXPECT_EQ(INPU_FW_SEC_NOTE, self->info.sections[2].type);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(INPU_FW_BUILD_ALIGN, self->info.sections[i].align);
		EXPECT_EQ(0, self->info.sections[i].offset % INPU_FW_BUILD_ALIGN);
	}
	EXPECT_EQ(INPU_EXP_LEN, self->info.exp.len);
	EXPECT_EQ(INPU_EXP_FRAC, self->info.exp.frac);
	EXPECT_EQ(INPU_SILU_LEN, self->info.silu.len);
	EXPECT_EQ(INPU_SILU_LEN / 2, self->info.silu.zero);
	EXPECT_EQ(INPU_SILU_IN_FRAC, self->info.silu.in_frac);
	EXPECT_EQ(INPU_SILU_OUT_FRAC, self->info.silu.out_frac);
	ASSERT_NE(NULL, self->info.note);
	EXPECT_EQ(strlen(NOTE), self->info.note_len);
	EXPECT_EQ(0, memcmp(NOTE, self->info.note, strlen(NOTE)));
	EXPECT_EQ(1, inpu_fw_check_digest(self->img, &self->info));

	/* The tables are the generator's, and the engine accepts them. */
	ASSERT_EQ(0, inpu_tables_default(&ref));
	EXPECT_EQ(0, memcmp(ref.exp, self->info.exp_values, 2 * INPU_EXP_LEN));
	EXPECT_EQ(0, memcmp(ref.silu, self->info.silu_values, 4 * INPU_SILU_LEN));
	inpu_tables_release(&ref);
	t.exp = self->info.exp_values;
	t.exp_len = self->info.exp.len;
	t.exp_frac = self->info.exp.frac;
	t.silu = self->info.silu_values;
	t.silu_len = self->info.silu.len;
	t.silu_zero = self->info.silu.zero;
	t.silu_in_frac = self->info.silu.in_frac;
	t.silu_out_frac = self->info.silu.out_frac;
	EXPECT_EQ(INPU_OK, inpu_tables_check(&t));
}

TEST_F(fw, layout_matches_format_doc)
{
	/* Header, 3 entries, payloads at 64-byte boundaries, digest last. */
	EXPECT_EQ(INPU_FW_MAGIC, get32(self->img, H_MAGIC));
	EXPECT_EQ(0, memcmp(self->img, "INFW", 4));
	EXPECT_EQ(HDR_SIZE, get16(self->img, H_HDR_SIZE));
	EXPECT_EQ(HDR_SIZE, get32(self->img, H_SEC_OFFSET));
	EXPECT_EQ(192, self->off[0]);
	EXPECT_EQ(8 + 2 * INPU_EXP_LEN, self->size[0]);
	EXPECT_EQ(16 + 4 * INPU_SILU_LEN, self->size[1]);
	EXPECT_EQ(strlen(NOTE), self->size[2]);
	EXPECT_EQ(self->len - DIGEST,
		  (self->off[2] + self->size[2] + 7) / 8 * 8);
}

TEST_F(fw, parses_at_any_buffer_alignment)
{
	uint8_t *buf = malloc(self->len + 7);
	int k;

	ASSERT_NE(NULL, buf);
	for (k = 1; k < 8; k++) {
		memcpy(buf + k, self->img, self->len);
		EXPECT_EQ(INPU_FW_OK, inpu_fw_parse(buf + k, self->len,
						    &self->info, &self->err));
		EXPECT_EQ(1, inpu_fw_check_digest(buf + k, &self->info));
	}
	free(buf);
}

TEST_F(fw, error_report_is_optional)
{
	EXPECT_EQ(INPU_FW_OK, inpu_fw_parse(self->img, self->len, &self->info,
					    NULL));
	self->img[0] ^= 1;
	EXPECT_EQ(INPU_FW_E_MAGIC, inpu_fw_parse(self->img, self->len,
						 &self->info, NULL));
	EXPECT_EQ(INPU_FW_E_TRUNCATED, inpu_fw_parse(NULL, 0, &self->info,
						     NULL));
}

/* ---- size ------------------------------------------------------------------ */

TEST_F(fw, truncated_at_every_length)
{
	unsigned int bad = 0;
	size_t n;

	for (n = 0; n < self->len; n++) {
		uint8_t *buf = malloc(n ? n : 1);
		int want = n < HDR_SIZE + DIGEST ? INPU_FW_E_TRUNCATED :
						   INPU_FW_E_SIZE;
		const char *field = n < HDR_SIZE + DIGEST ? "image" : "image_size";
		uint32_t at = n < HDR_SIZE + DIGEST ? 0 : H_IMAGE_SIZE;

		ASSERT_NE(NULL, buf);
		memcpy(buf, self->img, n);
		if (inpu_fw_parse(buf, n, &self->info, &self->err) != want ||
		    strcmp(self->err.field, field) || self->err.offset != at) {
			if (!bad++)
				TH_LOG("length %zu: %s, field %s", n,
				       inpu_fw_strerror(self->err.code),
				       self->err.field);
		}
		free(buf);
	}
	EXPECT_EQ(0, bad);
}

/*
 * Cut anywhere, with image_size telling the truth: accepted only when just
 * the zero padding before the digest went (the parser does not require it;
 * the digest then fails), and an error always points inside the image.
 */
TEST_F(fw, truncated_with_matching_image_size)
{
	size_t n, last_end = self->off[2] + self->size[2];
	unsigned int wrong = 0, outside = 0;

	ASSERT_LT(last_end + DIGEST, self->len);
	for (n = HDR_SIZE + DIGEST; n < self->len; n++) {
		uint8_t *buf = malloc(n);
		int rc;

		ASSERT_NE(NULL, buf);
		memcpy(buf, self->img, n);
		set32(buf, H_IMAGE_SIZE, (uint32_t)n);
		rc = inpu_fw_parse(buf, n, &self->info, &self->err);
		if ((rc == INPU_FW_OK) != (n - DIGEST >= last_end))
			wrong++;
		else if (rc && self->err.offset >= n)
			outside++;
		else if (!rc && inpu_fw_check_digest(buf, &self->info) != 0)
			wrong++;
		free(buf);
	}
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, outside);
}

TEST(truncated_section_table)
{
	struct inpu_fw_build_opts o;
	struct inpu_fw_error err;
	struct inpu_fw_info info;
	uint8_t *img;
	size_t len;

	/* A tiny image (2 sections, 1-entry tables) has no room for 16. */
	inpu_fw_build_defaults(&o);
	o.exp_len = 1;
	o.silu_len = 1;
	ASSERT_EQ(0, inpu_fw_build(&o, &img, &len, NULL, 0));
	ASSERT_LT(len, HDR_SIZE + 16 * 24 + DIGEST);
	ASSERT_EQ(INPU_FW_OK, inpu_fw_parse(img, len, &info, &err));
	set32(img, H_N_SECTIONS, 16);
	EXPECT_EQ(INPU_FW_E_TRUNCATED, inpu_fw_parse(img, len, &info, &err));
	EXPECT_STREQ("n_sections", err.field);
	EXPECT_EQ(H_N_SECTIONS, err.offset);
	free(img);
}

TEST_F(fw, section_beyond_cut_image)
{
	/* Cut right where the SiLU payload starts: it no longer fits. */
	self->len = self->off[1] + DIGEST;
	set32(self->img, H_IMAGE_SIZE, (uint32_t)self->len);
	EXPECT_EQ(INPU_FW_E_SEC_RANGE, parse(self));
	EXPECT_EQ(1, self->err.section);
	EXPECT_STREQ("size", self->err.field);
	EXPECT_EQ(SECB(1) + F_SIZE, self->err.offset);
}

TEST_F(fw, oversized)
{
	size_t big = (size_t)INPU_FW_MAX_SIZE + 1;
	uint8_t *buf = calloc(1, big);

	ASSERT_NE(NULL, buf);
	memcpy(buf, self->img, self->len);
	set32(buf, H_IMAGE_SIZE, (uint32_t)big);
	EXPECT_EQ(INPU_FW_E_TOO_LARGE, inpu_fw_parse(buf, big, &self->info,
						     &self->err));
	EXPECT_STREQ("image", self->err.field);
	EXPECT_EQ(-1, self->err.section);
	/* Exactly the limit is fine (the digest is then wrong). */
	set32(buf, H_IMAGE_SIZE, INPU_FW_MAX_SIZE);
	EXPECT_EQ(INPU_FW_OK, inpu_fw_parse(buf, big - 1, &self->info,
					    &self->err));
	EXPECT_EQ(0, inpu_fw_check_digest(buf, &self->info));
	ASSERT_EQ(0, inpu_fw_seal(buf, big - 1));
	EXPECT_EQ(1, inpu_fw_check_digest(buf, &self->info));
	free(buf);
}

TEST_F(fw, image_size_mismatch)
{
	uint32_t sz = (uint32_t)self->len;
	const uint32_t bad[] = { sz + 1, sz - 1, 0, sz + 4096, 0xffffffff };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set32(self->img, H_IMAGE_SIZE, bad[i]);
		EXPECT_REJECT(INPU_FW_E_SIZE, -1, "image_size", H_IMAGE_SIZE);
	}
}

/* ---- header ---------------------------------------------------------------- */

TEST_F(fw, wrong_magic)
{
	unsigned int b;

	for (b = 0; b < 4; b++) {
		self->img[b] ^= 0x20;	/* "iNFW", "InFW", ... */
		EXPECT_REJECT(INPU_FW_E_MAGIC, -1, "magic", H_MAGIC);
	}
	set32(self->img, H_MAGIC, 0);
	EXPECT_REJECT(INPU_FW_E_MAGIC, -1, "magic", H_MAGIC);
	/* Big-endian writer. */
	memcpy(self->img, "WFNI", 4);
	EXPECT_REJECT(INPU_FW_E_MAGIC, -1, "magic", H_MAGIC);
}

TEST_F(fw, wrong_format_version)
{
	const uint32_t bad[] = { 0, 2, 0x100, 0xffff };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		set16(self->img, H_FORMAT, bad[i]);
		EXPECT_REJECT(INPU_FW_E_FORMAT, -1, "format_version", H_FORMAT);
	}
}

TEST_F(fw, wrong_header_size)
{
	const uint32_t bad[] = { 0, 32, 63, 65, 128, 0xffff };
	unsigned int i;

	for (i = 0; i < 6; i++) {
		set16(self->img, H_HDR_SIZE, bad[i]);
		EXPECT_REJECT(INPU_FW_E_FORMAT, -1, "header_size", H_HDR_SIZE);
	}
}

TEST_F(fw, future_abi_version)
{
	set32(self->img, H_ABI, INPU_FW_ABI_VERSION + 1);
	EXPECT_REJECT(INPU_FW_E_ABI, -1, "abi_version", H_ABI);
	set32(self->img, H_ABI, 0xffffffff);
	EXPECT_REJECT(INPU_FW_E_ABI, -1, "abi_version", H_ABI);
}

TEST_F(fw, past_abi_version)
{
	set32(self->img, H_ABI, INPU_FW_ABI_MIN - 1);
	EXPECT_REJECT(INPU_FW_E_ABI, -1, "abi_version", H_ABI);
}

TEST_F(fw, fw_version_is_free)
{
	/* Any firmware version parses; only the digest notices the edit. */
	set32(self->img, H_FW_VERSION, 0xffffffff);
	ASSERT_EQ(INPU_FW_OK, parse(self));
	EXPECT_EQ(0xffffffff, self->info.fw_version);
	EXPECT_EQ(0, inpu_fw_check_digest(self->img, &self->info));
}

TEST_F(fw, unknown_feature_bits)
{
	unsigned int bit;

	for (bit = 2; bit < 64; bit++) {
		set64(self->img, H_FEATURES, INPU_FW_FEAT_ALL | 1ull << bit);
		EXPECT_REJECT(INPU_FW_E_FEATURES, -1, "features", H_FEATURES);
	}
}

TEST_F(fw, features_not_matching_sections)
{
	/* Both tables present, but a bit is missing: checked at the end. */
	set64(self->img, H_FEATURES, INPU_FW_FEAT_EXP_TABLE);
	EXPECT_REJECT(INPU_FW_E_FEATURES, -1, "features", H_FEATURES);
	set64(self->img, H_FEATURES, INPU_FW_FEAT_SILU_TABLE);
	EXPECT_REJECT(INPU_FW_E_FEATURES, -1, "features", H_FEATURES);
	set64(self->img, H_FEATURES, 0);
	EXPECT_REJECT(INPU_FW_E_FEATURES, -1, "features", H_FEATURES);
}

TEST_F(fw, reserved_header_words)
{
	unsigned int k;

	for (k = 0; k < 7; k++) {
		set32(self->img, H_RESERVED + 4 * k, 1);
		EXPECT_REJECT(INPU_FW_E_RESERVED, -1, "reserved", H_RESERVED + 4 * k);
		set32(self->img, H_RESERVED + 4 * k, 0x80000000);
		EXPECT_REJECT(INPU_FW_E_RESERVED, -1, "reserved", H_RESERVED + 4 * k);
	}
}

TEST_F(fw, section_flags_and_reserved)
{
	int i;

	for (i = 0; i < 3; i++) {
		set32(self->img, SECB(i) + F_FLAGS, 1);
		EXPECT_REJECT(INPU_FW_E_RESERVED, i, "flags", SECB(i) + F_FLAGS);
		set32(self->img, SECB(i) + F_RESERVED, 0x100);
		EXPECT_REJECT(INPU_FW_E_RESERVED, i, "reserved",
			      SECB(i) + F_RESERVED);
	}
}

TEST_F(fw, section_count)
{
	set32(self->img, H_N_SECTIONS, 0);
	EXPECT_REJECT(INPU_FW_E_SECTIONS, -1, "n_sections", H_N_SECTIONS);
	set32(self->img, H_N_SECTIONS, INPU_FW_MAX_SECTIONS + 1);
	EXPECT_REJECT(INPU_FW_E_SECTIONS, -1, "n_sections", H_N_SECTIONS);
	set32(self->img, H_N_SECTIONS, 0xffffffff);
	EXPECT_REJECT(INPU_FW_E_SECTIONS, -1, "n_sections", H_N_SECTIONS);
	/* One entry too many reads the zero padding: type 0 is unknown. */
	set32(self->img, H_N_SECTIONS, 4);
	EXPECT_REJECT(INPU_FW_E_SEC_TYPE, 3, "type", SECB(3) + F_TYPE);
	/* One too few drops the note: fine. */
	set32(self->img, H_N_SECTIONS, 2);
	EXPECT_EQ(INPU_FW_OK, parse(self));
	EXPECT_EQ(NULL, self->info.note);
}

TEST_F(fw, section_table_offset)
{
	const uint32_t bad[] = { 0, 63, 65, 88, 0xffffffff };
	unsigned int i;

	for (i = 0; i < 5; i++) {
		set32(self->img, H_SEC_OFFSET, bad[i]);
		EXPECT_REJECT(INPU_FW_E_SECTIONS, -1, "section_offset",
			      H_SEC_OFFSET);
	}
}

/* ---- sections -------------------------------------------------------------- */

TEST_F(fw, misaligned_section_offset)
{
	int i;

	for (i = 0; i < 3; i++) {
		set32(self->img, SECB(i) + F_OFFSET, self->off[i] + 4);
		EXPECT_REJECT(INPU_FW_E_SEC_ALIGN, i, "offset",
			      SECB(i) + F_OFFSET);
		set32(self->img, SECB(i) + F_OFFSET, self->off[i] + 1);
		EXPECT_REJECT(INPU_FW_E_SEC_ALIGN, i, "offset",
			      SECB(i) + F_OFFSET);
	}
}

TEST_F(fw, bad_align)
{
	/* Zero, not a power of two (some dividing the offset, some not),
	 * over the maximum: always the align field, never the offset.
	 */
	const uint32_t bad[] = { 0, 3, 5, 48, 96, 100, 2 * INPU_FW_MAX_ALIGN,
				 0x80000000, 0xffffffff };
	unsigned int k;
	int i;

	for (i = 0; i < 3; i++) {
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			set32(self->img, SECB(i) + F_ALIGN, bad[k]);
			EXPECT_REJECT(INPU_FW_E_SEC_ALIGN, i, "align",
				      SECB(i) + F_ALIGN);
		}
	}
}

TEST_F(fw, align_limits)
{
	/* The maximum alignment is allowed, but 192 is not a multiple. */
	set32(self->img, SECB(0) + F_ALIGN, INPU_FW_MAX_ALIGN);
	EXPECT_REJECT(INPU_FW_E_SEC_ALIGN, 0, "offset", SECB(0) + F_OFFSET);
	/* Smaller alignments that divide the offsets are fine... */
	set32(self->img, SECB(0) + F_ALIGN, 2);
	set32(self->img, SECB(1) + F_ALIGN, 4);
	set32(self->img, SECB(2) + F_ALIGN, 1);
	EXPECT_EQ(INPU_FW_OK, parse(self));
	restore(self);
	/* ...down to what the table entries need. */
	set32(self->img, SECB(0) + F_ALIGN, 1);
	EXPECT_REJECT(INPU_FW_E_SEC_ALIGN, 0, "align", SECB(0) + F_ALIGN);
	set32(self->img, SECB(1) + F_ALIGN, 2);
	EXPECT_REJECT(INPU_FW_E_SEC_ALIGN, 1, "align", SECB(1) + F_ALIGN);
}

TEST_F(fw, section_outside_payload)
{
	uint32_t end = (uint32_t)self->len - DIGEST;

	/* Into the header / section table. */
	set32(self->img, SECB(0) + F_OFFSET, 64);
	EXPECT_REJECT(INPU_FW_E_SEC_RANGE, 0, "offset", SECB(0) + F_OFFSET);
	set32(self->img, SECB(0) + F_OFFSET, 0);
	EXPECT_REJECT(INPU_FW_E_SEC_RANGE, 0, "offset", SECB(0) + F_OFFSET);
	/* Past the end. */
	set32(self->img, SECB(2) + F_OFFSET, 0x10000);
	EXPECT_REJECT(INPU_FW_E_SEC_RANGE, 2, "offset", SECB(2) + F_OFFSET);
	set32(self->img, SECB(2) + F_OFFSET, 0xffffffc0);
	EXPECT_REJECT(INPU_FW_E_SEC_RANGE, 2, "offset", SECB(2) + F_OFFSET);
	/* Into the digest, or wrapping around. */
	set32(self->img, SECB(2) + F_SIZE, end - self->off[2] + 1);
	EXPECT_REJECT(INPU_FW_E_SEC_RANGE, 2, "size", SECB(2) + F_SIZE);
	set32(self->img, SECB(2) + F_SIZE, 0xffffffff);
	EXPECT_REJECT(INPU_FW_E_SEC_RANGE, 2, "size", SECB(2) + F_SIZE);
	/* Right up to the digest is fine; an empty note at its very start too. */
	set32(self->img, SECB(2) + F_SIZE, end - self->off[2]);
	EXPECT_EQ(INPU_FW_OK, parse(self));
	restore(self);
	set32(self->img, SECB(2) + F_OFFSET, end);
	set32(self->img, SECB(2) + F_SIZE, 0);
	set32(self->img, SECB(2) + F_ALIGN, INPU_FW_BUILD_TAIL_ALIGN);
	ASSERT_EQ(0, end % INPU_FW_BUILD_TAIL_ALIGN);
	EXPECT_EQ(INPU_FW_OK, parse(self));
	EXPECT_EQ(0, self->info.note_len);
}

TEST_F(fw, overlapping_sections)
{
	/* SiLU starts inside the exp table; the note inside SiLU. */
	set32(self->img, SECB(1) + F_OFFSET, self->off[0] + 64);
	EXPECT_REJECT(INPU_FW_E_SEC_OVERLAP, 1, "offset", SECB(1) + F_OFFSET);
	set32(self->img, SECB(2) + F_OFFSET, self->off[1] + 64);
	EXPECT_REJECT(INPU_FW_E_SEC_OVERLAP, 2, "offset", SECB(2) + F_OFFSET);
	/* Same start as the previous section. */
	set32(self->img, SECB(2) + F_OFFSET, self->off[1]);
	EXPECT_REJECT(INPU_FW_E_SEC_OVERLAP, 2, "offset", SECB(2) + F_OFFSET);
}

TEST_F(fw, out_of_order_sections)
{
	uint8_t e[24];

	/* Swap the exp and SiLU entries: SiLU first, then exp before it. */
	memcpy(e, self->img + SECB(0), 24);
	memcpy(self->img + SECB(0), self->img + SECB(1), 24);
	memcpy(self->img + SECB(1), e, 24);
	EXPECT_REJECT(INPU_FW_E_SEC_OVERLAP, 1, "offset", SECB(1) + F_OFFSET);
	/* Swap SiLU and the note. */
	memcpy(e, self->img + SECB(1), 24);
	memcpy(self->img + SECB(1), self->img + SECB(2), 24);
	memcpy(self->img + SECB(2), e, 24);
	EXPECT_REJECT(INPU_FW_E_SEC_OVERLAP, 2, "offset", SECB(2) + F_OFFSET);
}

TEST_F(fw, duplicate_section_type)
{
	set32(self->img, SECB(1) + F_TYPE, INPU_FW_SEC_EXP);
	EXPECT_REJECT(INPU_FW_E_SEC_TYPE, 1, "type", SECB(1) + F_TYPE);
	set32(self->img, SECB(2) + F_TYPE, INPU_FW_SEC_SILU);
	EXPECT_REJECT(INPU_FW_E_SEC_TYPE, 2, "type", SECB(2) + F_TYPE);
	set32(self->img, SECB(2) + F_TYPE, INPU_FW_SEC_EXP);
	EXPECT_REJECT(INPU_FW_E_SEC_TYPE, 2, "type", SECB(2) + F_TYPE);
}

TEST_F(fw, unknown_section_type)
{
	const uint32_t bad[] = { 0, INPU_FW_SEC_NOTE + 1, 31, 32, 33,
				 0x80000001, 0xffffffff };
	unsigned int k;
	int i;

	for (i = 0; i < 3; i++) {
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			set32(self->img, SECB(i) + F_TYPE, bad[k]);
			EXPECT_REJECT(INPU_FW_E_SEC_TYPE, i, "type",
				      SECB(i) + F_TYPE);
		}
	}
}

/* ---- table contents -------------------------------------------------------- */

TEST_F(fw, exp_table_header)
{
	uint32_t p = self->off[0];

	set32(self->img, p, 0);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp.len", p);
	set32(self->img, p, INPU_EXP_LEN - 1);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp.len", p);
	set32(self->img, p, INPU_EXP_LEN + 1);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp.len", p);
	set32(self->img, p, 65537);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp.len", p);
	set32(self->img, p, 0x80000004);	/* 2 * len wraps to 8 */
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp.len", p);
	set32(self->img, p + 4, 31);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp.frac", p + 4);
	set32(self->img, p + 4, 0xffffffff);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp.frac", p + 4);
	set32(self->img, p + 4, 30);
	EXPECT_EQ(INPU_FW_OK, parse(self));
	restore(self);
	/* A section smaller than the table header. */
	set32(self->img, SECB(0) + F_SIZE, 7);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "size", SECB(0) + F_SIZE);
	set32(self->img, SECB(0) + F_SIZE, 0);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "size", SECB(0) + F_SIZE);
}

TEST_F(fw, exp_table_values)
{
	uint32_t v = self->off[0] + 8;

	set16(self->img, v, 0);			/* exp[0] == 0 */
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp values", v);
	/* exp[100] > exp[99]: increasing. */
	set16(self->img, v + 200, get16(self->img, v + 198) + 1);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp values", v + 200);
	/* The last entry rises from 0 to 1. */
	ASSERT_EQ(0, get16(self->img, v + 2 * (INPU_EXP_LEN - 1)));
	set16(self->img, v + 2 * (INPU_EXP_LEN - 1), 1);
	EXPECT_REJECT(INPU_FW_E_TABLE, 0, "exp values",
		      v + 2 * (INPU_EXP_LEN - 1));
	/* Flat is not increasing. */
	for (uint32_t i = 0; i < INPU_EXP_LEN; i++)
		set16(self->img, v + 2 * i, 7);
	EXPECT_EQ(INPU_FW_OK, parse(self));
	/* exp[0] may be the largest u16. */
	set16(self->img, v, 0xffff);
	EXPECT_EQ(INPU_FW_OK, parse(self));
}

TEST_F(fw, silu_table_header)
{
	uint32_t p = self->off[1];

	set32(self->img, p, 0);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.len", p);
	set32(self->img, p, INPU_SILU_LEN - 1);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.len", p);
	set32(self->img, p, 0x40000001);	/* 4 * len wraps */
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.len", p);
	set32(self->img, p + 4, INPU_SILU_LEN);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.zero", p + 4);
	set32(self->img, p + 4, 0xffffffff);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.zero", p + 4);
	set32(self->img, p + 4, INPU_SILU_LEN - 1);
	EXPECT_EQ(INPU_FW_OK, parse(self));
	restore(self);
	set32(self->img, p + 8, 31);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.in_frac", p + 8);
	set32(self->img, p + 12, 31);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.out_frac", p + 12);
	set32(self->img, p + 12, 0x80000000);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "silu.out_frac", p + 12);
	set32(self->img, SECB(1) + F_SIZE, 15);
	EXPECT_REJECT(INPU_FW_E_TABLE, 1, "size", SECB(1) + F_SIZE);
}

TEST(missing_required_section)
{
	struct inpu_fw_build_opts o;
	struct inpu_fw_error err;
	struct inpu_fw_info info;
	uint8_t *img;
	size_t len;

	/* Two sections, no note: turn one table into a note and drop its
	 * feature bit, so that only the missing section is wrong.
	 */
	inpu_fw_build_defaults(&o);
	o.exp_len = 16;
	o.silu_len = 16;
	ASSERT_EQ(0, inpu_fw_build(&o, &img, &len, NULL, 0));
	ASSERT_EQ(INPU_FW_OK, inpu_fw_parse(img, len, &info, &err));
	ASSERT_EQ(2, info.n_sections);

	set32(img, SECB(0) + F_TYPE, INPU_FW_SEC_NOTE);
	set64(img, H_FEATURES, INPU_FW_FEAT_SILU_TABLE);
	EXPECT_EQ(INPU_FW_E_MISSING, inpu_fw_parse(img, len, &info, &err));
	EXPECT_EQ(-1, err.section);
	EXPECT_STREQ("exp section", err.field);

	set32(img, SECB(0) + F_TYPE, INPU_FW_SEC_EXP);
	set32(img, SECB(1) + F_TYPE, INPU_FW_SEC_NOTE);
	set64(img, H_FEATURES, INPU_FW_FEAT_EXP_TABLE);
	EXPECT_EQ(INPU_FW_E_MISSING, inpu_fw_parse(img, len, &info, &err));
	EXPECT_EQ(-1, err.section);
	EXPECT_STREQ("silu section", err.field);

	/* With the feature bit still set, the bits disagree first. */
	set64(img, H_FEATURES, INPU_FW_FEAT_ALL);
	EXPECT_EQ(INPU_FW_E_FEATURES, inpu_fw_parse(img, len, &info, &err));
	free(img);
}

/* ---- digest ---------------------------------------------------------------- */

TEST_F(fw, digest_mismatch_on_any_payload_byte)
{
	/* One byte in each section, in padding, in the header. */
	const uint32_t at[] = {
		self->off[0] + 8,	/* exp[0]: 32768 -> 32769 */
		self->off[1] + 16 + 5, self->off[2] + 3,
		self->off[0] - 1, (uint32_t)self->len - DIGEST - 1,
		H_FW_VERSION,
	};
	unsigned int k;

	for (k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		self->img[at[k]] ^= 0x01;
		ASSERT_EQ(INPU_FW_OK, parse(self));
		EXPECT_EQ(0, inpu_fw_check_digest(self->img, &self->info));
		/* Resealed, it is good again. */
		ASSERT_EQ(0, inpu_fw_seal(self->img, self->len));
		EXPECT_EQ(1, inpu_fw_check_digest(self->img, &self->info));
		restore(self);
	}
}

TEST_F(fw, digest_mismatch_in_trailer)
{
	uint8_t d[DIGEST];
	unsigned int k;

	ASSERT_EQ(INPU_FW_OK, parse(self));
	ASSERT_EQ(0, inpu_fw_sha256(self->img, self->info.digest_offset, d));
	EXPECT_EQ(1, inpu_fw_digest_ok(self->img, &self->info, d));
	for (k = 0; k < DIGEST; k++) {
		self->img[self->info.digest_offset + k] ^= 0x80;
		EXPECT_EQ(0, inpu_fw_digest_ok(self->img, &self->info, d));
		self->img[self->info.digest_offset + k] ^= 0x80;
	}
	/* A digest over one byte too few or too many differs. */
	ASSERT_EQ(0, inpu_fw_sha256(self->img, self->info.digest_offset - 1, d));
	EXPECT_EQ(0, inpu_fw_digest_ok(self->img, &self->info, d));
	ASSERT_EQ(0, inpu_fw_sha256(self->img, self->info.digest_offset + 1, d));
	EXPECT_EQ(0, inpu_fw_digest_ok(self->img, &self->info, d));
}

TEST(sha256_known_answer)
{
	/* FIPS 180-2 "abc". */
	static const uint8_t want[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	uint8_t d[32];

	ASSERT_EQ(0, inpu_fw_sha256("abc", 3, d));
	EXPECT_EQ(0, memcmp(want, d, 32));
}

/* ---- mutation smoke test ----------------------------------------------------- */

TEST_F(fw, every_header_byte_mutated)
{
	const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	unsigned int outside = 0;
	uint32_t b, k;

	/* Header and section table, every byte, a few values: an error
	 * always names an offset inside the image.
	 */
	for (b = 0; b < SECB(3); b++) {
		for (k = 0; k < sizeof(vals); k++) {
			self->img[b] = vals[k];
			if (parse(self) != INPU_FW_OK &&
			    self->err.offset >= self->len)
				outside++;
			self->img[b] = self->orig[b];
		}
	}
	EXPECT_EQ(0, outside);
}

/* ---- builder ----------------------------------------------------------------- */

TEST(build_is_deterministic)
{
	struct inpu_fw_build_opts o;
	uint8_t *a, *b;
	size_t la, lb;

	inpu_fw_build_defaults(&o);
	o.note = "same";
	ASSERT_EQ(0, inpu_fw_build(&o, &a, &la, NULL, 0));
	ASSERT_EQ(0, inpu_fw_build(&o, &b, &lb, NULL, 0));
	ASSERT_EQ(la, lb);
	EXPECT_EQ(0, memcmp(a, b, la));
	free(b);
	/* Any option changes the bytes. */
	o.fw_version = 0x010001;
	ASSERT_EQ(0, inpu_fw_build(&o, &b, &lb, NULL, 0));
	ASSERT_EQ(la, lb);
	EXPECT_NE(0, memcmp(a, b, la));
	free(b);
	free(a);
}

TEST(build_defaults)
{
	struct inpu_fw_build_opts o;
	struct inpu_fw_error err;
	struct inpu_fw_info info;
	uint8_t *img;
	size_t len;

	inpu_fw_build_defaults(&o);
	EXPECT_EQ(0x010000, o.fw_version);
	EXPECT_EQ(NULL, o.note);
	ASSERT_EQ(0, inpu_fw_build(&o, &img, &len, NULL, 0));
	ASSERT_EQ(INPU_FW_OK, inpu_fw_parse(img, len, &info, &err));
	EXPECT_EQ(2, info.n_sections);
	EXPECT_EQ(NULL, info.note);
	EXPECT_EQ(1, inpu_fw_check_digest(img, &info));
	/* Zero padding everywhere between the structures. */
	for (size_t i = HDR_SIZE + 2 * 24; i < info.sections[0].offset; i++)
		EXPECT_EQ(0, img[i]);
	free(img);
}

TEST(build_extremes)
{
	struct inpu_fw_build_opts o;
	struct inpu_fw_error err;
	struct inpu_fw_info info;
	uint8_t *img;
	size_t len;

	inpu_fw_build_defaults(&o);
	o.exp_len = 65536;
	o.silu_len = 65536;
	o.note = "";
	ASSERT_EQ(0, inpu_fw_build(&o, &img, &len, NULL, 0));
	EXPECT_EQ(INPU_FW_OK, inpu_fw_parse(img, len, &info, &err));
	EXPECT_EQ(3, info.n_sections);
	EXPECT_EQ(0, info.note_len);
	free(img);

	o.exp_len = 1;
	o.silu_len = 1;
	o.exp_frac = 0;
	o.silu_in_frac = 30;
	o.silu_out_frac = 30;
	o.note = NULL;
	ASSERT_EQ(0, inpu_fw_build(&o, &img, &len, NULL, 0));
	EXPECT_EQ(INPU_FW_OK, inpu_fw_parse(img, len, &info, &err));
	EXPECT_EQ(0, info.silu.zero);
	free(img);
}

TEST(build_rejects_bad_options)
{
	struct inpu_fw_build_opts o, d;
	char msg[200];
	uint8_t *img = (uint8_t *)1;
	size_t len = 1;
	char *note;

	inpu_fw_build_defaults(&d);
#define REJECT(field, value) do {					\
	o = d;								\
	o.field = (value);						\
	msg[0] = 0;							\
	EXPECT_EQ(-EINVAL, inpu_fw_build(&o, &img, &len, msg, sizeof(msg))); \
	EXPECT_EQ(NULL, img);						\
	EXPECT_EQ(0, len);						\
	EXPECT_NE(0, msg[0]);						\
} while (0)
	REJECT(exp_len, 0);
	REJECT(exp_len, 65537);
	REJECT(silu_len, 0);
	REJECT(silu_len, 65537);
	REJECT(exp_frac, 31);
	REJECT(silu_in_frac, 31);
	REJECT(silu_out_frac, 31);
	/* 2048 / 64 * 2^30 does not fit an int32. */
	REJECT(silu_out_frac, 30);
	note = malloc(INPU_FW_MAX_SIZE);
	ASSERT_NE(NULL, note);
	memset(note, 'n', INPU_FW_MAX_SIZE - 1);
	note[INPU_FW_MAX_SIZE - 1] = 0;
	REJECT(note, note);
	EXPECT_NE(NULL, strstr(msg, "limit"));
	free(note);
#undef REJECT
}

/* ---- names ------------------------------------------------------------------- */

TEST(error_and_section_names)
{
	int i, j;

	for (i = 0; i < INPU_FW_E_COUNT; i++) {
		ASSERT_NE(NULL, inpu_fw_strerror(i));
		EXPECT_STRNE("unknown error", inpu_fw_strerror(i));
		for (j = 0; j < i; j++)
			EXPECT_STRNE(inpu_fw_strerror(j), inpu_fw_strerror(i));
	}
	EXPECT_STREQ("unknown error", inpu_fw_strerror(-1));
	EXPECT_STREQ("unknown error", inpu_fw_strerror(INPU_FW_E_COUNT));
	EXPECT_STREQ("exp", inpu_fw_section_name(INPU_FW_SEC_EXP));
	EXPECT_STREQ("silu", inpu_fw_section_name(INPU_FW_SEC_SILU));
	EXPECT_STREQ("note", inpu_fw_section_name(INPU_FW_SEC_NOTE));
	EXPECT_STREQ("unknown", inpu_fw_section_name(0));
	EXPECT_STREQ("unknown", inpu_fw_section_name(4));
}

/* ---- files ------------------------------------------------------------------- */

FIXTURE(dir) {
	char path[64];
	char file[96];
};

FIXTURE_SETUP(dir)
{
	strcpy(self->path, "/tmp/inpu-fw-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->path));
	snprintf(self->file, sizeof(self->file), "%s/fw.bin", self->path);
}

FIXTURE_TEARDOWN(dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->path);
	if (system(cmd))
		TH_LOG("could not remove %s", self->path);
}

static int count_entries(const char *path)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(path);

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

TEST_F(dir, write_then_read)
{
	struct inpu_fw_build_opts o;
	struct stat st;
	mode_t mask;
	uint8_t *img, *back;
	size_t len, blen;

	inpu_fw_build_defaults(&o);
	ASSERT_EQ(0, inpu_fw_build(&o, &img, &len, NULL, 0));
	ASSERT_EQ(0, inpu_fw_write_file(self->file, img, len));
	/* Replacing an existing file, atomically: no temporary is left. */
	ASSERT_EQ(0, inpu_fw_write_file(self->file, img, len));
	EXPECT_EQ(1, count_entries(self->path));
	ASSERT_EQ(0, stat(self->file, &st));
	mask = umask(0);
	umask(mask);
	EXPECT_EQ(0666 & ~mask, st.st_mode & 0777);
	ASSERT_EQ(0, inpu_fw_read_file(self->file, &back, &blen));
	ASSERT_EQ(len, blen);
	EXPECT_EQ(0, memcmp(img, back, len));
	free(back);
	free(img);
}

TEST_F(dir, read_and_write_errors)
{
	char bad[128];
	uint8_t *data = (uint8_t *)1;
	size_t len = 1;

	snprintf(bad, sizeof(bad), "%s/missing", self->path);
	EXPECT_EQ(-ENOENT, inpu_fw_read_file(bad, &data, &len));
	EXPECT_EQ(NULL, data);
	EXPECT_EQ(0, len);
	EXPECT_EQ(-EISDIR, inpu_fw_read_file(self->path, &data, &len));
	snprintf(bad, sizeof(bad), "%s/no/such/dir/fw.bin", self->path);
	EXPECT_EQ(-ENOENT, inpu_fw_write_file(bad, "x", 1));
	EXPECT_EQ(0, count_entries(self->path));
}

TEST_F(dir, read_stops_past_the_limit)
{
	struct inpu_fw_info info;
	uint8_t *data;
	size_t len;
	int fd;

	fd = open(self->file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 3 * (off_t)INPU_FW_MAX_SIZE));
	close(fd);
	ASSERT_EQ(0, inpu_fw_read_file(self->file, &data, &len));
	EXPECT_EQ((size_t)INPU_FW_MAX_SIZE + 1, len);
	EXPECT_EQ(INPU_FW_E_TOO_LARGE, inpu_fw_parse(data, len, &info, NULL));
	free(data);
}

TEST_HARNESS_MAIN
