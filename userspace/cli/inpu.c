// SPDX-License-Identifier: MIT
/*
 * inpu: command-line front end of libinpu.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <inpu/inpu_regs.h>

#include "libinpu.h"
#include "model.h"
#include "quant.h"
#include "cmd_run.h"

#define INPU_CLI_VERSION "0.1.0"

static const char *prog = "inpu";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s <command> [options]\n"
		"\n"
		"commands:\n"
		"  info      print the identity, version and capabilities of an INPU device\n"
		"  ppl       perplexity of a model on a text file (no device needed)\n"
		"  generate  greedy text generation with a model (no device needed)\n"
		"  quantize  make an integer-only .inpu model from a float checkpoint\n"
		INPU_CLI_RUN_USAGE
		"\n"
		"options:\n"
		"  -h, --help      show this help (or a command's help: %s <command> --help)\n"
		"  -V, --version   print the version of this tool\n",
		prog, prog);
}

static void info_usage(FILE *f)
{
	fprintf(f,
		"usage: %s info [-d DEVICE] [--json]\n"
		"\n"
		"Query an INPU device through DRM_IOCTL_INPU_QUERY.\n"
		"\n"
		"options:\n"
		"  -d, --device PATH   accel node to use (default: the first INPU device\n"
		"                      under " INPU_ACCEL_DIR ")\n"
		"  -j, --json          print one JSON object instead of text\n"
		"  -h, --help          show this help\n",
		prog);
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct drm_inpu_device_info info;
	const char *path = NULL;
	struct inpu_dev *dev;
	char caps[256];
	int json = 0, c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			info_usage(stdout);
			return 0;
		default:
			info_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s info: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}

	ret = inpu_dev_open(path, &dev);
	if (ret) {
		fprintf(stderr, "%s info: %s: %s\n", prog,
			path ? path : INPU_ACCEL_DIR, inpu_strerror(ret));
		return 1;
	}
	ret = inpu_query_device_info(dev, &info);
	if (ret) {
		fprintf(stderr, "%s info: %s: query failed: %s\n", prog,
			inpu_dev_path(dev), inpu_strerror(ret));
		inpu_dev_close(dev);
		return 1;
	}
	inpu_format_caps(info.capabilities, caps, sizeof(caps));

	if (json) {
		printf("{\"device\":\"%s\",\"identity\":\"0x%08x\","
		       "\"hw_version\":\"%u.%u.%u\",\"capabilities\":\"0x%llx\","
		       "\"pci_id\":\"%04x:%04x\",\"pci_revision\":%u,"
		       "\"sa_rows\":%u,\"sa_cols\":%u,\"driver_abi\":%u,"
		       "\"fw_version\":\"%u.%u.%u\",\"fw_features\":\"0x%llx\"}\n",
		       inpu_dev_path(dev), info.identity,
		       INPU_HW_VERSION_MAJOR(info.hw_version),
		       INPU_HW_VERSION_MINOR(info.hw_version),
		       INPU_HW_VERSION_PATCH(info.hw_version),
		       (unsigned long long)info.capabilities, info.pci_vendor,
		       info.pci_device, info.pci_revision, info.sa_rows,
		       info.sa_cols, info.driver_abi,
		       INPU_HW_VERSION_MAJOR(info.fw_version),
		       INPU_HW_VERSION_MINOR(info.fw_version),
		       INPU_HW_VERSION_PATCH(info.fw_version),
		       (unsigned long long)info.fw_features);
	} else {
		printf("device:         %s\n", inpu_dev_path(dev));
		printf("identity:       0x%08x\n", info.identity);
		printf("hw version:     %u.%u.%u\n",
		       INPU_HW_VERSION_MAJOR(info.hw_version),
		       INPU_HW_VERSION_MINOR(info.hw_version),
		       INPU_HW_VERSION_PATCH(info.hw_version));
		printf("capabilities:   0x%llx (%s)\n",
		       (unsigned long long)info.capabilities, caps);
		printf("pci id:         %04x:%04x rev %02x\n", info.pci_vendor,
		       info.pci_device, info.pci_revision);
		printf("systolic array: %u x %u\n", info.sa_rows, info.sa_cols);
		printf("driver abi:     %u\n", info.driver_abi);
		printf("firmware:       %u.%u.%u (features 0x%llx)\n",
		       INPU_HW_VERSION_MAJOR(info.fw_version),
		       INPU_HW_VERSION_MINOR(info.fw_version),
		       INPU_HW_VERSION_PATCH(info.fw_version),
		       (unsigned long long)info.fw_features);
	}
	inpu_dev_close(dev);
	return 0;
}

/* ---- models: ppl and generate ------------------------------------------ */

