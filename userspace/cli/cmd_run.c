// SPDX-License-Identifier: MIT
/*
 * inpu run: text generation with an integer .inpu model through
 * /dev/accel (the device backend, qdev.h) or the engine on the host (the
 * cpu backend, qcpu), and inpu ppl --backend device.
 *
 * The decode loop is integer-only: one step per token, the next token is
 * the step's own ARGMAX (read back from the device, 4 bytes), the text is
 * streamed piece by piece.  Floating point appears only in the statistics
 * printed at the end.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libinpu.h"
#include "model.h"
#include "qdev.h"
#include "quant.h"
#include "cmd_run.h"

static const char *prog = "inpu";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: %s run -m MODEL.inpu -z TOKENIZER.bin [-p PROMPT] [-n STEPS]\n"
		"               [--backend device|cpu] [-d DEVICE] [--temperature T]\n"
		"               [--top-p P] [--seed S] [--depth N] [--per-job K]\n"
		"               [--batch N] [--ignore-eos] [--ids] [--json] [--quiet]\n"
		"\n"
		"Generate text with an integer .inpu model (made by '%s quantize'):\n"
		"BOS and the prompt, then greedy decoding (or sampling with a temperature),\n"
		"STEPS positions in all (the\n"
		"prompt included) or until the model emits BOS, as llama2.c run.c does.\n"
		"With --backend device every position is one submission of one validated\n"
		"command buffer through /dev/accel; the next token is the device's own\n"
		"ARGMAX (or SAMPLE: temperature, top-p and a seeded integer PRNG on the\n"
		"device; the cpu backend runs the same op and picks the same tokens).  The text is streamed to stdout as it is generated; a stats line\n"
		"(prompt and generated tokens/s, modelled device cycles per token) ends\n"
		"the run on stderr.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        integer .inpu model\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin)\n"
		"  -p, --prompt TEXT       text to start from (default: empty)\n"
		"  -n, --steps N           positions to run, at most the model's seq_len\n"
		"                          (default 256)\n"
		"  -b, --backend NAME      device (default: the INPU device) or cpu (the same\n"
		"                          stream through the engine library on this CPU)\n"
		"  -d, --device PATH       accel node (default: the first INPU device under\n"
		"                          " INPU_ACCEL_DIR ")\n"
		"  -t, --temperature T     0 (default): greedy; > 0: sample on the device\n"
		"  -P, --top-p P           nucleus sampling threshold in (0, 1] (default 0.9)\n"
		"  -s, --seed S            PRNG seed (default: from the clock; printed)\n"
		"  -D, --depth N           device: generated steps in flight (1..%d, default 32);\n"
		"                          each step reads the token the previous one chose\n"
		"                          on the device, so steps run back to back; 1 waits\n"
		"                          for every step before submitting the next\n"
		"  -K, --per-job K         device: generated steps per job (1..%d, default %d):\n"
		"                          one submission runs K positions (tokens are read\n"
		"                          when the job is done)\n"
		"  -i, --ids               after the text, print the generated token ids on\n"
		"                          one line 'ids: ...'\n"
		"  -j, --json              print the stats as one JSON object on stdout\n"
		"                          (last line) instead of text on stderr\n"
		"  -q, --quiet             do not print the text\n"
		"  -B, --batch N           prompt tokens per prefill job (1..%d, default %d;\n"
		"                          1: one step per token)\n"
		"  -E, --ignore-eos        keep generating when the model emits BOS (for\n"
		"                          benchmarks: always STEPS positions)\n"
		"  -h, --help              show this help\n",
		prog, prog, INPU_QDEV_MAX_QUEUE, INPU_QDEV_STEPS_PER_JOB,
		INPU_QDEV_STEPS_PER_JOB, INPU_QGRAPH_MAX_ROWS, INPU_QGRAPH_MAX_ROWS);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A count option of 'inpu run' in 1..@max, or -1 after saying what is
 * wrong with it.
 */
