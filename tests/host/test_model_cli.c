// SPDX-License-Identifier: MIT
/*
 * 'inpu ppl' and 'inpu generate': options, exit codes (2 for usage
 * errors, 1 for runtime errors), messages naming the file or option at
 * fault, and results equal to the library's.  Runs the sanitizer build
 * build/asan/bin/inpu (found from this binary's path, or $INPU_CLI).
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

#include "file.h"
#include "tokenizer.h"
#include "model.h"
#include "ppl.h"
#include "cli_util.h"
#include "kselftest_harness.h"

FIXTURE(cli) {
	char model[PATH_MAX], tok[PATH_MAX], dev[PATH_MAX];
	struct run r;
};

FIXTURE_SETUP(cli)
{
	ASSERT_EQ(0, shared_path(SHARED_MODEL, self->model, sizeof(self->model))) {
		TH_LOG(SHARED_HINT, self->model);
	}
	ASSERT_EQ(0, shared_path(SHARED_TOK, self->tok, sizeof(self->tok))) {
		TH_LOG(SHARED_HINT, self->tok);
	}
	ASSERT_EQ(0, shared_path(SHARED_DEV, self->dev, sizeof(self->dev))) {
		TH_LOG(SHARED_HINT, self->dev);
	}
}

FIXTURE_TEARDOWN(cli)
{
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

TEST_F(cli, help)
{
	RUN("ppl", "--help");
	EXPECT_RUN(0, out, "usage: inpu ppl -m MODEL [-z TOKENIZER.bin] -f TEXT");
	RUN("generate", "-h");
	EXPECT_RUN(0, out, "usage: inpu generate -m MODEL [-z TOKENIZER.bin]");
	RUN("--help");
	EXPECT_RUN(0, out, "  ppl ");
	EXPECT_NE(NULL, strstr(self->r.out, "  generate "));
	EXPECT_NE(NULL, strstr(self->r.out, "  info "));
}

TEST_F(cli, usage_errors_exit_2)
{
	RUN("ppl", "-z", self->tok, "-f", self->dev);
	EXPECT_RUN(2, err, "inpu ppl: missing -m MODEL");
	RUN("ppl", "-m", self->model, "-z", self->tok);
	EXPECT_RUN(2, err, "missing -f TEXT");
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", self->dev,
	    "--max-stories", "0");
	EXPECT_RUN(2, err, "--max-stories: '0' is not a positive integer");
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", self->dev,
	    "--max-stories", "3x");
	EXPECT_RUN(2, err, "--max-stories: '3x'");
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", self->dev,
	    "--backend", "npu");
	EXPECT_RUN(2, err, "--backend: unknown backend 'npu' (available: float, cpu, device)");
	/* the cpu backend runs .inpu models (test_quant_*.c test it) */
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", self->dev,
	    "--backend", "cpu");
	EXPECT_RUN(2, err, "--backend cpu runs an integer .inpu model");
	RUN("ppl", "--bogus");
	EXPECT_RUN(2, err, "usage: inpu ppl");
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", self->dev, "extra");
	EXPECT_RUN(2, err, "unexpected argument 'extra'");
	RUN("generate", "-z", self->tok);
	EXPECT_RUN(2, err, "inpu generate: missing -m MODEL");
	RUN("generate", "-m", self->model, "-z", self->tok, "-n", "-5");
	EXPECT_RUN(2, err, "--steps: '-5' is not a positive integer");
	RUN("generate", "-m", self->model, "-z", self->tok, "-b", "npu");
	EXPECT_RUN(2, err, "unknown backend 'npu'");
}

