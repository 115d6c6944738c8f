// SPDX-License-Identifier: MIT
/*
 * The quantized model in memory and its file format, .inpu (FORMAT.md):
 * a 256-byte header, the config, the integer parameters, the tensor table
 * and the page-aligned data section that is the device image of the
 * weights.  Little-endian, deterministic, SHA-256 over the whole file.
 *
 * Integer only: this file is part of the CPU backend's per-step path's
 * objects that the no-float gate checks.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <inpu/inpu_fw.h>

#include "inpu_engine.h"
#include "file.h"
#include "qmodel.h"
#include "tokenizer.h"
#include "util.h"

/* ---- header layout (FORMAT.md) ----------------------------------------- */

#define H_MAGIC		0
#define H_VERSION	4
#define H_HDRBYTES	6
#define H_FILESIZE	8
#define H_FWABI		16
#define H_STREAMVER	20
#define H_NTENSORS	24
#define H_CFGWORDS	28
#define H_GLOBWORDS	32
#define H_LAYERWORDS	36
#define H_CFGOFF	40
#define H_PARAMOFF	48
#define H_TABLEOFF	56
#define H_DATAOFF	64
#define H_DATASIZE	72
#define H_DIGEST	80
#define H_NOTE		112
#define H_TOKBYTES	(H_NOTE + INPU_QM_NOTE_LEN)	/* 240 */
#define H_END		(H_TOKBYTES + 8)	/* 248; zero to 256 */

#define CFG_WORDS	18

/* Tensor-table entry. */
#define T_NAME		0
#define T_DTYPE		32
#define T_RES0		33
#define T_ROWS		36
#define T_COLS		40
#define T_RES1		44
#define T_OFFSET	48
#define T_BYTES		56

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- in-memory model ---------------------------------------------------- */

struct inpu_qmodel *inpu_qmodel_alloc(const struct inpu_qconfig *cfg)
{
	struct inpu_qmodel *m;

	if (!cfg->n_layers || cfg->n_layers > INPU_QM_MAX_LAYERS)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cfg = *cfg;
	m->layers = calloc(cfg->n_layers, sizeof(*m->layers));
	if (!m->layers) {
		free(m);
		return NULL;
	}
	return m;
}

void inpu_qmodel_free(struct inpu_qmodel *m)
{
	if (!m)
		return;
	free(m->layers);
	free(m->tensors);
	free(m->data);
	free(m->tokenizer);
	free(m);
}

const struct inpu_qtensor *inpu_qmodel_find(const struct inpu_qmodel *m,
					     const char *name)
{
	for (uint32_t i = 0; i < m->n_tensors; i++)
		if (!strcmp(m->tensors[i].name, name))
			return &m->tensors[i];
	return NULL;
}