static long long count_opt(const char *opt, const char *arg, long long max)
{
	long long v = inpu_cli_parse_count(arg, max);

	if (v < 0)
		fprintf(stderr, "%s run: --%s: '%s' is not an integer in 1..%lld\n",
			prog, opt, arg, max);
	return v;
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

/* run.c safe_printf(): skip pieces that are one unprintable byte. */
static void print_piece(const char *p, size_t len)
{
	if (len == 1 && !isprint((unsigned char)p[0]) &&
	    !isspace((unsigned char)p[0]))
		return;
	fwrite(p, 1, len, stdout);
}

/* The device's busy time (sysfs busy_time_ns), or -1 if not readable. */
static long long busy_ns(const char *devpath)
{
	const char *base = devpath ? strrchr(devpath, '/') : NULL;
	char path[256];
	long long v = -1;
	FILE *f;

	if (!base)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/accel/%s/device/busy_time_ns",
		 base + 1);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* A JSON string (paths and names: escape what JSON requires). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The model, tokenizer and one backend. */
struct rt {
	const char *cmd, *model, *tokenizer, *device;
	int dev;			/* 1: device backend, 0: cpu */
	struct inpu_qmodel *qm;
	struct inpu_tokenizer *t;
	struct inpu_qcpu *qc;
	struct inpu_qdev *qd;
	const struct inpu_qsample *samp;	/* NULL: greedy */
	struct inpu_qsampler *qs;		/* cpu backend, sampling */
};

static void rt_free(struct rt *r)
{
	inpu_qdev_free(r->qd);
	inpu_qsampler_free(r->qs);
	inpu_qcpu_free(r->qc);
	inpu_tokenizer_free(r->t);
	inpu_qmodel_free(r->qm);
}

static int rt_load(struct rt *r)
{
	char err[INPU_MODEL_ERRLEN];
	int ret;

	if (access(r->model, R_OK) == 0 && !is_inpu_file(r->model)) {
		fprintf(stderr,
			"%s %s: %s is not an integer .inpu model (make one with '%s quantize')\n",
			prog, r->cmd, r->model, prog);
		return 1;
	}
	if (inpu_qmodel_load(r->model, &r->qm, err, sizeof(err)) ||
	    inpu_tokenizer_load(r->tokenizer, &r->t, err, sizeof(err))) {
		fprintf(stderr, "%s %s: %s\n", prog, r->cmd, err);
		return 1;
	}
	if ((uint32_t)inpu_tokenizer_size(r->t) != r->qm->cfg.vocab_size) {
		fprintf(stderr,
			"%s %s: %s has a vocabulary of %u tokens, %s has %d: they do not belong together\n",
			prog, r->cmd, r->model, r->qm->cfg.vocab_size, r->tokenizer,
			inpu_tokenizer_size(r->t));
		return 1;
	}
	if (r->dev)
		ret = inpu_qdev_new_sampled(r->qm, r->device, r->samp, &r->qd, err,
					    sizeof(err));
	else
		ret = inpu_qcpu_new(r->qm, -1, &r->qc, err, sizeof(err));
	if (!ret && !r->dev && r->samp)
		ret = inpu_qsampler_new(r->qm, r->samp, &r->qs, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s %s: %s: %s\n", prog, r->cmd, r->model, err);
		return 1;
	}
	return 0;
}

static int parse_backend(const char *cmd, const char *s, int *dev)
{
	if (!strcmp(s, "device")) {
		*dev = 1;
		return 0;
	}
	if (!strcmp(s, "cpu")) {
		*dev = 0;
		return 0;
	}
	fprintf(stderr, "%s %s: --backend: unknown backend '%s' (available: device, cpu)\n",
		prog, cmd, s);
	return -1;
}

/* Why a step failed, for messages. */
static void step_error(const struct rt *r, char *buf, size_t len)
{
	if (!r->dev) {
		snprintf(buf, len, "%s", inpu_job_status_name(inpu_qcpu_status(r->qc)));
	} else if (inpu_qdev_error(r->qd) && inpu_qdev_status(r->qd) != DRM_INPU_JOB_TIMEOUT) {
		snprintf(buf, len, "%s: %s", inpu_qdev_path(r->qd),
			 inpu_strerror(inpu_qdev_error(r->qd)));
	} else {
		snprintf(buf, len, "%s: job %s", inpu_qdev_path(r->qd),
			 inpu_job_status_name((uint32_t)inpu_qdev_status(r->qd)));
	}
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "prompt", required_argument, NULL, 'p' },
		{ "steps", required_argument, NULL, 'n' },
		{ "backend", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'd' },
		{ "temperature", required_argument, NULL, 't' },
		{ "top-p", required_argument, NULL, 'P' },
		{ "seed", required_argument, NULL, 's' },
		{ "ids", no_argument, NULL, 'i' },
		{ "depth", required_argument, NULL, 'D' },
		{ "per-job", required_argument, NULL, 'K' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ignore-eos", no_argument, NULL, 'E' },
		{ "batch", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rt r = { .cmd = "run", .dev = 1 };
	const char *prompt = "", *backend = "device";
	int json = 0, show_ids = 0, quiet = 0, ignore_eos = 0, c, rc = 1;
	/* Host-observed time of each decode step (ns), for percentiles. */
	uint64_t *lat = NULL;
	long n_lat = 0;
	long long steps = 256, busy0 = -1, busy1 = -1;
	int *tokens = NULL, *gen = NULL;
	uint64_t t_start, t_first = 0, t_end, cyc_prompt = 0, cyc_gen = 0;
	uint64_t n_pp = 0, n_tg = 0, step_ns = 0;
	struct inpu_qdev_times dt = { 0 };
	long n_prompt, n_gen = 0;
	char why[256];
	size_t cap;
	int token, pos, bos = 0, chained;
	long long depth = 32, per_job = INPU_QDEV_STEPS_PER_JOB;
	long long batch = INPU_QGRAPH_MAX_ROWS;
	double temperature = 0, top_p = 0.9;
	unsigned long long seed = 0;
	int have_seed = 0;
	struct inpu_qsample samp;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:p:n:b:d:t:P:s:D:K:ijqEB:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			r.model = optarg;
			break;
		case 'z':
			r.tokenizer = optarg;
			break;
		case 'p':
			prompt = optarg;
			break;
		case 'n':
			steps = inpu_cli_parse_count(optarg, 1LL << 30);
			if (steps < 0) {
				fprintf(stderr, "%s run: --steps: '%s' is not a positive integer\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'b':
			backend = optarg;
			if (parse_backend("run", optarg, &r.dev))
				return 2;
			break;
		case 'd':
			r.device = optarg;
			break;
		case 't': {
			char *end;
			double v;

			errno = 0;
			v = strtod(optarg, &end);
			if (errno || end == optarg || *end || v < 0) {
				fprintf(stderr, "%s run: --temperature: '%s' is not a number >= 0\n",
					prog, optarg);
				return 2;
			}
			temperature = v;
			break;
		}
		case 'P': {
			char *end;

			errno = 0;
			top_p = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(top_p > 0 && top_p <= 1)) {
				fprintf(stderr, "%s run: --top-p: '%s' is not a number in (0, 1]\n",
					prog, optarg);
				return 2;
			}
			break;
		}
		case 's': {
			char *end;

			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "%s run: --seed: '%s' is not an unsigned 64-bit integer\n",
					prog, optarg);
				return 2;
			}
			have_seed = 1;
			break;
		}
		case 'i':
			show_ids = 1;
			break;
		case 'K':
			per_job = count_opt("per-job", optarg, INPU_QDEV_STEPS_PER_JOB);
			if (per_job < 0)
				return 2;
			break;
		case 'D':
			depth = count_opt("depth", optarg, INPU_QDEV_MAX_QUEUE);
			if (depth < 0)
				return 2;
			break;
		case 'j':
			json = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'E':
			ignore_eos = 1;
			break;
		case 'B':
			batch = count_opt("batch", optarg, INPU_QGRAPH_MAX_ROWS);
			if (batch < 0)
				return 2;
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		default:
			run_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s run: unexpected argument '%s'\n", prog, argv[optind]);
		return 2;
	}
	if (!r.model || !r.tokenizer) {
		fprintf(stderr, "%s run: missing %s (try '%s run --help')\n", prog,
			!r.model ? "-m MODEL" : "-z TOKENIZER", prog);
		return 2;
	}
	if (r.device && !r.dev) {
		fprintf(stderr, "%s run: --device %s: only with --backend device\n",
			prog, r.device);
		return 2;
	}
	if (temperature > 0) {
		/* Peek at the model for its logit and exp-table scales. */
		struct inpu_qmodel *pm;
		char err[INPU_MODEL_ERRLEN];
		double real;
		int32_t mult, shift;

		if (inpu_qmodel_load(r.model, &pm, err, sizeof(err))) {
			fprintf(stderr, "%s run: %s\n", prog, err);
			goto out;
		}
		real = ldexp(1.0, (int)pm->cfg.exp_frac - (int)pm->cfg.logit_frac) /
		       temperature;
		inpu_qmodel_free(pm);
		if (inpu_requant_pair(real, 0, &mult, &shift)) {
			fprintf(stderr, "%s run: --temperature %g: out of the range the SAMPLE op can express\n",
				prog, temperature);
			return 2;
		}
		if (!have_seed)
			seed = (unsigned long long)time(NULL);
		memset(&samp, 0, sizeof(samp));
		samp.temp_mult = mult;
		samp.temp_shift = shift;
		samp.top_p = (uint32_t)(top_p * 65536.0 + 0.5);
		if (samp.top_p < 1)
			samp.top_p = 1;
		samp.seed = seed;
		r.samp = &samp;
	} else if (have_seed) {
		fprintf(stderr, "%s run: --seed: only with --temperature > 0 (greedy decoding uses no randomness)\n",
			prog);
		return 2;
	}
	chained = depth > 1 || per_job > 1;
	if (rt_load(&r))
		goto out;
	if (r.dev && per_job > inpu_qdev_steps_per_job(r.qd))
		per_job = inpu_qdev_steps_per_job(r.qd);
	if (steps > r.qm->cfg.seq_len)
		steps = r.qm->cfg.seq_len;

	cap = inpu_tokenizer_max_tokens(strlen(prompt));
	tokens = malloc(cap * sizeof(*tokens));
	gen = malloc((size_t)steps * sizeof(*gen));
	lat = malloc((size_t)steps * sizeof(*lat));
	if (!tokens || !gen || !lat) {
		fprintf(stderr, "%s run: out of memory\n", prog);
		goto out;
	}
	n_prompt = inpu_tokenizer_encode(r.t, prompt, strlen(prompt), 1, 0,
					 tokens, cap);
	if (n_prompt < 0) {
		fprintf(stderr, "%s run: --prompt: cannot encode: %s\n", prog,
			strerror((int)-n_prompt));
		goto out;
	}
	if (n_prompt > steps) {
		fprintf(stderr,
			"%s run: --prompt: %ld tokens (with BOS), more than the %lld positions to run\n",
			prog, n_prompt, steps);
		goto out;
	}

	if (r.dev)
		busy0 = busy_ns(inpu_qdev_path(r.qd));
	/* The decode loop: integers only. */
	token = tokens[0];
	t_start = now_ns();
	/*
	 * Prefill: the prompt but its last token in batches of up to @batch
	 * tokens, one job each (matrix-matrix ops); the last prompt token runs
	 * as a step below and gives the first generated token.
	 */
	pos = 0;
	while (batch > 1 && pos < n_prompt - 1) {
		int n = (int)(n_prompt - 1 - pos);
		const int32_t *logits;
		uint64_t t0 = now_ns();

		if (n > batch)
			n = (int)batch;
		logits = r.dev ? inpu_qdev_prefill(r.qd, tokens + pos, n, pos) :
				 inpu_qcpu_prefill(r.qc, tokens + pos, n, pos);
		step_ns += now_ns() - t0;
		if (!logits) {
			step_error(&r, why, sizeof(why));
			fprintf(stderr, "\n%s run: the prefill at positions %d..%d failed: %s\n",
				prog, pos, pos + n - 1, why);
			goto out;
		}
		n_pp += (uint64_t)n;
		cyc_prompt += r.dev ? inpu_qdev_cycles(r.qd) : inpu_qcpu_cycles(r.qc);
		/* One SAMPLE per job on the device: one draw here too. */
		if (r.qs && inpu_qsampler_run(r.qs, logits) < 0) {
			fprintf(stderr, "\n%s run: SAMPLE failed at position %d\n",
				prog, pos + n - 1);
			goto out;
		}
		for (int i = 0; i < n; i++) {
			const char *piece;
			size_t len;

			if (!quiet) {
				piece = inpu_tokenizer_piece(r.t, token, tokens[pos + i + 1],
							     &len);
				print_piece(piece, len);
			}
			token = tokens[pos + i + 1];
		}
		if (!quiet)
			fflush(stdout);
		pos += n;
	}
	for (; pos < steps; pos++) {
		const int32_t *logits;
		uint64_t t0 = now_ns(), cyc;
		const char *piece;
		size_t len;
		int next;

		if (pos == n_prompt)
			t_first = t0;
		if (r.dev && chained && pos == n_prompt)
			break;		/* the chained loop below takes over */
		if (r.dev) {
			logits = inpu_qdev_step(r.qd, token, pos);
			cyc = inpu_qdev_cycles(r.qd);
		} else {
			logits = inpu_qcpu_step(r.qc, token, pos);
			cyc = inpu_qcpu_cycles(r.qc);
		}
		step_ns += now_ns() - t0;
		if (pos >= n_prompt)
			lat[n_lat++] = now_ns() - t0;
		if (!logits) {
			step_error(&r, why, sizeof(why));
			fprintf(stderr, "\n%s run: the step at position %d failed: %s\n",
				prog, pos, why);
			goto out;
		}
		if (pos < n_prompt) {
			n_pp++;
			cyc_prompt += cyc;
		} else {
			n_tg++;
			cyc_gen += cyc;
		}
		/* The cpu sampler runs every step, as SAMPLE does on the device:
		 * both PRNG states advance alike.
		 */
		if (r.qs) {
			next = inpu_qsampler_run(r.qs, logits);
			if (next < 0) {
				fprintf(stderr, "\n%s run: SAMPLE failed at position %d\n",
					prog, pos);
				goto out;
			}
		} else {
			next = r.dev ? inpu_qdev_next(r.qd) : inpu_qcpu_next(r.qc);
		}
		if (pos < n_prompt - 1)
			next = tokens[pos + 1];
		if (pos >= n_prompt - 1)
			gen[n_gen++] = next;
		if (next == INPU_TOK_BOS && !ignore_eos) {
			bos = 1;
			break;
		}
		if (!quiet) {
			piece = inpu_tokenizer_piece(r.t, token, next, &len);
			print_piece(piece, len);
			fflush(stdout);
		}
		token = next;
	}
	if (r.dev && chained && !bos && pos == n_prompt && pos < steps) {
		/*
		 * Chained decoding on the device: each step reads the token the
		 * previous one chose, so up to @depth steps are queued ahead and
		 * the host only retires them in order, printing their tokens.
		 */
		int q = pos, inflight = 0, p, n, k = (int)per_job;

		if (k > inpu_qdev_steps_per_job(r.qd))
			k = inpu_qdev_steps_per_job(r.qd);
		if (k < 1)
			k = 1;
		if (depth < k)
			depth = k;
		while (pos < steps) {
			uint64_t t0 = now_ns();
			const char *piece;
			size_t len;
			int stop = 0;

			/* Keep up to @depth steps in flight, k per job (1 at the end). */
			while (q < steps && inflight < depth) {
				int m = steps - q >= k && inflight + k <= depth ? k : 1;

				if (inpu_qdev_queue_n(r.qd, q, m))
					goto qfail;
				q += m;
				inflight += m;
			}
			if (inpu_qdev_retire_n(r.qd, &p, &n))
				goto qfail;
			step_ns += now_ns() - t0;
			/* Tokens retired together share the wait. */
			for (int i = 0; i < n && n_lat < steps; i++)
				lat[n_lat++] = (now_ns() - t0) / (uint64_t)n;
			inflight -= n;
			cyc_gen += inpu_qdev_cycles(r.qd);
			for (int i = 0; i < n && !stop; i++) {
				int next = inpu_qdev_token(r.qd, p + i);

				pos++;
				n_tg++;
				gen[n_gen++] = next;
				if (next == INPU_TOK_BOS && !ignore_eos) {
					stop = 1;
					break;
				}
				if (!quiet) {
					piece = inpu_tokenizer_piece(r.t, token, next, &len);
					print_piece(piece, len);
				}
				token = next;
			}
			if (!quiet)
				fflush(stdout);
			if (stop)
				break;
		}
	}
	if (0) {
qfail:
		step_error(&r, why, sizeof(why));
		fprintf(stderr, "\n%s run: the step at position %d failed: %s\n",
			prog, pos, why);
		goto out;
	}
	t_end = now_ns();
	if (!t_first)
		t_first = t_end;
	if (!quiet)
		printf("\n");
	if (r.dev) {
		busy1 = busy_ns(inpu_qdev_path(r.qd));
		inpu_qdev_times(r.qd, &dt);
	}
	if (show_ids) {
		printf("ids:");
		for (long i = 0; i < n_gen; i++)
			printf(" %d", gen[i]);
		printf("\n");
	}

	{	/* statistics (floating point from here on) */
		double pp_s = (double)(t_first - t_start) / 1e9;
		double tg_s = (double)(t_end - t_first) / 1e9;
		double pp_tps = n_pp && pp_s > 0 ? (double)n_pp / pp_s : 0;
		double tg_tps = n_tg && tg_s > 0 ? (double)n_tg / tg_s : 0;
		uint64_t n_all = n_pp + n_tg;
		double cyc_tok = n_all ? (double)(cyc_prompt + cyc_gen) / (double)n_all : 0;
		double tot_us = n_all ? (double)(t_end - t_start) / 1e3 / (double)n_all : 0;
		double step_us = n_all ? (double)step_ns / 1e3 / (double)n_all : 0;
		double sub_us = dt.steps ? (double)dt.submit_ns / 1e3 / (double)dt.steps : 0;
		double wait_us = dt.steps ? (double)dt.wait_ns / 1e3 / (double)dt.steps : 0;
		/* Jobs overlap when chained: their busy times do not add up. */
		double busy_us = !chained && busy0 >= 0 && busy1 >= busy0 && dt.steps ?
			(double)(busy1 - busy0) / 1e3 / (double)dt.steps : -1;
		FILE *f = json ? stdout : stderr;
		double p50 = 0, p99 = 0;

		if (n_lat) {
			qsort(lat, (size_t)n_lat, sizeof(*lat), cmp_u64);
			p50 = (double)lat[(n_lat - 1) / 2] / 1e3;
			p99 = (double)lat[(n_lat * 99 + 99) / 100 - 1] / 1e3;
		}
		if (json) {
			fprintf(f, "{\"model\":");
			json_str(f, r.model);
			fprintf(f, ",\"backend\":\"%s\",\"device\":", backend);
			json_str(f, r.dev ? inpu_qdev_path(r.qd) : "");
			if (r.samp)
				fprintf(f, ",\"temperature\":%g,\"top_p\":%g,\"seed\":%llu",
					temperature, top_p, seed);
			fprintf(f, ",\"prompt_tokens\":%llu,\"generated_tokens\":%llu,"
				"\"prompt_tok_s\":%.1f,\"gen_tok_s\":%.1f,"
				"\"cycles_per_token\":%.0f,\"us_per_token\":%.2f,"
				"\"step_us\":%.2f,\"submit_us\":%.2f,\"wait_us\":%.2f,"
				"\"device_busy_us\":%.2f,\"depth\":%lld,\"per_job\":%lld,"
				"\"token_us_p50\":%.1f,\"token_us_p99\":%.1f,"
				"\"gen_cycles_per_token\":%.0f}\n",
				(unsigned long long)n_pp, (unsigned long long)n_tg,
				pp_tps, tg_tps, cyc_tok, tot_us, step_us,
				sub_us, wait_us, busy_us, r.dev ? depth : 0,
				r.dev ? per_job : 0, p50, p99,
				n_tg ? (double)cyc_gen / (double)n_tg : 0.0);
		} else {
			fprintf(f, "stats: %s backend, prompt %llu tokens at %.1f tok/s, generated %llu tokens at %.1f tok/s, %.0f modelled device cycles/token (%.1f us at 1 GHz)\n",
				backend, (unsigned long long)n_pp, pp_tps,
				(unsigned long long)n_tg, tg_tps, cyc_tok,
				cyc_tok / 1e3);
			if (n_lat)
				fprintf(f, "latency per generated token (host view): median %.1f us, 99th percentile %.1f us\n",
					p50, p99);
			if (r.samp)
				fprintf(f, "sampling: temperature %g, top-p %g, seed %llu (SAMPLE temp_mult %d, temp_shift %d, top_p %u/65536)\n",
					temperature, top_p, seed, samp.temp_mult,
					samp.temp_shift, samp.top_p);
			if (r.dev && !chained)
				fprintf(f, "time/token: %.1f us = step %.1f us (submit ioctl %.1f + wait ioctl %.1f + other %.1f) + host %.1f us; device busy %.1f us/job (sysfs busy_time_ns)\n",
					tot_us, step_us, sub_us, wait_us,
					step_us - sub_us - wait_us,
					tot_us - step_us, busy_us);
			else if (r.dev)
				fprintf(f, "time/token: %.1f us = step %.1f us (submit ioctl %.1f + wait ioctl %.1f + other %.1f) + host %.1f us; generated steps chained on the device, %lld in flight, %lld per job\n",
					tot_us, step_us, sub_us, wait_us,
					step_us - sub_us - wait_us,
					tot_us - step_us, depth, per_job);
			else
				fprintf(f, "time/token: %.1f us = step %.1f us (engine on the CPU) + host %.1f us\n",
					tot_us, step_us, tot_us - step_us);
		}
	}
	rc = 0;
out:
	free(lat);
	free(gen);
	free(tokens);
	rt_free(&r);
	return rc;
}

