// SPDX-License-Identifier: MIT
/*
 * The GGUF container reader (gguf.h): a cursor over the caller's buffer
 * that checks every length against what is left before it reads, so no
 * field of a hostile file can make it read outside the buffer or allocate
 * more than the file could describe.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "gguf_dequant.h"
#include "util.h"

/* Far above any real file; low enough that the tables stay small. */
#define MAX_KV		(1u << 16)
#define MAX_TENSORS	(1u << 16)
#define MAX_KEY		(1u << 16)
#define MAX_ALIGN	(1u << 16)

struct cur {
	const unsigned char *b;
	uint64_t len, off;
	const char *name;
	char *err;
	size_t errlen;
};

static const uint8_t vsize[INPU_GGUF_NTYPES] = {
	[INPU_GGUF_U8] = 1, [INPU_GGUF_I8] = 1, [INPU_GGUF_U16] = 2,
	[INPU_GGUF_I16] = 2, [INPU_GGUF_U32] = 4, [INPU_GGUF_I32] = 4,
	[INPU_GGUF_F32] = 4, [INPU_GGUF_BOOL] = 1, [INPU_GGUF_U64] = 8,
	[INPU_GGUF_I64] = 8, [INPU_GGUF_F64] = 8,
};

static int need(struct cur *c, uint64_t n, const char *what)
{
	if (c->len - c->off >= n)
		return 0;
	inpu_model_seterr(c->err, c->errlen,
			  "%s: truncated at offset %llu: %s needs %llu bytes, %llu left",
			  c->name, (unsigned long long)c->off, what,
			  (unsigned long long)n,
			  (unsigned long long)(c->len - c->off));
	return -EINVAL;
}

static int rd_u32(struct cur *c, uint32_t *v, const char *what)
{
	if (need(c, 4, what))
		return -EINVAL;
	memcpy(v, c->b + c->off, 4);
	c->off += 4;
	return 0;
}

static int rd_u64(struct cur *c, uint64_t *v, const char *what)
{
	if (need(c, 8, what))
		return -EINVAL;
	memcpy(v, c->b + c->off, 8);
	c->off += 8;
	return 0;
}

static int rd_str(struct cur *c, struct inpu_gguf_str *s, const char *what)
{
	if (rd_u64(c, &s->len, what) || need(c, s->len, what))
		return -EINVAL;
	s->s = (const char *)c->b + c->off;
	c->off += s->len;
	return 0;
}

int inpu_gguf_str_eq(struct inpu_gguf_str s, const char *c)
{
	return strlen(c) == s.len && !memcmp(s.s, c, s.len);
}

/* Skip one value of scalar or string type @t (array elements). */
static int skip_value(struct cur *c, uint32_t t, const char *what)
{
	struct inpu_gguf_str s;

	if (t == INPU_GGUF_STRING)
		return rd_str(c, &s, what);
	if (need(c, vsize[t], what))
		return -EINVAL;
	c->off += vsize[t];
	return 0;
}