static void ppl_usage(FILE *f)
{
	fprintf(f,
		"usage: %s ppl -m MODEL.bin -z TOKENIZER.bin -f TEXT [--backend float|cpu]\n"
		"               [--max-stories N] [--compare FLOAT.bin]\n"
		"\n"
		"Perplexity of a llama2.c checkpoint (v0 or float32 v1; backend float)\n"
		"or of an integer .inpu model (backend cpu: the engine on the host) on a text of\n"
		"stories separated by lines '" INPU_STORY_SEP "', with the protocol of\n"
		"../shared/data/README.md: each story separately, BOS + its BPE tokens\n"
		"(paragraphs joined by single newlines) cut at the model's seq_len,\n"
		"PPL = exp(mean NLL of every token after BOS).  Needs no device.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint, or .inpu model for --backend cpu\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin)\n"
		"  -f, --file PATH         text to evaluate\n"
		"  -b, --backend NAME      float (the float32 reference; default) or cpu\n"
		"                          (the integer model through the engine library)\n"
		"  -s, --max-stories N     only the first N stories\n"
		"  -c, --compare PATH      with --backend cpu: also run this float checkpoint\n"
		"                          and report how often both models rank the same\n"
		"                          token first (top-1 agreement)\n"
		"  -h, --help              show this help\n",
		prog);
}

static void generate_usage(FILE *f)
{
	fprintf(f,
		"usage: %s generate -m MODEL.bin -z TOKENIZER.bin [-p PROMPT] [-n STEPS]\n"
		"                    [--backend float|cpu]\n"
		"\n"
		"Greedy decoding (temperature 0) as llama2.c run.c does it: BOS and the\n"
		"prompt, then the most likely token, STEPS positions in all (the prompt\n"
		"included) or until the model emits BOS.  Prints the text, prompt\n"
		"included.  Needs no device.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint (v0 or float32 v1), or .inpu\n"
		"                          model for --backend cpu\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin)\n"
		"  -p, --prompt TEXT       text to start from (default: empty)\n"
		"  -n, --steps N           positions to run, at most the model's seq_len\n"
		"                          (default 256)\n"
		"  -b, --backend NAME      float (the float32 reference; default) or cpu\n"
		"                          (the integer model; the next token is the\n"
		"                          stream's own ARGMAX, no floating point)\n"
		"  -h, --help              show this help\n",
		prog);
}

/* A positive decimal integer no larger than @max, or -1. */
long long inpu_cli_parse_count(const char *s, long long max)
{
	char *end;
	long long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0 || v > max)
		return -1;
	return v;
}

struct model_args {
	const char *model, *tokenizer;
	int cpu;			/* --backend cpu: an integer .inpu model */
	struct inpu_model *m;
	struct inpu_tokenizer *t;
	struct inpu_float_state *state;
	struct inpu_qmodel *qm;
	struct inpu_qcpu *qc;
	struct inpu_qlm *qlm;
	int vocab_size, seq_len;
};

/* 0: float, 1: cpu, -1: unknown (message printed). */
static int check_backend(const char *cmd, const char *backend)
{
	if (!strcmp(backend, "float"))
		return 0;
	if (!strcmp(backend, "cpu"))
		return 1;
	fprintf(stderr,
		"%s %s: --backend: unknown backend '%s' (available: float, cpu)\n",
		prog, cmd, backend);
	return -1;
}

/* 1 if @path starts with the .inpu magic. */
static int is_inpu_file(const char *path)
{
	unsigned char b[4];
	FILE *f = fopen(path, "rb");
	int r = 0;

	if (!f)
		return 0;
	if (fread(b, 1, 4, f) == 4)
		r = inpu_qmodel_sniff(b, 4);
	fclose(f);
	return r;
}

