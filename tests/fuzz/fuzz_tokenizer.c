// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the llama2.c tokenizer reader
 * (userspace/runtime/tokenizer.c) and the BPE encode and decode that use
 * what it accepts: `inpu run -z`, `inpu ppl` and the quantizer read
 * tokenizer files named on the command line.  Besides ASan and UBSan it
 * checks the reader's promises (an error is one message naming the file;
 * an accepted vocabulary has the special tokens, all 256 byte tokens or
 * none, finite scores
 * and every id resolvable) and those of encode and decode on a few fixed
 * texts and on the input's last bytes: ids in range, BOS and EOS where
 * asked, at most inpu_tokenizer_max_tokens(), -ENOSPC on one slot less,
 * decode's snprintf-like length and termination with any buffer size.
 *
 * Seeds: build/fuzz/fuzz_seeds tokenizer DIR (a tiny vocabulary) and the
 * shared tok512.bin (tests/check.sh).
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

#include "fuzz_util.h"

#define NAME		"fuzz-tok.bin"
#define TAIL		64	/* input bytes also encoded as text */

static const char *const texts[] = {
	"",
	"Once upon a time, there was a little girl named Lily.",
	"h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x99\x82 <0x41>",
	"\xff\xfe\x80\xc3 \n\n\t",
};

static void check_codec(const struct inpu_tokenizer *t, const char *text,
			size_t len)
{
	size_t cap = inpu_tokenizer_max_tokens(len);
	int n_vocab = inpu_tokenizer_size(t);
	int *toks = malloc(cap * sizeof(*toks));
	char small[4], *buf;
	long n, total;

	CHECK(toks);
	for (int mode = 0; mode < 4; mode++) {
		int bos = mode & 1, eos = mode >> 1;

		n = inpu_tokenizer_encode(t, text, len, bos, eos, toks, cap);
		CHECK(n >= 0 && (size_t)n <= cap);
		for (long i = 0; i < n; i++)
			CHECK(toks[i] >= 0 && toks[i] < n_vocab);
		CHECK(!bos || (n >= 1 && toks[0] == INPU_TOK_BOS));
		CHECK(!eos || (n >= 1 && toks[n - 1] == INPU_TOK_EOS));
		if (n > 0)
			CHECK(inpu_tokenizer_encode(t, text, len, bos, eos, toks,
						    (size_t)n - 1) == -ENOSPC);

		/* The ids, encoded again, for decode. */
		CHECK(inpu_tokenizer_encode(t, text, len, bos, eos, toks, cap) == n);
		total = inpu_tokenizer_decode(t, toks, (size_t)n, NULL, 0);
		CHECK(total >= 0);
		buf = malloc((size_t)total + 1);
		CHECK(buf);
		CHECK(inpu_tokenizer_decode(t, toks, (size_t)n, buf,
					    (size_t)total + 1) == total);
		CHECK(buf[total] == '\0');
		CHECK(inpu_tokenizer_decode(t, toks, (size_t)n, small,
					    sizeof(small)) == total);
		CHECK(small[total < (long)sizeof(small) ? total : 3] == '\0');
		CHECK(!memcmp(small, buf, total < 3 ? (size_t)total : 3));
		free(buf);
	}
	/* An id out of range is refused. */
	toks[0] = n_vocab;
	CHECK(inpu_tokenizer_decode(t, toks, 1, small, sizeof(small)) == -EINVAL);
	free(toks);
}

static void check_vocab(const struct inpu_tokenizer *t)
{
	int n = inpu_tokenizer_size(t);
	size_t len;

	CHECK(n >= INPU_TOK_BYTE0);
	CHECK(!inpu_tokenizer_has_bytes(t) || n >= INPU_TOK_BYTE0 + 256);
	for (int id = 0; id < n; id++) {
		CHECK(inpu_tokenizer_token(t, id) != NULL);
		CHECK(isfinite(inpu_tokenizer_score(t, id)));
		CHECK(inpu_tokenizer_piece(t, INPU_TOK_BOS, id, &len) != NULL);
	}
	/* <0xXX> decodes to the byte. */
	for (int b = 0; b < 256 && inpu_tokenizer_has_bytes(t); b++) {
		const char *p = inpu_tokenizer_piece(t, 0, INPU_TOK_BYTE0 + b, &len);

		CHECK(len == 1 && (unsigned char)p[0] == b);
	}
	CHECK(inpu_tokenizer_token(t, n) == NULL && inpu_tokenizer_token(t, -1) == NULL);
	CHECK(inpu_tokenizer_piece(t, 0, n, &len) == NULL && len == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[INPU_MODEL_ERRLEN] = "";
	struct inpu_tokenizer *t = (void *)1;
	uint8_t *copy;
	int rc;

	/* An exact-size copy: any overread is an ASan error. */
	copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	rc = inpu_tokenizer_parse(copy, size, NAME, &t, err, sizeof(err));
	if (rc == 0) {
		size_t tail = size < TAIL ? size : TAIL;

		CHECK(t != NULL);
		check_vocab(t);
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			check_codec(t, texts[i], strlen(texts[i]));
		check_codec(t, (const char *)copy + size - tail, tail);
		inpu_tokenizer_free(t);
	} else {
		CHECK(t == NULL);
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		CHECK(!strncmp(err, NAME ": ", strlen(NAME) + 2) &&
		      strlen(err) > strlen(NAME) + 2);
	}
	free(copy);
	return 0;
}