/* The key, type and value of one pair; arrays are walked once to size them. */
static int parse_kv(struct cur *c, struct inpu_gguf_kv *kv)
{
	char what[96];

	kv->offset = c->off;
	if (rd_str(c, &kv->key, "a metadata key"))
		return -EINVAL;
	if (!kv->key.len || kv->key.len > MAX_KEY ||
	    memchr(kv->key.s, 0, kv->key.len)) {
		inpu_model_seterr(c->err, c->errlen,
				  "%s: metadata key at offset %llu: empty, longer than %u bytes or containing NUL",
				  c->name, (unsigned long long)kv->offset, MAX_KEY);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "key '%.*s'", (int)(kv->key.len > 60 ? 60 : kv->key.len),
		 kv->key.s);
	if (rd_u32(c, &kv->type, what))
		return -EINVAL;
	kv->n = 1;
	if (kv->type == INPU_GGUF_ARRAY) {
		if (rd_u32(c, &kv->elem_type, what) || rd_u64(c, &kv->n, what))
			return -EINVAL;
		if (kv->elem_type >= INPU_GGUF_NTYPES || kv->elem_type == INPU_GGUF_ARRAY) {
			inpu_model_seterr(c->err, c->errlen,
					  "%s: %s at offset %llu: array element type %u is not a scalar or string type",
					  c->name, what, (unsigned long long)kv->offset,
					  kv->elem_type);
			return -EINVAL;
		}
	} else if (kv->type >= INPU_GGUF_NTYPES) {
		inpu_model_seterr(c->err, c->errlen,
				  "%s: %s at offset %llu: unknown value type %u",
				  c->name, what, (unsigned long long)kv->offset, kv->type);
		return -EINVAL;
	} else {
		kv->elem_type = kv->type;
	}
	kv->val = c->b + c->off;
	if (kv->elem_type != INPU_GGUF_STRING) {
		/* n above the file size cannot fit; below it n * size cannot overflow */
		if (need(c, kv->n > c->len ? c->len + 1 : kv->n * vsize[kv->elem_type], what))
			return -EINVAL;
		c->off += kv->n * vsize[kv->elem_type];
		return 0;
	}
	for (uint64_t i = 0; i < kv->n; i++)	/* each string >= 8 bytes: bounded */
		if (skip_value(c, INPU_GGUF_STRING, what))
			return -EINVAL;
	return 0;
}