const struct inpu_qtensor *inpu_qmodel_findf(const struct inpu_qmodel *m,
					      const char *fmt, ...)
{
	char name[INPU_QM_NAME_LEN + 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return inpu_qmodel_find(m, name);
}

/* Bytes of a tensor of this dtype and shape; 0 if impossible. */
static uint64_t tensor_bytes(uint8_t dt, uint32_t rows, uint32_t cols)
{
	if (!rows || !cols || rows > INPU_QM_MAX_DIM * 8 ||
	    cols > INPU_QM_MAX_DIM * 8)
		return 0;
	if (dt == INPU_DT_W8_TILED || dt == INPU_DT_W4_TILED)
		return inpu_tiled_bytes(dt, rows, cols);
	return (uint64_t)rows * cols * inpu_dtype_size(dt);
}

static int tiled(uint8_t dt)
{
	return dt == INPU_DT_W8_TILED || dt == INPU_DT_W4_TILED;
}

int inpu_qmodel_add(struct inpu_qmodel *m, const char *name, uint8_t dtype,
		    uint32_t rows, uint32_t cols)
{
	uint64_t bytes = tensor_bytes(dtype, rows, cols);
	uint64_t off, end = 0, size;
	struct inpu_qtensor *t;
	uint8_t *d;

	if (!bytes || strlen(name) >= INPU_QM_NAME_LEN || !*name ||
	    inpu_qmodel_find(m, name) || m->n_tensors >= INPU_QM_MAX_TENSORS)
		return -EINVAL;
	/* data_size stays page-aligned: the true end is the last tensor's. */
	for (uint32_t i = 0; i < m->n_tensors; i++)
		if (m->tensors[i].offset + m->tensors[i].bytes > end)
			end = m->tensors[i].offset + m->tensors[i].bytes;
	off = inpu_align_up(end, tiled(dtype) ? INPU_QM_ALIGN :
						INPU_QM_VEC_ALIGN);
	size = inpu_align_up(off + bytes, INPU_QM_ALIGN);
	t = realloc(m->tensors, (m->n_tensors + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	m->tensors = t;
	if (size > m->data_size) {
		d = realloc(m->data, size);
		if (!d)
			return -ENOMEM;
		memset(d + m->data_size, 0, size - m->data_size);
		m->data = d;
		m->data_size = size;
	}
	t = &m->tensors[m->n_tensors++];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name, strlen(name));
	t->dtype = dtype;
	t->rows = rows;
	t->cols = cols;
	t->offset = off;
	t->bytes = bytes;
	return 0;
}

/* A linear layer's tensors PFX.w, PFX.gs (W4 only), PFX.qp. */
int inpu_qmodel_add_linear(struct inpu_qmodel *m, const char *pfx, uint32_t n,
			   uint32_t k, int w4)
{
	return inpu_qmodel_add_linear_fmt(m, pfx, n, k, w4, INPU_W4_GROUP, 0);
}

int inpu_qmodel_add_linear_fmt(struct inpu_qmodel *m, const char *pfx,
			       uint32_t n, uint32_t k, int w4, int group,
			       int zero)
{
	char name[INPU_QM_NAME_LEN + 8];
	uint32_t rows = (k + 127) / 128 * (128 / (uint32_t)group);
	int ret;

	if (w4 && group != INPU_W4_GROUP && group != INPU_W4_GROUP_SMALL)
		return -EINVAL;
	snprintf(name, sizeof(name), "%s.w", pfx);
	ret = inpu_qmodel_add(m, name, w4 ? INPU_DT_W4_TILED : INPU_DT_W8_TILED,
			      n, k);
	if (!ret && w4) {
		snprintf(name, sizeof(name), "%s.gs", pfx);
		ret = inpu_qmodel_add(m, name, INPU_DT_UINT8, rows,
				      (n + 63) / 64 * 64);
	}
	if (!ret && w4 && zero) {
		snprintf(name, sizeof(name), "%s.gz", pfx);
		ret = inpu_qmodel_add(m, name, INPU_DT_INT8, rows,
				      (n + 63) / 64 * 64);
	}
	if (!ret) {
		snprintf(name, sizeof(name), "%s.qp", pfx);
		ret = inpu_qmodel_add(m, name, INPU_DT_QPARAM, 1, n);
	}
	return ret;
}

void *inpu_qmodel_data(struct inpu_qmodel *m, const char *name)
{
	const struct inpu_qtensor *t = inpu_qmodel_find(m, name);

	return t ? m->data + t->offset : NULL;
}

/* ---- consistency --------------------------------------------------------- */

static int check_config(const struct inpu_qconfig *c, char *err,
			size_t errlen)
{
#define BAD(...) do { inpu_model_seterr(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)
	if (!c->dim || c->dim > INPU_QM_MAX_DIM || !c->hidden_dim ||
	    c->hidden_dim > INPU_QM_MAX_DIM)
		BAD("config: dim %u, hidden_dim %u out of range 1..%u", c->dim,
		    c->hidden_dim, INPU_QM_MAX_DIM);
	if (!c->n_layers || c->n_layers > INPU_QM_MAX_LAYERS)
		BAD("config: n_layers %u out of range 1..%u", c->n_layers,
		    INPU_QM_MAX_LAYERS);
	if (!c->n_heads || !c->n_kv_heads || c->n_heads > 65535 ||
	    c->n_heads % c->n_kv_heads || c->dim % c->n_heads)
		BAD("config: %u heads, %u kv heads do not divide dim %u",
		    c->n_heads, c->n_kv_heads, c->dim);
	if (c->head_dim != c->dim / c->n_heads || c->head_dim % 2 ||
	    c->head_dim > 65535)
		BAD("config: head_dim %u, expected an even dim / n_heads = %u",
		    c->head_dim, c->dim / c->n_heads);
	if (!c->vocab_size || c->vocab_size > (1u << 24))
		BAD("config: vocab_size %u out of range", c->vocab_size);
	if (!c->seq_len || c->seq_len > 65536)
		BAD("config: seq_len %u out of range 1..65536", c->seq_len);
	if (c->scheme != INPU_QS_W8A8 && c->scheme != INPU_QS_W4A8)
		BAD("config: unknown scheme %u", c->scheme);
	if (c->flags & ~INPU_QF_ALL)
		BAD("config: unknown flags 0x%x", c->flags & ~INPU_QF_ALL);
	if ((c->flags & (INPU_QF_DYN_ACT | INPU_QF_KEY16 | INPU_QF_W4_CODES)) &&
	    c->fw_abi < 2)
		BAD("config: per-token activation scales, int16 keys and 4-bit group codes need firmware ABI 2, the model says %u",
		    c->fw_abi);
	if (c->logit_frac > 30)
		BAD("config: logit_frac %u > 30", c->logit_frac);
	if (!c->exp_len || c->exp_frac > 30 || !c->silu_len ||
	    c->silu_zero >= c->silu_len || c->silu_in_frac > 30 ||
	    c->silu_out_frac > 30)
		BAD("config: bad table geometry (exp %u/%u, silu %u/%u/%u/%u)",
		    c->exp_len, c->exp_frac, c->silu_len, c->silu_zero,
		    c->silu_in_frac, c->silu_out_frac);
	return 0;
#undef BAD
}

static int shift_ok(int64_t s)
{
	return s >= 0 && s <= 62;
}

static int check_params(const struct inpu_qmodel *m, char *err,
			size_t errlen)
{
	const struct inpu_qglobal *g = &m->glob;

	if (!shift_ok(g->embed_shift) || !shift_ok(g->final_shift) ||
	    !g->final_eps) {
		inpu_model_seterr(err, errlen,
				  "parameters: global shift out of 0..62 or eps 0");
		return -EINVAL;
	}
	for (uint32_t l = 0; l < m->cfg.n_layers; l++) {
		const struct inpu_qlayer *p = &m->layers[l];

		if (!p->att_eps || !p->ffn_eps || !shift_ok(p->att_shift) ||
		    !shift_ok(p->ffn_shift) || !shift_ok(p->qkv_shift) ||
		    !shift_ok(p->score_shift) || !shift_ok(p->att_shift_out) ||
		    !shift_ok(p->silu_in_shift) || !shift_ok(p->silu_out_shift) ||
		    p->score_mult <= 0) {
			inpu_model_seterr(err, errlen,
					  "parameters: layer %u: a shift out of 0..62, eps 0 or score_mult <= 0",
					  l);
			return -EINVAL;
		}
	}
	return 0;
}

/* One required tensor: present, dtype allowed, shape as expected. */
static int need(const struct inpu_qmodel *m, const char *name, uint8_t dt,
		uint8_t dt_alt, uint32_t rows, uint32_t cols, char *err,
		size_t errlen, const struct inpu_qtensor **out)
{
	const struct inpu_qtensor *t = inpu_qmodel_find(m, name);

	if (!t) {
		inpu_model_seterr(err, errlen, "tensor %s: missing", name);
		return -EINVAL;
	}
	if (t->dtype != dt && t->dtype != dt_alt) {
		inpu_model_seterr(err, errlen, "tensor %s: dtype %u, expected %u",
				  name, t->dtype, dt);
		return -EINVAL;
	}
	if (t->rows != rows || t->cols != cols) {
		inpu_model_seterr(err, errlen,
				  "tensor %s: shape %u x %u, expected %u x %u",
				  name, t->rows, t->cols, rows, cols);
		return -EINVAL;
	}
	if (out)
		*out = t;
	return 0;
}

uint32_t inpu_qmodel_w4_group(uint32_t k, uint32_t gs_rows)
{
	return gs_rows == (k + 127) / 128 * 128 / INPU_W4_GROUP_SMALL ?
	       INPU_W4_GROUP_SMALL : INPU_W4_GROUP;
}

/*
 * A linear layer: weights (W8 or W4), group scales iff W4 (groups of 32
 * or 16 inputs, told by their rows), zero points only with W4 and then
 * in the group scales' shape, qparams.
 */
static int need_linear(const struct inpu_qmodel *m, const char *pfx,
		       uint32_t n, uint32_t k, char *err, size_t errlen)
{
	const struct inpu_qtensor *w, *gs;
	char name[INPU_QM_NAME_LEN + 8];
	uint32_t kpad = (k + 127) / 128 * 128, npad = (n + 63) / 64 * 64;
	const struct inpu_qparam *qp;
	int ret;

	snprintf(name, sizeof(name), "%s.w", pfx);
	ret = need(m, name, INPU_DT_W8_TILED, INPU_DT_W4_TILED, n, k, err,
		   errlen, &w);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "%s.gs", pfx);
	gs = inpu_qmodel_find(m, name);
	if (w->dtype == INPU_DT_W4_TILED) {
		/* Groups of 16 when the rows say so; else the rows must be Kpad / 32. */
		uint32_t rows = kpad / inpu_qmodel_w4_group(k, gs ? gs->rows : 0);

		ret = need(m, name, INPU_DT_UINT8, INPU_DT_UINT8, rows,
			   npad, err, errlen, NULL);
		if (ret)
			return ret;
		snprintf(name, sizeof(name), "%s.gz", pfx);
		if (inpu_qmodel_find(m, name)) {
			ret = need(m, name, INPU_DT_INT8, INPU_DT_INT8, rows, npad,
				   err, errlen, NULL);
			if (ret)
				return ret;
		}
	} else if (gs) {
		inpu_model_seterr(err, errlen,
				  "tensor %s: group scales for W8 weights", name);
		return -EINVAL;
	} else {
		snprintf(name, sizeof(name), "%s.gz", pfx);
		if (inpu_qmodel_find(m, name)) {
			inpu_model_seterr(err, errlen,
					  "tensor %s: zero points for W8 weights", name);
			return -EINVAL;
		}
	}
	snprintf(name, sizeof(name), "%s.qp", pfx);
	ret = need(m, name, INPU_DT_QPARAM, INPU_DT_QPARAM, 1, n, err, errlen,
		   NULL);
	if (ret)
		return ret;
	qp = (const struct inpu_qparam *)(m->data +
					   inpu_qmodel_find(m, name)->offset);
	for (uint32_t i = 0; i < n; i++) {
		struct inpu_qparam q;

		memcpy(&q, &qp[i], sizeof(q));
		if (!shift_ok(q.shift)) {
			inpu_model_seterr(err, errlen,
					  "tensor %s: channel %u: shift %d out of 0..62",
					  name, i, q.shift);
			return -EINVAL;
		}
	}
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const struct inpu_qtensor *x = *(const struct inpu_qtensor *const *)a;
	const struct inpu_qtensor *y = *(const struct inpu_qtensor *const *)b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_tensors(const struct inpu_qmodel *m, char *err,
			 size_t errlen)
{
	const struct inpu_qtensor **by;
	int ret = 0;

	if (m->data_size % INPU_QM_ALIGN) {
		inpu_model_seterr(err, errlen,
				  "data section: %llu bytes, not a multiple of %u",
				  (unsigned long long)m->data_size, INPU_QM_ALIGN);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < m->n_tensors; i++) {
		const struct inpu_qtensor *t = &m->tensors[i];
		uint64_t want = tensor_bytes(t->dtype, t->rows, t->cols);
		uint64_t al = tiled(t->dtype) ? INPU_QM_ALIGN : INPU_QM_VEC_ALIGN;

		if (memchr(t->name, 0, INPU_QM_NAME_LEN) == NULL || !t->name[0]) {
			inpu_model_seterr(err, errlen,
					  "tensor %u: name empty or not NUL-terminated", i);
			return -EINVAL;
		}
		if (t->dtype == INPU_DT_NONE || t->dtype >= INPU_DT_COUNT ||
		    t->dtype == INPU_DT_UINT64 || !want) {
			inpu_model_seterr(err, errlen,
					  "tensor %s: bad dtype %u or shape %u x %u",
					  t->name, t->dtype, t->rows, t->cols);
			return -EINVAL;
		}
		if (t->bytes != want) {
			inpu_model_seterr(err, errlen,
					  "tensor %s: %llu bytes, its dtype and shape need %llu",
					  t->name, (unsigned long long)t->bytes,
					  (unsigned long long)want);
			return -EINVAL;
		}
		if (t->offset % al) {
			inpu_model_seterr(err, errlen,
					  "tensor %s: offset %llu not a multiple of %llu",
					  t->name, (unsigned long long)t->offset,
					  (unsigned long long)al);
			return -EINVAL;
		}
		if (t->offset > m->data_size || t->bytes > m->data_size - t->offset) {
			inpu_model_seterr(err, errlen,
					  "tensor %s: [%llu, +%llu) outside the %llu-byte data section",
					  t->name, (unsigned long long)t->offset,
					  (unsigned long long)t->bytes,
					  (unsigned long long)m->data_size);
			return -EINVAL;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (!strcmp(m->tensors[j].name, t->name)) {
				inpu_model_seterr(err, errlen,
						  "tensor %s: listed twice", t->name);
				return -EINVAL;
			}
		}
	}
	by = malloc((m->n_tensors ? m->n_tensors : 1) * sizeof(*by));
	if (!by)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->n_tensors; i++)
		by[i] = &m->tensors[i];
	qsort(by, m->n_tensors, sizeof(*by), cmp_offset);
	for (uint32_t i = 1; i < m->n_tensors && !ret; i++) {
		if (by[i - 1]->offset + by[i - 1]->bytes > by[i]->offset) {
			inpu_model_seterr(err, errlen, "tensors %s and %s overlap",
					  by[i - 1]->name, by[i]->name);
			ret = -EINVAL;
		}
	}
	free(by);
	return ret;
}

int inpu_qmodel_check(const struct inpu_qmodel *m, char *err, size_t errlen)
{
	const struct inpu_qconfig *c = &m->cfg;
	char p[INPU_QM_NAME_LEN];
	uint32_t kv;
	int ret;

	ret = check_config(c, err, errlen);
	if (!ret)
		ret = check_params(m, err, errlen);
	if (!ret)
		ret = check_tensors(m, err, errlen);
	if (ret)
		return ret;
	/* Only now is n_heads known not to be zero. */
	kv = c->dim / c->n_heads * c->n_kv_heads;
#define NEED(name, dt, r, cc) do { \
		ret = need(m, name, dt, dt, r, cc, err, errlen, NULL); \
		if (ret) \
			return ret; \
	} while (0)
#define LIN(pfx, n, k) do { \
		ret = need_linear(m, pfx, n, k, err, errlen); \
		if (ret) \
			return ret; \
	} while (0)
	NEED("embed", INPU_DT_INT16, c->vocab_size, c->dim);
	NEED("rope", INPU_DT_INT16, c->seq_len, c->head_dim);
	NEED("final.g", INPU_DT_INT32, 1, c->dim);
	LIN("cls", c->vocab_size, c->dim);
	for (uint32_t l = 0; l < c->n_layers; l++) {
		snprintf(p, sizeof(p), "l%u.att.g", l);
		NEED(p, INPU_DT_INT32, 1, c->dim);
		snprintf(p, sizeof(p), "l%u.ffn.g", l);
		NEED(p, INPU_DT_INT32, 1, c->dim);
		snprintf(p, sizeof(p), "l%u.qkv", l);
		LIN(p, c->dim + 2 * kv, c->dim);
		snprintf(p, sizeof(p), "l%u.wo", l);
		LIN(p, c->dim, c->dim);
		snprintf(p, sizeof(p), "l%u.w13", l);
		LIN(p, 2 * c->hidden_dim, c->dim);
		snprintf(p, sizeof(p), "l%u.w2", l);
		LIN(p, c->dim, c->hidden_dim);
	}
