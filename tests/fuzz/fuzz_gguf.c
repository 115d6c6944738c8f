// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the GGUF reader (userspace/reference/gguf.c, the
 * llama loader gguf_llama.c and its tokenizer gguf_tokenizer.c): `inpu run`,
 * `ppl`, `generate` and `quantize` open GGUF files named on the command
 * line, and the float forward pass, the quantizer and the runtime's
 * tokenizer trust what the reader accepts.  Besides ASan and UBSan it
 * checks the reader's promises:
 *  - inpu_gguf_parse(): an error is one message naming the file; an
 *    accepted file has every key, value and string, and every tensor's
 *    data, inside the buffer (recomputed here from the shapes and types),
 *    tensors aligned and apart, no duplicate key or tensor name; small
 *    tensors dequantize to finite values or are refused as non-finite;
 *  - inpu_model_from_gguf() with a tokenizer: it fails with the parser's
 *    error when the parser fails; an accepted model has a sane config,
 *    finite weights (checked again when small), a tokenizer of vocab_size
 *    tokens that encodes and decodes, the same weights without the
 *    tokenizer, and runs a forward step (when small).
 *
 * Seeds: build/fuzz/fuzz_seeds gguf DIR (tiny llama files: F32 with a
 * Q8_0 tensor, GGUF v3; F16, GGUF v2) and the shared padded stories260K
 * Q4_0 and Q8_0 files (tests/check.sh).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "tokenizer.h"
#include "model.h"
#include "gguf.h"
#include "gguf_dequant.h"

#include "fuzz_util.h"
#include "fuzz_model.h"

#define NAME		"fuzz.gguf"
/* Keys or tensors few enough for the quadratic lookups checks. */
#define FEW		256

static const size_t vsize[INPU_GGUF_NTYPES] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };

static int inside(const uint8_t *buf, size_t len, const void *p, uint64_t n)
{
	const uint8_t *q = p;

	return q >= buf && q <= buf + len && n <= (uint64_t)(buf + len - q);
}

static void check_err(int rc, const char *err)
{
	CHECK(rc == -EINVAL || rc == -ENOTSUP || rc == -ENOMEM);
	CHECK(!strncmp(err, NAME ": ", strlen(NAME) + 2) &&
	      strlen(err) > strlen(NAME) + 2);
}

/* Every value of @kv inside the buffer; strings walked one by one. */
static void check_kv(const uint8_t *buf, size_t len, const struct inpu_gguf_kv *kv)
{
	struct inpu_gguf_str *s;

	CHECK(kv->key.len > 0 && inside(buf, len, kv->key.s, kv->key.len));
	CHECK(kv->type < INPU_GGUF_NTYPES);
	CHECK(kv->elem_type < INPU_GGUF_NTYPES && kv->elem_type != INPU_GGUF_ARRAY);
	CHECK(kv->type == INPU_GGUF_ARRAY ? 1 : kv->n == 1 && kv->elem_type == kv->type);
	CHECK(inside(buf, len, kv->val, 0));
	if (kv->elem_type != INPU_GGUF_STRING) {
		CHECK(kv->n <= len && inside(buf, len, kv->val, kv->n * vsize[kv->elem_type]));
		return;
	}
	CHECK(kv->n <= len / 8);	/* each string has its 8-byte length */
	s = malloc((kv->n ? kv->n : 1) * sizeof(*s));
	CHECK(s);
	inpu_gguf_arr_strs(kv, s);
	for (uint64_t i = 0; i < kv->n; i++)
		CHECK(inside(buf, len, s[i].s - 8, 8 + s[i].len));
	free(s);
}

static int cmp_tensor(const void *a, const void *b)
{
	const struct inpu_gguf_tensor *x = *(const struct inpu_gguf_tensor *const *)a;
	const struct inpu_gguf_tensor *y = *(const struct inpu_gguf_tensor *const *)b;

	return x->data < y->data ? -1 : x->data > y->data;
}

/* Shape, type, size and place of @t, recomputed from its fields. */
static void check_tensor(const uint8_t *buf, size_t len, const struct inpu_gguf *g,
			 const struct inpu_gguf_tensor *t)
{
	uint32_t be, bb;
	uint64_t n = 1;

	CHECK(t->name.len > 0 && t->name.len <= 64 && inside(buf, len, t->name.s, t->name.len));
	CHECK(t->n_dims >= 1 && t->n_dims <= INPU_GGUF_MAX_DIMS);
	for (int d = 0; d < INPU_GGUF_MAX_DIMS; d++) {
		CHECK(t->ne[d] >= 1 && (d < (int)t->n_dims || t->ne[d] == 1));
		CHECK(t->ne[d] <= (1ull << 40) && n <= (1ull << 40));
		n *= t->ne[d];
	}
	CHECK(n == t->nelem && n <= (1ull << 40));
	CHECK(inpu_ggml_block(t->type, &be, &bb));
	CHECK(t->ne[0] % be == 0);
	CHECK(t->bytes == t->ne[0] / be * bb * (n / t->ne[0]));
	CHECK(t->data == buf + t->offset);
	CHECK(t->offset >= g->data_offset && (t->offset - g->data_offset) % g->alignment == 0);
	CHECK(inside(buf, len, t->data, t->bytes));
}

