// SPDX-License-Identifier: MIT
/*
 * inpu-trace: latency of inpu NPU jobs, traced with eBPF.
 *
 * Histograms of queue wait (submit to start on the device), execution
 * (start to done) and total latency, plus the device cycles each job
 * reported; per process (-P) or per device context (-C); counts of job
 * errors by status, of device resets and of MMU faults.  The shape of the
 * bcc libbpf-tools: print every INTERVAL seconds, COUNT times, or once at
 * Ctrl-C.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "libinpu.h"
#include "inpu_trace.h"
#include "inpu_trace.skel.h"

#define PROG "inpu-trace"

enum attach_mode { ATTACH_AUTO, ATTACH_BTF, ATTACH_TRACEPOINT };

static struct {
	__u32 pid;
	enum inpu_trace_group group;
	bool ms;
	bool json;
	bool events;
	bool verbose;
	enum attach_mode attach;
	long interval;
	long times;
	const char *tracefs;
} opt = {
	.group = INPU_TRACE_GROUP_ALL,
	.interval = LONG_MAX,
	.times = LONG_MAX,
};

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options] [INTERVAL [COUNT]]\n"
"\n"
"Latency of inpu NPU jobs, traced with eBPF: histograms of the queue wait\n"
"(submit to start on the device), the execution (start to done) and the\n"
"total, and of the device cycles per job; errors by status, device resets\n"
"and MMU faults.  Prints every INTERVAL seconds, COUNT times, or once when\n"
"interrupted (Ctrl-C).  Needs root (CAP_BPF and CAP_PERFMON) and the inpu\n"
"module loaded.\n"
"\n"
"  -p, --pid PID       only jobs submitted by process PID\n"
"  -P, --per-process   one set of histograms per process\n"
"  -C, --per-context   one set per device context (open file)\n"
"  -m, --milliseconds  histograms in ms (default us)\n"
"  -e, --events        also print every ended job, one line each\n"
"  -j, --json          JSON output, one object per line\n"
"  -a, --attach MODE   auto (default), btf (tp_btf, needs the module's\n"
"                      BTF) or tracepoint (classic tracepoints)\n"
"  -v, --verbose       libbpf's messages\n"
"  -h, --help          this text\n"
"\n"
"examples:\n"
"  " PROG "             histograms until Ctrl-C\n"
"  " PROG " -P 1 5      per process, every second, five times\n"
"  " PROG " -j -e       every job as JSON, then the summary\n");
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static long parse_long(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, PROG ": %s: not a number in %ld..%ld: '%s'\n",
			what, min, max, s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "per-process", no_argument, NULL, 'P' },
		{ "per-context", no_argument, NULL, 'C' },
		{ "milliseconds", no_argument, NULL, 'm' },
		{ "events", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "attach", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:PCmejva:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.pid = (__u32)parse_long(optarg, "--pid", 1, INT_MAX);
			break;
		case 'P':
		case 'C':
			if (opt.group != INPU_TRACE_GROUP_ALL) {
				fprintf(stderr, PROG ": -P and -C exclude each other\n");
				exit(2);
			}
			opt.group = c == 'P' ? INPU_TRACE_GROUP_PID :
					       INPU_TRACE_GROUP_CTX;
			break;
		case 'm':
			opt.ms = true;
			break;
		case 'e':
			opt.events = true;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'a':
			if (!strcmp(optarg, "auto"))
				opt.attach = ATTACH_AUTO;
			else if (!strcmp(optarg, "btf"))
				opt.attach = ATTACH_BTF;
			else if (!strcmp(optarg, "tracepoint"))
				opt.attach = ATTACH_TRACEPOINT;
			else {
				fprintf(stderr, PROG ": --attach: want auto, btf or tracepoint, not '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		opt.interval = parse_long(argv[optind++], "INTERVAL", 1, INT_MAX);
	if (optind < argc)
		opt.times = parse_long(argv[optind++], "COUNT", 1, INT_MAX);
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level == LIBBPF_DEBUG && !opt.verbose)
		return 0;
	if (!opt.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* ---- environment checks ---------------------------------------------- */