#undef NEED
#undef LIN
	return 0;
}

/* ---- serialization -------------------------------------------------------- */

static void config_words(const struct inpu_qconfig *c, uint32_t *w)
{
	uint32_t v[CFG_WORDS] = {
		c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
		c->head_dim, c->vocab_size, c->seq_len, c->scheme, c->flags,
		c->logit_frac, c->fw_abi, c->exp_len, c->exp_frac, c->silu_len,
		c->silu_zero, c->silu_in_frac, c->silu_out_frac,
	};

	memcpy(w, v, sizeof(v));
}

static void config_from(struct inpu_qconfig *c, const uint32_t *w)
{
	c->dim = w[0];
	c->hidden_dim = w[1];
	c->n_layers = w[2];
	c->n_heads = w[3];
	c->n_kv_heads = w[4];
	c->head_dim = w[5];
	c->vocab_size = w[6];
	c->seq_len = w[7];
	c->scheme = w[8];
	c->flags = w[9];
	c->logit_frac = w[10];
	c->fw_abi = w[11];
	c->exp_len = w[12];
	c->exp_frac = w[13];
	c->silu_len = w[14];
	c->silu_zero = w[15];
	c->silu_in_frac = w[16];
	c->silu_out_frac = w[17];
}

static void global_words(const struct inpu_qglobal *g, uint32_t *w)
{
	w[0] = (uint32_t)g->embed_mult;
	w[1] = (uint32_t)g->embed_shift;
	w[2] = g->final_eps;
	w[3] = g->final_shift;
}