/* Small tensors: finite values, or refused as non-finite. */
static void check_dequant(const struct inpu_gguf_tensor *t)
{
	float *f;
	int rc;

	if (t->nelem > 4096)
		return;
	f = malloc(t->nelem * sizeof(float));
	CHECK(f);
	rc = inpu_ggml_dequant(t->type, t->data, t->nelem, f);
	CHECK(rc == 0 || rc == -EINVAL);
	for (uint64_t i = 0; !rc && i < t->nelem; i++)
		CHECK(isfinite(f[i]));
	free(f);
}

static void check_gguf(const uint8_t *buf, size_t len, const struct inpu_gguf *g)
{
	const struct inpu_gguf_tensor **by;

	CHECK(g->version == 2 || g->version == 3);
	CHECK(g->alignment && !(g->alignment & (g->alignment - 1)));
	CHECK(g->data_offset <= len);
	CHECK(g->data_offset % g->alignment == 0 || g->data_offset == len);
	for (uint64_t i = 0; i < g->n_kv; i++)
		check_kv(buf, len, &g->kv[i]);
	/* No duplicate key or tensor name: each lookup finds itself. */
	for (uint64_t i = 0; i < g->n_kv && g->n_kv <= FEW; i++) {
		char key[128];

		if (g->kv[i].key.len >= sizeof(key))
			continue;
		memcpy(key, g->kv[i].key.s, g->kv[i].key.len);
		key[g->kv[i].key.len] = '\0';
		CHECK(inpu_gguf_find(g, key) == &g->kv[i]);
	}
	by = malloc((g->n_tensors ? g->n_tensors : 1) * sizeof(*by));
	CHECK(by);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		char name[80];

		check_tensor(buf, len, g, &g->tensor[i]);
		check_dequant(&g->tensor[i]);
		by[i] = &g->tensor[i];
		if (g->n_tensors > FEW)
			continue;
		memcpy(name, g->tensor[i].name.s, g->tensor[i].name.len);
		name[g->tensor[i].name.len] = '\0';
		if (strlen(name) == g->tensor[i].name.len)
			CHECK(inpu_gguf_tensor(g, name) == &g->tensor[i]);
	}
	qsort(by, g->n_tensors, sizeof(*by), cmp_tensor);
	for (uint64_t i = 1; i < g->n_tensors; i++)
		CHECK(by[i - 1]->data + by[i - 1]->bytes <= by[i]->data);
	free(by);
}

/* The tokenizer encodes and decodes a short text with ids in range. */
static void check_tokenizer(const struct inpu_tokenizer *t, int vocab)
{
	static const char text[] = "Once upon a time, ab \xc3\xa9 a\n";
	int ids[sizeof(text) + 3];
	char out[256];
	long n;

	CHECK(inpu_tokenizer_size(t) == vocab);
	n = inpu_tokenizer_encode(t, text, sizeof(text) - 1, 1, 1, ids, sizeof(ids) / sizeof(ids[0]));
	CHECK(n >= 2 && ids[0] == INPU_TOK_BOS && ids[n - 1] == INPU_TOK_EOS);
	for (long i = 0; i < n; i++)
		CHECK(ids[i] >= 0 && ids[i] < vocab);
	CHECK(inpu_tokenizer_decode(t, ids + 1, (size_t)n - 2, out, sizeof(out)) >= 0);
}

static void check_model(const uint8_t *buf, size_t len, const struct inpu_model *m,
			const struct inpu_tokenizer *t)
{
	const struct inpu_model_config *c = &m->cfg;
	struct inpu_model *m2;
	char err[INPU_MODEL_ERRLEN];

	CHECK(c->version == INPU_CKPT_GGUF);
	fuzz_model_config(m);
	CHECK(c->rope_theta > 1.0f && isfinite(c->rope_theta));
	CHECK(c->norm_eps > 0.0f && c->norm_eps <= 1.0f);
	check_tokenizer(t, c->vocab_size);

	/* Small models: the same weights without the tokenizer too. */
	if (m->n_floats > FUZZ_MODEL_SMALL)
		return;
	CHECK(inpu_model_from_gguf(buf, len, NAME, &m2, NULL, err, sizeof(err)) == 0);
	CHECK(m2->n_floats == m->n_floats &&
	      !memcmp(m2->storage, m->storage, m->n_floats * sizeof(float)));
	inpu_model_free(m2);
	fuzz_model_small(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[INPU_MODEL_ERRLEN], perr[INPU_MODEL_ERRLEN];
	struct inpu_tokenizer *t = (void *)1;
	struct inpu_model *m = (void *)1;
	struct inpu_gguf *g = (void *)1;
	uint8_t *copy;
	int prc, rc;

	/* An exact-size copy: any overread is an ASan error. */
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);

	perr[0] = '\0';
	prc = inpu_gguf_parse(copy, size, NAME, &g, perr, sizeof(perr));
	if (prc == 0) {
		CHECK(g != NULL);
		check_gguf(copy, size, g);
		inpu_gguf_free(g);
	} else {
		CHECK(g == NULL);
		check_err(prc, perr);
	}

	err[0] = '\0';
	rc = inpu_model_from_gguf(copy, size, NAME, &m, &t, err, sizeof(err));
	if (rc == 0) {
		CHECK(prc == 0 && m != NULL && t != NULL);
		check_model(copy, size, m, t);
		inpu_tokenizer_free(t);
		inpu_model_free(m);
	} else {
		CHECK(m == NULL && t == NULL);
		check_err(rc, err);
		/* The container's errors are the parser's, word for word. */
		if (prc)
			CHECK(rc == prc && !strcmp(err, perr));
	}
	free(copy);
	return 0;
}