static const char *find_tracefs(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (!access(path, F_OK))
			return dirs[i];
	}
	return NULL;
}

/*
 * The classic programs read fixed offsets: compare them with the record
 * format the running module publishes, so a mismatch is an error message,
 * not wrong numbers.
 */
struct field_check {
	const char *event;
	const char *field;
	unsigned int offset;
	unsigned int size;
};

#define FIELD(ev, type, f) { ev, #f, offsetof(type, f), sizeof(((type *)0)->f) }

static const struct field_check fields[] = {
	FIELD("inpu_job_submit", struct inpu_tp_job_submit, job_id),
	FIELD("inpu_job_submit", struct inpu_tp_job_submit, ctx),
	FIELD("inpu_job_submit", struct inpu_tp_job_submit, pid),
	FIELD("inpu_job_start", struct inpu_tp_job_start, job_id),
	FIELD("inpu_job_start", struct inpu_tp_job_start, ctx),
	FIELD("inpu_job_done", struct inpu_tp_job_done, job_id),
	FIELD("inpu_job_done", struct inpu_tp_job_done, cycles),
	FIELD("inpu_job_done", struct inpu_tp_job_done, ctx),
	FIELD("inpu_job_done", struct inpu_tp_job_done, status),
	FIELD("inpu_job_done", struct inpu_tp_job_done, ops_done),
	FIELD("inpu_mmu_fault", struct inpu_tp_mmu_fault, job_id),
	FIELD("inpu_mmu_fault", struct inpu_tp_mmu_fault, ctx),
};

static void check_format(const char *tracefs, const struct field_check *fc)
{
	char path[PATH_MAX], line[512], want[96];
	unsigned int off, size;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/events/inpu/%s/format", tracefs,
		 fc->event);
	f = fopen(path, "r");
	if (!f)
		die("cannot read %s: %s (is the inpu module loaded?)", path,
		    strerror(errno));
	snprintf(want, sizeof(want), " %s;", fc->field);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, want);
		char *o;

		if (!strstr(line, "field:") || !p)
			continue;
		o = strstr(p, "offset:");
		if (!o || sscanf(o, "offset:%u; size:%u;", &off, &size) != 2)
			continue;
		found = true;
		break;
	}
	fclose(f);
	if (!found)
		die("%s: no field '%s': this tool does not match the loaded module",
		    path, fc->field);
	if (off != fc->offset || size != fc->size)
		die("%s: field '%s' at offset %u size %u, this tool expects %u/%u: rebuild it against the loaded module",
		    path, fc->field, off, size, fc->offset, fc->size);
}

static bool have_file(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Loading tracing programs takes CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN). */
static bool can_trace(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };
	__u64 eff;

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	eff = data[0].effective | (__u64)data[1].effective << 32;
	if (eff & (1ull << CAP_SYS_ADMIN))
		return true;
	return (eff & (1ull << CAP_BPF)) && (eff & (1ull << CAP_PERFMON));
}

/* Decides tp_btf or classic, or explains why neither can work. */
static bool choose_btf(void)
{
	bool kbtf = have_file("/sys/kernel/btf/vmlinux");
	bool mbtf = have_file("/sys/kernel/btf/inpu");

	if (!can_trace())
		die("needs root (or CAP_BPF and CAP_PERFMON) to load BPF programs");
	if (!have_file("/sys/module/inpu"))
		die("the inpu module is not loaded (no /sys/module/inpu); load it first (modprobe inpu, or insmod inpu.ko)");
	if (opt.attach == ATTACH_BTF) {
		if (!kbtf)
			die("--attach btf: the kernel has no BTF (/sys/kernel/btf/vmlinux missing; needs CONFIG_DEBUG_INFO_BTF)");
		if (!mbtf)
			die("--attach btf: the inpu module has no BTF (/sys/kernel/btf/inpu missing; build it with pahole installed and CONFIG_DEBUG_INFO_BTF_MODULES)");
		return true;
	}
	if (opt.attach == ATTACH_TRACEPOINT)
		return false;
	if (kbtf && mbtf)
		return true;
	fprintf(stderr, PROG ": %s has no BTF: using classic tracepoints\n",
		kbtf ? "the inpu module" : "the kernel");
	return false;
}