static void global_from(struct inpu_qglobal *g, const uint32_t *w)
{
	g->embed_mult = (int32_t)w[0];
	g->embed_shift = (int32_t)w[1];
	g->final_eps = w[2];
	g->final_shift = w[3];
}

static void layer_words(const struct inpu_qlayer *p, uint32_t *w)
{
	w[0] = p->att_eps;
	w[1] = p->att_shift;
	w[2] = (uint32_t)p->qkv_shift;
	w[3] = (uint32_t)p->score_mult;
	w[4] = (uint32_t)p->score_shift;
	w[5] = (uint32_t)p->att_mult;
	w[6] = (uint32_t)p->att_shift_out;
	w[7] = p->ffn_eps;
	w[8] = p->ffn_shift;
	w[9] = (uint32_t)p->silu_in_mult;
	w[10] = (uint32_t)p->silu_in_shift;
	w[11] = (uint32_t)p->silu_out_mult;
	w[12] = (uint32_t)p->silu_out_shift;
}

static void layer_from(struct inpu_qlayer *p, const uint32_t *w)
{
	p->att_eps = w[0];
	p->att_shift = w[1];
	p->qkv_shift = (int32_t)w[2];
	p->score_mult = (int32_t)w[3];
	p->score_shift = (int32_t)w[4];
	p->att_mult = (int32_t)w[5];
	p->att_shift_out = (int32_t)w[6];
	p->ffn_eps = w[7];
	p->ffn_shift = w[8];
	p->silu_in_mult = (int32_t)w[9];
	p->silu_in_shift = (int32_t)w[10];
	p->silu_out_mult = (int32_t)w[11];
	p->silu_out_shift = (int32_t)w[12];
}

