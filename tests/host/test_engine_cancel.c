// SPDX-License-Identifier: MIT
/*
 * Cancelling a running stream (issue 19, finding 4): the engine calls its
 * poll hook before each op and every 2^20 units of work inside one, and
 * stops with INPU_RUN_CANCELLED when the hook says so.  The device wires
 * the hook to "reset or quit", so that one valid but enormous op (the
 * ATTENTION below would compute for minutes) cannot hold the device's
 * worker thread past a reset.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_util.h"
#include "kselftest_harness.h"

#define MIB	(1ull << 20)

/* Cancel at poll number @cancel_at (0: never), counting every call. */
struct poller {
	atomic_int stop;	/* set by another thread */
	unsigned int polls;
	unsigned int cancel_at;
	unsigned int polls_after_stop;
};

static int poll_hook(void *opaque)
{
	struct poller *p = opaque;

	p->polls++;
	if (atomic_load(&p->stop)) {
		p->polls_after_stop++;
		return 1;
	}
	return p->cancel_at && p->polls >= p->cancel_at;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(cancel) {
	struct flat_mem m;
	struct inpu_tables_store ts;
	struct inpu_engine *e;
	struct stream s;
	struct inpu_run_result res;
	struct poller p;
};

FIXTURE_SETUP(cancel)
{
	ASSERT_EQ(0, flat_init(&self->m, 72 * MIB));
	ASSERT_EQ(0, inpu_tables_default(&self->ts));
	self->e = inpu_engine_new(inpu_cpu_isa_level(), NULL);
	ASSERT_NE(NULL, self->e);
	stream_init(&self->s);
	memset(&self->p, 0, sizeof(self->p));
	inpu_engine_set_poll(self->e, poll_hook, &self->p);
}

FIXTURE_TEARDOWN(cancel)
{
	inpu_engine_free(self->e);
	inpu_tables_release(&self->ts);
	flat_free(&self->m);
}

/*
 * The worst valid op: 65535 query heads of 256 over one KV head
 * with 65536 cached positions, about 2.2 T MACs (minutes).  The output is
 * filled with 0x5a to see what was written.
 */
static struct inpu_tensor huge_attention(FIXTURE_DATA(cancel) *self)
{
	uint32_t nh = 65535, hd = 256, cap = 65536;
	struct inpu_tensor q, k, v, y;
	struct inpu_op_attention *a;

	q = flat_tensor(&self->m, INPU_DT_INT8, 1, nh * hd);
	k = flat_tensor(&self->m, INPU_DT_INT8, cap, hd);
	v = flat_tensor(&self->m, INPU_DT_INT8, cap, hd);
	y = flat_tensor(&self->m, INPU_DT_INT8, 1, nh * hd);
	memset(flat_ptr(&self->m, y.addr), 0x5a, (size_t)nh * hd);
	a = &stream_add(&self->s, INPU_OP_ATTENTION)->u.attention;
	a->q = q;
	a->k = k;
	a->v = v;
	a->y = y;
	a->n_heads = (uint16_t)nh;
	a->n_kv_heads = 1;
	a->head_dim = (uint16_t)hd;
	a->pos = cap - 1;
	a->score_mult = 1;
	a->score_shift = 8;
	a->out_mult = 1;
	a->out_shift = 8;
	return y;
}

static int untouched(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0x5a)
			return 0;
	return 1;
}

/* The hook's third call stops the op a few heads in. */
TEST_F(cancel, hook_stops_a_huge_attention_within_a_poll)
{
	struct inpu_tensor y = huge_attention(self);

	self->p.cancel_at = 3;
	stream_run(self->e, &self->ts.t, &self->m, &self->s, NULL, &self->res);
	EXPECT_EQ(INPU_RUN_CANCELLED, self->res.status);
	EXPECT_EQ(0, self->res.fault_op);
	EXPECT_EQ(0, self->res.ops_done);
	EXPECT_EQ(3, self->p.polls);
	/* One poll before the op, two inside: no head's output was written. */
	EXPECT_TRUE(untouched(flat_ptr(&self->m, y.addr), y.cols));
}

static void *stop_later(void *arg)
{
	struct poller *p = arg;
	struct timespec d = { 0, 200 * 1000 * 1000 };

	nanosleep(&d, NULL);
	atomic_store(&p->stop, 1);
	return NULL;
}

/*
 * Set from another thread, as the device's reset does: the run returns
 * at the next poll.  The time is printed; the bound is only a guard far
 * below the op's minutes.
 */
