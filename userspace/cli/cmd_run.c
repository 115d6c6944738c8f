// SPDX-License-Identifier: MIT
/*
 * inpu run: text generation with an integer .inpu model on the device or
 * the cpu backend, through the generation loop (generate.h).  The loop is
 * integer-only; floating point appears only in the option values turned
 * into SAMPLE immediates and in the statistics printed at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libinpu.h"
#include "cli.h"
#include "generate.h"
#include "qgraph.h"
#include "requant.h"

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
		"STEPS positions in all (the prompt included) or until the model emits\n"
		"BOS, as llama2.c run.c does.  With --backend device every position is\n"
		"one submission of one validated command buffer through /dev/accel; the\n"
		"next token is the device's own ARGMAX (or SAMPLE: temperature, top-p and\n"
		"a seeded integer PRNG on the device; the cpu backend runs the same op and\n"
		"picks the same tokens).  The text is streamed to stdout as it is\n"
		"generated; a stats line (prompt and generated tokens/s, modelled device\n"
		"cycles per token) ends the run on stderr.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        integer .inpu model\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin); default: the\n"
		"                          one inside the model (models made before tokenizers\n"
		"                          were embedded need -z)\n"
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
		"  -D, --depth N           device: generated steps in flight (1..%d, default %d);\n"
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
		prog, prog, INPU_QDEV_MAX_QUEUE, INPU_QDEV_DEPTH_DEFAULT,
		INPU_QDEV_STEPS_PER_JOB, INPU_QDEV_STEPS_PER_JOB,
		INPU_QGRAPH_MAX_ROWS, INPU_QGRAPH_MAX_ROWS);
}

struct run_args {
	const char *prompt;
	long long steps, depth, per_job, batch;
	double temperature, top_p;
	unsigned long long seed;
	int have_seed, json, show_ids, quiet, ignore_eos;
	struct inpu_qsample samp;
	struct cli_model cm;
};

/* A number option: 0, or -1 when @arg is not a number. */
static int parse_real(const char *arg, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(arg, &end);
	return errno || end == arg || *end ? -1 : 0;
}

static int parse_seed(const char *arg, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(arg, &end, 0);
	return errno || end == arg || *end || arg[0] == '-' ? -1 : 0;
}

/* The value options; -1 to go on, else the exit status. */
static int run_value_opt(int c, const char *arg, struct run_args *a)
{
	switch (c) {
	case 'n':
		a->steps = cli_parse_count(arg, 1LL << 30);
		if (a->steps >= 0)
			return -1;
		fprintf(stderr, "%s run: --steps: '%s' is not a positive integer\n",
			prog, arg);
		return 2;
	case 't':
		if (!parse_real(arg, &a->temperature) && a->temperature >= 0)
			return -1;
		fprintf(stderr, "%s run: --temperature: '%s' is not a number >= 0\n",
			prog, arg);
		return 2;
	case 'P':
		if (!parse_real(arg, &a->top_p) && a->top_p > 0 && a->top_p <= 1)
			return -1;
		fprintf(stderr, "%s run: --top-p: '%s' is not a number in (0, 1]\n",
			prog, arg);
		return 2;
	case 's':
		a->have_seed = 1;
		if (!parse_seed(arg, &a->seed))
			return -1;
		fprintf(stderr, "%s run: --seed: '%s' is not an unsigned 64-bit integer\n",
			prog, arg);
		return 2;
	case 'K':
		a->per_job = cli_count_opt("run", "per-job", arg, INPU_QDEV_STEPS_PER_JOB);
		return a->per_job < 0 ? 2 : -1;
	case 'D':
		a->depth = cli_count_opt("run", "depth", arg, INPU_QDEV_MAX_QUEUE);
		return a->depth < 0 ? 2 : -1;
	case 'B':
		a->batch = cli_count_opt("run", "batch", arg, INPU_QGRAPH_MAX_ROWS);
		return a->batch < 0 ? 2 : -1;
	}
	return 2;
}

