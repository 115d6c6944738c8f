// SPDX-License-Identifier: MIT
/*
 * pad_model: a llama2.c checkpoint whose FFN width is padded with zeros
 * to a multiple of 32, for llama.cpp's Q8_0 and Q4_0, whose blocks of 32
 * must tile every row (make bench converts stories260K, hidden 172, with
 * it).  The padded model computes the same function: the extra w1 and w3
 * rows are zero, so their SwiGLU outputs are silu(0) * 0 = 0, and the
 * extra w2 columns that would read them are zero too.
 *
 * usage: pad_model IN.bin OUT.bin
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

#define PAD_TO	32

/* @rows rows of @cols floats into rows of @cols2 (zero tail) */
static void copy_rows(float *dst, const float *src, size_t rows, size_t cols,
		      size_t cols2)
{
	for (size_t r = 0; r < rows; r++)
		memcpy(dst + r * cols2, src + r * cols, cols * sizeof(float));
}

static void pad_ffn(const struct inpu_model *m, struct inpu_model *p)
{
	const struct inpu_model_config *c = &m->cfg;
	size_t d = (size_t)c->dim, kv = (size_t)inpu_model_kv_dim(c);
	size_t h = (size_t)c->hidden_dim, h2 = (size_t)p->cfg.hidden_dim;
	size_t L = (size_t)c->n_layers, v = (size_t)c->vocab_size;

	memcpy(p->tok_embeddings, m->tok_embeddings, v * d * sizeof(float));
	memcpy(p->rms_att, m->rms_att, L * d * sizeof(float));
	memcpy(p->rms_ffn, m->rms_ffn, L * d * sizeof(float));
	memcpy(p->rms_final, m->rms_final, d * sizeof(float));
	memcpy(p->wq, m->wq, L * d * d * sizeof(float));
	memcpy(p->wk, m->wk, L * kv * d * sizeof(float));
	memcpy(p->wv, m->wv, L * kv * d * sizeof(float));
	memcpy(p->wo, m->wo, L * d * d * sizeof(float));
	if (!c->shared_classifier)
		memcpy(p->wcls, m->wcls, v * d * sizeof(float));
	for (size_t l = 0; l < L; l++) {
		/* w1, w3: [h][d] -> [h2][d], the new rows zero */
		memcpy(p->w1 + l * h2 * d, m->w1 + l * h * d, h * d * sizeof(float));
		memcpy(p->w3 + l * h2 * d, m->w3 + l * h * d, h * d * sizeof(float));
		/* w2: [d][h] -> [d][h2], the new columns zero */
		copy_rows(p->w2 + l * d * h2, m->w2 + l * d * h, d, h, h2);
	}
}

int main(int argc, char **argv)
{
	struct inpu_model *m = NULL, *p = NULL;
	struct inpu_model_config c;
	char err[512];
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: pad_model IN.bin OUT.bin\n");
		return 2;
	}
	ret = inpu_model_load(argv[1], &m, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "pad_model: %s\n", err);
		return 1;
	}
	c = m->cfg;
	c.hidden_dim = (c.hidden_dim + PAD_TO - 1) / PAD_TO * PAD_TO;
	if (inpu_model_alloc(&c, &p)) {
		fprintf(stderr, "pad_model: out of memory\n");
		inpu_model_free(m);
		return 1;
	}
	memset(p->storage, 0, p->n_floats * sizeof(float));
	pad_ffn(m, p);
	ret = inpu_model_save_v0(p, argv[2], err, sizeof(err));
	if (ret)
		fprintf(stderr, "pad_model: %s\n", err);
	else
		printf("pad_model: %s: hidden %d -> %d\n", argv[2],
		       m->cfg.hidden_dim, c.hidden_dim);
	inpu_model_free(m);
	inpu_model_free(p);
	return ret ? 1 : 0;
}
