// SPDX-License-Identifier: MIT
/* Freestanding (no libc): built into inpu.ko, the QEMU device and userspace. */
/*
 * Firmware image parsing (see inpu_fw_image.h and
 * firmware-blob-tools/FORMAT.md).  Reads fields byte by byte, so a
 * malformed or misaligned image can never cause an unaligned access.
 */
#include "inpu_fw_image.h"

static const char *const err_names[INPU_FW_E_COUNT] = {
	[INPU_FW_OK] = "ok",
	[INPU_FW_E_TRUNCATED] = "image truncated",
	[INPU_FW_E_TOO_LARGE] = "image too large",
	[INPU_FW_E_MAGIC] = "bad magic",
	[INPU_FW_E_FORMAT] = "unsupported format version or header size",
	[INPU_FW_E_SIZE] = "image_size does not match the file size",
	[INPU_FW_E_ABI] = "built for another engine ABI version",
	[INPU_FW_E_FEATURES] = "feature bits do not match the sections",
	[INPU_FW_E_RESERVED] = "reserved field not zero",
	[INPU_FW_E_SECTIONS] = "bad section count or section table offset",
	[INPU_FW_E_SEC_TYPE] = "unknown or repeated section type",
	[INPU_FW_E_SEC_ALIGN] = "section misaligned",
	[INPU_FW_E_SEC_RANGE] = "section outside the payload area",
	[INPU_FW_E_SEC_OVERLAP] = "sections overlap or are out of order",
	[INPU_FW_E_TABLE] = "invalid table",
	[INPU_FW_E_MISSING] = "required section missing",
	[INPU_FW_E_DIGEST] = "SHA-256 digest mismatch",
};

const char *inpu_fw_strerror(int code)
{
	if (code < 0 || code >= INPU_FW_E_COUNT)
		return "unknown error";
	return err_names[code];
}

const char *inpu_fw_section_name(__u32 type)
{
	switch (type) {
	case INPU_FW_SEC_EXP:
		return "exp";
	case INPU_FW_SEC_SILU:
		return "silu";
	case INPU_FW_SEC_NOTE:
		return "note";
	default:
		return "unknown";
	}
}

static __u32 le32(const __u8 *p)
{
	return p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;
}

static __u16 le16(const __u8 *p)
{
	return (__u16)(p[0] | p[1] << 8);
}

static int fail(struct inpu_fw_error *err, int code, int section,
		const char *field, __u32 offset)
{
	if (err) {
		err->code = code;
		err->section = section;
		err->field = field;
		err->offset = offset;
	}
	return code;
}

#define HDR(f)	((__u32)__builtin_offsetof(struct inpu_fw_header, f))
#define SEC(f)	((__u32)__builtin_offsetof(struct inpu_fw_section, f))

static int check_exp(const __u8 *img, const struct inpu_fw_section *s,
		     int idx, __u32 base, struct inpu_fw_info *info,
		     struct inpu_fw_error *err)
{
	const __u8 *p = img + s->offset;
	__u32 i, prev;

	if (s->size < sizeof(struct inpu_fw_exp))
		return fail(err, INPU_FW_E_TABLE, idx, "size",
			    base + SEC(size));
	info->exp.len = le32(p);
	info->exp.frac = le32(p + 4);
	if (!info->exp.len || info->exp.len > 65536 ||
	    s->size != sizeof(struct inpu_fw_exp) + 2 * info->exp.len)
		return fail(err, INPU_FW_E_TABLE, idx, "exp.len", s->offset);
	if (info->exp.frac > 30)
		return fail(err, INPU_FW_E_TABLE, idx, "exp.frac", s->offset + 4);
	if (s->align < 2)
		return fail(err, INPU_FW_E_SEC_ALIGN, idx, "align",
			    base + SEC(align));
	prev = 0xffff;
	for (i = 0; i < info->exp.len; i++) {
		__u32 v = le16(p + 8 + 2 * i);

		/* exp[0] > 0 and never increasing: softmax relies on both. */
		if ((i == 0 && v == 0) || v > prev)
			return fail(err, INPU_FW_E_TABLE, idx, "exp values",
				    s->offset + 8 + 2 * i);
		prev = v;
	}
	info->exp_values = (const __u16 *)(p + 8);
	return INPU_FW_OK;
}

