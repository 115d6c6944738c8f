// SPDX-License-Identifier: MIT
/*
 * inpu generate: greedy text generation with the float reference or an
 * integer model on the engine, through the generation loop (generate.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "generate.h"

static void generate_usage(FILE *f)
{
	fprintf(f,
		"usage: %s generate -m MODEL [-z TOKENIZER.bin] [-p PROMPT] [-n STEPS]\n"
		"                    [--backend float|cpu] [--seq-len N]\n"
		"\n"
		"Greedy decoding (temperature 0) as llama2.c run.c does it: BOS and the\n"
		"prompt, then the most likely token, STEPS positions in all (the prompt\n"
		"included) or until the model emits BOS.  Prints the text, prompt\n"
		"included.  Needs no device.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint (v0 or float32 v1) or GGUF\n"
		"                          file (architecture llama), or .inpu model for\n"
		"                          --backend cpu\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin); default: the\n"
		"                          one in the GGUF or .inpu file (a llama2.c\n"
		"                          checkpoint has none)\n"
		"  -p, --prompt TEXT       text to start from (default: empty)\n"
		"  -n, --steps N           positions to run, at most the model's seq_len\n"
		"                          (default 256)\n"
		"  -b, --backend NAME      float (the float32 reference; default) or cpu\n"
		"                          (the integer model; the next token is the\n"
		"                          stream's own ARGMAX, no floating point)\n"
		"  -L, --seq-len N         float: the context length to run at instead of\n"
		"                          the checkpoint's (GGUF files from llama.cpp's\n"
		"                          llama2.c converter say 128 whatever the model)\n"
		"  -h, --help              show this help\n",
		prog);
}

struct gen_args {
	const char *prompt;
	long long steps;
	struct cli_model cm;
};

/* The command line into @a: -1 to go on, else the exit status. */
static int generate_args(int argc, char **argv, struct gen_args *a)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "prompt", required_argument, NULL, 'p' },
		{ "steps", required_argument, NULL, 'n' },
		{ "backend", required_argument, NULL, 'b' },
		{ "seq-len", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:p:n:b:L:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			a->cm.model = optarg;
			break;
		case 'z':
			a->cm.tokenizer = optarg;
			break;
		case 'p':
			a->prompt = optarg;
			break;
		case 'n':
			a->steps = cli_parse_count(optarg, 1LL << 30);
			if (a->steps < 0) {
				fprintf(stderr,
					"%s generate: --steps: '%s' is not a positive integer\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'b':
			if (cli_backend_parse("generate", optarg,
					      1u << CLI_FLOAT | 1u << CLI_CPU, &a->cm.kind))
				return 2;
			break;
		case 'L':
			if (cli_seq_len("generate", optarg, &a->cm.seq_len))
				return 2;
			break;
		case 'h':
			generate_usage(stdout);
			return 0;
		default:
			generate_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s generate: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}
	if (!a->cm.model) {
		fprintf(stderr, "%s generate: missing -m MODEL (try '%s generate --help')\n",
			prog, prog);
		return 2;
	}
	return -1;
}

/* BOS and the prompt as token ids: their count, or -1 after a message. */
static long encode_prompt(const struct gen_args *a, int **tokens)
{
	long n = cli_encode_prompt(&a->cm, a->prompt, tokens);

	if (n > a->cm.b->seq_len) {
		fprintf(stderr,
			"%s generate: --prompt: %ld tokens, more than the model's seq_len %d\n",
			prog, n, a->cm.b->seq_len);
		return -1;
	}
	return n;
}

int cmd_generate(int argc, char **argv)
{
	struct gen_args a = {
		.prompt = "", .steps = 256,
		.cm = { .cmd = "generate", .kind = CLI_FLOAT },
	};
	struct inpu_gen_opts o = { .batch = 1, .depth = 1, .per_job = 1 };
	struct inpu_gen_stats st = { 0 };
	int *tokens = NULL, rc = generate_args(argc, argv, &a);
	long n_prompt;

	if (rc >= 0)
		return rc;
	rc = cli_model_open(&a.cm);
	if (rc)
		goto out;
	rc = 1;		/* the failures below are runtime errors */
	n_prompt = encode_prompt(&a, &tokens);
	if (n_prompt < 0)
		goto out;
	o.steps = a.steps > a.cm.b->seq_len ? a.cm.b->seq_len : (int)a.steps;
	o.emit = cli_emit_piece;
	o.flush = cli_flush_stdout;
	o.ctx = a.cm.t;
	if (inpu_generate(a.cm.b, tokens, (int)n_prompt, &o, &st)) {
		fprintf(stderr, "%s generate: forward pass failed at position %d%s%s\n",
			prog, st.fail_pos, st.why[0] ? ": " : "", st.why);
		goto out;
	}
	printf("\n");
	rc = 0;
out:
	inpu_gen_stats_free(&st);
	free(tokens);
	cli_model_close(&a.cm);
	return rc;
}