TEST_F(cli, runtime_errors_exit_1_and_name_the_file)
{
	char path[64];
	struct inpu_tokenizer *t;
	char err[INPU_MODEL_ERRLEN], *b;
	size_t len;

	RUN("ppl", "-m", "/nonexistent/m.bin", "-z", self->tok, "-f", self->dev);
	EXPECT_RUN(1, err, "inpu ppl: /nonexistent/m.bin: No such file or directory");
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", "/nonexistent/t.txt");
	EXPECT_RUN(1, err, "inpu ppl: /nonexistent/t.txt: No such file or directory");
	/* The tokenizer given as the model, and the model as the tokenizer. */
	RUN("ppl", "-m", self->tok, "-z", self->tok, "-f", self->dev);
	EXPECT_RUN(1, err, "not a llama2.c checkpoint");
	EXPECT_NE(NULL, strstr(self->r.err, self->tok));
	RUN("generate", "-m", self->model, "-z", self->model);
	EXPECT_RUN(1, err, "not a llama2.c tokenizer");
	EXPECT_NE(NULL, strstr(self->r.err, self->model));
	/* A llama2.c checkpoint has no tokenizer of its own. */
	RUN("ppl", "-m", self->model, "-f", self->dev);
	EXPECT_RUN(1, err, "is a llama2.c checkpoint, which carries no tokenizer: give one with -z");
	EXPECT_NE(NULL, strstr(self->r.err, self->model));

	/* A valid tokenizer of another vocabulary size. */
	ASSERT_EQ(0, inpu_tokenizer_load(self->tok, &t, err, sizeof(err)));
	b = tokenizer_prefix_file(t, 400, &len);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, write_temp(path, b, len));
	RUN("ppl", "-m", self->model, "-z", path, "-f", self->dev);
	EXPECT_RUN(1, err, "has 400 tokens but");
	EXPECT_NE(NULL, strstr(self->r.err, "has vocab_size 512: not its tokenizer"));
	unlink(path);
	free(b);
	inpu_tokenizer_free(t);

	/* A text without stories. */
	ASSERT_EQ(0, write_temp(path, "\n<|endoftext|>\n", 15));
	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", path);
	EXPECT_RUN(1, err, "no tokens to score");
	unlink(path);
}

TEST_F(cli, ppl_equals_library)
{
	struct inpu_model *m;
	struct inpu_tokenizer *t;
	struct inpu_float_state *s;
	struct inpu_lm lm;
	struct inpu_ppl acc;
	char err[INPU_MODEL_ERRLEN], want[128], *text;
	size_t len;

	RUN("ppl", "-m", self->model, "-z", self->tok, "-f", self->dev,
	    "--max-stories", "2");
	EXPECT_RUN(0, out, "stories:     2\n");
	/* Not a tty: no progress display. */
	EXPECT_STREQ("", self->r.err);

	ASSERT_EQ(0, inpu_model_load(self->model, &m, err, sizeof(err)));
	ASSERT_EQ(0, inpu_tokenizer_load(self->tok, &t, err, sizeof(err)));
	ASSERT_EQ(0, inpu_float_state_new(m, &s));
	ASSERT_EQ(0, inpu_read_file(self->dev, &text, &len, err, sizeof(err)));
	lm = (struct inpu_lm){ inpu_float_lm_forward, s, 512, 512 };
	ASSERT_EQ(0, inpu_ppl_text(t, &lm, text, len, 2, NULL, NULL, &acc));
	snprintf(want, sizeof(want), "tokens:      %llu\n",
		 (unsigned long long)acc.tokens);
	EXPECT_NE(NULL, strstr(self->r.out, want)) { TH_LOG("%s", self->r.out); }
	snprintf(want, sizeof(want), "perplexity:  %.4f\n", inpu_ppl_value(&acc));
	EXPECT_NE(NULL, strstr(self->r.out, want)) { TH_LOG("%s", self->r.out); }
	EXPECT_NE(NULL, strstr(self->r.out, "backend:     float\n"));
	free(text);
	inpu_float_state_free(s);
	inpu_tokenizer_free(t);
	inpu_model_free(m);
}

TEST_F(cli, generate_greedy)
{
	RUN("generate", "-m", self->model, "-z", self->tok, "-n", "40",
	    "--backend", "float");
	EXPECT_EQ(0, self->r.status) { TH_LOG("%s", self->r.err); }
	EXPECT_EQ(0, strncmp(self->r.out, README_GREEDY, strlen(README_GREEDY))) {
		TH_LOG("got: %s", self->r.out);
	}
	/* The prompt is printed, then continued. */
	RUN("generate", "-m", self->model, "-z", self->tok, "-p",
	    "Once upon a time, there was a little girl", "-n", "20");
	EXPECT_EQ(0, self->r.status);
	EXPECT_EQ(0, strncmp(self->r.out, README_GREEDY, 60)) {
		TH_LOG("got: %s", self->r.out);
	}
	/* -n counts positions: 1 step prints one token. */
	RUN("generate", "-m", self->model, "-z", self->tok, "-n", "1");
	EXPECT_STREQ("Once\n", self->r.out);
}

TEST_HARNESS_MAIN