static int check_silu(const __u8 *img, const struct inpu_fw_section *s,
		      int idx, __u32 base, struct inpu_fw_info *info,
		      struct inpu_fw_error *err)
{
	const __u8 *p = img + s->offset;

	if (s->size < sizeof(struct inpu_fw_silu))
		return fail(err, INPU_FW_E_TABLE, idx, "size",
			    base + SEC(size));
	info->silu.len = le32(p);
	info->silu.zero = le32(p + 4);
	info->silu.in_frac = le32(p + 8);
	info->silu.out_frac = le32(p + 12);
	if (!info->silu.len || info->silu.len > 65536 ||
	    s->size != sizeof(struct inpu_fw_silu) + 4 * info->silu.len)
		return fail(err, INPU_FW_E_TABLE, idx, "silu.len", s->offset);
	if (info->silu.zero >= info->silu.len)
		return fail(err, INPU_FW_E_TABLE, idx, "silu.zero", s->offset + 4);
	if (info->silu.in_frac > 30)
		return fail(err, INPU_FW_E_TABLE, idx, "silu.in_frac",
			    s->offset + 8);
	if (info->silu.out_frac > 30)
		return fail(err, INPU_FW_E_TABLE, idx, "silu.out_frac",
			    s->offset + 12);
	if (s->align < 4)
		return fail(err, INPU_FW_E_SEC_ALIGN, idx, "align",
			    base + SEC(align));
	info->silu_values = (const __s32 *)(p + 16);
	return INPU_FW_OK;
}

/* State of one inpu_fw_parse() call. */
struct fw_parse {
	const __u8 *img;
	size_t len;
	struct inpu_fw_info *info;
	struct inpu_fw_error *err;
	__u32 payload_start;	/* after the section table */
	__u32 payload_end;	/* the digest */
	__u32 seen;		/* section types found, 1 << type */
	__u64 feat_have;	/* feature bits the sections provide */
};

/* Size, magic, format version and header size: before reading fields. */
static int check_preamble(const struct fw_parse *p)
{
	const __u8 *img = p->img;

	if (!img ||
	    p->len < sizeof(struct inpu_fw_header) + INPU_FW_DIGEST_BYTES)
		return fail(p->err, INPU_FW_E_TRUNCATED, -1, "image", 0);
	if (p->len > INPU_FW_MAX_SIZE)
		return fail(p->err, INPU_FW_E_TOO_LARGE, -1, "image", 0);
	if (le32(img + HDR(magic)) != INPU_FW_MAGIC)
		return fail(p->err, INPU_FW_E_MAGIC, -1, "magic", HDR(magic));
	if (le16(img + HDR(format_version)) != INPU_FW_FORMAT_VERSION)
		return fail(p->err, INPU_FW_E_FORMAT, -1, "format_version",
			    HDR(format_version));
	if (le16(img + HDR(header_size)) != sizeof(struct inpu_fw_header))
		return fail(p->err, INPU_FW_E_FORMAT, -1, "header_size",
			    HDR(header_size));
	return INPU_FW_OK;
}

/* The header's fields into info; no table or note found yet. */
static void read_header(const struct fw_parse *p)
{
	const __u8 *img = p->img;
	struct inpu_fw_info *info = p->info;

	info->fw_version = le32(img + HDR(fw_version));
	info->abi_version = le32(img + HDR(abi_version));
	info->features = le32(img + HDR(features)) |
			 (__u64)le32(img + HDR(features) + 4) << 32;
	info->image_size = le32(img + HDR(image_size));
	info->n_sections = le32(img + HDR(n_sections));
	info->exp_values = 0;
	info->silu_values = 0;
	info->note = 0;
	info->note_len = 0;
}