const struct inpu_gguf_kv *inpu_gguf_find(const struct inpu_gguf *g,
					  const char *key)
{
	for (uint64_t i = 0; i < g->n_kv; i++)
		if (inpu_gguf_str_eq(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

const struct inpu_gguf_tensor *inpu_gguf_tensor(const struct inpu_gguf *g,
						const char *name)
{
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (inpu_gguf_str_eq(g->tensor[i].name, name))
			return &g->tensor[i];
	return NULL;
}

static int parse_all_kv(struct cur *c, struct inpu_gguf *g)
{
	for (uint64_t i = 0; i < g->n_kv; i++) {
		struct inpu_gguf_kv *kv = &g->kv[i];

		if (parse_kv(c, kv))
			return -EINVAL;
		for (uint64_t j = 0; j < i; j++)
			if (g->kv[j].key.len == kv->key.len &&
			    !memcmp(g->kv[j].key.s, kv->key.s, kv->key.len)) {
				inpu_model_seterr(c->err, c->errlen,
						  "%s: metadata key '%.*s' at offset %llu appears twice",
						  c->name, (int)kv->key.len, kv->key.s,
						  (unsigned long long)kv->offset);
				return -EINVAL;
			}
	}
	return 0;
}

/* Shape, type and size of one tensor info (its data is placed later). */
static int parse_tensor_info(struct cur *c, struct inpu_gguf_tensor *t)
{
	uint64_t at = c->off, rowb;
	char what[96];

	if (rd_str(c, &t->name, "a tensor name"))
		return -EINVAL;
	snprintf(what, sizeof(what), "tensor '%.*s'",
		 (int)(t->name.len > 60 ? 60 : t->name.len), t->name.s);
	if (!t->name.len || t->name.len > 64 || memchr(t->name.s, 0, t->name.len)) {
		inpu_model_seterr(c->err, c->errlen,
				  "%s: tensor name at offset %llu: empty, longer than 64 bytes or containing NUL",
				  c->name, (unsigned long long)at);
		return -EINVAL;
	}
	if (rd_u32(c, &t->n_dims, what))
		return -EINVAL;
	if (t->n_dims < 1 || t->n_dims > INPU_GGUF_MAX_DIMS) {
		inpu_model_seterr(c->err, c->errlen, "%s: %s at offset %llu: %u dimensions (1..%d)",
				  c->name, what, (unsigned long long)at, t->n_dims,
				  INPU_GGUF_MAX_DIMS);
		return -EINVAL;
	}
	t->nelem = 1;
	for (uint32_t d = 0; d < INPU_GGUF_MAX_DIMS; d++) {
		t->ne[d] = 1;
		if (d < t->n_dims && rd_u64(c, &t->ne[d], what))
			return -EINVAL;
		if (!t->ne[d] || t->ne[d] > (1ull << 40) ||
		    inpu_mul_ovf(t->nelem, t->ne[d], &t->nelem) || t->nelem > (1ull << 40)) {
			inpu_model_seterr(c->err, c->errlen,
					  "%s: %s at offset %llu: dimension %u is %llu (the tensor must have 1..2^40 elements)",
					  c->name, what, (unsigned long long)at, d,
					  (unsigned long long)t->ne[d]);
			return -EINVAL;
		}
	}
	if (rd_u32(c, &t->type, what) || rd_u64(c, &t->offset, what))
		return -EINVAL;
	if (!inpu_ggml_block(t->type, &(uint32_t){0}, &(uint32_t){0})) {
		const char *tn = inpu_ggml_type_name(t->type);

		inpu_model_seterr(c->err, c->errlen,
				  "%s: %s: type %u (%s) is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)",
				  c->name, what, t->type, tn ? tn : "unknown");
		return -ENOTSUP;
	}
	rowb = inpu_ggml_row_bytes(t->type, t->ne[0]);
	if (!rowb) {
		inpu_model_seterr(c->err, c->errlen,
				  "%s: %s: a row of %llu elements is not a whole number of %s blocks",
				  c->name, what, (unsigned long long)t->ne[0],
				  inpu_ggml_type_name(t->type));
		return -EINVAL;
	}
	t->bytes = rowb * (t->nelem / t->ne[0]);	/* <= 2^40 * 34 / 32 */
	return 0;
}

static int cmp_off(const void *a, const void *b)
{
	const struct inpu_gguf_tensor *x = *(const struct inpu_gguf_tensor *const *)a;
	const struct inpu_gguf_tensor *y = *(const struct inpu_gguf_tensor *const *)b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every tensor aligned, inside the data section and apart from the others. */
static int place_tensors(struct cur *c, struct inpu_gguf *g)
{
	const struct inpu_gguf_tensor **by;
	uint64_t end = 0;
	int ret = 0;

	by = malloc((g->n_tensors ? g->n_tensors : 1) * sizeof(*by));
	if (!by)
		return -ENOMEM;
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct inpu_gguf_tensor *t = &g->tensor[i];
		uint64_t size = c->len - g->data_offset;

		by[i] = t;
		if (t->offset % g->alignment || t->offset > size || t->bytes > size - t->offset) {
			inpu_model_seterr(c->err, c->errlen,
					  "%s: tensor '%.*s': data at %llu + %llu bytes is %s the data section (%llu bytes at file offset %llu, alignment %llu)",
					  c->name, (int)t->name.len, t->name.s,
					  (unsigned long long)t->offset, (unsigned long long)t->bytes,
					  t->offset % g->alignment ? "misaligned in" : "outside",
					  (unsigned long long)size, (unsigned long long)g->data_offset,
					  (unsigned long long)g->alignment);
			free(by);
			return -EINVAL;
		}
		t->data = c->b + g->data_offset + t->offset;
		t->offset += g->data_offset;
	}
	qsort(by, g->n_tensors, sizeof(*by), cmp_off);
	for (uint64_t i = 0; i < g->n_tensors && !ret; i++) {
		if (i && by[i]->offset < end) {
			inpu_model_seterr(c->err, c->errlen,
					  "%s: tensor '%.*s' at file offset %llu overlaps tensor '%.*s'",
					  c->name, (int)by[i]->name.len, by[i]->name.s,
					  (unsigned long long)by[i]->offset,
					  (int)by[i - 1]->name.len, by[i - 1]->name.s);
			ret = -EINVAL;
		}
		end = by[i]->offset + by[i]->bytes;
	}
	free(by);
	return ret;
}

static int parse_tensors(struct cur *c, struct inpu_gguf *g)
{
	int ret;

	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct inpu_gguf_tensor *t = &g->tensor[i];

		ret = parse_tensor_info(c, t);
		if (ret)
			return ret;
		for (uint64_t j = 0; j < i; j++)
			if (g->tensor[j].name.len == t->name.len &&
			    !memcmp(g->tensor[j].name.s, t->name.s, t->name.len)) {
				inpu_model_seterr(c->err, c->errlen,
						  "%s: tensor '%.*s' appears twice",
						  c->name, (int)t->name.len, t->name.s);
				return -EINVAL;
			}
	}
	return 0;
}

/* general.alignment, if given: a power of two up to 64 KiB. */
static int parse_alignment(struct cur *c, struct inpu_gguf *g)
{
	uint32_t a;
	int ret = inpu_gguf_get_u32(g, "general.alignment", &a, c->err, c->errlen);

	g->alignment = INPU_GGUF_ALIGN;
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (!a || a & (a - 1) || a > MAX_ALIGN) {
		inpu_model_seterr(c->err, c->errlen,
				  "%s: general.alignment %u is not a power of two up to %u",
				  c->name, a, MAX_ALIGN);
		return -EINVAL;
	}
	g->alignment = a;
	return 0;
}

static int parse_header(struct cur *c, struct inpu_gguf *g)
{
	uint32_t magic;

	if (rd_u32(c, &magic, "the header") || magic != INPU_GGUF_MAGIC) {
		inpu_model_seterr(c->err, c->errlen, "%s: not a GGUF file (no \"GGUF\" magic)",
				  c->name);
		return -EINVAL;
	}
	if (rd_u32(c, &g->version, "the header"))
		return -EINVAL;
	if (g->version != 2 && g->version != 3) {
		inpu_model_seterr(c->err, c->errlen,
				  "%s: GGUF version %u is not supported (2 and 3, little-endian%s)",
				  c->name, g->version,
				  g->version > 0xffff ? "; this looks like a big-endian file" : "");
		return -ENOTSUP;
	}
	if (rd_u64(c, &g->n_tensors, "the header") || rd_u64(c, &g->n_kv, "the header"))
		return -EINVAL;
	if (g->n_tensors > MAX_TENSORS || g->n_kv > MAX_KV) {
		inpu_model_seterr(c->err, c->errlen,
				  "%s: header: %llu tensors and %llu metadata keys (at most %u and %u)",
				  c->name, (unsigned long long)g->n_tensors,
				  (unsigned long long)g->n_kv, MAX_TENSORS, MAX_KV);
		return -EINVAL;
	}
	g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof(*g->kv));
	g->tensor = calloc(g->n_tensors ? g->n_tensors : 1, sizeof(*g->tensor));
	return g->kv && g->tensor ? 0 : -ENOMEM;
}

int inpu_gguf_parse(const void *buf, size_t len, const char *name,
		    struct inpu_gguf **out, char *err, size_t errlen)
{
	struct cur c = { buf, len, 0, name ? name : "GGUF file", err, errlen };
	struct inpu_gguf *g = calloc(1, sizeof(*g));
	int ret;

	*out = NULL;
	if (!g)
		return -ENOMEM;
	g->name = c.name;	/* the typed getters' messages name the file */
	ret = parse_header(&c, g);
	if (!ret)
		ret = parse_all_kv(&c, g);
	if (!ret)
		ret = parse_alignment(&c, g);
	if (!ret)
		ret = parse_tensors(&c, g);
	if (!ret) {
		g->data_offset = inpu_align_up(c.off, g->alignment);
		if (g->data_offset > len)
			g->data_offset = len;	/* then only empty tensors fit */
		ret = place_tensors(&c, g);
	}
	if (ret == -ENOMEM)
		inpu_model_seterr(err, errlen, "%s: out of memory", c.name);
	if (ret) {
		inpu_gguf_free(g);
		return ret;
	}
	*out = g;
	return 0;
}

void inpu_gguf_free(struct inpu_gguf *g)
{
	if (!g)
		return;
	free(g->kv);
	free(g->tensor);
	free(g);
}

int inpu_gguf_is(const void *buf, size_t len)
{
	return len >= 4 && inpu_le_u32(buf) == INPU_GGUF_MAGIC;
}

double inpu_gguf_arr_num(const struct inpu_gguf_kv *kv, uint64_t i)
{
	const unsigned char *p = kv->val + i * vsize[kv->elem_type];
	union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32;
		int32_t i32; float f32; uint64_t u64; int64_t i64; double f64; } v;

	memcpy(&v, p, vsize[kv->elem_type]);
	switch (kv->elem_type) {
	case INPU_GGUF_U8: case INPU_GGUF_BOOL: return v.u8;
	case INPU_GGUF_I8: return v.i8;
	case INPU_GGUF_U16: return v.u16;
	case INPU_GGUF_I16: return v.i16;
	case INPU_GGUF_U32: return v.u32;
	case INPU_GGUF_I32: return v.i32;
	case INPU_GGUF_F32: return v.f32;
	case INPU_GGUF_U64: return (double)v.u64;
	case INPU_GGUF_I64: return (double)v.i64;
	case INPU_GGUF_F64: return v.f64;
	default: return NAN;
	}
}

