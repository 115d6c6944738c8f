// SPDX-License-Identifier: MIT
/*
 * A llama2.c checkpoint (legacy v0, shared classifier) with random weights
 * in a chosen shape, and a tokenizer of the same vocabulary size, for
 * benchmarking shapes we have no trained model for (make bench: the
 * stories15M and stories110M shapes).  The weights are uniform with the
 * variance of a standard initialisation (1/fan_in), RMSNorm weights 1, so
 * activations stay in a realistic range through the layers; the text such a
 * model writes is noise, its speed is what matters.
 *
 * The tokenizer: <unk>, BOS, EOS, the 256 byte pieces llama2.c expects at
 * ids 3..258, then unique filler pieces.
 *
 * usage: synth_model DIM HIDDEN LAYERS HEADS KV_HEADS VOCAB SEQ_LEN SEED \
 *                    MODEL.bin TOKENIZER.bin
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;

static double uniform(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

/* @n floats uniform in +-sqrt(3 / fan_in): variance 1 / fan_in. */
static int put_random(FILE *f, uint64_t n, int fan_in)
{
	float buf[4096];
	double a = sqrt(3.0 / fan_in);

	while (n) {
		size_t k = n < 4096 ? (size_t)n : 4096;

		for (size_t i = 0; i < k; i++)
			buf[i] = (float)((2 * uniform() - 1) * a);
		if (fwrite(buf, sizeof(float), k, f) != k)
			return -1;
		n -= k;
	}
	return 0;
}

static int put_const(FILE *f, uint64_t n, float v)
{
	for (uint64_t i = 0; i < n; i++)
		if (fwrite(&v, sizeof(v), 1, f) != 1)
			return -1;
	return 0;
}

static int write_model(const char *path, const int32_t cfg[7])
{
	int dim = cfg[0], hidden = cfg[1], layers = cfg[2], heads = cfg[3];
	int kv = cfg[4], vocab = cfg[5], seq = cfg[6];
	int kv_dim = dim / heads * kv, hs = dim / heads;
	uint64_t L = (uint64_t)layers;
	FILE *f = fopen(path, "wb");
	int bad;

	if (!f)
		return -1;
	bad = fwrite(cfg, sizeof(int32_t), 7, f) != 7 ||
	      put_random(f, (uint64_t)vocab * dim, 1) ||	/* embeddings */
	      put_const(f, L * dim, 1.0f) ||			/* rms_att */
	      put_random(f, L * dim * dim, dim) ||		/* wq */
	      put_random(f, L * dim * kv_dim, dim) ||		/* wk */
	      put_random(f, L * dim * kv_dim, dim) ||		/* wv */
	      put_random(f, L * dim * dim, dim) ||		/* wo */
	      put_const(f, L * dim, 1.0f) ||			/* rms_ffn */
	      put_random(f, L * hidden * dim, dim) ||		/* w1 */
	      put_random(f, L * dim * hidden, hidden) ||	/* w2 */
	      put_random(f, L * hidden * dim, dim) ||		/* w3 */
	      put_const(f, dim, 1.0f) ||			/* rms_final */
	      put_const(f, (uint64_t)seq * hs, 0.0f);		/* freq_cis */
	if (fclose(f))
		bad = 1;
	return bad ? -1 : 0;
}

static int put_piece(FILE *f, const char *s, float score)
{
	int32_t len = (int32_t)strlen(s);

	return fwrite(&score, sizeof(score), 1, f) != 1 ||
	       fwrite(&len, sizeof(len), 1, f) != 1 ||
	       fwrite(s, 1, (size_t)len, f) != (size_t)len ? -1 : 0;
}

static int write_tokenizer(const char *path, int vocab)
{
	FILE *f = fopen(path, "wb");
	int32_t max_len = 16;
	char piece[32];
	int bad;

	if (!f)
		return -1;
	bad = fwrite(&max_len, sizeof(max_len), 1, f) != 1 ||
	      put_piece(f, "<unk>", 0) || put_piece(f, "\n<s>\n", 0) ||
	      put_piece(f, "\n</s>\n", 0);
	for (int i = 0; i < 256 && !bad; i++) {
		snprintf(piece, sizeof(piece), "<0x%02X>", i);
		bad = put_piece(f, piece, 0);
	}
	for (int i = 259; i < vocab && !bad; i++) {
		snprintf(piece, sizeof(piece), "~%d", i);
		bad = put_piece(f, piece, -(float)i);
	}
	if (fclose(f))
		bad = 1;
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	int32_t cfg[7];

	if (argc != 11) {
		fprintf(stderr, "usage: %s DIM HIDDEN LAYERS HEADS KV_HEADS VOCAB SEQ_LEN SEED MODEL.bin TOKENIZER.bin\n",
			argv[0]);
		return 2;
	}
	for (int i = 0; i < 7; i++) {
		cfg[i] = (int32_t)strtol(argv[1 + i], NULL, 10);
		if (cfg[i] <= 0) {
			fprintf(stderr, "synth_model: argument %d must be positive\n", i + 1);
			return 2;
		}
	}
	if (cfg[0] % cfg[3] || cfg[3] % cfg[4] || cfg[5] < 259) {
		fprintf(stderr, "synth_model: DIM must divide by HEADS, HEADS by KV_HEADS, VOCAB >= 259\n");
		return 2;
	}
	rng = strtoull(argv[8], NULL, 0) * 0x9e3779b97f4a7c15ull + 1;
	if (write_model(argv[9], cfg) || write_tokenizer(argv[10], cfg[5])) {
		fprintf(stderr, "synth_model: writing %s / %s: %s\n", argv[9],
			argv[10], strerror(errno));
		return 1;
	}
	return 0;
}
