// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the llama2.c checkpoint reader
 * (userspace/reference/checkpoint.c, v0 and v1): `inpu ppl`, `inpu generate`
 * and `inpu quantize` read checkpoints named on the command line, and the
 * float forward pass and the quantizer trust the shapes it accepts.
 * Besides ASan and UBSan it checks the reader's promises: an error is one
 * message naming the file; an accepted model has a sane config, exactly
 * the file size its header implies (recomputed here independently), only
 * finite weights (checked again when small) and the classifier the header
 * says, and runs a forward step (when small).  An input rejected only for its size is parsed again
 * at the size the message names, zero-padded or cut, which must then be
 * accepted unless a weight is not finite: so mutated headers reach the
 * weight checks too.
 *
 * Seeds: build/fuzz/fuzz_seeds checkpoint DIR (tiny v0 and v1) and the
 * shared stories260K.bin (tests/check.sh).
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

#include "fuzz_util.h"
#include "fuzz_model.h"

#define NAME		"fuzz.bin"
/* The largest size the retry at the implied size tries. */
#define RESIZE_MAX	(4u << 20)

/* Bytes of the file the header of @c implies (llama2.c run.c, export.py). */
static uint64_t file_size(const struct inpu_model_config *c)
{
	uint64_t d = (uint64_t)c->dim, h = (uint64_t)c->hidden_dim;
	uint64_t L = (uint64_t)c->n_layers, v = (uint64_t)c->vocab_size;
	uint64_t kv = d / (uint64_t)c->n_heads * (uint64_t)c->n_kv_heads;
	uint64_t hs = d / (uint64_t)c->n_heads;
	uint64_t n = v * d * (c->shared_classifier ? 1 : 2) + 2 * L * d + d +
		     2 * L * d * d + 2 * L * kv * d + 3 * L * h * d;

	if (c->version == INPU_CKPT_V0)
		return 28 + 4 * (n + (uint64_t)c->seq_len * hs);
	return INPU_CKPT_V1_HEADER + 4 * n;
}

static void check_model(const uint8_t *buf, size_t len,
			const struct inpu_model *m)
{
	const struct inpu_model_config *c = &m->cfg;
	uint32_t magic = 0;

	if (len >= 4)
		memcpy(&magic, buf, 4);
	CHECK(c->version == (magic == INPU_CKPT_MAGIC ? INPU_CKPT_V1 :
			     INPU_CKPT_V0));
	fuzz_model_config(m);
	CHECK(file_size(c) == len);
	if (m->n_floats <= FUZZ_MODEL_SMALL)
		fuzz_model_small(m);
}

/* Parse @buf; returns the status, with the message in @err. */
static int parse(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct inpu_model *m = (void *)1;
	int rc;

	err[0] = '\0';
	rc = inpu_model_parse(buf, len, NAME, &m, err, errlen);
	if (rc == 0) {
		CHECK(m != NULL);
		check_model(buf, len, m);
		inpu_model_free(m);
	} else {
		CHECK(m == NULL);
		CHECK(rc == -EINVAL || rc == -ENOTSUP || rc == -ENOMEM);
		CHECK(!strncmp(err, NAME ": ", strlen(NAME) + 2) &&
		      strlen(err) > strlen(NAME) + 2);
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[INPU_MODEL_ERRLEN];
	unsigned long long want;
	const char *p;
	uint8_t *copy;
	int rc;

	/* An exact-size copy: any overread is an ASan error. */
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	rc = parse(copy, size, err, sizeof(err));
	free(copy);

	/* Rejected for its size only: again at the size the message gives. */
	p = strstr(err, " implies ");
	if (rc != -EINVAL || !p)
		return 0;
	CHECK(sscanf(p, " implies %llu bytes", &want) == 1 && want != size);
	if (want > RESIZE_MAX)
		return 0;
	copy = calloc(1, want ? want : 1);
	CHECK(copy);
	memcpy(copy, data, size < want ? size : want);
	rc = parse(copy, want, err, sizeof(err));
	CHECK(rc == 0 || (rc == -EINVAL && strstr(err, "non-finite")));
	free(copy);
	return 0;
}