/* One option; -1 to go on, else the exit status. */
static int run_opt(int c, const char *arg, struct run_args *a)
{
	switch (c) {
	case 'm':
		a->cm.model = arg;
		return -1;
	case 'z':
		a->cm.tokenizer = arg;
		return -1;
	case 'p':
		a->prompt = arg;
		return -1;
	case 'b':
		return cli_backend_parse("run", arg, 1u << CLI_DEVICE | 1u << CLI_CPU,
					 &a->cm.kind) ? 2 : -1;
	case 'd':
		a->cm.device = arg;
		return -1;
	case 'i':
		a->show_ids = 1;
		return -1;
	case 'j':
		a->json = 1;
		return -1;
	case 'q':
		a->quiet = 1;
		return -1;
	case 'E':
		a->ignore_eos = 1;
		return -1;
	case 'h':
		run_usage(stdout);
		return 0;
	case 'n': case 't': case 'P': case 's': case 'K': case 'D': case 'B':
		return run_value_opt(c, arg, a);
	}
	run_usage(stderr);
	return 2;
}

/* The command line into @a: -1 to go on, else the exit status. */
static int run_args(int argc, char **argv, struct run_args *a)
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
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:p:n:b:d:t:P:s:D:K:ijqEB:h",
				opts, NULL)) != -1) {
		rc = run_opt(c, optarg, a);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "%s run: unexpected argument '%s'\n", prog, argv[optind]);
		return 2;
	}
	if (!a->cm.model) {
		fprintf(stderr, "%s run: missing -m MODEL (try '%s run --help')\n", prog,
			prog);
		return 2;
	}
	if (a->cm.device && a->cm.kind != CLI_DEVICE) {
		fprintf(stderr, "%s run: --device %s: only with --backend device\n",
			prog, a->cm.device);
		return 2;
	}
	if (a->have_seed && a->temperature <= 0) {
		fprintf(stderr, "%s run: --seed: only with --temperature > 0 (greedy decoding uses no randomness)\n",
			prog);
		return 2;
	}
	return -1;
}

/*
 * --temperature and --top-p as SAMPLE immediates, which need the loaded
 * model's logit and exp-table scales: -1 to go on, else the exit status.
 */
static int run_sampling(struct run_args *a)
{
	const struct inpu_qconfig *cfg = &a->cm.qm->cfg;
	int32_t mult, shift;
	double real;

	if (a->temperature <= 0)
		return -1;
	real = ldexp(1.0, (int)cfg->exp_frac - (int)cfg->logit_frac) /
	       a->temperature;
	if (inpu_requant_pair(real, 0, &mult, &shift)) {
		fprintf(stderr, "%s run: --temperature %g: out of the range the SAMPLE op can express\n",
			prog, a->temperature);
		return 2;
	}
	if (!a->have_seed)
		a->seed = (unsigned long long)time(NULL);
	memset(&a->samp, 0, sizeof(a->samp));
	a->samp.temp_mult = mult;
	a->samp.temp_shift = shift;
	a->samp.top_p = (uint32_t)(a->top_p * 65536.0 + 0.5);
	if (a->samp.top_p < 1)
		a->samp.top_p = 1;
	a->samp.seed = a->seed;
	a->cm.samp = &a->samp;
	return -1;
}