/* Load model and tokenizer, check they belong together.  1 on failure. */
static int load_model(const char *cmd, struct model_args *a)
{
	char err[INPU_MODEL_ERRLEN];
	int ret;

	if (a->cpu) {
		if (!is_inpu_file(a->model) && access(a->model, R_OK) == 0) {
			fprintf(stderr,
				"%s %s: --backend cpu runs an integer .inpu model (made by '%s quantize'); %s is not one\n",
				prog, cmd, prog, a->model);
			return 2;
		}
		if (inpu_qmodel_load(a->model, &a->qm, err, sizeof(err)) ||
		    inpu_tokenizer_load(a->tokenizer, &a->t, err, sizeof(err))) {
			fprintf(stderr, "%s %s: %s\n", prog, cmd, err);
			return 1;
		}
		if ((uint32_t)inpu_tokenizer_size(a->t) != a->qm->cfg.vocab_size) {
			fprintf(stderr,
				"%s %s: %s has a vocabulary of %u tokens, %s has %d: they do not belong together\n",
				prog, cmd, a->model, a->qm->cfg.vocab_size,
				a->tokenizer, inpu_tokenizer_size(a->t));
			return 1;
		}
		ret = inpu_qcpu_new(a->qm, -1, &a->qc, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "%s %s: %s: %s\n", prog, cmd, a->model, err);
			return 1;
		}
		if (inpu_qlm_new(a->qc, a->qm, &a->qlm)) {
			fprintf(stderr, "%s %s: out of memory\n", prog, cmd);
			return 1;
		}
		a->vocab_size = (int)a->qm->cfg.vocab_size;
		a->seq_len = (int)a->qm->cfg.seq_len;
		return 0;
	}
	if (is_inpu_file(a->model)) {
		fprintf(stderr,
			"%s %s: %s is an integer .inpu model: use --backend cpu\n",
			prog, cmd, a->model);
		return 1;
	}
	if (inpu_model_load(a->model, &a->m, err, sizeof(err)) ||
	    inpu_tokenizer_load(a->tokenizer, &a->t, err, sizeof(err)) ||
	    inpu_model_check_tokenizer(a->m, a->model, a->t, a->tokenizer, err,
				       sizeof(err))) {
		fprintf(stderr, "%s %s: %s\n", prog, cmd, err);
		return 1;
	}
	if (inpu_float_state_new(a->m, &a->state)) {
		fprintf(stderr, "%s %s: %s: out of memory for the activations\n",
			prog, cmd, a->model);
		return 1;
	}
	a->vocab_size = a->m->cfg.vocab_size;
	a->seq_len = a->m->cfg.seq_len;
	return 0;
}

static void unload_model(struct model_args *a)
{
	inpu_qlm_free(a->qlm);
	inpu_qcpu_free(a->qc);
	inpu_qmodel_free(a->qm);
	inpu_float_state_free(a->state);
	inpu_tokenizer_free(a->t);
	inpu_model_free(a->m);
}

struct ppl_progress {
	time_t last;
};

static void ppl_progress(void *ctx, const struct inpu_ppl *acc,
			 uint64_t total)
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
 * --compare: run the float model next to the integer one and count the
 * positions where both rank the same token first.
 */
struct agree {
	struct inpu_lm lm;		/* the integer model */
	struct inpu_float_state *ref;
	uint64_t same, tokens;
};

static const float *agree_forward(void *ctx, int token, int pos)
{
	struct agree *g = ctx;
	const float *fl, *il;

	fl = inpu_float_forward(g->ref, token, pos);
	il = g->lm.forward(g->lm.ctx, token, pos);
	if (!fl || !il)
		return NULL;
	g->same += inpu_argmax(fl, g->lm.vocab_size) ==
		   inpu_argmax(il, g->lm.vocab_size);
	g->tokens++;
	return il;
}

