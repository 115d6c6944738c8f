// SPDX-License-Identifier: MIT
/*
 * inpu quantize: a float llama2.c checkpoint and a calibration text in, an
 * integer-only .inpu model out (userspace/quantizer/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "file.h"
#include "ppl.h"
#include "quantize.h"

static void quantize_usage(FILE *f)
{
	fprintf(f,
		"usage: %s quantize -m MODEL [-z TOKENIZER.bin] -c CALIB.txt -o OUT.inpu\n"
		"                    [--seq-len N]\n"
		"                    [--scheme w8a8|w4a8] [--smooth ALPHA|auto|off] [--pow2]\n"
		"                    [--gptq [--act-order] | --rtn] [--act-range mse|max|pNN.NN]\n"
		"                    [--act-scales dynamic|static] [--key-cache 16|8]\n"
		"                    [--samples N] [--rotate]\n"
		"                    [--max-stories N] [--w4-classifier] [--avg-bits B]\n"
		"                    [--w4-group 16|32] [--w4-codes|--w4-zero|--w4-sym]\n"
		"                    [--finetune EPOCHS [--ft-lr LR] [--ft-batch N]\n"
		"                     [--ft-generate N] [--ft-act]] [--threads N]\n"
		"\n"
		"Quantize a llama2.c checkpoint or a GGUF file into an integer-only .inpu\n"
		"model that carries its tokenizer\n"
		"(userspace/quantizer/QUANT.md, userspace/runtime/FORMAT.md):\n"
		"calibration with the float model on CALIB.txt (stories separated\n"
		"by '" INPU_STORY_SEP "'), SmoothQuant scale migration, per-channel\n"
		"int8 (or group-wise int4) weights, int8 activations scaled per token\n"
		"on the device (or at calibrated scales), every rescale an int32\n"
		"multiplier and a shift.  Progress goes to stderr; the per-layer report\n"
		"(output SNR of each linear layer against float on calibration data)\n"
		"to stdout.\n"
		"\n"
		"options:\n"
		"  -m, --model PATH        llama2.c checkpoint (v0 or float32 v1) or GGUF\n"
		"                          file (architecture llama; F32, F16, BF16, Q8_0,\n"
		"                          Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K tensors)\n"
		"  -z, --tokenizer PATH    llama2.c tokenizer (e.g. tok512.bin); default: the\n"
		"                          GGUF file's own (a llama2.c checkpoint has none)\n"
		"      --seq-len N         the context length to build for instead of the\n"
		"                          checkpoint's (GGUF files from llama.cpp's llama2.c\n"
		"                          converter say 128 whatever the model)\n"
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
		"  -g, --gptq              GPTQ weight rounding instead of round-to-nearest\n"		"      --rtn               round-to-nearest weights, no fine-tuning (w4a8's\n"
		"                          method before it was chosen by size)\n"
		"      --gptq-damp F       GPTQ: dampening, a fraction of the Hessian's mean\n"
		"                          diagonal (default 0.01)\n"
		"  -A, --act-order         GPTQ: columns by decreasing Hessian diagonal\n"
		"                          (static group scales)\n"
		"      --act-scales HOW    the int8 inputs of the linear layers: dynamic\n"
		"                          (default; scaled per token on the device) or\n"
		"                          static (calibrated scales; with --pow2)\n"
		"      --key-cache BITS    the attention's key cache: 16 (default) or 8 bits\n"
		"  -r, --act-range HOW     static activation clipping: mse (default), max,\n"
		"                          or a percentile such as p99.99\n"
		"  -n, --samples N         calibration tokens kept for the searches (4096)\n"
		"  -s, --max-stories N     only the first N calibration stories\n"
		"  -W, --w4-classifier     w4a8: the classifier in 4 bits too\n"
		"      --w4-group N        int4 weights: inputs per group scale, 16 (default)\n"
		"                          or 32\n"
		"      --w4-codes          int4 weights: each group's scale and zero point\n"
		"                          as 4-bit codes in one byte (default; groups of\n"
		"                          16: 4.5 bits per weight)\n"
		"      --w4-zero           int4 weights: a scale byte and a zero-point byte\n"
		"                          per group (groups of 16: 5 bits per weight);\n"
		"                          --w4-sym: a scale byte, symmetric groups\n"
		"  -B, --avg-bits B        w4a8: mixed precision, 4 or 8 bits per linear layer\n"
		"                          of the blocks by measured sensitivity, at most B\n"
		"                          bits per weight on average, group scales and\n"
		"                          zero points counted (4 <= B <= 8; default 5;\n"
		"                          at most the 4-bit format's own bits: no 8-bit\n"
		"                          layers)\n"
		"  -F, --finetune EPOCHS   quantization-aware fine-tuning before rounding\n"
		"                          (w4a8 default: 8 passes for models of at most\n"
		"                          4M parameters outside the embeddings, else\n"
		"                          --gptq without fine-tuning):\n"
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
		"  -j, --threads N         worker threads (default: one per CPU); the\n"
		"                          model's bytes are the same for any N\n"
		"  -h, --help              show this help\n",
		prog);
}

struct q_progress {
	int tty;
	char stage[64];
	time_t last;
	struct timespec start;		/* of the whole run */
	struct timespec stage_start;
};

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "1h02m", "3m05s", "42s": short enough for one terminal line. */
static void fmt_secs(char *buf, size_t n, double s)
{
	long v = (long)(s + 0.5);

	if (v >= 3600)
		snprintf(buf, n, "%ldh%02ldm", v / 3600, v / 60 % 60);
	else if (v >= 60)
		snprintf(buf, n, "%ldm%02lds", v / 60, v % 60);
	else
		snprintf(buf, n, "%lds", v);
}