/* BOS and the prompt as token ids: their count, or -1 after a message. */
static long run_encode(const struct run_args *a, int **tokens)
{
	long n = cli_encode_prompt(&a->cm, a->prompt, tokens);

	if (n > a->steps) {
		fprintf(stderr,
			"%s run: --prompt: %ld tokens (with BOS), more than the %lld positions to run\n",
			prog, n, a->steps);
		return -1;
	}
	return n;
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

/* What the run measured, in the units it is printed in. */
struct run_report {
	const char *device;		/* "" on the cpu backend */
	double pp_tps, tg_tps, cyc_tok, gen_cyc_tok;
	double tot_us, step_us, sub_us, wait_us, busy_us;
	double p50, p99;
	int chained;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double per(double total, uint64_t n)
{
	return n ? total / (double)n : 0;
}

/* @busy: the device's busy ns over the run, or -1. */
static void run_measure(struct run_args *a, struct inpu_gen_stats *st,
			long long busy, struct run_report *r)
{
	struct inpu_qdev *qd = inpu_backend_qdev(a->cm.b);
	struct inpu_qdev_times dt = { 0 };
	double pp_s = (double)(st->t_first - st->t_start) / 1e9;
	double tg_s = (double)(st->t_end - st->t_first) / 1e9;
	uint64_t n_all = st->n_prompt + st->n_gen;

	if (qd)
		inpu_qdev_times(qd, &dt);
	r->device = qd ? inpu_qdev_path(qd) : "";
	r->chained = st->chained;
	r->pp_tps = st->n_prompt && pp_s > 0 ? (double)st->n_prompt / pp_s : 0;
	r->tg_tps = st->n_gen && tg_s > 0 ? (double)st->n_gen / tg_s : 0;
	r->cyc_tok = per((double)(st->cyc_prompt + st->cyc_gen), n_all);
	r->gen_cyc_tok = per((double)st->cyc_gen, st->n_gen);
	r->tot_us = per((double)(st->t_end - st->t_start) / 1e3, n_all);
	r->step_us = per((double)st->step_ns / 1e3, n_all);
	r->sub_us = per((double)dt.submit_ns / 1e3, dt.steps);
	r->wait_us = per((double)dt.wait_ns / 1e3, dt.steps);
	/* Jobs overlap when chained: their busy times do not add up. */
	r->busy_us = !st->chained && busy >= 0 && dt.steps ?
		     (double)busy / 1e3 / (double)dt.steps : -1;
	r->p50 = r->p99 = 0;
	if (st->n_lat) {
		qsort(st->lat, (size_t)st->n_lat, sizeof(*st->lat), cmp_u64);
		r->p50 = (double)st->lat[(st->n_lat - 1) / 2] / 1e3;
		r->p99 = (double)st->lat[(st->n_lat * 99 + 99) / 100 - 1] / 1e3;
	}
}

static void print_json(const struct run_args *a, const struct inpu_gen_stats *st,
		       const struct run_report *r)
{
	int dev = a->cm.kind == CLI_DEVICE;

	printf("{\"model\":");
	cli_json_str(stdout, a->cm.model);
	printf(",\"backend\":\"%s\",\"device\":", a->cm.b->name);
	cli_json_str(stdout, r->device);
	if (a->cm.samp)
		printf(",\"temperature\":%g,\"top_p\":%g,\"seed\":%llu",
		       a->temperature, a->top_p, a->seed);
	printf(",\"prompt_tokens\":%llu,\"generated_tokens\":%llu,"
	       "\"prompt_tok_s\":%.1f,\"gen_tok_s\":%.1f,"
	       "\"cycles_per_token\":%.0f,\"us_per_token\":%.2f,"
	       "\"step_us\":%.2f,\"submit_us\":%.2f,\"wait_us\":%.2f,"
	       "\"device_busy_us\":%.2f,\"depth\":%lld,\"per_job\":%lld,"
	       "\"token_us_p50\":%.1f,\"token_us_p99\":%.1f,"
	       "\"gen_cycles_per_token\":%.0f,\"gen_bytes_per_token\":%.0f}\n",
	       (unsigned long long)st->n_prompt, (unsigned long long)st->n_gen,
	       r->pp_tps, r->tg_tps, r->cyc_tok, r->tot_us, r->step_us,
	       r->sub_us, r->wait_us, r->busy_us, dev ? a->depth : 0,
	       dev ? a->per_job : 0, r->p50, r->p99, r->gen_cyc_tok,
	       per((double)st->bytes_gen, st->n_gen));
}

static void print_text(const struct run_args *a, const struct inpu_gen_stats *st,
		       const struct run_report *r)
{
	FILE *f = stderr;

	fprintf(f, "stats: %s backend, prompt %llu tokens at %.1f tok/s, generated %llu tokens at %.1f tok/s, %.0f modelled device cycles/token (%.1f us at 1 GHz)\n",
		a->cm.b->name, (unsigned long long)st->n_prompt, r->pp_tps,
		(unsigned long long)st->n_gen, r->tg_tps, r->cyc_tok,
		r->cyc_tok / 1e3);
	if (st->n_lat)
		fprintf(f, "latency per generated token (host view): median %.1f us, 99th percentile %.1f us\n",
			r->p50, r->p99);
	if (a->cm.samp)
		fprintf(f, "sampling: temperature %g, top-p %g, seed %llu (SAMPLE temp_mult %d, temp_shift %d, top_p %u/65536)\n",
			a->temperature, a->top_p, a->seed, a->samp.temp_mult,
			a->samp.temp_shift, a->samp.top_p);
	if (a->cm.kind != CLI_DEVICE) {
		fprintf(f, "time/token: %.1f us = step %.1f us (engine on the CPU) + host %.1f us\n",
			r->tot_us, r->step_us, r->tot_us - r->step_us);
		return;
	}
	fprintf(f, "time/token: %.1f us = step %.1f us (submit ioctl %.1f + wait ioctl %.1f + other %.1f) + host %.1f us; ",
		r->tot_us, r->step_us, r->sub_us, r->wait_us,
		r->step_us - r->sub_us - r->wait_us, r->tot_us - r->step_us);
	if (r->chained)
		fprintf(f, "generated steps chained on the device, %lld in flight, %lld per job\n",
			a->depth, a->per_job);
	else
		fprintf(f, "device busy %.1f us/job (sysfs busy_time_ns)\n",
			r->busy_us);
}

static void print_ids(const struct inpu_gen_stats *st)
{
	printf("ids:");
	for (long i = 0; i < st->n_ids; i++)
		printf(" %d", st->gen[i]);
	printf("\n");
}

/* Generate and report: the exit status. */
static int run_generate(struct run_args *a, const int *tokens, int n_prompt)
{
	struct inpu_qdev *qd = inpu_backend_qdev(a->cm.b);
	struct inpu_gen_opts o = {
		.steps = (int)a->steps, .batch = (int)a->batch,
		.depth = qd ? (int)a->depth : 1, .per_job = qd ? (int)a->per_job : 1,
		.ignore_eos = a->ignore_eos,
		.emit = a->quiet ? NULL : cli_emit_piece,
		.flush = a->quiet ? NULL : cli_flush_stdout, .ctx = a->cm.t,
	};
	long long busy0 = qd ? busy_ns(inpu_qdev_path(qd)) : -1, busy1;
	struct inpu_gen_stats st;
	struct run_report r;
	int ret = inpu_generate(a->cm.b, tokens, n_prompt, &o, &st);

	if (ret == -EIO && st.fail_n > 1)
		fprintf(stderr, "\n%s run: the prefill at positions %d..%d failed: %s\n",
			prog, st.fail_pos, st.fail_pos + st.fail_n - 1, st.why);
	else if (ret == -EIO)
		fprintf(stderr, "\n%s run: the step at position %d failed: %s\n",
			prog, st.fail_pos, st.why);
	else if (ret)
		fprintf(stderr, "%s run: out of memory\n", prog);
	if (ret) {
		inpu_gen_stats_free(&st);
		return 1;
	}
	if (!a->quiet)
		printf("\n");
	busy1 = qd ? busy_ns(inpu_qdev_path(qd)) : -1;
	if (a->show_ids)
		print_ids(&st);
	run_measure(a, &st, busy0 >= 0 && busy1 >= busy0 ? busy1 - busy0 : -1, &r);
	if (a->json)
		print_json(a, &st, &r);
	else
		print_text(a, &st, &r);
	inpu_gen_stats_free(&st);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = {
		.prompt = "", .steps = 256, .depth = INPU_QDEV_DEPTH_DEFAULT,
		.per_job = INPU_QDEV_STEPS_PER_JOB, .batch = INPU_QGRAPH_MAX_ROWS,
		.top_p = 0.9, .cm = { .cmd = "run", .kind = CLI_DEVICE },
	};
	struct inpu_qdev *qd;
	int *tokens = NULL, rc = run_args(argc, argv, &a);
	long n_prompt;

	if (rc >= 0)
		return rc;
	rc = cli_model_load(&a.cm);
	if (!rc) {
		rc = run_sampling(&a);
		rc = rc >= 0 ? rc : cli_model_backend(&a.cm);
	}
	if (rc)
		goto out;
	qd = inpu_backend_qdev(a.cm.b);
	if (qd && a.per_job > inpu_qdev_steps_per_job(qd))
		a.per_job = inpu_qdev_steps_per_job(qd);
	if (a.steps > a.cm.b->seq_len)
		a.steps = a.cm.b->seq_len;
	rc = 1;
	n_prompt = run_encode(&a, &tokens);
	if (n_prompt >= 0)
		rc = run_generate(&a, tokens, (int)n_prompt);
out:
	free(tokens);
	cli_model_close(&a.cm);
	return rc;
}