TEST_F(cancel, flag_from_another_thread_stops_the_run)
{
	pthread_t t;
	double t0, dt;

	huge_attention(self);
	ASSERT_EQ(0, pthread_create(&t, NULL, stop_later, &self->p));
	t0 = now_s();
	stream_run(self->e, &self->ts.t, &self->m, &self->s, NULL, &self->res);
	dt = now_s() - t0;
	pthread_join(t, NULL);
	printf("# stopped %.3f s after the start (flag set at 0.2 s), %u polls\n",
	       dt, self->p.polls);
	EXPECT_EQ(INPU_RUN_CANCELLED, self->res.status);
	EXPECT_EQ(1, self->p.polls_after_stop);
	EXPECT_LT(dt, 10.0);
}

/* Between ops: a stream of NOPs stops at the op whose poll says so. */
TEST_F(cancel, polls_between_ops)
{
	int i;

	for (i = 0; i < 5; i++)
		stream_add(&self->s, INPU_OP_NOP);
	stream_run(self->e, &self->ts.t, &self->m, &self->s, NULL, &self->res);
	EXPECT_EQ(INPU_OK, self->res.status);
	EXPECT_EQ(5, self->res.ops_done);
	EXPECT_EQ(5, self->p.polls);

	self->p.polls = 0;
	self->p.cancel_at = 3;
	stream_run(self->e, &self->ts.t, &self->m, &self->s, NULL, &self->res);
	EXPECT_EQ(INPU_RUN_CANCELLED, self->res.status);
	EXPECT_EQ(2, self->res.ops_done);
	EXPECT_EQ(2, self->res.fault_op);
}

/*
 * Inside MATMUL: one column block over a long K (200 tiles) is cut into
 * kernel calls of at most 64 tiles (16 x 4096 x 64 = 4 M MACs each), with
 * a poll after each full one: 1 + 3 polls, where there used to be 1.  And
 * the cut keeps the result exact: against sums over the unpacked weights,
 * wrapping modulo 2^32 (qp 1, 0 and an INT32 y pass them through).
 */
TEST_F(cancel, matmul_polls_inside_one_block_and_stays_exact)
{
	uint32_t m = 16, k = 12800, n = 64, i, r, j;
	uint64_t wbytes = inpu_weight_bytes(INPU_DT_W8_TILED, n, k);
	struct inpu_tensor x, w, qp, y;
	struct inpu_op_matmul *o;
	struct inpu_qparam *q;
	const int32_t *got;
	int8_t *xv, *wv;
	int bad = 0;

	x = flat_tensor(&self->m, INPU_DT_INT8, m, k);
	w = tensor(flat_alloc(&self->m, wbytes), INPU_DT_W8_TILED, n, k);
	qp = flat_tensor(&self->m, INPU_DT_QPARAM, 1, n);
	y = flat_tensor(&self->m, INPU_DT_INT32, m, n);
	xv = flat_ptr(&self->m, x.addr);
	for (i = 0; i < m * k; i++)
		xv[i] = (int8_t)(i * 37 + 11);
	for (i = 0; i < wbytes; i++)
		((uint8_t *)flat_ptr(&self->m, w.addr))[i] = (uint8_t)(i * 101 + 7);
	q = flat_ptr(&self->m, qp.addr);
	for (i = 0; i < n; i++) {
		q[i].mult = 1;
		q[i].shift = 0;
	}
	o = &stream_add(&self->s, INPU_OP_MATMUL)->u.matmul;
	o->x = x;
	o->w = w;
	o->qp = qp;
	o->y = y;
	stream_run(self->e, &self->ts.t, &self->m, &self->s, NULL, &self->res);
	ASSERT_EQ(INPU_OK, self->res.status);
	EXPECT_EQ(4, self->p.polls);

	wv = malloc((size_t)n * k);
	ASSERT_NE(NULL, wv);
	inpu_unpack_w8(flat_ptr(&self->m, w.addr), n, k, wv);
	got = flat_ptr(&self->m, y.addr);
	for (r = 0; r < m; r++) {
		for (j = 0; j < n; j++) {
			uint32_t acc = 0;

			for (i = 0; i < k; i++)
				acc += (uint32_t)((int32_t)xv[(size_t)r * k + i] *
						  wv[(size_t)j * k + i]);
			bad += got[r * n + j] != (int32_t)acc;
		}
	}
	EXPECT_EQ(0, bad);
	free(wv);
}

TEST_HARNESS_MAIN