/* ---- ppl --backend device ----------------------------------------------- */

static void ppl_device_usage(FILE *f)
{
	fprintf(f,
		"usage: %s ppl -m MODEL.inpu -z TOKENIZER.bin -f TEXT --backend device\n"
		"               [-d DEVICE] [--max-stories N]\n"
		"\n"
		"Perplexity of an integer .inpu model with every step run on the INPU\n"
		"device (one submission per token; the logits are read from the mapped\n"
		"state buffer).  The protocol and the output are those of\n"
		"'%s ppl --backend cpu', and so is the number: the device runs the same\n"
		"stream through the same engine.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        integer .inpu model\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin)\n"
		"  -f, --file PATH         text to evaluate\n"
		"  -b, --backend device\n"
		"  -d, --device PATH       accel node (default: the first INPU device)\n"
		"  -s, --max-stories N     only the first N stories\n"
		"  -h, --help              show this help\n",
		prog, prog);
}

/* 1 if a ppl command line asks for --backend device. */
static int ppl_wants_device(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "--backend") || !strcmp(argv[i], "-b")) &&
		    i + 1 < argc && !strcmp(argv[i + 1], "device"))
			return 1;
		if (!strcmp(argv[i], "--backend=device") || !strcmp(argv[i], "-bdevice"))
			return 1;
	}
	return 0;
}