static int cmd_ppl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "file", required_argument, NULL, 'f' },
		{ "backend", required_argument, NULL, 'b' },
		{ "max-stories", required_argument, NULL, 's' },
		{ "compare", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *backend = "float";
	struct model_args a = { 0 }, ref = { 0 };
	struct agree ag = { 0 };
	char err[INPU_MODEL_ERRLEN];
	struct ppl_progress prog_state = { 0 };
	long long max_stories = 0;
	struct inpu_ppl acc;
	struct inpu_lm lm;
	size_t len;
	char *text;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:f:b:s:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			a.model = optarg;
			break;
		case 'c':
			ref.model = optarg;
			break;
		case 'z':
			a.tokenizer = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'b':
			backend = optarg;
			break;
		case 's':
			max_stories = inpu_cli_parse_count(optarg, 1LL << 40);
			if (max_stories < 0) {
				fprintf(stderr,
					"%s ppl: --max-stories: '%s' is not a positive integer\n",
					prog, optarg);
				return 2;
			}
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
		fprintf(stderr, "%s ppl: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}
	if (!a.model || !a.tokenizer || !file) {
		fprintf(stderr, "%s ppl: missing %s (try '%s ppl --help')\n",
			prog, !a.model ? "-m MODEL" :
			!a.tokenizer ? "-z TOKENIZER" : "-f TEXT", prog);
		return 2;
	}
	a.cpu = check_backend("ppl", backend);
	if (a.cpu < 0)
		return 2;
	ret = load_model("ppl", &a);
	if (ret) {
		unload_model(&a);
		return ret;
	}
	ret = inpu_read_file(file, &text, &len, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s ppl: %s\n", prog, err);
		unload_model(&a);
		return 1;
	}
	if (ref.model && !a.cpu) {
		fprintf(stderr, "%s ppl: --compare needs --backend cpu\n", prog);
		unload_model(&a);
		free(text);
		return 2;
	}
	if (ref.model) {
		ref.tokenizer = a.tokenizer;
		if (load_model("ppl", &ref)) {
			unload_model(&ref);
			unload_model(&a);
			free(text);
			return 1;
		}
		inpu_qlm_lm(a.qlm, &ag.lm);
		ag.ref = ref.state;
		lm = ag.lm;
		lm.forward = agree_forward;
		lm.ctx = &ag;
	} else if (a.cpu) {
		inpu_qlm_lm(a.qlm, &lm);
	} else {
		lm = (struct inpu_lm){
			.forward = inpu_float_lm_forward,
			.ctx = a.state,
			.vocab_size = a.m->cfg.vocab_size,
			.seq_len = a.m->cfg.seq_len,
		};
	}
	ret = inpu_ppl_text(a.t, &lm, text, len, (uint64_t)max_stories,
			    isatty(STDERR_FILENO) ? ppl_progress : NULL,
			    &prog_state, &acc);
	free(text);
	if (ret) {
		if (a.cpu && ret == -EIO)
			fprintf(stderr, "%s ppl: %s: the engine stopped: %s\n", prog,
				file, inpu_job_status_name(inpu_qcpu_status(a.qc)));
		else
			fprintf(stderr, "%s ppl: %s: %s\n", prog, file, strerror(-ret));
		unload_model(&a);
		return 1;
	}
	if (!acc.tokens) {
		fprintf(stderr, "%s ppl: %s: no tokens to score (no stories?)\n",
			prog, file);
		unload_model(&a);
		return 1;
	}
	if (a.cpu)
		printf("model:       %s (.inpu, %s, dim %u, %u layers, vocab %u, seq_len %u)\n",
		       a.model, a.qm->note, a.qm->cfg.dim, a.qm->cfg.n_layers,
		       a.qm->cfg.vocab_size, a.qm->cfg.seq_len);
	else
		printf("model:       %s (llama2.c v%d, dim %d, %d layers, vocab %d, seq_len %d)\n",
		       a.model, a.m->cfg.version, a.m->cfg.dim, a.m->cfg.n_layers,
		       a.m->cfg.vocab_size, a.m->cfg.seq_len);
	printf("text:        %s\n", file);
	printf("backend:     %s\n", backend);
	printf("stories:     %llu\n", (unsigned long long)acc.stories);
	printf("tokens:      %llu\n", (unsigned long long)acc.tokens);
	printf("nll/token:   %.6f\n", acc.nll / (double)acc.tokens);
	printf("perplexity:  %.4f\n", inpu_ppl_value(&acc));
	if (ref.model) {
		printf("top-1 agree: %.2f%% with %s (%llu of %llu positions)\n",
		       ag.tokens ? 100.0 * (double)ag.same / (double)ag.tokens : 0.0,
		       ref.model, (unsigned long long)ag.same, (unsigned long long)ag.tokens);
		unload_model(&ref);
	}
	unload_model(&a);
	return 0;
}

/* run.c safe_printf(): skip pieces that are one unprintable byte. */
static void print_piece(const char *p, size_t len)
{
	if (len == 1 && !isprint((unsigned char)p[0]) &&
	    !isspace((unsigned char)p[0]))
		return;
	fwrite(p, 1, len, stdout);
}

static int cmd_generate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "prompt", required_argument, NULL, 'p' },
		{ "steps", required_argument, NULL, 'n' },
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prompt = "", *backend = "float";
	struct model_args a = { 0 };
	long long steps = 256;
	int *tokens = NULL;
	long n_prompt;
	size_t cap;
	int c, token, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:p:n:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			a.model = optarg;
			break;
		case 'z':
			a.tokenizer = optarg;
			break;
		case 'p':
			prompt = optarg;
			break;
		case 'n':
			steps = inpu_cli_parse_count(optarg, 1LL << 30);
			if (steps < 0) {
				fprintf(stderr,
					"%s generate: --steps: '%s' is not a positive integer\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'b':
			backend = optarg;
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
	if (!a.model || !a.tokenizer) {
		fprintf(stderr, "%s generate: missing %s (try '%s generate --help')\n",
			prog, !a.model ? "-m MODEL" : "-z TOKENIZER", prog);
		return 2;
	}
	a.cpu = check_backend("generate", backend);
	if (a.cpu < 0)
		return 2;
	rc = load_model("generate", &a);
	if (rc)
		goto fail;
	rc = 1;		/* the failures below are runtime errors */
	if (steps > a.seq_len)
		steps = a.seq_len;

	cap = inpu_tokenizer_max_tokens(strlen(prompt));
	tokens = malloc(cap * sizeof(*tokens));
	if (!tokens) {
		fprintf(stderr, "%s generate: out of memory\n", prog);
		goto fail;
	}
	n_prompt = inpu_tokenizer_encode(a.t, prompt, strlen(prompt), 1, 0,
					 tokens, cap);
	if (n_prompt < 0) {
		fprintf(stderr, "%s generate: --prompt: cannot encode: %s\n",
			prog, strerror((int)-n_prompt));
		goto fail;
	}
	if (n_prompt > a.seq_len) {
		fprintf(stderr,
			"%s generate: --prompt: %ld tokens, more than the model's seq_len %d\n",
			prog, n_prompt, a.seq_len);
		goto fail;
	}

	token = tokens[0];
	for (int pos = 0; pos < steps; pos++) {
		const float *logits = NULL;
		const int32_t *ilogits = NULL;
		const char *piece;
		size_t len;
		int next;

		if (a.cpu)
			ilogits = inpu_qcpu_step(a.qc, token, pos);
		else
			logits = inpu_float_forward(a.state, token, pos);
		if (!logits && !ilogits) {
			fprintf(stderr, "%s generate: forward pass failed at position %d%s%s\n",
				prog, pos, a.cpu ? ": " : "",
				a.cpu ? inpu_job_status_name(inpu_qcpu_status(a.qc)) : "");
			goto fail;
		}
		if (pos < n_prompt - 1)
			next = tokens[pos + 1];
		else if (a.cpu)
			next = inpu_qcpu_next(a.qc);	/* the stream's ARGMAX */
		else
			next = inpu_argmax(logits, a.vocab_size);
		if (next == INPU_TOK_BOS)
			break;
		piece = inpu_tokenizer_piece(a.t, token, next, &len);
		print_piece(piece, len);
		fflush(stdout);
		token = next;
	}
	printf("\n");
	free(tokens);
	unload_model(&a);
	return 0;

fail:
	free(tokens);
	unload_model(&a);
	return rc;
}

/* ---- quantize ------------------------------------------------------------ */

static void quantize_usage(FILE *f)
{
	fprintf(f,
		"usage: %s quantize -m MODEL.bin -z TOKENIZER.bin -c CALIB.txt -o OUT.inpu\n"
		"                    [--scheme w8a8|w4a8] [--smooth ALPHA|auto|off] [--pow2]\n"
		"                    [--gptq [--act-order]] [--act-range mse|max|pNN.NN]\n"
		"                    [--samples N] [--rotate]\n"
		"                    [--max-stories N] [--w4-classifier] [--avg-bits B]\n"
		"                    [--w4-group 16|32] [--w4-zero|--w4-sym]\n"
		"                    [--finetune EPOCHS [--ft-lr LR] [--ft-batch N]\n"
		"                     [--ft-generate N] [--ft-act]]\n"
		"\n"
		"Quantize a llama2.c checkpoint into an integer-only .inpu model\n"
		"(userspace/model/QUANT.md and FORMAT.md): calibration with the float\n"
		"model on CALIB.txt (stories separated by '" INPU_STORY_SEP "'),\n"
		"SmoothQuant scale migration, per-channel int8 (or group-wise int4)\n"
		"weights, static int8 activations, every rescale an int32 multiplier and\n"
		"a shift.  Progress goes to stderr; the per-layer report (output SNR of\n"
		"each linear layer against float on calibration data) to stdout.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint (v0 or float32 v1)\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin)\n"
		"  -c, --calib PATH        calibration text\n"
		"  -o, --output PATH       the .inpu model to write\n"
		"  -S, --scheme NAME       w8a8 (default) or w4a8 (int4 weights in groups of\n"
		"                          16 with integer group scales and zero points;\n"
		"                          classifier int8)\n"
		"  -a, --smooth ALPHA      SmoothQuant migration strength 0..1 at every site,\n"
		"                          'auto' (default: searched per site) or 'off'\n"
		"  -2, --pow2              power-of-two scales only: every rescale a shift\n"
		"  -R, --rotate            rotate the residual stream (randomised Hadamard,\n"
		"                          RMSNorm weights folded into the next layers) and\n"
		"                          the values per head, offline (QuaRot R1, R2)\n"
		"  -g, --gptq              GPTQ weight rounding instead of round-to-nearest\n"
		"  -A, --act-order         GPTQ: columns by decreasing Hessian diagonal\n"
		"                          (static group scales)\n"
		"  -r, --act-range HOW     activation clipping: mse (default), max, or a\n"
		"                          percentile such as p99.99\n"
		"  -n, --samples N         calibration tokens kept for the searches (4096)\n"
		"  -s, --max-stories N     only the first N calibration stories\n"
		"  -W, --w4-classifier     w4a8: the classifier in 4 bits too\n"
		"      --w4-group N        int4 weights: inputs per group scale, 16 (default)\n"
		"                          or 32\n"
		"      --w4-zero           int4 weights: a zero point per group (asymmetric\n"
		"                          groups, default); --w4-sym: symmetric groups\n"
		"  -B, --avg-bits B        w4a8: mixed precision, 4 or 8 bits per linear layer\n"
		"                          of the blocks by measured sensitivity, at most B\n"
		"                          bits per weight on average (4 < B <= 8)\n"
		"  -F, --finetune EPOCHS   quantization-aware fine-tuning before rounding:\n"
		"                          the block weights and RMSNorm weights are tuned\n"
		"                          so that the rounded model matches the float\n"
		"                          model's next-token distributions on CALIB.txt\n"
		"                          (distillation, EPOCHS passes), starting from\n"
		"                          round-to-nearest or, with --gptq, GPTQ's rounding\n"
		"      --ft-lr LR          fine-tuning peak learning rate (Adam, 2.5e-4)\n"
		"      --ft-batch N        fine-tuning stories per step (4)\n"
		"      --ft-generate N     fine-tuning also distils on N stories sampled\n"
		"                          from the float model (data-free, as LLM-QAT)\n"
		"      --ft-act            fine-tuning rounds the int8 activations too\n"
		"                          (their ranges from a calibration pass first)\n"
		"  -h, --help              show this help\n",
		prog);
}

struct q_progress {
	int tty;
	char stage[64];
	time_t last;
	struct timespec start;
};

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void q_progress(void *ctx, const char *stage, uint64_t done,
		       uint64_t total)
{
	struct q_progress *p = ctx;
	time_t now = time(NULL);
	int fresh = strcmp(p->stage, stage) != 0;

	if (fresh)
		snprintf(p->stage, sizeof(p->stage), "%s", stage);
	if (p->tty) {
		if (!fresh && now == p->last && done != total)
			return;
		p->last = now;
		fprintf(stderr, "\r\033[K%s quantize: %s %llu/%llu", prog, stage,
			(unsigned long long)done, (unsigned long long)total);
		if (done == total)
			fprintf(stderr, " (%.1f s)\n", elapsed(&p->start));
	} else if (done == total) {
		fprintf(stderr, "%s quantize: %s done (%.1f s)\n", prog, stage,
			elapsed(&p->start));
	}
	fflush(stderr);
}

/* An option value in [lo, hi]; -1 (message printed) if it is not one. */
static int parse_real(const char *opt, const char *s, double lo, double hi,
		      double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out >= lo && *out <= hi)) {
		fprintf(stderr, "%s quantize: %s: '%s' is not a number in %g..%g\n",
			prog, opt, s, lo, hi);
		return -1;
	}
	return 0;
}