/* The header's values against the file, this engine and the format. */
static int check_header(const struct fw_parse *p)
{
	const struct inpu_fw_info *info = p->info;
	__u32 off;

	if (info->image_size != p->len)
		return fail(p->err, INPU_FW_E_SIZE, -1, "image_size",
			    HDR(image_size));
	if (info->abi_version < INPU_FW_ABI_MIN ||
	    info->abi_version > INPU_FW_ABI_VERSION)
		return fail(p->err, INPU_FW_E_ABI, -1, "abi_version",
			    HDR(abi_version));
	if (info->features & ~INPU_FW_FEAT_ALL)
		return fail(p->err, INPU_FW_E_FEATURES, -1, "features",
			    HDR(features));
	for (off = HDR(reserved); off < sizeof(struct inpu_fw_header); off += 4)
		if (le32(p->img + off))
			return fail(p->err, INPU_FW_E_RESERVED, -1, "reserved",
				    off);
	if (!info->n_sections || info->n_sections > INPU_FW_MAX_SECTIONS)
		return fail(p->err, INPU_FW_E_SECTIONS, -1, "n_sections",
			    HDR(n_sections));
	if (le32(p->img + HDR(section_offset)) != sizeof(struct inpu_fw_header))
		return fail(p->err, INPU_FW_E_SECTIONS, -1, "section_offset",
			    HDR(section_offset));
	return INPU_FW_OK;
}

/*
 * The payload area, from the end of the section table to the digest (and
 * info->digest_offset): the table must fit before the digest.
 */
static int find_payload(struct fw_parse *p)
{
	struct inpu_fw_info *info = p->info;

	p->payload_start = sizeof(struct inpu_fw_header) +
			   info->n_sections * sizeof(struct inpu_fw_section);
	info->digest_offset = info->image_size - INPU_FW_DIGEST_BYTES;
	p->payload_end = info->digest_offset;
	if (p->payload_start > p->payload_end)
		return fail(p->err, INPU_FW_E_TRUNCATED, -1, "n_sections",
			    HDR(n_sections));
	return INPU_FW_OK;
}

/* Section table entry @i (at image offset @base) into info->sections[i]. */
static void read_section(const struct fw_parse *p, __u32 i, __u32 base)
{
	struct inpu_fw_section *s = &p->info->sections[i];
	const __u8 *img = p->img;

	s->type = le32(img + base + SEC(type));
	s->flags = le32(img + base + SEC(flags));
	s->offset = le32(img + base + SEC(offset));
	s->size = le32(img + base + SEC(size));
	s->align = le32(img + base + SEC(align));
	s->reserved = le32(img + base + SEC(reserved));
}

/*
 * Entry @i itself: a known type not seen before, no flags, a valid
 * alignment, and a place in the payload after the entries before it.
 */
static int check_section(struct fw_parse *p, __u32 i, __u32 base)
{
	const struct inpu_fw_section *s = &p->info->sections[i];
	__u32 j;

	if (s->type < INPU_FW_SEC_EXP || s->type > INPU_FW_SEC_NOTE ||
	    (p->seen & (1u << s->type)))
		return fail(p->err, INPU_FW_E_SEC_TYPE, i, "type",
			    base + SEC(type));
	p->seen |= 1u << s->type;
	if (s->flags)
		return fail(p->err, INPU_FW_E_RESERVED, i, "flags",
			    base + SEC(flags));
	if (s->reserved)
		return fail(p->err, INPU_FW_E_RESERVED, i, "reserved",
			    base + SEC(reserved));
	/* The alignment itself first: an offset is only misaligned
	 * against a valid alignment.
	 */
	if (!s->align || (s->align & (s->align - 1)) ||
	    s->align > INPU_FW_MAX_ALIGN)
		return fail(p->err, INPU_FW_E_SEC_ALIGN, i, "align",
			    base + SEC(align));
	if (s->offset % s->align)
		return fail(p->err, INPU_FW_E_SEC_ALIGN, i, "offset",
			    base + SEC(offset));
	if (s->offset < p->payload_start || s->offset > p->payload_end)
		return fail(p->err, INPU_FW_E_SEC_RANGE, i, "offset",
			    base + SEC(offset));
	if (s->size > p->payload_end - s->offset)
		return fail(p->err, INPU_FW_E_SEC_RANGE, i, "size",
			    base + SEC(size));
	/* Sections in increasing order, so overlap means order. */
	for (j = 0; j < i; j++) {
		const struct inpu_fw_section *prev = &p->info->sections[j];

		if (s->offset < prev->offset + prev->size)
			return fail(p->err, INPU_FW_E_SEC_OVERLAP, i,
				    "offset", base + SEC(offset));
	}
	return INPU_FW_OK;
}