/* Section offsets of the canonical layout for a model of this size. */
struct qm_layout {
	uint64_t cfg, params, table, data, tok, end;
};

static int file_layout(uint32_t n_layers, uint32_t n_tensors,
		       uint64_t data_size, uint64_t tok_bytes,
		       struct qm_layout *l)
{
	uint64_t pw = INPU_QM_GLOBAL_WORDS +
		      (uint64_t)n_layers * INPU_QM_LAYER_WORDS;

	l->cfg = INPU_QM_HEADER_BYTES;
	l->params = l->cfg + CFG_WORDS * 4;
	l->table = inpu_align_up(l->params + pw * 4, INPU_QM_TENSOR_BYTES);
	l->data = inpu_align_up(l->table +
				(uint64_t)n_tensors * INPU_QM_TENSOR_BYTES,
				INPU_QM_ALIGN);
	if (data_size > UINT64_MAX / 4 || tok_bytes > INPU_QM_MAX_TOKENIZER)
		return -EFBIG;
	l->tok = l->data + data_size;
	l->end = l->tok + tok_bytes;
	return 0;
}

/* SHA-256 of @len bytes with the digest field taken as zero. */
static int digest(const uint8_t *buf, size_t len, uint8_t out[32])
{
	static const uint8_t zero[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, buf, H_DIGEST) &&
	     EVP_DigestUpdate(ctx, zero, sizeof(zero)) &&
	     EVP_DigestUpdate(ctx, buf + H_DIGEST + 32, len - H_DIGEST - 32) &&
	     EVP_DigestFinal_ex(ctx, out, &n) && n == 32;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

int inpu_qmodel_serialize(const struct inpu_qmodel *m, uint8_t **out,
			  size_t *outlen, char *err, size_t errlen)
{
	uint32_t cfgw[CFG_WORDS], w[INPU_QM_LAYER_WORDS];
	struct qm_layout l;
	uint8_t *b, *p;
	int ret;

	*out = NULL;
	*outlen = 0;
	ret = inpu_qmodel_check(m, err, errlen);
	if (ret)
		return ret;
	if (memchr(m->note, 0, sizeof(m->note)) == NULL) {
		inpu_model_seterr(err, errlen, "note not NUL-terminated");
		return -EINVAL;
	}
	ret = file_layout(m->cfg.n_layers, m->n_tensors, m->data_size,
			  m->tokenizer_bytes, &l);
	if (ret || l.end > SIZE_MAX) {
		inpu_model_seterr(err, errlen, "model too large");
		return -EFBIG;
	}
	b = calloc(1, (size_t)l.end);
	if (!b) {
		inpu_model_seterr(err, errlen, "out of memory for %llu bytes",
				  (unsigned long long)l.end);
		return -ENOMEM;
	}
	put32(b + H_MAGIC, INPU_QM_MAGIC);
	put16(b + H_VERSION, INPU_QM_VERSION);
	put16(b + H_HDRBYTES, INPU_QM_HEADER_BYTES);
	put64(b + H_FILESIZE, l.end);
	put32(b + H_FWABI, m->cfg.fw_abi);
	put32(b + H_STREAMVER, INPU_STREAM_VERSION);
	put32(b + H_NTENSORS, m->n_tensors);
	put32(b + H_CFGWORDS, CFG_WORDS);
	put32(b + H_GLOBWORDS, INPU_QM_GLOBAL_WORDS);
	put32(b + H_LAYERWORDS, INPU_QM_LAYER_WORDS);
	put64(b + H_CFGOFF, l.cfg);
	put64(b + H_PARAMOFF, l.params);
	put64(b + H_TABLEOFF, l.table);
	put64(b + H_DATAOFF, l.data);
	put64(b + H_DATASIZE, m->data_size);
	memcpy(b + H_NOTE, m->note, strlen(m->note));
	put64(b + H_TOKBYTES, m->tokenizer_bytes);

	config_words(&m->cfg, cfgw);
	for (int i = 0; i < CFG_WORDS; i++)
		put32(b + l.cfg + 4 * i, cfgw[i]);
	p = b + l.params;
	global_words(&m->glob, w);
	for (int i = 0; i < INPU_QM_GLOBAL_WORDS; i++, p += 4)
		put32(p, w[i]);
	for (uint32_t k = 0; k < m->cfg.n_layers; k++) {
		layer_words(&m->layers[k], w);
		for (int i = 0; i < INPU_QM_LAYER_WORDS; i++, p += 4)
			put32(p, w[i]);
	}
	for (uint32_t i = 0; i < m->n_tensors; i++) {
		const struct inpu_qtensor *t = &m->tensors[i];
		uint8_t *e = b + l.table + (uint64_t)i * INPU_QM_TENSOR_BYTES;

		memcpy(e + T_NAME, t->name, strlen(t->name));
		e[T_DTYPE] = t->dtype;
		put32(e + T_ROWS, t->rows);
		put32(e + T_COLS, t->cols);
		put64(e + T_OFFSET, t->offset);
		put64(e + T_BYTES, t->bytes);
	}
	memcpy(b + l.data, m->data, m->data_size);
	if (m->tokenizer_bytes)
		memcpy(b + l.tok, m->tokenizer, m->tokenizer_bytes);
	ret = digest(b, (size_t)l.end, b + H_DIGEST);
	if (ret) {
		inpu_model_seterr(err, errlen, "SHA-256 failed");
		free(b);
		return ret;
	}
	*out = b;
	*outlen = (size_t)l.end;
	return 0;
}

int inpu_qmodel_save(const struct inpu_qmodel *m, const char *path,
		     char *err, size_t errlen)
{
	char tmp[4096];
	uint8_t *buf;
	size_t len, off = 0;
	int fd, ret;

	ret = inpu_qmodel_serialize(m, &buf, &len, err, errlen);
	if (ret)
		return ret;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp)) {
		free(buf);
		inpu_model_seterr(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		inpu_model_seterr(err, errlen, "%s: %s", path, strerror(-ret));
		free(buf);
		return ret;
	}
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			inpu_model_seterr(err, errlen, "%s: write: %s", path,
					  strerror(-ret));
			close(fd);
			unlink(tmp);
			free(buf);
			return ret;
		}
		off += (size_t)n;
	}
	free(buf);
	/* mkstemp makes the file 0600; a model is an ordinary output file. */
	if (fchmod(fd, 0644) || close(fd) || rename(tmp, path)) {
		ret = -errno;
		inpu_model_seterr(err, errlen, "%s: %s", path, strerror(-ret));
		unlink(tmp);
		return ret;
	}
	return 0;
}

