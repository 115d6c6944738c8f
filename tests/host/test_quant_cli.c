// SPDX-License-Identifier: MIT
/*
 * 'inpu quantize', 'inpu ppl --backend cpu' and 'inpu generate --backend
 * cpu' through the sanitizer build build/asan/bin/inpu (or $INPU_CLI):
 * a small model quantized from two calibration stories, its report, the
 * .inpu file it writes, perplexity and greedy text with the integer model,
 * and the exit codes and messages of usage and runtime errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <inpu/inpu_fw.h>

#include "file.h"
#include "ppl.h"
#include "qmodel.h"
#include "cli_util.h"
#include "kselftest_harness.h"

#define SHARED_CALIB	"data/tinystories-calib.txt"

FIXTURE(cli) {
	char model[PATH_MAX], tok[PATH_MAX], dev[PATH_MAX], calib[PATH_MAX];
	char out[64];
	struct run r;
};

FIXTURE_SETUP(cli)
{
	int fd;

	ASSERT_EQ(0, shared_path(SHARED_MODEL, self->model, sizeof(self->model))) {
		TH_LOG(SHARED_HINT, self->model);
	}
	ASSERT_EQ(0, shared_path(SHARED_TOK, self->tok, sizeof(self->tok))) {
		TH_LOG(SHARED_HINT, self->tok);
	}
	ASSERT_EQ(0, shared_path(SHARED_DEV, self->dev, sizeof(self->dev))) {
		TH_LOG(SHARED_HINT, self->dev);
	}
	ASSERT_EQ(0, shared_path(SHARED_CALIB, self->calib, sizeof(self->calib))) {
		TH_LOG(SHARED_HINT, self->calib);
	}
	strcpy(self->out, "/tmp/inpu-quant-cli.XXXXXX");
	fd = mkstemp(self->out);
	ASSERT_LE(0, fd);
	close(fd);
}

FIXTURE_TEARDOWN(cli)
{
	unlink(self->out);
}

#define RUN(...) do {								\
	const char *const _argv[] = { "inpu", __VA_ARGS__, NULL };		\
	ASSERT_EQ(0, run_cli(_argv, &self->r)) {				\
		TH_LOG("cannot run build/asan/bin/inpu (make host-tests builds it; or set INPU_CLI)"); \
	}									\
} while (0)

#define EXPECT_RUN(want_status, stream, text) do {				\
	EXPECT_EQ(want_status, self->r.status) {				\
		TH_LOG("stdout: %s\nstderr: %s", self->r.out, self->r.err);	\
	}									\
	EXPECT_NE(NULL, strstr(self->r.stream, text)) {				\
		TH_LOG("want \"%s\" in %s: %s", text, #stream, self->r.stream); \
	}									\
} while (0)

/* The "weights:" line of a quantize report: bits per weight, or -1. */
static double report_bits(const char *out)
{
	const char *w = strstr(out, "\nweights:");
	double b;

	return w && sscanf(w, "\nweights: %lf", &b) == 1 ? b : -1.0;
}

/* Quantize a small model into self->out (two calibration stories). */
#define QUANTIZE(...) RUN("quantize", "-m", self->model, "-z", self->tok,	\
			  "-c", self->calib, "-o", self->out, "--max-stories", "2", \
			  "--samples", "64", __VA_ARGS__)

