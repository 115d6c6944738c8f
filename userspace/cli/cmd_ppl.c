// SPDX-License-Identifier: MIT
/*
 * inpu ppl: perplexity with the protocol of ../shared/data/README.md, for
 * every backend: the float reference, or an integer .inpu model on the
 * engine (cpu) or on the device; --compare counts top-1 agreement with a
 * float checkpoint.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libinpu.h"
#include "backend_float.h"
#include "cli.h"
#include "file.h"
#include "generate.h"
#include "ppl.h"
#include "qlm.h"

static void ppl_usage(FILE *f)
{
	fprintf(f,
		"usage: %s ppl -m MODEL [-z TOKENIZER.bin] -f TEXT [--backend float|cpu|device]\n"
		"               [-d DEVICE] [--max-stories N] [--compare FLOAT.bin]\n"
		"               [--seq-len N]\n"
		"\n"
		"Perplexity of a llama2.c checkpoint (v0 or float32 v1) or a GGUF file\n"
		"(architecture llama; backend float)\n"
		"or of an integer .inpu model (backend cpu: the engine on the host;\n"
		"--backend device: every step on the INPU device, the same number) on a\n"
		"text of stories separated by lines '" INPU_STORY_SEP "', with the protocol of\n"
		"../shared/data/README.md: each story separately, BOS + its BPE tokens\n"
		"(paragraphs joined by single newlines) cut at the model's seq_len,\n"
		"PPL = exp(mean NLL of every token after BOS).  Float and cpu need no\n"
		"device.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint or GGUF file, or .inpu model\n"
		"                          for cpu/device\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin); default: the\n"
		"                          one in the GGUF or .inpu file (a llama2.c\n"
		"                          checkpoint has none)\n"
		"  -f, --file PATH         text to evaluate\n"
		"  -b, --backend NAME      float (the float32 reference; default), cpu\n"
		"                          (the integer model through the engine library)\n"
		"                          or device (the integer model on the INPU device)\n"
		"  -d, --device PATH       --backend device: accel node (default: the first\n"
		"                          INPU device)\n"
		"  -s, --max-stories N     only the first N stories\n"
		"  -c, --compare PATH      with --backend cpu or device: also run this float\n"
		"                          checkpoint and report how often both models rank\n"
		"                          the same token first (top-1 agreement)\n"
		"  -L, --seq-len N         float: the context length to cut stories at\n"
		"                          instead of the checkpoint's (GGUF files from\n"
		"                          llama.cpp's llama2.c converter say 128)\n"
		"  -h, --help              show this help\n",
		prog);
}

struct ppl_args {
	const char *file, *compare;
	long long max_stories;
	struct cli_model cm;
};

/* The command line into @a: -1 to go on, else the exit status. */
static int ppl_args(int argc, char **argv, struct ppl_args *a)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "file", required_argument, NULL, 'f' },
		{ "backend", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'd' },
		{ "max-stories", required_argument, NULL, 's' },
		{ "compare", required_argument, NULL, 'c' },
		{ "seq-len", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const unsigned int avail = 1u << CLI_FLOAT | 1u << CLI_CPU | 1u << CLI_DEVICE;
	struct cli_model *cm = &a->cm;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:f:b:d:s:c:L:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			cm->model = optarg;
			break;
		case 'z':
			cm->tokenizer = optarg;
			break;
		case 'f':
			a->file = optarg;
			break;
		case 'b':
			if (cli_backend_parse("ppl", optarg, avail, &cm->kind))
				return 2;
			break;
		case 'd':
			cm->device = optarg;
			break;
		case 's':
			a->max_stories = cli_parse_count(optarg, 1LL << 40);
			if (a->max_stories < 0) {
				fprintf(stderr,
					"%s ppl: --max-stories: '%s' is not a positive integer\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'c':
			a->compare = optarg;
			break;
		case 'L':
			if (cli_seq_len("ppl", optarg, &cm->seq_len))
				return 2;
			break;
		case 'h':
			ppl_usage(stdout);
			return 0;
		default:
			ppl_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s ppl: unexpected argument '%s'\n", prog, argv[optind]);
		return 2;
	}
	if (!cm->model || !a->file) {
		fprintf(stderr, "%s ppl: missing %s (try '%s ppl --help')\n", prog,
			!cm->model ? "-m MODEL" : "-f TEXT", prog);
		return 2;
	}
	if (cm->device && cm->kind != CLI_DEVICE) {
		fprintf(stderr, "%s ppl: --device %s: only with --backend device\n",
			prog, cm->device);
		return 2;
	}
	return -1;
}

struct ppl_progress {
	time_t last;
};

static void ppl_progress(void *ctx, const struct inpu_ppl *acc, uint64_t total)
{
	struct ppl_progress *p = ctx;
	time_t now = time(NULL);

	if (now == p->last && acc->stories != total)
		return;
	p->last = now;
	fprintf(stderr, "\r%s ppl: story %llu/%llu, %llu tokens, ppl %.4f ",
		prog, (unsigned long long)acc->stories,
		(unsigned long long)total, (unsigned long long)acc->tokens,
		inpu_ppl_value(acc));
	if (acc->stories == total)
		fprintf(stderr, "\r\033[K");
	fflush(stderr);
}

/*
 * --compare: the float model runs next to the scored one, and the
 * positions where both rank the same token first are counted.
 */
struct agree {
	struct inpu_lm lm;		/* the model scored */
	struct inpu_backend *ref;	/* the float reference */
	uint64_t same, tokens;
};

static const float *agree_forward(void *ctx, int token, int pos)
{
	struct agree *g = ctx;
	const float *il;

	if (g->ref->ops->step(g->ref, token, pos))
		return NULL;
	il = g->lm.forward(g->lm.ctx, token, pos);
	if (!il)
		return NULL;
	g->same += g->ref->ops->next(g->ref) == inpu_argmax(il, g->lm.vocab_size);
	g->tokens++;
	return il;
}

/* The model as the perplexity code sees it: float logits. */
static int ppl_lm(struct ppl_args *a, struct inpu_qlm **q, struct inpu_lm *lm)
{
	if (a->cm.kind == CLI_FLOAT) {
		inpu_backend_float_lm(a->cm.b, lm);
		return 0;
	}
	if (inpu_qlm_new_backend(a->cm.b, a->cm.qm, q)) {
		fprintf(stderr, "%s ppl: out of memory\n", prog);
		return 1;
	}
	inpu_qlm_lm(*q, lm);
	return 0;
}

static void ppl_print(const struct ppl_args *a, const struct inpu_ppl *acc,
		      const struct agree *ag)
{
	struct inpu_qdev *qd = inpu_backend_qdev(a->cm.b);

	printf("model:       ");
	cli_model_describe(&a->cm, stdout);
	printf("text:        %s\n", a->file);
	if (qd)
		printf("backend:     device (%s)\n", inpu_qdev_path(qd));
	else
		printf("backend:     %s\n", a->cm.b->name);
	printf("stories:     %llu\n", (unsigned long long)acc->stories);
	printf("tokens:      %llu\n", (unsigned long long)acc->tokens);
	if (acc->unk)
		printf("unknown:     %llu characters not in the vocabulary, scored as <unk>\n",
		       (unsigned long long)acc->unk);
	printf("nll/token:   %.6f\n", acc->nll / (double)acc->tokens);
	printf("perplexity:  %.4f\n", inpu_ppl_value(acc));
	if (a->compare)
		printf("top-1 agree: %.2f%% with %s (%llu of %llu positions)\n",
		       ag->tokens ? 100.0 * (double)ag->same / (double)ag->tokens : 0.0,
		       a->compare, (unsigned long long)ag->same,
		       (unsigned long long)ag->tokens);
}

/* Why scoring stopped, in the words of each backend. */
static void ppl_error(const struct ppl_args *a, int ret)
{
	char why[256];

	if (ret != -EIO || a->cm.kind == CLI_FLOAT) {
		fprintf(stderr, "%s ppl: %s: %s\n", prog, a->file, strerror(-ret));
		return;
	}
	a->cm.b->ops->why(a->cm.b, why, sizeof(why));
	fprintf(stderr, "%s ppl: %s: %s: %s\n", prog, a->file,
		a->cm.kind == CLI_DEVICE ? "the device step failed" :
		"the engine stopped", why);
}

static int ppl_score(struct ppl_args *a, struct inpu_lm *lm, struct agree *ag)
{
	struct ppl_progress ps = { 0 };
	char err[INPU_MODEL_ERRLEN];
	uint64_t t0 = inpu_now_ns();
	struct inpu_ppl acc;
	char *text;
	size_t len;
	int ret;

	if (inpu_read_file(a->file, &text, &len, err, sizeof(err))) {
		fprintf(stderr, "%s ppl: %s\n", prog, err);
		return 1;
	}
	ret = inpu_ppl_text(a->cm.t, lm, text, len, (uint64_t)a->max_stories,
			    isatty(STDERR_FILENO) ? ppl_progress : NULL, &ps, &acc);
	free(text);
	if (ret) {
		ppl_error(a, ret);
		return 1;
	}
	if (!acc.tokens) {
		fprintf(stderr, "%s ppl: %s: no tokens to score (no stories?)\n",
			prog, a->file);
		return 1;
	}
	ppl_print(a, &acc, ag);
	if (a->cm.kind == CLI_DEVICE)
		fprintf(stderr, "%s ppl: %.1f s, %.1f tokens/s on the device\n", prog,
			(double)(inpu_now_ns() - t0) / 1e9,
			(double)acc.tokens * 1e9 / (double)(inpu_now_ns() - t0));
	return 0;
}

int cmd_ppl(int argc, char **argv)
{
	struct ppl_args a = { .cm = { .cmd = "ppl", .kind = CLI_FLOAT } };
	struct cli_model ref = { .cmd = "ppl", .kind = CLI_FLOAT };
	struct agree ag = { 0 };
	struct inpu_qlm *q = NULL;
	struct inpu_lm lm;
	int ret = ppl_args(argc, argv, &a);

	if (ret >= 0)
		return ret;
	ret = cli_model_open(&a.cm);
	if (!ret && a.compare && a.cm.kind == CLI_FLOAT) {
		fprintf(stderr, "%s ppl: --compare needs --backend cpu or device\n", prog);
		ret = 2;
	}
	if (!ret)
		ret = ppl_lm(&a, &q, &lm);
	if (!ret && a.compare) {
		ref.model = a.compare;
		ref.tokenizer = a.cm.tokenizer;
		ref.tok_optional = 1;	/* the vocabulary is checked below */
		ret = cli_model_open(&ref) ? 1 : 0;
		if (!ret && (uint32_t)ref.m->cfg.vocab_size != a.cm.qm->cfg.vocab_size) {
			fprintf(stderr, "%s ppl: --compare %s has vocab_size %d, %s has %u\n",
				prog, a.compare, ref.m->cfg.vocab_size, a.cm.model,
				a.cm.qm->cfg.vocab_size);
			ret = 1;
		}
		ag.lm = lm;
		ag.ref = ref.b;
		lm.forward = agree_forward;
		lm.ctx = &ag;
	}
	if (!ret)
		ret = ppl_score(&a, &lm, &ag);
	inpu_qlm_free(q);
	cli_model_close(&ref);
	cli_model_close(&a.cm);
	return ret;
}