/* ---- output ------------------------------------------------------------ */

static const char *const metric_names[INPU_TRACE_METRICS] = {
	[INPU_TRACE_QUEUE] = "queue",
	[INPU_TRACE_EXEC] = "exec",
	[INPU_TRACE_TOTAL] = "total",
	[INPU_TRACE_CYCLES] = "cycles",
};

static void print_stars(unsigned int v, unsigned int max, int width)
{
	int n = max ? (int)((unsigned long long)v * width / max) : 0;

	for (int i = 0; i < width; i++)
		putchar(i < n ? '*' : ' ');
}

static void print_log2_hist(const __u32 *slots, const char *title,
			    const char *unit)
{
	int first = -1, last = -1;
	unsigned int max = 0;

	for (int i = 0; i < INPU_TRACE_SLOTS; i++) {
		if (slots[i] && first < 0)
			first = i;
		if (slots[i])
			last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	printf("  %s\n", title);
	if (last < 0) {
		printf("    (none)\n");
		return;
	}
	printf("  %22s : count    distribution\n", unit);
	for (int i = first; i <= last; i++) {
		unsigned long long lo = i ? 1ull << i : 0;
		unsigned long long hi = (1ull << (i + 1)) - 1;

		printf("  %9llu -> %-9llu : %-8u |", lo, hi, slots[i]);
		print_stars(slots[i], max, 40);
		printf("|\n");
	}
}

struct group {
	struct inpu_trace_hist_key key;
	struct inpu_trace_hist h;
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->key.id < y->key.id ? -1 : x->key.id > y->key.id;
}

/* Reads and clears a hash map's entries, sorted by key. */
static int read_groups(int fd, struct group **out)
{
	struct inpu_trace_hist_key key, next, *prev = NULL;
	struct group *g = NULL;
	int n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (n == cap) {
			struct group *ng;

			cap = cap ? cap * 2 : 16;
			ng = realloc(g, cap * sizeof(*g));
			if (!ng)
				die("out of memory");
			g = ng;
		}
		if (!bpf_map_lookup_elem(fd, &next, &g[n].h)) {
			g[n].key = next;
			n++;
		}
		key = next;
		prev = &key;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &g[i].key);
	if (n)
		qsort(g, n, sizeof(*g), cmp_group);
	*out = g;
	return n;
}

struct status_count {
	__u32 status;
	__u64 n;
};

static int read_statuses(int fd, struct status_count *out, int max)
{
	__u32 key, next, *prev = NULL;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &out[n].n)) {
			out[n].status = next;
			n++;
		}
		key = next;
		prev = &key;
	}
	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &out[i].status);
	return n;
}

static void read_counters(int fd, __u64 *c)
{
	for (__u32 i = 0; i < INPU_TRACE_COUNTERS; i++) {
		__u64 zero = 0;

		c[i] = 0;
		bpf_map_lookup_elem(fd, &i, &c[i]);
		bpf_map_update_elem(fd, &i, &zero, BPF_ANY);
	}
}

static const char *group_field(void)
{
	return opt.group == INPU_TRACE_GROUP_PID ? "pid" :
	       opt.group == INPU_TRACE_GROUP_CTX ? "ctx" : NULL;
}