static int cmd_ppl_device(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "file", required_argument, NULL, 'f' },
		{ "backend", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'd' },
		{ "max-stories", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rt r = { .cmd = "ppl", .dev = 1 };
	struct inpu_qlm *q = NULL;
	const char *file = NULL;
	char err[INPU_MODEL_ERRLEN], why[256];
	long long max_stories = 0;
	struct inpu_ppl acc;
	struct inpu_lm lm;
	char *text = NULL;
	size_t len;
	int c, ret, rc = 1;
	uint64_t t0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:f:b:d:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			r.model = optarg;
			break;
		case 'z':
			r.tokenizer = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'b':
			if (strcmp(optarg, "device")) {
				fprintf(stderr, "%s ppl: --backend %s cannot be combined with another --backend\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'd':
			r.device = optarg;
			break;
		case 's':
			max_stories = inpu_cli_parse_count(optarg, 1LL << 40);
			if (max_stories < 0) {
				fprintf(stderr, "%s ppl: --max-stories: '%s' is not a positive integer\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'h':
			ppl_device_usage(stdout);
			return 0;
		default:
			ppl_device_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s ppl: unexpected argument '%s'\n", prog, argv[optind]);
		return 2;
	}
	if (!r.model || !r.tokenizer || !file) {
		fprintf(stderr, "%s ppl: missing %s (try '%s ppl --help')\n", prog,
			!r.model ? "-m MODEL" : !r.tokenizer ? "-z TOKENIZER" : "-f TEXT",
			prog);
		return 2;
	}
	if (rt_load(&r))
		goto out;
	if (inpu_qdev_lm_new(r.qd, r.qm, &q)) {
		fprintf(stderr, "%s ppl: out of memory\n", prog);
		goto out;
	}
	if (inpu_read_file(file, &text, &len, err, sizeof(err))) {
		fprintf(stderr, "%s ppl: %s\n", prog, err);
		goto out;
	}
	inpu_qlm_lm(q, &lm);
	t0 = now_ns();
	ret = inpu_ppl_text(r.t, &lm, text, len, (uint64_t)max_stories, NULL,
			    NULL, &acc);
	if (ret) {
		if (ret == -EIO) {
			step_error(&r, why, sizeof(why));
			fprintf(stderr, "%s ppl: %s: the device step failed: %s\n",
				prog, file, why);
		} else {
			fprintf(stderr, "%s ppl: %s: %s\n", prog, file, strerror(-ret));
		}
		goto out;
	}
	if (!acc.tokens) {
		fprintf(stderr, "%s ppl: %s: no tokens to score (no stories?)\n",
			prog, file);
		goto out;
	}
	printf("model:       %s (.inpu, %s, dim %u, %u layers, vocab %u, seq_len %u)\n",
	       r.model, r.qm->note, r.qm->cfg.dim, r.qm->cfg.n_layers,
	       r.qm->cfg.vocab_size, r.qm->cfg.seq_len);
	printf("text:        %s\n", file);
	printf("backend:     device (%s)\n", inpu_qdev_path(r.qd));
	printf("stories:     %llu\n", (unsigned long long)acc.stories);
	printf("tokens:      %llu\n", (unsigned long long)acc.tokens);
	printf("nll/token:   %.6f\n", acc.nll / (double)acc.tokens);
	printf("perplexity:  %.4f\n", inpu_ppl_value(&acc));
	fprintf(stderr, "%s ppl: %.1f s, %.1f tokens/s on the device\n", prog,
		(double)(now_ns() - t0) / 1e9,
		(double)acc.tokens * 1e9 / (double)(now_ns() - t0));
	rc = 0;
out:
	free(text);
	inpu_qlm_free(q);
	rt_free(&r);
	return rc;
}

int inpu_cli_run_hook(int argc, char **argv, int *rc)
{
	if (argc < 2)
		return 0;
	if (!strcmp(argv[1], "run")) {
		*rc = cmd_run(argc - 1, argv + 1);
		return 1;
	}
	if (!strcmp(argv[1], "ppl") && ppl_wants_device(argc - 1, argv + 1)) {
		*rc = cmd_ppl_device(argc - 1, argv + 1);
		return 1;
	}
	return 0;
}