TEST_F(cli, quantize_then_ppl_and_generate)
{
	struct inpu_qmodel *m;
	char err[INPU_MODEL_ERRLEN];

	QUANTIZE("--smooth", "0.5");
	EXPECT_RUN(0, out, "linear layer  bits  alpha");
	EXPECT_NE(NULL, strstr(self->r.out, "l4.w2 "));
	EXPECT_NE(NULL, strstr(self->r.out, "cls "));
	EXPECT_NE(NULL, strstr(self->r.out, "w8a8, smooth fixed"));
	/* one calibration pass: the smoothed statistics follow from it */
	EXPECT_NE(NULL, strstr(self->r.err, "calibration done")) {
		TH_LOG("progress: %s", self->r.err);
	}
	ASSERT_EQ(0, inpu_qmodel_load(self->out, &m, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_EQ(5u, m->cfg.n_layers);
	inpu_qmodel_free(m);

	RUN("ppl", "-m", self->out, "-z", self->tok, "-f", self->dev,
	    "--backend", "cpu", "--max-stories", "1", "--compare", self->model);
	EXPECT_RUN(0, out, "backend:     cpu");
	EXPECT_NE(NULL, strstr(self->r.out, "perplexity:  "));
	EXPECT_NE(NULL, strstr(self->r.out, "top-1 agree: "));
	RUN("generate", "-m", self->out, "-z", self->tok, "-b", "cpu", "-p",
	    "Once upon a time", "-n", "24");
	EXPECT_RUN(0, out, "Once upon a time");
}

/*
 * W4A8 with GPTQ and mixed precision.  The sensitivity measurement runs
 * the float model once per linear layer, slow under the sanitizers: a
 * calibration file of two short stories (the start of the first two of
 * the calibration file) keeps it to a few seconds.
 */
/* @calib (room for 32): a file with the starts of the first two stories. */
static int small_calib(const char *src, char *calib)
{
	char err[INPU_MODEL_ERRLEN], *text;
	const char *pos, *end, *st;
	size_t len, l;
	FILE *f;
	int fd;

	if (inpu_read_file(src, &text, &len, err, sizeof(err)))
		return -1;
	strcpy(calib, "/tmp/inpu-quant-calib.XXXXXX");
	fd = mkstemp(calib);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		free(text);
		return -1;
	}
	pos = text;
	end = text + len;
	for (int i = 0; i < 2 && inpu_story_next(&pos, end, &st, &l); i++)
		fprintf(f, "%.*s\n" INPU_STORY_SEP "\n", (int)(l < 100 ? l : 100), st);
	fclose(f);
	free(text);
	return 0;
}

TEST_F(cli, quantize_w4a8_mixed)
{
	char calib[32], err[INPU_MODEL_ERRLEN];
	struct inpu_qmodel *m;

	ASSERT_EQ(0, small_calib(self->calib, calib));
	RUN("quantize", "-m", self->model, "-z", self->tok, "-c", calib, "-o",
	    self->out, "--samples", "64", "--scheme", "w4a8", "--smooth", "off",
	    "--gptq", "--avg-bits", "6", "--pow2");
	unlink(calib);
	EXPECT_RUN(0, out, "dNLL(4 bit)");
	EXPECT_RUN(0, out, "w4a8 mixed g16 4-bit codes");
	/* 8-bit layers within the budget, over the 4.5 bits of the codes */
	EXPECT_LE(report_bits(self->r.out), 6.0);
	EXPECT_GT(report_bits(self->r.out), 4.5);
	ASSERT_EQ(0, inpu_qmodel_load(self->out, &m, err, sizeof(err)));
	EXPECT_EQ((uint32_t)INPU_QS_W4A8, m->cfg.scheme);
	/* Powers of two: static scales (auto), int16 keys (any scale). */
	EXPECT_EQ((uint32_t)(INPU_QF_POW2 | INPU_QF_GPTQ | INPU_QF_KEY16 |
			     INPU_QF_W4_CODES), m->cfg.flags);
	/* some block layer in 8 bits: no group scales */
	EXPECT_TRUE(!inpu_qmodel_find(m, "l0.qkv.gs") || !inpu_qmodel_find(m, "l1.qkv.gs") ||
		    !inpu_qmodel_find(m, "l0.w13.gs") || !inpu_qmodel_find(m, "l0.w2.gs") ||
		    !inpu_qmodel_find(m, "l0.wo.gs") || !inpu_qmodel_find(m, "l1.w2.gs"));
	inpu_qmodel_free(m);
}

/* Fine-tuning from the command line: the report line and the flag. */
TEST_F(cli, quantize_w4a8_finetuned)
{
	char calib[32], err[INPU_MODEL_ERRLEN];
	struct inpu_qmodel *m;

	ASSERT_EQ(0, small_calib(self->calib, calib));
	RUN("quantize", "-m", self->model, "-z", self->tok, "-c", calib, "-o",
	    self->out, "--samples", "64", "--scheme", "w4a8", "--smooth", "off",
	    "--finetune", "2", "--ft-generate", "2", "--ft-lr", "3e-4", "--ft-batch", "2",
	    "--w4-group", "16", "--w4-zero");
	unlink(calib);
	EXPECT_RUN(0, out, "fine-tuning:  2 passes, KL(float || rounded)");
	EXPECT_RUN(0, err, "fine-tuning done");
	ASSERT_EQ(0, inpu_qmodel_load(self->out, &m, err, sizeof(err)));
	EXPECT_EQ((uint32_t)(INPU_QF_FINETUNE | INPU_QF_DYN_ACT | INPU_QF_KEY16),
		  m->cfg.flags);
	EXPECT_NE(NULL, strstr(m->note, "fine-tuned"));
	EXPECT_NE(NULL, strstr(m->note, "w4a8 g16 zero points"));
	/* groups of 16 (Kpad 128: 8 rows) with zero points; the classifier int8 */
	ASSERT_NE(NULL, inpu_qmodel_find(m, "l0.w13.gz"));
	EXPECT_EQ(8u, inpu_qmodel_find(m, "l0.w13.gz")->rows);
	EXPECT_EQ(8u, inpu_qmodel_find(m, "l0.w13.gs")->rows);
	EXPECT_EQ(NULL, inpu_qmodel_find(m, "cls.gz"));
	inpu_qmodel_free(m);
}

/*
 * The 4.5-bit format: each group's scale and zero point as two 4-bit
 * codes in the .gs byte (no .gz), no 8-bit layers within a budget of 4.5
 * bits, and the model runs on the cpu backend.
 */
TEST_F(cli, quantize_w4a8_codes)
{
	char calib[32], err[INPU_MODEL_ERRLEN];
	const struct inpu_qtensor *gs;
	struct inpu_qmodel *m;

	ASSERT_EQ(0, small_calib(self->calib, calib));
	RUN("quantize", "-m", self->model, "-z", self->tok, "-c", calib, "-o",
	    self->out, "--samples", "64", "--scheme", "w4a8", "--rtn", "--w4-codes",
	    "--avg-bits", "4.5");
	unlink(calib);
	EXPECT_RUN(0, out, "inpu quantize: w4a8 g16 4-bit codes");
	EXPECT_EQ(4.5, report_bits(self->r.out));
	ASSERT_EQ(0, inpu_qmodel_load(self->out, &m, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	EXPECT_TRUE(m->cfg.flags & INPU_QF_W4_CODES);
	EXPECT_EQ((uint32_t)INPU_FW_ABI_VERSION, m->cfg.fw_abi);
	EXPECT_EQ(NULL, inpu_qmodel_find(m, "l0.w13.gz"));
	gs = inpu_qmodel_find(m, "l0.w13.gs");
	ASSERT_NE(NULL, gs);
	EXPECT_EQ((uint8_t)INPU_DT_UINT8, gs->dtype);
	inpu_qmodel_free(m);
	RUN("generate", "-m", self->out, "-z", self->tok, "-b", "cpu", "-p",
	    "Once upon a time", "-n", "24");
	EXPECT_RUN(0, out, "Once upon a time");
}

TEST_F(cli, usage_errors_exit_2)
{
	RUN("quantize", "--help");
	EXPECT_RUN(0, out, "usage: inpu quantize -m MODEL [-z TOKENIZER.bin]");
	RUN("quantize", "-m", self->model, "-z", self->tok, "-c", self->calib);
	EXPECT_RUN(2, err, "inpu quantize: missing -o OUTPUT");
	QUANTIZE("--scheme", "w2a2");
	EXPECT_RUN(2, err, "--scheme: unknown scheme 'w2a2'");
	QUANTIZE("--smooth", "1.5");
	EXPECT_RUN(2, err, "--smooth: '1.5' is not a number in 0..1");
	QUANTIZE("--act-range", "p101");
	EXPECT_RUN(2, err, "--act-range");
	QUANTIZE("--act-scales", "per-tensor");
	EXPECT_RUN(2, err, "--act-scales: 'per-tensor' is not dynamic or static");
	QUANTIZE("--gptq-damp", "0");
	EXPECT_RUN(2, err, "--gptq-damp: '0' is not a number in 1e-06..10");
	QUANTIZE("--key-cache", "4");
	EXPECT_RUN(2, err, "--key-cache: '4' is not 16 or 8");
	QUANTIZE("--pow2", "--act-scales", "dynamic");
	EXPECT_RUN(2, err, "per-token scales are not powers of two");
	QUANTIZE("--avg-bits", "5");
	EXPECT_RUN(2, err, "--avg-bits needs --scheme w4a8");
	QUANTIZE("--finetune", "0");
	EXPECT_RUN(2, err, "--finetune: '0' is not an integer in 1..10000");
	QUANTIZE("--ft-batch", "x");
	EXPECT_RUN(2, err, "--ft-batch: 'x' is not an integer in 1..10000");
	QUANTIZE("--ft-lr", "2");
	EXPECT_RUN(2, err, "--ft-lr: '2' is not a number in 1e-07..1");
	QUANTIZE("--ft-generate", "-1");
	EXPECT_RUN(2, err, "--ft-generate: '-1' is not an integer in 1..1000000");
	QUANTIZE("--scheme", "w4a8", "--w4-group", "8");
	EXPECT_RUN(2, err, "--w4-group: '8' is not 16 or 32");
	QUANTIZE("--w4-zero");
	EXPECT_RUN(2, err, "--w4-group/--w4-zero/--w4-sym/--w4-codes need --scheme w4a8");
	QUANTIZE("--scheme", "w4a8", "--w4-sym", "--w4-codes");
	EXPECT_RUN(2, err, "--w4-zero, --w4-sym and --w4-codes are alternatives: give one");
	QUANTIZE("--scheme", "w4a8", "--avg-bits", "3.5");
	EXPECT_RUN(2, err, "--avg-bits: '3.5' is not a number in 4..8");
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", self->dev,
	    "--compare", self->model);
	EXPECT_RUN(2, err, "--compare needs --backend cpu");
	RUN("generate", "-m", self->model, "-z", self->tok, "-b", "cpu");
	EXPECT_RUN(2, err, "--backend cpu runs an integer .inpu model");
}

TEST_F(cli, runtime_errors_exit_1_and_name_the_file)
{
	char *buf;
	size_t len;
	char err[INPU_MODEL_ERRLEN];
	FILE *f;

	QUANTIZE("--smooth", "off");
	ASSERT_EQ(0, self->r.status);
	/* an .inpu model given as the float model */
	RUN("ppl", "-m", self->out, "-z", self->tok, "-f", self->dev);
	EXPECT_RUN(1, err, "is an integer .inpu model: use --backend cpu");
	/* a truncated .inpu model */
	ASSERT_EQ(0, inpu_read_file(self->out, &buf, &len, err, sizeof(err)));
	f = fopen(self->out, "wb");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1u, fwrite(buf, len - 100, 1, f));
	fclose(f);
	free(buf);
	RUN("ppl", "-m", self->out, "-z", self->tok, "-f", self->dev, "-b", "cpu");
	EXPECT_RUN(1, err, "truncated");
	EXPECT_NE(NULL, strstr(self->r.err, self->out));
	/* a calibration file with no stories */
	RUN("quantize", "-m", self->model, "-z", self->tok, "-c", "/dev/null",
	    "-o", self->out);
	EXPECT_RUN(1, err, "/dev/null");
	f = fopen(self->out, "wb");
	ASSERT_NE(NULL, f);
	fputs("  \n<|endoftext|>\n", f);
	fclose(f);
	RUN("quantize", "-m", self->model, "-z", self->tok, "-c", self->out,
	    "-o", "/tmp/inpu-quant-cli-never.inpu");
	EXPECT_RUN(1, err, "calibration text: no tokens");
	/* an output path that cannot be written */
	QUANTIZE("--smooth", "off", "-o", "/nonexistent/dir/m.inpu");
	EXPECT_RUN(1, err, "/nonexistent/dir/m.inpu");
}

TEST_HARNESS_MAIN
