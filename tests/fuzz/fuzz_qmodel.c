// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the .inpu model reader (userspace/runtime/qmodel.c,
 * FORMAT.md): `inpu run -m` reads model files that may come from anywhere,
 * and the CPU and device backends trust what the reader accepts.  Each
 * input is parsed as is, then again with its file_size and SHA-256 fields
 * fixed up, so that mutations get past the checksum to the config, tensor
 * table and parameter checks.  Besides ASan and UBSan, for every accepted
 * model it checks the reader's promises: inpu_qmodel_check() passes, the
 * writer gives back the same bytes (one valid file per model), the step
 * stream (qgraph.c) validates against the weights and state regions, and
 * the CPU backend (qcpu.c) runs one step through the engine.
 *
 * Seeds: build/fuzz/fuzz_seeds qmodel DIR (tiny W8A8 and W4A8 models).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "inpu_validate.h"
#include "file.h"
#include "qmodel.h"
#include "qgraph.h"
#include "qcpu.h"

#include "fuzz_util.h"

#define NAME		"fuzz.inpu"
#define WBASE		0x10000000ull
/* Run a step only when the state region is small. */
#define STATE_MAX	(4u << 20)

static void check_accepted(const uint8_t *buf, size_t len,
			   const struct inpu_qmodel *m)
{
	char err[INPU_MODEL_ERRLEN];
	struct inpu_region reg[2];
	struct inpu_qlayout lay;
	struct inpu_qcpu *c;
	uint8_t *out;
	size_t olen;
	void *s;
	int rc;

	CHECK(inpu_qmodel_check(m, err, sizeof(err)) == 0);
	CHECK(inpu_qmodel_serialize(m, &out, &olen, err, sizeof(err)) == 0);
	CHECK(olen == len && !memcmp(out, buf, len));
	free(out);

	/* The step stream of any accepted model validates. */
	CHECK(inpu_qgraph_layout(m, WBASE, (WBASE + m->data_size + (1u << 21)) &
				 ~(uint64_t)0xfffff, &lay) == 0);
	CHECK(inpu_qgraph_build(m, &lay, &s, &olen, err, sizeof(err)) == 0);
	memset(reg, 0, sizeof(reg));
	reg[0] = (struct inpu_region){ lay.wbase, lay.wsize, INPU_REGION_READ, 0 };
	reg[1] = (struct inpu_region){ lay.sbase, lay.ssize,
				       INPU_REGION_READ | INPU_REGION_WRITE, 0 };
	CHECK(inpu_validate_stream(s, olen, reg, 2, NULL) == INPU_OK);
	free(s);

	if (lay.ssize > STATE_MAX)
		return;
	rc = inpu_qcpu_new(m, -1, &c, err, sizeof(err));
	/* Only a table geometry other than the firmware's is refused. */
	CHECK(rc == 0 || rc == -ENOTSUP);
	if (rc)
		return;
	CHECK(inpu_qcpu_step(c, 0, 0) != NULL);
	CHECK(inpu_qcpu_status(c) == INPU_OK);
	CHECK((uint32_t)inpu_qcpu_next(c) < m->cfg.vocab_size);
	CHECK(inpu_qcpu_step(c, (int)m->cfg.vocab_size, 0) == NULL);
	inpu_qcpu_free(c);
}

static void parse(const uint8_t *buf, size_t len)
{
	char err[INPU_MODEL_ERRLEN] = "";
	struct inpu_qmodel *m = (void *)1;
	int rc;

	rc = inpu_qmodel_parse(buf, len, NAME, &m, err, sizeof(err));
	if (rc == 0) {
		CHECK(m != NULL);
		check_accepted(buf, len, m);
		inpu_qmodel_free(m);
	} else {
		CHECK(m == NULL);
		CHECK(rc == -EINVAL || rc == -ENOTSUP || rc == -ENOMEM);
		/* One message naming the file. */
		CHECK(!strncmp(err, NAME ": ", strlen(NAME) + 2) &&
		      strlen(err) > strlen(NAME) + 2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	unsigned int n;

	/* An exact-size copy: any overread is an ASan error. */
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	CHECK(inpu_qmodel_sniff(copy, size) ==
	      (size >= 4 && !memcmp(copy, "INQM", 4)));
	parse(copy, size);

	/* Again with the size and checksum right (FORMAT.md offsets 8, 80). */
	if (size >= INPU_QM_HEADER_BYTES && inpu_qmodel_sniff(copy, size)) {
		uint8_t dg[32];

		for (int i = 0; i < 8; i++)
			copy[8 + i] = (uint8_t)((uint64_t)size >> (8 * i));
		memset(copy + 80, 0, 32);
		CHECK(EVP_Digest(copy, size, dg, &n, EVP_sha256(), NULL) && n == 32);
		memcpy(copy + 80, dg, 32);
		if (memcmp(copy, data, size))
			parse(copy, size);
	}
	free(copy);
	return 0;
}
