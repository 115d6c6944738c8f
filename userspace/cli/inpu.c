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
		"usage: %s ppl -m MODEL.bin -z TOKENIZER.bin -f TEXT [--backend float]\n"
		"               [--max-stories N]\n"
		"\n"
		"Perplexity of a llama2.c checkpoint (v0 or float32 v1) on a text of\n"
		"stories separated by lines '" INPU_STORY_SEP "', with the protocol of\n"
		"../shared/data/README.md: each story separately, BOS + its BPE tokens\n"
		"(paragraphs joined by single newlines) cut at the model's seq_len,\n"
		"PPL = exp(mean NLL of every token after BOS).  Needs no device.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin)\n"
		"  -f, --file PATH         text to evaluate\n"
		"  -b, --backend NAME      float (the float32 reference; default)\n"
		"  -s, --max-stories N     only the first N stories\n"
		"  -h, --help              show this help\n",
		prog);
}

static void generate_usage(FILE *f)
{
	fprintf(f,
		"usage: %s generate -m MODEL.bin -z TOKENIZER.bin [-p PROMPT] [-n STEPS]\n"
		"                    [--backend float]\n"
		"\n"
		"Greedy decoding (temperature 0) as llama2.c run.c does it: BOS and the\n"
		"prompt, then the most likely token, STEPS positions in all (the prompt\n"
		"included) or until the model emits BOS.  Prints the text, prompt\n"
		"included.  Needs no device.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint (v0 or float32 v1)\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin)\n"
		"  -p, --prompt TEXT       text to start from (default: empty)\n"
		"  -n, --steps N           positions to run, at most the model's seq_len\n"
		"                          (default 256)\n"
		"  -b, --backend NAME      float (the float32 reference; default)\n"
		"  -h, --help              show this help\n",
		prog);
}

/* A positive decimal integer no larger than @max, or -1. */
static long long parse_count(const char *s, long long max)
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
	struct inpu_model *m;
	struct inpu_tokenizer *t;
	struct inpu_float_state *state;
};

static int check_backend(const char *cmd, const char *backend)
{
	if (!strcmp(backend, "float"))
		return 0;
	fprintf(stderr,
		"%s %s: --backend: unknown backend '%s' (available: float)\n",
		prog, cmd, backend);
	return 2;
}

/* Load model and tokenizer, check they belong together.  1 on failure. */
static int load_model(const char *cmd, struct model_args *a)
{
	char err[INPU_MODEL_ERRLEN];

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
	return 0;
}

static void unload_model(struct model_args *a)
{
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

static int cmd_ppl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "file", required_argument, NULL, 'f' },
		{ "backend", required_argument, NULL, 'b' },
		{ "max-stories", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *backend = "float";
	struct model_args a = { 0 };
	char err[INPU_MODEL_ERRLEN];
	struct ppl_progress prog_state = { 0 };
	long long max_stories = 0;
	struct inpu_ppl acc;
	struct inpu_lm lm;
	size_t len;
	char *text;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:f:b:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			a.model = optarg;
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
			max_stories = parse_count(optarg, 1LL << 40);
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
	if (check_backend("ppl", backend))
		return 2;
	if (load_model("ppl", &a)) {
		unload_model(&a);
		return 1;
	}
	ret = inpu_read_file(file, &text, &len, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s ppl: %s\n", prog, err);
		unload_model(&a);
		return 1;
	}
	lm = (struct inpu_lm){
		.forward = inpu_float_lm_forward,
		.ctx = a.state,
		.vocab_size = a.m->cfg.vocab_size,
		.seq_len = a.m->cfg.seq_len,
	};
	ret = inpu_ppl_text(a.t, &lm, text, len, (uint64_t)max_stories,
			    isatty(STDERR_FILENO) ? ppl_progress : NULL,
			    &prog_state, &acc);
	free(text);
	if (ret) {
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
	printf("model:       %s (llama2.c v%d, dim %d, %d layers, vocab %d, seq_len %d)\n",
	       a.model, a.m->cfg.version, a.m->cfg.dim, a.m->cfg.n_layers,
	       a.m->cfg.vocab_size, a.m->cfg.seq_len);
	printf("text:        %s\n", file);
	printf("backend:     %s\n", backend);
	printf("stories:     %llu\n", (unsigned long long)acc.stories);
	printf("tokens:      %llu\n", (unsigned long long)acc.tokens);
	printf("nll/token:   %.6f\n", acc.nll / (double)acc.tokens);
	printf("perplexity:  %.4f\n", inpu_ppl_value(&acc));
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
	int c, token;

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
			steps = parse_count(optarg, 1LL << 30);
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
	if (check_backend("generate", backend))
		return 2;
	if (load_model("generate", &a))
		goto fail;
	if (steps > a.m->cfg.seq_len)
		steps = a.m->cfg.seq_len;

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
	if (n_prompt > a.m->cfg.seq_len) {
		fprintf(stderr,
			"%s generate: --prompt: %ld tokens, more than the model's seq_len %d\n",
			prog, n_prompt, a.m->cfg.seq_len);
		goto fail;
	}

	token = tokens[0];
	for (int pos = 0; pos < steps; pos++) {
		const float *logits = inpu_float_forward(a.state, token, pos);
		const char *piece;
		size_t len;
		int next;

		if (!logits) {
			fprintf(stderr, "%s generate: forward pass failed at position %d\n",
				prog, pos);
			goto fail;
		}
		if (pos < n_prompt - 1)
			next = tokens[pos + 1];
		else
			next = inpu_argmax(logits, a.m->cfg.vocab_size);
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
	return 1;
}

int main(int argc, char **argv)
{
	const char *cmd;

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
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "ppl"))
		return cmd_ppl(argc - 1, argv + 1);
	if (!strcmp(cmd, "generate"))
		return cmd_generate(argc - 1, argv + 1);

	fprintf(stderr, "%s: unknown command '%s' (try '%s --help')\n", prog,
		cmd, prog);
	return 2;
}