void inpu_gguf_arr_strs(const struct inpu_gguf_kv *kv, struct inpu_gguf_str *out)
{
	const unsigned char *p = kv->val;	/* lengths checked by the parser */

	for (uint64_t i = 0; i < kv->n; i++) {
		memcpy(&out[i].len, p, 8);
		out[i].s = (const char *)p + 8;
		p += 8 + out[i].len;
	}
}

static int type_err(const struct inpu_gguf *g, const struct inpu_gguf_kv *kv,
		    const char *want, char *err, size_t errlen)
{
	inpu_model_seterr(err, errlen,
			  "%s: metadata key '%.*s' (offset %llu) has type %u%s, not %s",
			  g->name, (int)kv->key.len, kv->key.s, (unsigned long long)kv->offset,
			  kv->type, kv->type == INPU_GGUF_ARRAY ? " (array)" : "", want);
	return -EINVAL;
}

int inpu_gguf_get_u32(const struct inpu_gguf *g, const char *key, uint32_t *v,
		      char *err, size_t errlen)
{
	const struct inpu_gguf_kv *kv = inpu_gguf_find(g, key);
	double d;

	if (!kv)
		return -ENOENT;
	if (kv->type == INPU_GGUF_ARRAY || kv->type == INPU_GGUF_STRING ||
	    kv->type == INPU_GGUF_F32 || kv->type == INPU_GGUF_F64 ||
	    kv->type == INPU_GGUF_BOOL)
		return type_err(g, kv, "an integer", err, errlen);
	d = inpu_gguf_arr_num(kv, 0);	/* exact: |value| < 2^53 or out of range */
	if (d < 0 || d > UINT32_MAX) {
		inpu_model_seterr(err, errlen,
				  "%s: metadata key '%s' (offset %llu) is %.0f, outside 0..%u",
				  g->name, key, (unsigned long long)kv->offset, d, UINT32_MAX);
		return -EINVAL;
	}
	*v = (uint32_t)d;
	return 0;
}

int inpu_gguf_get_f32(const struct inpu_gguf *g, const char *key, float *v,
		      char *err, size_t errlen)
{
	const struct inpu_gguf_kv *kv = inpu_gguf_find(g, key);

	if (!kv)
		return -ENOENT;
	if (kv->type != INPU_GGUF_F32 && kv->type != INPU_GGUF_F64)
		return type_err(g, kv, "a float", err, errlen);
	*v = (float)inpu_gguf_arr_num(kv, 0);
	if (!isfinite(*v)) {
		inpu_model_seterr(err, errlen, "%s: metadata key '%s' (offset %llu) is not finite",
				  g->name, key, (unsigned long long)kv->offset);
		return -EINVAL;
	}
	return 0;
}

int inpu_gguf_get_str(const struct inpu_gguf *g, const char *key,
		      struct inpu_gguf_str *v, char *err, size_t errlen)
{
	const struct inpu_gguf_kv *kv = inpu_gguf_find(g, key);

	if (!kv)
		return -ENOENT;
	if (kv->type != INPU_GGUF_STRING)
		return type_err(g, kv, "a string", err, errlen);
	inpu_gguf_arr_strs(kv, v);
	return 0;
}