static int cmd_quantize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "calib", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "scheme", required_argument, NULL, 'S' },
		{ "smooth", required_argument, NULL, 'a' },
		{ "pow2", no_argument, NULL, '2' },
		{ "gptq", no_argument, NULL, 'g' },
		{ "act-order", no_argument, NULL, 'A' },
		{ "rotate", no_argument, NULL, 'R' },
		{ "act-range", required_argument, NULL, 'r' },
		{ "samples", required_argument, NULL, 'n' },
		{ "max-stories", required_argument, NULL, 's' },
		{ "w4-classifier", no_argument, NULL, 'W' },
		{ "avg-bits", required_argument, NULL, 'B' },
		{ "finetune", required_argument, NULL, 'F' },
		{ "ft-lr", required_argument, NULL, 'L' },
		{ "ft-batch", required_argument, NULL, 'b' },
		{ "ft-act", no_argument, NULL, 'T' },
		{ "ft-generate", required_argument, NULL, 'G' },
		{ "w4-group", required_argument, NULL, 'P' },
		{ "w4-zero", no_argument, NULL, 'Z' },
		{ "w4-sym", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model = NULL, *tok = NULL, *calib = NULL, *outp = NULL;
	struct inpu_quant_report *rep = NULL;
	struct inpu_model *m = NULL;
	struct inpu_tokenizer *t = NULL;
	struct inpu_qmodel *qm = NULL;
	struct inpu_quant_opts o;
	struct q_progress pr;
	char err[INPU_MODEL_ERRLEN];
	char *text = NULL;
	size_t len;
	long long v;
	int c, ret = 1, w4_fmt_set = 0;

	inpu_quant_opts_default(&o);
	memset(&pr, 0, sizeof(pr));
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:c:o:S:a:2gARr:n:s:WB:F:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			model = optarg;
			break;
		case 'z':
			tok = optarg;
			break;
		case 'c':
			calib = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'S':
			if (!strcmp(optarg, "w8a8")) {
				o.scheme = INPU_QS_W8A8;
			} else if (!strcmp(optarg, "w4a8")) {
				o.scheme = INPU_QS_W4A8;
			} else {
				fprintf(stderr, "%s quantize: --scheme: unknown scheme '%s' (w8a8, w4a8)\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'a':
			if (!strcmp(optarg, "auto")) {
				o.smooth = 2;
			} else if (!strcmp(optarg, "off")) {
				o.smooth = 0;
			} else {
				if (parse_real("--smooth", optarg, 0.0, 1.0, &o.alpha))
					return 2;
				o.smooth = 1;
			}
			break;
		case '2':
			o.pow2 = 1;
			break;
		case 'g':
			o.gptq = 1;
			break;
		case 'A':
			o.act_order = 1;
			break;
		case 'R':
			o.rotate = 1;
			break;
		case 'r':
			if (!strcmp(optarg, "mse")) {
				o.act_range = INPU_RANGE_MSE;
			} else if (!strcmp(optarg, "max")) {
				o.act_range = INPU_RANGE_MAX;
			} else if (optarg[0] == 'p') {
				if (parse_real("--act-range", optarg + 1, 50.0, 100.0, &o.pct))
					return 2;
				o.act_range = INPU_RANGE_PCT;
			} else {
				fprintf(stderr, "%s quantize: --act-range: '%s' is not mse, max or pNN.NN\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'n':
		case 's':
			v = inpu_cli_parse_count(optarg, 1LL << 24);
			if (v < 0) {
				fprintf(stderr, "%s quantize: %s: '%s' is not a positive integer\n",
					prog, c == 'n' ? "--samples" : "--max-stories", optarg);
				return 2;
			}
			if (c == 'n')
				o.n_sample = (uint32_t)v;
			else
				o.max_stories = (uint32_t)v;
			break;
		case 'W':
			o.w4_cls = 1;
			break;
		case 'P':
			if (strcmp(optarg, "16") && strcmp(optarg, "32")) {
				fprintf(stderr, "%s quantize: --w4-group: '%s' is not 16 or 32\n",
					prog, optarg);
				return 2;
			}
			o.w4_group = atoi(optarg);
			w4_fmt_set = 1;
			break;
		case 'Z':
		case 'Y':
			o.w4_zero = c == 'Z';
			w4_fmt_set = 1;
			break;
		case 'B':
			if (parse_real("--avg-bits", optarg, 4.0, 8.0, &o.avg_bits))
				return 2;
			break;
		case 'F':
		case 'b':
			v = inpu_cli_parse_count(optarg, 10000);
			if (v < 0) {
				fprintf(stderr, "%s quantize: %s: '%s' is not an integer in 1..10000\n",
					prog, c == 'F' ? "--finetune" : "--ft-batch", optarg);
				return 2;
			}
			if (c == 'F')
				o.ft_epochs = (int)v;
			else
				o.ft_batch = (int)v;
			break;
		case 'T':
			o.ft_act = 1;
			break;
		case 'G':
			v = inpu_cli_parse_count(optarg, 1000000);
			if (v < 0) {
				fprintf(stderr, "%s quantize: --ft-generate: '%s' is not an integer in 1..1000000\n",
					prog, optarg);
				return 2;
			}
			o.ft_generate = (uint32_t)v;
			break;
		case 'L':
			if (parse_real("--ft-lr", optarg, 1e-7, 1.0, &o.ft_lr))
				return 2;
			break;
		case 'h':
			quantize_usage(stdout);
			return 0;
		default:
			quantize_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s quantize: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}
	if (o.avg_bits > 0 && o.scheme != INPU_QS_W4A8) {
		fprintf(stderr, "%s quantize: --avg-bits needs --scheme w4a8\n", prog);
		return 2;
	}
	if (w4_fmt_set && o.scheme != INPU_QS_W4A8) {
		fprintf(stderr, "%s quantize: --w4-group/--w4-zero/--w4-sym need --scheme w4a8\n",
			prog);
		return 2;
	}
	if (!model || !tok || !calib || !outp) {
		fprintf(stderr, "%s quantize: missing %s (try '%s quantize --help')\n",
			prog, !model ? "-m MODEL" : !tok ? "-z TOKENIZER" :
			!calib ? "-c CALIB" : "-o OUTPUT", prog);
		return 2;
	}
	{	/* fail before the long work if the output cannot be written */
		char dir[4096];
		const char *slash = strrchr(outp, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - outp) + 1 : 1,
			 slash ? outp : ".");
		if (access(dir, W_OK)) {
			fprintf(stderr, "%s quantize: %s: cannot write there: %s\n",
				prog, outp, strerror(errno));
			return 1;
		}
	}
	if (inpu_model_load(model, &m, err, sizeof(err)) ||
	    inpu_tokenizer_load(tok, &t, err, sizeof(err)) ||
	    inpu_model_check_tokenizer(m, model, t, tok, err, sizeof(err)) ||
	    inpu_read_file(calib, &text, &len, err, sizeof(err))) {
		fprintf(stderr, "%s quantize: %s\n", prog, err);
		goto out;
	}
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "%s quantize: out of memory\n", prog);
		goto out;
	}
	pr.tty = isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	o.progress = q_progress;
	o.progress_ctx = &pr;
	if (inpu_quantize(m, t, text, len, &o, &qm, rep, err, sizeof(err))) {
		fprintf(stderr, "%s quantize: %s\n", prog, err);
		goto out;
	}
	if (inpu_qmodel_save(qm, outp, err, sizeof(err))) {
		fprintf(stderr, "%s quantize: %s\n", prog, err);
		goto out;
	}
	printf("model:        %s -> %s\n", model, outp);
	printf("scheme:       %s\n", qm->note);
	printf("calibration:  %s, %llu tokens, %llu sampled\n", calib,
	       (unsigned long long)rep->calib_tokens,
	       (unsigned long long)rep->sample_tokens);
	printf("residual:     int32 at 2^-%u (calibration max %.3f)\n",
	       rep->resid_frac, rep->resid_max);
	printf("logits:       int32 at 2^-%u\n", qm->cfg.logit_frac);
	if (o.ft_epochs > 0)
		printf("fine-tuning:  %d passes, KL(float || rounded) %.5f -> %.5f nats/token\n",
		       o.ft_epochs, rep->ft_kl_first, rep->ft_kl_last);
	printf("device image: %llu bytes in %u tensors\n",
	       (unsigned long long)qm->data_size, qm->n_tensors);
	printf("\nlinear layer  bits  alpha  in clip / max      SNR w (dB)  SNR w+a (dB)%s\n",
	       o.avg_bits > 4.0 ? "  dNLL(4 bit)" : "");
	for (uint32_t i = 0; i < rep->n_layers; i++) {
		const struct inpu_quant_layer_report *r = &rep->layer[i];
		char a[16];

		if (r->alpha < 0)
			snprintf(a, sizeof(a), "-");
		else
			snprintf(a, sizeof(a), "%.2f", r->alpha);
		printf("%-12s  %4d  %5s  %7.3f / %7.3f  %10.2f  %12.2f", r->name,
		       r->bits, a, r->in_clip, r->in_max, r->snr_w_db, r->snr_wa_db);
		if (o.avg_bits > 4.0 && r->sens > -1.0)
			printf("  %11.5f", r->sens);
		else if (o.avg_bits > 4.0)
			printf("  %11s", "-");
		printf("\n");
	}
	printf("\ntime:         %.1f s\n", elapsed(&pr.start));
	ret = 0;
out:
	free(rep);
	free(text);
	inpu_qmodel_free(qm);
	inpu_tokenizer_free(t);
	inpu_model_free(m);
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int ret;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("inpu %s (driver ABI %d)\n", INPU_CLI_VERSION,
		       DRM_INPU_ABI_VERSION);
		return 0;
	}
	if (inpu_cli_run_hook(argc, argv, &ret))
		return ret;
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "ppl"))
		return cmd_ppl(argc - 1, argv + 1);
	if (!strcmp(cmd, "generate"))
		return cmd_generate(argc - 1, argv + 1);
	if (!strcmp(cmd, "quantize"))
		return cmd_quantize(argc - 1, argv + 1);

	fprintf(stderr, "%s: unknown command '%s' (try '%s --help')\n", prog,
		cmd, prog);
	return 2;
}