static void json_string(const char *s, size_t max)
{
	putchar('"');
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/*
 * Events the kernel skipped: a classic tracepoint program does not run
 * while another BPF program runs on the same CPU (a completion interrupt
 * landing during the submit program, say); the kernel counts those
 * per program.  tp_btf programs only exclude themselves.
 */
enum { MISS_SUBMIT, MISS_START, MISS_DONE, MISS_OTHER, MISS_KINDS };

static const char *const miss_names[MISS_KINDS] = {
	"submit", "start", "done", "other",
};

static __u64 prog_misses(const struct bpf_program *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(p);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_prog_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

static void read_misses(struct inpu_trace_bpf *skel, __u64 *out)
{
	static __u64 last[MISS_KINDS];
	__u64 now[MISS_KINDS];

	now[MISS_SUBMIT] = prog_misses(skel->progs.btf_job_submit) +
			   prog_misses(skel->progs.tp_job_submit);
	now[MISS_START] = prog_misses(skel->progs.btf_job_start) +
			  prog_misses(skel->progs.tp_job_start);
	now[MISS_DONE] = prog_misses(skel->progs.btf_job_done) +
			 prog_misses(skel->progs.tp_job_done);
	now[MISS_OTHER] = prog_misses(skel->progs.btf_reset) +
			  prog_misses(skel->progs.tp_reset) +
			  prog_misses(skel->progs.btf_mmu_fault) +
			  prog_misses(skel->progs.tp_mmu_fault);
	for (int i = 0; i < MISS_KINDS; i++) {
		out[i] = now[i] - last[i];
		last[i] = now[i];
	}
}

/* One snapshot of the maps, read once and then printed as JSON or text. */
struct report {
	double seconds;
	__u64 c[INPU_TRACE_COUNTERS];
	__u64 miss[MISS_KINDS];
	struct status_count st[256];
	int ns;
	struct group *g;
	int ng;
};

static void print_json_group(const struct group *gr, int first)
{
	const struct inpu_trace_hist *h = &gr->h;

	printf("%s{", first ? "" : ",");
	if (group_field())
		printf("\"%s\":%u,", group_field(), gr->key.id);
	printf("\"comm\":");
	json_string(h->comm, sizeof(h->comm));
	printf(",\"jobs\":%llu", (unsigned long long)h->jobs);
	for (int m = 0; m < INPU_TRACE_METRICS; m++)
		printf(",\"%s_%s\":%llu", metric_names[m],
		       m == INPU_TRACE_CYCLES ? "sum" : "ns",
		       (unsigned long long)h->sum[m]);
	printf(",\"hist\":{");
	for (int m = 0; m < INPU_TRACE_METRICS; m++) {
		int last = 0;

		for (int s = 0; s < INPU_TRACE_SLOTS; s++)
			if (h->slots[m][s])
				last = s;
		printf("%s\"%s\":[", m ? "," : "", metric_names[m]);
		for (int s = 0; s <= last; s++)
			printf("%s%u", s ? "," : "", h->slots[m][s]);
		printf("]");
	}
	printf("}}");
}

static void print_json_report(const struct report *r)
{
	const __u64 *c = r->c;

	printf("{\"type\":\"summary\",\"seconds\":%.3f,\"unit\":\"%s\",\"submitted\":%llu,\"jobs\":%llu,\"unmatched\":%llu,\"resets\":%llu,\"mmu_faults\":%llu,\"dropped\":%llu,\"missed\":",
	       r->seconds, opt.ms ? "ms" : "us",
	       (unsigned long long)c[INPU_TRACE_SUBMITTED],
	       (unsigned long long)c[INPU_TRACE_DONE],
	       (unsigned long long)c[INPU_TRACE_UNMATCHED],
	       (unsigned long long)c[INPU_TRACE_RESETS],
	       (unsigned long long)c[INPU_TRACE_MMU_FAULTS],
	       (unsigned long long)c[INPU_TRACE_DROPPED]);
	printf("{");
	for (int i = 0; i < MISS_KINDS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", miss_names[i],
		       (unsigned long long)r->miss[i]);
	printf("},\"status\":[");
	for (int i = 0; i < r->ns; i++) {
		printf("%s{\"status\":%u,\"name\":", i ? "," : "",
		       r->st[i].status);
		json_string(inpu_job_status_name(r->st[i].status), 64);
		printf(",\"jobs\":%llu}", (unsigned long long)r->st[i].n);
	}
	printf("],\"groups\":[");
	for (int i = 0; i < r->ng; i++)
		print_json_group(&r->g[i], i == 0);
	printf("]}\n");
}

static void print_text_group(const struct group *gr, const char *unit)
{
	const struct inpu_trace_hist *h = &gr->h;
	double div = (opt.ms ? 1e6 : 1e3) * (h->jobs ? h->jobs : 1);

	printf("\n");
	if (group_field())
		printf("%s %u (%.16s): ", group_field(), gr->key.id,
		       h->comm);
	printf("%llu jobs, mean queue %.1f, exec %.1f, total %.1f %s, %.0f cycles\n",
	       (unsigned long long)h->jobs,
	       h->sum[INPU_TRACE_QUEUE] / div,
	       h->sum[INPU_TRACE_EXEC] / div,
	       h->sum[INPU_TRACE_TOTAL] / div, unit,
	       (double)h->sum[INPU_TRACE_CYCLES] /
	       (h->jobs ? h->jobs : 1));
	print_log2_hist(h->slots[INPU_TRACE_QUEUE],
			"queue wait (submit -> device start)", unit);
	print_log2_hist(h->slots[INPU_TRACE_EXEC],
			"execution (device start -> done)", unit);
	print_log2_hist(h->slots[INPU_TRACE_TOTAL],
			"total (submit -> done)", unit);
	print_log2_hist(h->slots[INPU_TRACE_CYCLES],
			"device cycles per job", "cycles");
}

static void print_text_report(const struct report *r)
{
	const char *unit = opt.ms ? "msecs" : "usecs";
	const __u64 *c = r->c, *miss = r->miss;
	time_t t = time(NULL);
	__u64 missed = 0;
	char ts[16];

	for (int i = 0; i < MISS_KINDS; i++)
		missed += miss[i];
	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
	printf("\n%s  jobs %llu (submitted %llu)  resets %llu  MMU faults %llu",
	       ts, (unsigned long long)c[INPU_TRACE_DONE],
	       (unsigned long long)c[INPU_TRACE_SUBMITTED],
	       (unsigned long long)c[INPU_TRACE_RESETS],
	       (unsigned long long)c[INPU_TRACE_MMU_FAULTS]);
	if (c[INPU_TRACE_UNMATCHED])
		printf("  (%llu ended, submitted before tracing)",
		       (unsigned long long)c[INPU_TRACE_UNMATCHED]);
	if (c[INPU_TRACE_DROPPED])
		printf("  DROPPED %llu",
		       (unsigned long long)c[INPU_TRACE_DROPPED]);
	printf("\n");
	if (missed)
		printf("  missed events: submit %llu, start %llu, done %llu, other %llu (the kernel skips a classic tracepoint program while another BPF program runs on the CPU; -a btf does not)\n",
		       (unsigned long long)miss[MISS_SUBMIT],
		       (unsigned long long)miss[MISS_START],
		       (unsigned long long)miss[MISS_DONE],
		       (unsigned long long)miss[MISS_OTHER]);
	for (int i = 0; i < r->ns; i++)
		if (r->st[i].status)
			printf("  errors: %llu x status %#x (%s)\n",
			       (unsigned long long)r->st[i].n, r->st[i].status,
			       inpu_job_status_name(r->st[i].status));
	for (int i = 0; i < r->ng; i++)
		print_text_group(&r->g[i], unit);
}

static void print_report(struct inpu_trace_bpf *skel, double seconds)
{
	struct report r;

	r.seconds = seconds;
	r.ng = read_groups(bpf_map__fd(skel->maps.hists), &r.g);
	r.ns = read_statuses(bpf_map__fd(skel->maps.statuses), r.st, 256);
	read_counters(bpf_map__fd(skel->maps.counters), r.c);
	read_misses(skel, r.miss);

	if (opt.json)
		print_json_report(&r);
	else
		print_text_report(&r);
	fflush(stdout);
	free(r.g);
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct inpu_trace_event *e = data;

	(void)ctx;
	if (len < sizeof(*e))
		return 0;
	if (opt.json) {
		printf("{\"type\":\"job\",\"job\":%llu,\"ctx\":%u,\"pid\":%u,\"comm\":",
		       (unsigned long long)e->job_id, e->ctx, e->pid);
		json_string(e->comm, sizeof(e->comm));
		printf(",\"status\":%u,\"ops\":%u,\"queue_ns\":%llu,\"exec_ns\":%llu,\"total_ns\":%llu,\"cycles\":%llu}\n",
		       e->status, e->ops_done, (unsigned long long)e->queue_ns,
		       (unsigned long long)e->exec_ns,
		       (unsigned long long)e->total_ns,
		       (unsigned long long)e->cycles);
	} else {
		printf("%-16.16s %7u ctx %-4u job %-8llu %-10s queue %9.1f exec %9.1f total %9.1f us %10llu cycles\n",
		       e->comm, e->pid, e->ctx, (unsigned long long)e->job_id,
		       e->status ? inpu_job_status_name(e->status) : "ok",
		       e->queue_ns / 1e3, e->exec_ns / 1e3, e->total_ns / 1e3,
		       (unsigned long long)e->cycles);
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_autoload(struct inpu_trace_bpf *skel, bool btf)
{
	struct bpf_program *btf_progs[] = {
		skel->progs.btf_job_submit, skel->progs.btf_job_start,
		skel->progs.btf_job_done, skel->progs.btf_reset,
		skel->progs.btf_mmu_fault,
	};
	struct bpf_program *tp_progs[] = {
		skel->progs.tp_job_submit, skel->progs.tp_job_start,
		skel->progs.tp_job_done, skel->progs.tp_reset,
		skel->progs.tp_mmu_fault,
	};

	for (size_t i = 0; i < sizeof(btf_progs) / sizeof(btf_progs[0]); i++) {
		bpf_program__set_autoload(btf_progs[i], btf);
		bpf_program__set_autoload(tp_progs[i], !btf);
	}
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct inpu_trace_bpf *skel;
	double t0, next;
	bool btf;
	int err;

	parse_args(argc, argv);
	libbpf_set_print(libbpf_print);

	btf = choose_btf();
	if (!btf) {
		opt.tracefs = find_tracefs();
		if (!opt.tracefs)
			die("classic tracepoints need tracefs: mount -t tracefs tracefs /sys/kernel/tracing");
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			check_format(opt.tracefs, &fields[i]);
	}

	skel = inpu_trace_bpf__open();
	if (!skel)
		die("cannot open the BPF object: %s", strerror(errno));
	skel->rodata->targ_pid = opt.pid;
	skel->rodata->targ_group = opt.group;
	skel->rodata->targ_unit_ns = opt.ms ? 1000000 : 1000;
	skel->rodata->targ_events = opt.events;
	set_autoload(skel, btf);

	err = inpu_trace_bpf__load(skel);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			die("loading the BPF programs was refused (%s): run as root (needs CAP_BPF and CAP_PERFMON)",
			    strerror(-err));
		die("cannot load the BPF programs: %s (-v shows libbpf's log)",
		    strerror(-err));
	}
	err = inpu_trace_bpf__attach(skel);
	if (err)
		die("cannot attach to the inpu tracepoints (%s): %s",
		    btf ? "tp_btf" : "classic", strerror(-err));
	if (opt.events) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event,
				      NULL, NULL);
		if (!rb)
			die("cannot open the event buffer: %s", strerror(errno));
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "Tracing inpu jobs (attach: %s)... Hit Ctrl-C to end.\n",
		btf ? "btf" : "tracepoint");

	t0 = now_s();
	next = opt.interval == LONG_MAX ? 0 : t0 + opt.interval;
	while (!exiting) {
		double now;

		if (rb) {
			err = ring_buffer__poll(rb, 100);
			if (err < 0 && err != -EINTR) {
				fprintf(stderr, PROG ": event buffer: %s\n",
					strerror(-err));
				break;
			}
		} else {
			usleep(100000);
		}
		now = now_s();
		if (next && now >= next) {
			if (rb)
				ring_buffer__consume(rb);
			print_report(skel, now - t0);
			t0 = now;
			next += opt.interval;
			if (--opt.times == 0)
				break;
		}
	}
	/* Interrupted: the rest of the events, then the last report. */
	if (exiting || !next) {
		if (rb)
			ring_buffer__consume(rb);
		print_report(skel, now_s() - t0);
	}
	ring_buffer__free(rb);
	inpu_trace_bpf__destroy(skel);
	return 0;
}