/*
 * On a terminal: one line redrawn at most once a second, a bar, the
 * stage's share done and the time left at the stage's pace so far.
 */
static void q_bar(const struct q_progress *p, const char *stage, uint64_t done,
		  uint64_t total)
{
	char bar[31], eta[48] = "";
	double frac = total ? (double)done / (double)total : 1.0;
	double t = elapsed(&p->stage_start);
	int fill = (int)(frac * 30.0);

	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = 0;
	if (done && done < total && t > 1.0)
		fmt_secs(eta, sizeof(eta), t * (double)(total - done) / (double)done);
	fprintf(stderr, "\r\033[K%s quantize: %s [%s] %3.0f%% %llu/%llu%s%s", prog,
		stage, bar, 100.0 * frac, (unsigned long long)done,
		(unsigned long long)total, eta[0] ? "  ETA " : "", eta);
}

static void q_progress(void *ctx, const char *stage, uint64_t done,
		       uint64_t total)
{
	struct q_progress *p = ctx;
	time_t now = time(NULL);
	int fresh = strcmp(p->stage, stage) != 0;

	if (fresh) {
		snprintf(p->stage, sizeof(p->stage), "%s", stage);
		clock_gettime(CLOCK_MONOTONIC, &p->stage_start);
	}
	if (p->tty) {
		if (!fresh && now == p->last && done != total)
			return;
		p->last = now;
		q_bar(p, stage, done, total);
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

struct qargs {
	const char *model, *tok, *calib, *outp;
	struct inpu_quant_opts o;
	int w4_fmt_set;		/* --w4-group, --w4-zero or --w4-sym given */
	int w4_kind;		/* --w4-zero, --w4-sym or --w4-codes: its letter */
	int avg_bits_set;	/* --avg-bits given */
	int method_set;		/* --finetune or --gptq given */
	int seq_len;		/* --seq-len, or 0: the checkpoint's */
};

/*
 * The options whose value is a keyword (a number may stand in for one):
 * 0, or 2 after saying what is wrong.
 */
static int quantize_choice_opt(int c, struct qargs *a)
{
	switch (c) {
	case 'S':
		if (!strcmp(optarg, "w8a8")) {
			a->o.scheme = INPU_QS_W8A8;
		} else if (!strcmp(optarg, "w4a8")) {
			a->o.scheme = INPU_QS_W4A8;
		} else {
			fprintf(stderr, "%s quantize: --scheme: unknown scheme '%s' (w8a8, w4a8)\n",
				prog, optarg);
			return 2;
		}
		break;
	case 'a':
		if (!strcmp(optarg, "auto")) {
			a->o.smooth = 2;
		} else if (!strcmp(optarg, "off")) {
			a->o.smooth = 0;
		} else {
			if (parse_real("--smooth", optarg, 0.0, 1.0, &a->o.alpha))
				return 2;
			a->o.smooth = 1;
		}
		break;
	case 'D':
		if (strcmp(optarg, "dynamic") && strcmp(optarg, "static")) {
			fprintf(stderr, "%s quantize: --act-scales: '%s' is not dynamic or static\n",
				prog, optarg);
			return 2;
		}
		a->o.act_dyn = !strcmp(optarg, "dynamic");
		break;
	case 'K':
		if (strcmp(optarg, "16") && strcmp(optarg, "8")) {
			fprintf(stderr, "%s quantize: --key-cache: '%s' is not 16 or 8\n",
				prog, optarg);
			return 2;
		}
		a->o.key16 = !strcmp(optarg, "16");
		break;
	case 'r':
		if (!strcmp(optarg, "mse")) {
			a->o.act_range = INPU_RANGE_MSE;
		} else if (!strcmp(optarg, "max")) {
			a->o.act_range = INPU_RANGE_MAX;
		} else if (optarg[0] == 'p') {
			if (parse_real("--act-range", optarg + 1, 50.0, 100.0, &a->o.pct))
				return 2;
			a->o.act_range = INPU_RANGE_PCT;
		} else {
			fprintf(stderr, "%s quantize: --act-range: '%s' is not mse, max or pNN.NN\n",
				prog, optarg);
			return 2;
		}
		break;
	case 'P':
		if (strcmp(optarg, "16") && strcmp(optarg, "32")) {
			fprintf(stderr, "%s quantize: --w4-group: '%s' is not 16 or 32\n",
				prog, optarg);
			return 2;
		}
		a->o.w4_group = atoi(optarg);
		a->w4_fmt_set = 1;
		break;
	}
	return 0;
}

/* The options whose value is a number: 0, or 2 after saying what is wrong. */
static int quantize_number_opt(int c, struct qargs *a)
{
	long long v;

	switch (c) {
	case 'n':
	case 's':
		v = cli_parse_count(optarg, 1LL << 24);
		if (v < 0) {
			fprintf(stderr, "%s quantize: %s: '%s' is not a positive integer\n",
				prog, c == 'n' ? "--samples" : "--max-stories", optarg);
			return 2;
		}
		if (c == 'n')
			a->o.n_sample = (uint32_t)v;
		else
			a->o.max_stories = (uint32_t)v;
		break;
	case 'B':
		if (parse_real("--avg-bits", optarg, 4.0, 8.0, &a->o.avg_bits))
			return 2;
		a->avg_bits_set = 1;
		break;
	case 'd':
		if (parse_real("--gptq-damp", optarg, 1e-6, 10.0, &a->o.gptq_damp))
			return 2;
		break;
	case 'F':
	case 'b':
		v = cli_parse_count(optarg, 10000);
		if (v < 0) {
			fprintf(stderr, "%s quantize: %s: '%s' is not an integer in 1..10000\n",
				prog, c == 'F' ? "--finetune" : "--ft-batch", optarg);
			return 2;
		}
		if (c == 'F') {
			a->o.ft_epochs = (int)v;
			a->method_set = 1;
		}
		else
			a->o.ft_batch = (int)v;
		break;
	case 'G':
		v = cli_parse_count(optarg, 1000000);
		if (v < 0) {
			fprintf(stderr, "%s quantize: --ft-generate: '%s' is not an integer in 1..1000000\n",
				prog, optarg);
			return 2;
		}
		a->o.ft_generate = (uint32_t)v;
		break;
	case 'L':
		if (parse_real("--ft-lr", optarg, 1e-7, 1.0, &a->o.ft_lr))
			return 2;
		break;
	case 'j':
		v = cli_parse_count(optarg, 1024);
		if (v < 0) {
			fprintf(stderr, "%s quantize: --threads: '%s' is not an integer in 1..1024\n",
				prog, optarg);
			return 2;
		}
		a->o.threads = (int)v;
		break;
	}
	return 0;
}

/*
 * One option of 'inpu quantize': 0, or 2 after saying what is wrong.  The
 * paths and switches are set here; the options with a value to check go to
 * quantize_choice_opt() or quantize_number_opt().
 */
static int quantize_opt(int c, struct qargs *a)
{
	switch (c) {
	case 'm':
		a->model = optarg;
		break;
	case 'z':
		a->tok = optarg;
		break;
	case 'q':
		return cli_seq_len("quantize", optarg, &a->seq_len);
	case 'c':
		a->calib = optarg;
		break;
	case 'o':
		a->outp = optarg;
		break;
	case '2':
		a->o.pow2 = 1;
		break;
	case 'g':
		a->o.gptq = 1;
		a->method_set = 1;
		break;
	case 'N':	/* --rtn: round-to-nearest, as chosen */
		a->o.gptq = 0;
		a->o.ft_epochs = 0;
		a->method_set = 1;
		break;
	case 'A':
		a->o.act_order = 1;
		break;
	case 'R':
		a->o.rotate = 1;
		break;
	case 'W':
		a->o.w4_cls = 1;
		break;
	case 'C':
	case 'Z':
	case 'Y':
		if (a->w4_kind && a->w4_kind != c) {
			fprintf(stderr, "%s quantize: --w4-zero, --w4-sym and --w4-codes are alternatives: give one\n",
				prog);
			return 2;
		}
		a->w4_kind = c;
		a->o.w4_zero = c != 'Y';
		a->o.w4_codes = c == 'C';
		a->w4_fmt_set = 1;
		break;
	case 'T':
		a->o.ft_act = 1;
		break;
	case 'S': case 'a': case 'r': case 'P': case 'D': case 'K':
		return quantize_choice_opt(c, a);
	case 'n': case 's': case 'B': case 'F': case 'b': case 'G': case 'L': case 'j':
	case 'd':
		return quantize_number_opt(c, a);
	}
	return 0;
}

/* The command line into @a: -1 to go on, else the exit status. */
static int quantize_args(int argc, char **argv, struct qargs *a)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "tokenizer", required_argument, NULL, 'z' },
		{ "seq-len", required_argument, NULL, 'q' },
		{ "calib", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "scheme", required_argument, NULL, 'S' },
		{ "smooth", required_argument, NULL, 'a' },
		{ "pow2", no_argument, NULL, '2' },
		{ "gptq", no_argument, NULL, 'g' },
		{ "act-order", no_argument, NULL, 'A' },
		{ "rotate", no_argument, NULL, 'R' },
		{ "act-range", required_argument, NULL, 'r' },
		{ "act-scales", required_argument, NULL, 'D' },
		{ "key-cache", required_argument, NULL, 'K' },
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
		{ "w4-codes", no_argument, NULL, 'C' },
		{ "threads", required_argument, NULL, 'j' },
		{ "rtn", no_argument, NULL, 'N' },
		{ "gptq-damp", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	inpu_quant_opts_default(&a->o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:z:c:o:S:a:2gARr:n:s:WB:F:j:h", opts, NULL)) != -1) {
		if (c == 'h') {
			quantize_usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':') {
			quantize_usage(stderr);
			return 2;
		}
		if (quantize_opt(c, a))
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "%s quantize: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}
	if (a->o.act_dyn == 1 && a->o.pow2) {
		fprintf(stderr, "%s quantize: --act-scales dynamic: per-token scales are not powers of two (--pow2)\n",
			prog);
		return 2;
	}
	if (a->avg_bits_set && a->o.scheme != INPU_QS_W4A8) {
		fprintf(stderr, "%s quantize: --avg-bits needs --scheme w4a8\n", prog);
		return 2;
	}
	if (a->w4_fmt_set && a->o.scheme != INPU_QS_W4A8) {
		fprintf(stderr, "%s quantize: --w4-group/--w4-zero/--w4-sym/--w4-codes need --scheme w4a8\n",
			prog);
		return 2;
	}
	/* w4a8 without a method: chosen by the model's size once it is read */
	if (a->o.scheme == INPU_QS_W4A8 && !a->method_set)
		a->o.ft_epochs = INPU_FT_AUTO;
	if (!a->model || !a->calib || !a->outp) {
		fprintf(stderr, "%s quantize: missing %s (try '%s quantize --help')\n",
			prog, !a->model ? "-m MODEL" : !a->calib ? "-c CALIB" : "-o OUTPUT",
			prog);
		return 2;
	}
	return -1;
}

/* Fail before the long work if the output cannot be written. */
static int check_writable(const char *outp)
{
	char dir[4096];
	const char *slash = strrchr(outp, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - outp) + 1 : 1,
		 slash ? outp : ".");
	if (access(dir, W_OK)) {
		fprintf(stderr, "%s quantize: %s: cannot write there: %s\n",
			prog, outp, strerror(errno));
		return 1;
	}
	return 0;
}

static void print_report(const struct qargs *a, const struct inpu_qmodel *qm,
			 const struct inpu_quant_report *rep)
{
	printf("scheme:       %s\n", qm->note);
	printf("calibration:  %s, %llu tokens, %llu sampled\n", a->calib,
	       (unsigned long long)rep->calib_tokens,
	       (unsigned long long)rep->sample_tokens);
	printf("residual:     int32 at 2^-%u (calibration max %.3f)\n",
	       rep->resid_frac, rep->resid_max);
	printf("logits:       int32 at 2^-%u\n", qm->cfg.logit_frac);
	printf("weights:      %.2f bits per weight in the blocks' linear layers (group scales and zero points counted)\n",
	       rep->w_bits);
	if (a->o.ft_epochs > 0)
		printf("fine-tuning:  %d passes, KL(float || rounded) %.5f -> %.5f nats/token\n",
		       a->o.ft_epochs, rep->ft_kl_first, rep->ft_kl_last);
	printf("device image: %llu bytes in %u tensors\n",
	       (unsigned long long)qm->data_size, qm->n_tensors);
	printf("\nlinear layer  bits  alpha  in clip / max      SNR w (dB)  SNR w+a (dB)%s\n",
	       inpu_quant_mixes(&a->o) ? "  dNLL(4 bit)" : "");
	for (uint32_t i = 0; i < rep->n_layers; i++) {
		const struct inpu_quant_layer_report *r = &rep->layer[i];
		char alpha[16];

		if (r->alpha < 0)
			snprintf(alpha, sizeof(alpha), "-");
		else
			snprintf(alpha, sizeof(alpha), "%.2f", r->alpha);
		printf("%-12s  %4d  %5s  %7.3f / %7.3f  %10.2f  %12.2f", r->name,
		       r->bits, alpha, r->in_clip, r->in_max, r->snr_w_db, r->snr_wa_db);
		if (inpu_quant_mixes(&a->o) && r->sens > -1.0)
			printf("  %11.5f", r->sens);
		else if (inpu_quant_mixes(&a->o))
			printf("  %11s", "-");
		printf("\n");
	}
}

/* The .inpu file carries the tokenizer, so it runs with nothing else. */
static int embed_tokenizer(struct inpu_qmodel *qm, const struct inpu_tokenizer *t,
			   char *err, size_t errlen)
{
	int ret = inpu_qmodel_set_tokenizer(qm, t);

	if (ret)
		snprintf(err, errlen, "cannot embed the tokenizer: %s", strerror(-ret));
	return ret;
}

int cmd_quantize(int argc, char **argv)
{
	struct qargs a = { 0 };
	struct inpu_quant_report *rep = NULL;
	struct cli_model cm = { .cmd = "quantize", .kind = CLI_FLOAT };
	struct inpu_model *m;
	struct inpu_tokenizer *t;
	struct inpu_qmodel *qm = NULL;
	struct q_progress pr = { 0 };
	char err[INPU_MODEL_ERRLEN];
	char *text = NULL;
	size_t len;
	int ret = quantize_args(argc, argv, &a);

	if (ret >= 0)
		return ret;
	if (check_writable(a.outp))
		return 1;
	ret = 1;
	cm.model = a.model;
	cm.tokenizer = a.tok;
	cm.seq_len = a.seq_len;
	if (cli_model_load_float(&cm, err, sizeof(err)) ||
	    inpu_read_file(a.calib, &text, &len, err, sizeof(err))) {
		fprintf(stderr, "%s quantize: %s\n", prog, err);
		goto out;
	}
	m = cm.m;
	t = cm.t;
	if (inpu_quant_auto_method(&m->cfg, &a.o))
		fprintf(stderr, "%s quantize: w4a8: a model this size (over %llu parameters "
			"outside the embeddings) is not fine-tuned by default (too slow): GPTQ "
			"instead; --finetune N fine-tunes anyway\n", prog,
			(unsigned long long)INPU_FT_AUTO_MAX_PARAMS);
	else if (a.o.scheme == INPU_QS_W4A8 && !a.method_set)
		fprintf(stderr, "%s quantize: w4a8: fine-tuning %d passes (the default for "
			"a model this size; --gptq for GPTQ instead)\n", prog, a.o.ft_epochs);
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "%s quantize: out of memory\n", prog);
		goto out;
	}
	pr.tty = isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	a.o.progress = q_progress;
	a.o.progress_ctx = &pr;
	if (inpu_quantize(m, t, text, len, &a.o, &qm, rep, err, sizeof(err)) ||
	    embed_tokenizer(qm, t, err, sizeof(err)) ||
	    inpu_qmodel_save(qm, a.outp, err, sizeof(err))) {
		fprintf(stderr, "%s quantize: %s\n", prog, err);
		goto out;
	}
	print_report(&a, qm, rep);
	printf("\ntime:         %.1f s\n", elapsed(&pr.start));
	ret = 0;
out:
	free(rep);
	free(text);
	inpu_qmodel_free(qm);
	cli_model_close(&cm);
	return ret;
}