/* ---- parsing --------------------------------------------------------------- */

int inpu_qmodel_sniff(const void *buf, size_t len)
{
	return len >= 4 && get32(buf) == INPU_QM_MAGIC;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * Text fields are NUL-terminated and NUL-padded (FORMAT.md): bytes after
 * the NUL would be carried by the file but lost by the model, and the
 * writer's one valid file per model would not be the only one.
 */
static int nul_padded(const uint8_t *p, size_t n)
{
	const uint8_t *z = memchr(p, 0, n);

	return z && all_zero(z, n - (size_t)(z - p));
}

/*
 * Every parse error is "<name>: <message>", with the message formatted
 * into an INPU_MODEL_ERRLEN buffer first so that a long one is cut the
 * same way whatever the caller's @errlen.  Returns @code.
 */
static int __attribute__((format(printf, 5, 6)))
parse_fail(char *err, size_t errlen, const char *name, int code,
	   const char *fmt, ...)
{
	char msg[INPU_MODEL_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	inpu_model_seterr(err, errlen, "%s: %s", name, msg);
	return code;
}

/*
 * The header fields that do not depend on the config: once the size
 * matches, the checksum vouches for the rest of the file.
 */
static int check_header(const uint8_t *b, size_t len, const char *name,
			char *err, size_t errlen)
{
	uint8_t dg[32];
	uint64_t fsize;
	int ret;

	if (len < 4 || get32(b + H_MAGIC) != INPU_QM_MAGIC)
		return parse_fail(err, errlen, name, -EINVAL,
				  "not an .inpu model (bad magic)");
	if (len < INPU_QM_HEADER_BYTES)
		return parse_fail(err, errlen, name, -EINVAL,
				  "truncated: %zu bytes, shorter than the %u-byte header",
				  len, INPU_QM_HEADER_BYTES);
	if (get16(b + H_VERSION) != INPU_QM_VERSION)
		return parse_fail(err, errlen, name, -ENOTSUP,
				  "format version %u, this build reads version %u",
				  get16(b + H_VERSION), INPU_QM_VERSION);
	if (get16(b + H_HDRBYTES) != INPU_QM_HEADER_BYTES)
		return parse_fail(err, errlen, name, -EINVAL,
				  "header size %u, expected %u",
				  get16(b + H_HDRBYTES), INPU_QM_HEADER_BYTES);
	fsize = get64(b + H_FILESIZE);
	if (fsize != len)
		return parse_fail(err, errlen, name, -EINVAL,
				  "%zu bytes, the header says %llu (%s)", len,
				  (unsigned long long)fsize,
				  fsize > len ? "truncated" : "trailing data");
	ret = digest(b, len, dg);
	if (ret)
		return parse_fail(err, errlen, name, ret, "SHA-256 failed");
	if (memcmp(dg, b + H_DIGEST, 32))
		return parse_fail(err, errlen, name, -EINVAL,
				  "SHA-256 checksum mismatch: the file is corrupt");
	if (get32(b + H_FWABI) < INPU_FW_ABI_MIN ||
	    get32(b + H_FWABI) > INPU_FW_ABI_VERSION)
		return parse_fail(err, errlen, name, -ENOTSUP,
				  "built for firmware ABI %u, this build supports ABI %u to %u",
				  get32(b + H_FWABI), INPU_FW_ABI_MIN,
				  INPU_FW_ABI_VERSION);
	if (get32(b + H_STREAMVER) != INPU_STREAM_VERSION)
		return parse_fail(err, errlen, name, -ENOTSUP,
				  "built for command-stream version %u, this build has %u",
				  get32(b + H_STREAMVER), INPU_STREAM_VERSION);
	if (get32(b + H_CFGWORDS) != CFG_WORDS ||
	    get32(b + H_GLOBWORDS) != INPU_QM_GLOBAL_WORDS ||
	    get32(b + H_LAYERWORDS) != INPU_QM_LAYER_WORDS)
		return parse_fail(err, errlen, name, -EINVAL,
				  "section word counts %u/%u/%u, expected %u/%u/%u",
				  get32(b + H_CFGWORDS), get32(b + H_GLOBWORDS),
				  get32(b + H_LAYERWORDS), CFG_WORDS,
				  INPU_QM_GLOBAL_WORDS, INPU_QM_LAYER_WORDS);
	if (!all_zero(b + H_END, INPU_QM_HEADER_BYTES - H_END))
		return parse_fail(err, errlen, name, -EINVAL,
				  "reserved header bytes not zero");
	if (!nul_padded(b + H_NOTE, INPU_QM_NOTE_LEN))
		return parse_fail(err, errlen, name, -EINVAL,
				  "note not NUL-terminated and NUL-padded");
	if (get64(b + H_CFGOFF) != INPU_QM_HEADER_BYTES)
		return parse_fail(err, errlen, name, -EINVAL,
				  "config at offset %llu, expected %u",
				  (unsigned long long)get64(b + H_CFGOFF),
				  INPU_QM_HEADER_BYTES);
	return 0;
}

/* Read and check the config section that follows the header. */
static int read_config(const uint8_t *b, size_t len, const char *name,
		       struct inpu_qconfig *cfg, char *err, size_t errlen)
{
	uint32_t cfgw[CFG_WORDS];
	char msg[INPU_MODEL_ERRLEN];
	int ret;

	/* The config gives the layout that the size is checked against
	 * later; it must be inside the file before it is read.
	 */
	if (len < INPU_QM_HEADER_BYTES + CFG_WORDS * 4)
		return parse_fail(err, errlen, name, -EINVAL,
				  "truncated: %zu bytes, shorter than the header and the config (%u bytes)",
				  len, INPU_QM_HEADER_BYTES + CFG_WORDS * 4);
	for (int i = 0; i < CFG_WORDS; i++)
		cfgw[i] = get32(b + INPU_QM_HEADER_BYTES + 4 * i);
	memset(cfg, 0, sizeof(*cfg));
	config_from(cfg, cfgw);
	if (cfg->fw_abi != get32(b + H_FWABI))
		return parse_fail(err, errlen, name, -EINVAL,
				  "config firmware ABI %u differs from the header's %u",
				  cfg->fw_abi, get32(b + H_FWABI));
	ret = check_config(cfg, msg, sizeof(msg));
	if (ret) {
		inpu_model_seterr(err, errlen, "%s: %s", name, msg);
		return ret;
	}
	return 0;
}

/*
 * The sections must sit exactly where the canonical layout for this
 * config, tensor count and data size puts them, with zero padding
 * between them: the writer makes one valid file per model.
 */
static int check_layout(const uint8_t *b, size_t len, const char *name,
			const struct inpu_qconfig *cfg, uint32_t *n_tensors,
			uint64_t *data_size, struct qm_layout *l,
			char *err, size_t errlen)
{
	uint64_t param_bytes = (INPU_QM_GLOBAL_WORDS +
				(uint64_t)cfg->n_layers * INPU_QM_LAYER_WORDS) * 4;
	uint64_t table_bytes;

	*n_tensors = get32(b + H_NTENSORS);
	if (*n_tensors > INPU_QM_MAX_TENSORS)
		return parse_fail(err, errlen, name, -EINVAL,
				  "%u tensors, more than %u", *n_tensors,
				  INPU_QM_MAX_TENSORS);
	*data_size = get64(b + H_DATASIZE);
	if (file_layout(cfg->n_layers, *n_tensors, *data_size,
			get64(b + H_TOKBYTES), l))
		return parse_fail(err, errlen, name, -EINVAL,
				  "data size %llu or tokenizer size %llu too large (at most %u)",
				  (unsigned long long)*data_size,
				  (unsigned long long)get64(b + H_TOKBYTES),
				  INPU_QM_MAX_TOKENIZER);
	if (get64(b + H_PARAMOFF) != l->params ||
	    get64(b + H_TABLEOFF) != l->table ||
	    get64(b + H_DATAOFF) != l->data)
		return parse_fail(err, errlen, name, -EINVAL,
				  "section offsets %llu/%llu/%llu, expected %llu/%llu/%llu",
				  (unsigned long long)get64(b + H_PARAMOFF),
				  (unsigned long long)get64(b + H_TABLEOFF),
				  (unsigned long long)get64(b + H_DATAOFF),
				  (unsigned long long)l->params,
				  (unsigned long long)l->table,
				  (unsigned long long)l->data);
	if (*data_size % INPU_QM_ALIGN)
		return parse_fail(err, errlen, name, -EINVAL,
				  "data section of %llu bytes, not a multiple of %u",
				  (unsigned long long)*data_size, INPU_QM_ALIGN);
	if (l->end != len)
		return parse_fail(err, errlen, name, -EINVAL,
				  "sections end at %llu, the file has %zu bytes",
				  (unsigned long long)l->end, len);
	table_bytes = (uint64_t)*n_tensors * INPU_QM_TENSOR_BYTES;
	if (!all_zero(b + l->params + param_bytes,
		      l->table - l->params - param_bytes) ||
	    !all_zero(b + l->table + table_bytes,
		      l->data - l->table - table_bytes))
		return parse_fail(err, errlen, name, -EINVAL,
				  "padding between sections not zero");
	return 0;
}

/* The note and the global and per-layer parameters; checked later. */
static void read_params(struct inpu_qmodel *m, const uint8_t *b,
			const struct qm_layout *l)
{
	uint32_t w[INPU_QM_LAYER_WORDS];
	const uint8_t *p = b + l->params;

	memcpy(m->note, b + H_NOTE, INPU_QM_NOTE_LEN);
	for (int i = 0; i < INPU_QM_GLOBAL_WORDS; i++, p += 4)
		w[i] = get32(p);
	global_from(&m->glob, w);
	for (uint32_t k = 0; k < m->cfg.n_layers; k++) {
		for (int i = 0; i < INPU_QM_LAYER_WORDS; i++, p += 4)
			w[i] = get32(p);
		layer_from(&m->layers[k], w);
	}
}

/*
 * The tensor table and the data section.  Only the entries' padding is
 * checked here; inpu_qmodel_check() checks what they describe.
 */
static int read_tensors(struct inpu_qmodel *m, const uint8_t *b,
			const struct qm_layout *l, uint32_t n_tensors,
			uint64_t data_size, const char *name,
			char *err, size_t errlen)
{
	m->tensors = calloc(n_tensors ? n_tensors : 1, sizeof(*m->tensors));
	m->data = malloc(data_size ? data_size : 1);
	if (!m->tensors || !m->data)
		return parse_fail(err, errlen, name, -ENOMEM, "out of memory");
	m->n_tensors = n_tensors;
	m->data_size = data_size;
	memcpy(m->data, b + l->data, data_size);
	for (uint32_t i = 0; i < n_tensors; i++) {
		const uint8_t *e = b + l->table + (uint64_t)i * INPU_QM_TENSOR_BYTES;
		struct inpu_qtensor *t = &m->tensors[i];

		if (!nul_padded(e + T_NAME, INPU_QM_NAME_LEN) ||
		    !all_zero(e + T_RES0, 3) || !all_zero(e + T_RES1, 4))
			return parse_fail(err, errlen, name, -EINVAL,
					  "tensor table entry %u: name not NUL-terminated and NUL-padded, or reserved bytes not zero",
					  i);
		memcpy(t->name, e + T_NAME, INPU_QM_NAME_LEN);
		t->dtype = e[T_DTYPE];
		t->rows = get32(e + T_ROWS);
		t->cols = get32(e + T_COLS);
		t->offset = get64(e + T_OFFSET);
		t->bytes = get64(e + T_BYTES);
	}
	return 0;
}

/* The optional tokenizer section: a valid tokenizer of vocab_size tokens. */
static int read_tokenizer(struct inpu_qmodel *m, const uint8_t *b,
			  const struct qm_layout *l, const char *name,
			  char *err, size_t errlen)
{
	struct inpu_tokenizer *t;
	char msg[INPU_MODEL_ERRLEN];
	uint64_t n = l->end - l->tok;
	int ret;

	if (!n)
		return 0;
	ret = inpu_tokenizer_parse(b + l->tok, (size_t)n, "tokenizer section", &t,
				   msg, sizeof(msg));
	if (ret)
		return parse_fail(err, errlen, name, ret, "%s", msg);
	ret = inpu_tokenizer_size(t);
	inpu_tokenizer_free(t);
	if ((uint32_t)ret != m->cfg.vocab_size)
		return parse_fail(err, errlen, name, -EINVAL,
				  "the tokenizer section has %d tokens, vocab_size is %u",
				  ret, m->cfg.vocab_size);
	m->tokenizer = malloc((size_t)n);
	if (!m->tokenizer)
		return parse_fail(err, errlen, name, -ENOMEM, "out of memory");
	memcpy(m->tokenizer, b + l->tok, (size_t)n);
	m->tokenizer_bytes = n;
	return 0;
}

int inpu_qmodel_set_tokenizer(struct inpu_qmodel *m,
			      const struct inpu_tokenizer *t)
{
	uint8_t *buf;
	size_t len;

	if (inpu_tokenizer_serialize(t, &buf, &len))
		return -ENOMEM;
	if (len > INPU_QM_MAX_TOKENIZER) {
		free(buf);
		return -EFBIG;
	}
	free(m->tokenizer);
	m->tokenizer = buf;
	m->tokenizer_bytes = len;
	return 0;
}

int inpu_qmodel_tokenizer(const struct inpu_qmodel *m, const char *name,
			  struct inpu_tokenizer **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!m->tokenizer_bytes) {
		inpu_model_seterr(err, errlen,
				  "%s carries no tokenizer (a model made before tokenizers were embedded): give one with -z",
				  name);
		return -ENOENT;
	}
	return inpu_tokenizer_parse(m->tokenizer, (size_t)m->tokenizer_bytes, name,
				    out, err, errlen);
}

int inpu_qmodel_parse(const void *buf, size_t len, const char *name,
		      struct inpu_qmodel **out, char *err, size_t errlen)
{
	const uint8_t *b = buf;
	struct inpu_qconfig cfg;
	struct inpu_qmodel *m;
	struct qm_layout l = { 0 };
	uint32_t n_tensors = 0;
	uint64_t data_size = 0;
	char msg[INPU_MODEL_ERRLEN];
	int ret;

	*out = NULL;
	ret = check_header(b, len, name, err, errlen);
	if (ret)
		return ret;
	ret = read_config(b, len, name, &cfg, err, errlen);
	if (ret)
		return ret;
	ret = check_layout(b, len, name, &cfg, &n_tensors, &data_size, &l,
			   err, errlen);
	if (ret)
		return ret;

	m = inpu_qmodel_alloc(&cfg);
	if (!m)
		return parse_fail(err, errlen, name, -ENOMEM, "out of memory");
	read_params(m, b, &l);
	ret = read_tensors(m, b, &l, n_tensors, data_size, name, err, errlen);
	if (!ret)
		ret = read_tokenizer(m, b, &l, name, err, errlen);
	if (ret) {
		inpu_qmodel_free(m);
		return ret;
	}
	ret = inpu_qmodel_check(m, msg, sizeof(msg));
	if (ret) {
		inpu_qmodel_free(m);
		inpu_model_seterr(err, errlen, "%s: %s", name, msg);
		return ret;
	}
	*out = m;
	return 0;
}

int inpu_qmodel_load(const char *path, struct inpu_qmodel **out, char *err,
		     size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	*out = NULL;
	ret = inpu_read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = inpu_qmodel_parse(buf, len, path, out, err, errlen);
	free(buf);
	return ret;
}