/* Section @i's contents: a table, checked into info, or the note. */
static int parse_contents(struct fw_parse *p, __u32 i, __u32 base)
{
	struct inpu_fw_info *info = p->info;
	const struct inpu_fw_section *s = &info->sections[i];
	int ret;

	if (s->type == INPU_FW_SEC_EXP) {
		ret = check_exp(p->img, s, i, base, info, p->err);
		p->feat_have |= INPU_FW_FEAT_EXP_TABLE;
	} else if (s->type == INPU_FW_SEC_SILU) {
		ret = check_silu(p->img, s, i, base, info, p->err);
		p->feat_have |= INPU_FW_FEAT_SILU_TABLE;
	} else {
		info->note = (const char *)(p->img + s->offset);
		info->note_len = s->size;
		ret = INPU_FW_OK;
	}
	return ret;
}

/* Every entry of the section table, then its contents, in table order. */
static int parse_sections(struct fw_parse *p)
{
	__u32 i;
	int ret;

	for (i = 0; i < p->info->n_sections; i++) {
		__u32 base = sizeof(struct inpu_fw_header) +
			     i * sizeof(struct inpu_fw_section);

		read_section(p, i, base);
		ret = check_section(p, i, base);
		if (ret)
			return ret;
		ret = parse_contents(p, i, base);
		if (ret)
			return ret;
	}
	return INPU_FW_OK;
}

/* The header's feature bits are exactly the sections found, and enough. */
static int check_features(const struct fw_parse *p)
{
	if (p->info->features != p->feat_have)
		return fail(p->err, INPU_FW_E_FEATURES, -1, "features",
			    HDR(features));
	/* Engine ABI 1 cannot run without both tables. */
	if (!(p->feat_have & INPU_FW_FEAT_EXP_TABLE))
		return fail(p->err, INPU_FW_E_MISSING, -1, "exp section", 0);
	if (!(p->feat_have & INPU_FW_FEAT_SILU_TABLE))
		return fail(p->err, INPU_FW_E_MISSING, -1, "silu section", 0);
	return INPU_FW_OK;
}

int inpu_fw_parse(const void *image, size_t len, struct inpu_fw_info *info,
		  struct inpu_fw_error *err)
{
	struct fw_parse p = { .img = image, .len = len, .info = info,
			      .err = err };
	int ret;

	ret = check_preamble(&p);
	if (ret)
		return ret;
	read_header(&p);
	ret = check_header(&p);
	if (ret)
		return ret;
	ret = find_payload(&p);
	if (ret)
		return ret;
	ret = parse_sections(&p);
	if (ret)
		return ret;
	ret = check_features(&p);
	if (ret)
		return ret;
	return fail(err, INPU_FW_OK, -1, "", 0);
}

int inpu_fw_digest_ok(const void *image, const struct inpu_fw_info *info,
		      const __u8 computed[INPU_FW_DIGEST_BYTES])
{
	const __u8 *stored = (const __u8 *)image + info->digest_offset;
	__u8 diff = 0;
	int i;

	for (i = 0; i < INPU_FW_DIGEST_BYTES; i++)
		diff |= stored[i] ^ computed[i];
	return diff == 0;
}
