// SPDX-License-Identifier: MIT
/*
 * The command-stream validator (inpu_validate_stream) against the rules of
 * engine/ISA.md sections 1-3 and 7: every rule is broken once, on op 1 of
 * a stream whose op 0 is valid, and the status, op index and operand slot
 * are checked.  Then the run-time failures of the engine: a parameter
 * outside its declared range (INPU_ERR_PARAM) and memory faults
 * (INPU_ERR_FAULT with the address, op and direction).
 *
 * Where ISA.md names the status of a rule, that status is expected; where
 * it does not (noted "spec: no status"), the status the enum comment in
 * inpu_isa.h gives to that kind of error is expected.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_util.h"
#include "kselftest_harness.h"

#define MEM_SIZE	(8u << 20)
/* Regions besides the flat memory (never touched: validation only). */
#define RO_BASE		0x40000000ull
#define WO_BASE		0x50000000ull
#define AREA_LEN	0x100000ull
#define ADJ_BASE	0x60000000ull	/* two adjacent read-write regions */
#define BIG_BASE	0x1000000000ull	/* 2^40 bytes, read-write */
#define BIG_LEN		(1ull << 40)

FIXTURE(val) {
	struct flat_mem m;
	struct stream s;
	struct inpu_region reg[6];
	unsigned int n_reg;
	struct inpu_verror err;
};

FIXTURE_SETUP(val)
{
	static const struct inpu_region extra[] = {
		{ RO_BASE, AREA_LEN, INPU_REGION_READ, 0 },
		{ WO_BASE, AREA_LEN, INPU_REGION_WRITE, 0 },
		{ ADJ_BASE, AREA_LEN, INPU_REGION_READ | INPU_REGION_WRITE, 0 },
		{ ADJ_BASE + AREA_LEN, AREA_LEN,
		  INPU_REGION_READ | INPU_REGION_WRITE, 0 },
		{ BIG_BASE, BIG_LEN, INPU_REGION_READ | INPU_REGION_WRITE, 0 },
	};

	ASSERT_EQ(0, flat_init(&self->m, MEM_SIZE));
	self->reg[0].start = self->m.base;
	self->reg[0].len = self->m.size;
	self->reg[0].flags = INPU_REGION_READ | INPU_REGION_WRITE;
	self->reg[0].reserved = 0;
	memcpy(&self->reg[1], extra, sizeof(extra));
	self->n_reg = 6;
	stream_init(&self->s);
}

FIXTURE_TEARDOWN(val)
{
	flat_free(&self->m);
}

static int validate(FIXTURE_DATA(val) *self)
{
	memset(&self->err, 0x5a, sizeof(self->err));
	return inpu_validate_stream(&self->s, stream_len(&self->s), self->reg,
				    self->n_reg, &self->err);
}

/* Status, op index and slot, from the return value and struct inpu_verror. */
#define EXPECT_REJECT(st, opi, sl) do { \
	int __ret = validate(self); \
	EXPECT_EQ((int)(st), __ret); \
	EXPECT_EQ((int)(st), self->err.status); \
	EXPECT_EQ((uint32_t)(opi), self->err.op); \
	EXPECT_EQ((int)(sl), self->err.slot); \
	if (__ret != (int)(st)) \
		TH_LOG("line %d: got \"%s\", want \"%s\"", __LINE__, \
		       inpu_status_name(__ret), inpu_status_name(st)); \
} while (0)

#define EXPECT_ACCEPT() do { \
	int __ret = validate(self); \
	EXPECT_EQ(0, __ret); \
	EXPECT_EQ(0, self->err.status); \
	if (__ret) \
		TH_LOG("line %d: rejected: \"%s\" op %u slot %d", __LINE__, \
		       inpu_status_name(__ret), self->err.op, self->err.slot); \
} while (0)

static struct inpu_tensor ft(FIXTURE_DATA(val) *self, uint8_t dt, uint32_t rows,
			     uint32_t cols)
{
	return flat_tensor(&self->m, dt, rows, cols);
}

static struct inpu_tensor wt(FIXTURE_DATA(val) *self, uint8_t dt, uint32_t n,
			     uint32_t k)
{
	return tensor(flat_alloc(&self->m, inpu_weight_bytes(dt, n, k)), dt, n, k);
}

/*
 * A valid op of each kind (variant 1 of MATMUL: W4; variant 2: W4 with
 * groups of 16 and zero points).
 */
static void make_op(FIXTURE_DATA(val) *self, unsigned int opcode, int variant,
		    struct inpu_op *op)
{
	memset(op, 0, sizeof(*op));
	op->opcode = opcode;
	switch (opcode) {
	case INPU_OP_MATMUL:
		if (variant == 2) {
			/* Kpad 128 / 16 -> 8 groups; N 8 -> Npad 64 */
			op->u.matmul.x = ft(self, INPU_DT_INT8, 2, 40);
			op->u.matmul.w = wt(self, INPU_DT_W4_TILED, 8, 40);
			op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 8, 64);
			op->u.matmul.gzero = ft(self, INPU_DT_INT8, 8, 64);
			op->u.matmul.group = 16;
			op->u.matmul.y = ft(self, INPU_DT_INT8, 2, 8);
		} else if (variant) {
			/* K 40 -> Kpad 128 -> 4 groups; N 8 -> Npad 64 */
			op->u.matmul.x = ft(self, INPU_DT_INT8, 2, 40);
			op->u.matmul.w = wt(self, INPU_DT_W4_TILED, 8, 40);
			op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 4, 64);
			op->u.matmul.y = ft(self, INPU_DT_INT8, 2, 8);
		} else {
			op->u.matmul.x = ft(self, INPU_DT_INT8, 2, 64);
			op->u.matmul.w = wt(self, INPU_DT_W8_TILED, 8, 64);
			op->u.matmul.bias = ft(self, INPU_DT_INT32, 1, 8);
			op->u.matmul.y = ft(self, INPU_DT_INT16, 2, 8);
		}
		op->u.matmul.qp = ft(self, INPU_DT_QPARAM, 1, 8);
		break;
	case INPU_OP_RMSNORM:
		op->u.rmsnorm.x = ft(self, INPU_DT_INT16, 2, 16);
		op->u.rmsnorm.g = ft(self, INPU_DT_INT32, 1, 16);
		op->u.rmsnorm.y = ft(self, INPU_DT_INT8, 2, 16);
		op->u.rmsnorm.eps = 1;
		op->u.rmsnorm.shift = 10;
		break;
	case INPU_OP_ROPE:
		op->u.rope.x = ft(self, INPU_DT_INT16, 2, 16);
		op->u.rope.cs = ft(self, INPU_DT_INT16, 2, 8);
		op->u.rope.y = ft(self, INPU_DT_INT16, 2, 16);
		op->u.rope.head_dim = 8;
		break;
	case INPU_OP_ATTENTION:
		op->u.attention.q = ft(self, INPU_DT_INT8, 1, 32);
		op->u.attention.k = ft(self, INPU_DT_INT8, 16, 16);
		op->u.attention.v = ft(self, INPU_DT_INT8, 16, 16);
		op->u.attention.y = ft(self, INPU_DT_INT8, 1, 32);
		op->u.attention.n_heads = 4;
		op->u.attention.n_kv_heads = 2;
		op->u.attention.head_dim = 8;
		op->u.attention.pos = 3;
		op->u.attention.score_mult = 1;
		op->u.attention.out_mult = 1;
		op->u.attention.out_shift = 15;
		break;
	case INPU_OP_SWIGLU:
		op->u.swiglu.gate = ft(self, INPU_DT_INT16, 2, 16);
		op->u.swiglu.up = ft(self, INPU_DT_INT16, 2, 16);
		op->u.swiglu.y = ft(self, INPU_DT_INT8, 2, 16);
		op->u.swiglu.in_mult = 1;
		op->u.swiglu.out_mult = 1;
		break;
	case INPU_OP_ADD:
		op->u.add.a = ft(self, INPU_DT_INT16, 2, 16);
		op->u.add.b = ft(self, INPU_DT_INT16, 2, 16);
		op->u.add.y = ft(self, INPU_DT_INT8, 2, 16);
		op->u.add.a_mult = 1;
		op->u.add.b_mult = 1;
		break;
	case INPU_OP_EMBED:
		op->u.embed.ids = ft(self, INPU_DT_INT32, 1, 3);
		op->u.embed.table = ft(self, INPU_DT_INT8, 10, 16);
		op->u.embed.y = ft(self, INPU_DT_INT16, 3, 16);
		op->u.embed.mult = 1;
		break;
	case INPU_OP_COPY:
		op->u.copy.src = ft(self, INPU_DT_INT8, 2, 16);
		op->u.copy.dst = ft(self, INPU_DT_INT8, 2, 16);
		break;
	case INPU_OP_ARGMAX:
		op->u.argmax.x = ft(self, INPU_DT_INT16, 3, 16);
		op->u.argmax.y = ft(self, INPU_DT_INT32, 1, 3);
		break;
	case INPU_OP_SAMPLE:
		op->u.sample.x = ft(self, INPU_DT_INT32, 1, 16);
		op->u.sample.state = ft(self, INPU_DT_UINT64, 1, 1);
		op->u.sample.y = ft(self, INPU_DT_INT32, 1, 1);
		op->u.sample.temp_mult = 1;
		op->u.sample.top_p = 65536;
		break;
	case INPU_OP_FWHT:
		op->u.fwht.x = ft(self, INPU_DT_INT16, 2, 16);
		op->u.fwht.y = ft(self, INPU_DT_INT16, 2, 16);
		op->u.fwht.block = 8;
		op->u.fwht.mult = 1;
		op->u.fwht.shift = 1;
		break;
	}
}

static const unsigned int all_ops[] = {
	INPU_OP_MATMUL, INPU_OP_RMSNORM, INPU_OP_ROPE, INPU_OP_ATTENTION,
	INPU_OP_SWIGLU, INPU_OP_ADD, INPU_OP_EMBED, INPU_OP_COPY,
	INPU_OP_ARGMAX, INPU_OP_SAMPLE, INPU_OP_FWHT,
};
#define N_OPS (sizeof(all_ops) / sizeof(all_ops[0]))

/* Operand slots in the order of the op's struct. */
static struct inpu_tensor *slot(struct inpu_op *op, unsigned int i)
{
	return (struct inpu_tensor *)op->u.raw + i;
}

/* Fresh stream: op 0 a valid ADD, op 1 a valid @opcode; returns op 1. */
static struct inpu_op *start(FIXTURE_DATA(val) *self, unsigned int opcode,
			     int variant)
{
	stream_init(&self->s);
	self->m.next = self->m.base;
	make_op(self, INPU_OP_ADD, 0, stream_add(&self->s, INPU_OP_ADD));
	stream_add(&self->s, 0);
	make_op(self, opcode, variant, &self->s.ops[1]);
	return &self->s.ops[1];
}

/* ---- acceptance ---------------------------------------------------------- */

TEST_F(val, accepts_valid_multi_op_stream_and_it_runs)
{
	struct inpu_tables_store ts;
	struct inpu_engine *e;
	struct inpu_run_result res;
	struct inpu_op *op;
	unsigned int i;
	uint32_t params[2] = { 5, 0 };

	stream_init(&self->s);
	stream_param(&self->s, 0, 12);		/* e.g. the position */
	stream_param(&self->s, 0, 0);
	for (i = 0; i < N_OPS; i++) {
		op = stream_add(&self->s, all_ops[i]);
		make_op(self, all_ops[i], 0, op);
	}
	op = stream_add(&self->s, INPU_OP_MATMUL);
	make_op(self, INPU_OP_MATMUL, 1, op);
	op = stream_add(&self->s, INPU_OP_MATMUL);
	make_op(self, INPU_OP_MATMUL, 2, op);
	/* A COPY into a 16-row cache at row params[0] (0..12, 2 rows). */
	op = stream_add(&self->s, INPU_OP_COPY);
	make_op(self, INPU_OP_COPY, 0, op);
	op->u.copy.dst = ft(self, INPU_DT_INT8, 16, 16);
	op->u.copy.dst.rows = 2;
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = 16;
	/* Attention at the parameter position: 12 + 1 row <= 16. */
	op = stream_add(&self->s, INPU_OP_ATTENTION);
	make_op(self, INPU_OP_ATTENTION, 0, op);
	op->u.attention.pos = 0;
	op->u.attention.pos_param = 1;
	EXPECT_ACCEPT();
	EXPECT_EQ(N_OPS + 4, self->s.hdr.n_ops);

	ASSERT_EQ(0, inpu_tables_default(&ts));
	e = inpu_engine_new(INPU_ISA_SCALAR, NULL);
	ASSERT_NE(NULL, e);
	inpu_engine_run(e, &ts.t, &flat_ops, &self->m, &self->s,
			stream_len(&self->s), params, &res);
	EXPECT_EQ(0, res.status);
	EXPECT_EQ(N_OPS + 4, res.ops_done);
	inpu_engine_free(e);
	inpu_tables_release(&ts);
}

/* ---- header -------------------------------------------------------------- */

TEST_F(val, header_magic_version_reserved)
{
	start(self, INPU_OP_COPY, 0);
	EXPECT_ACCEPT();
	self->s.hdr.magic ^= 1;
	EXPECT_REJECT(INPU_ERR_HEADER, ~0u, -1);
	self->s.hdr.magic = INPU_STREAM_MAGIC;
	self->s.hdr.version = 2;
	EXPECT_REJECT(INPU_ERR_HEADER, ~0u, -1);
	self->s.hdr.version = 0;
	EXPECT_REJECT(INPU_ERR_HEADER, ~0u, -1);
	self->s.hdr.version = INPU_STREAM_VERSION;
	/* spec: "reserved: 0", no status: the RESERVED kind. */
	self->s.hdr.reserved = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, ~0u, -1);
	self->s.hdr.reserved = 0x80000000u;
	EXPECT_REJECT(INPU_ERR_RESERVED, ~0u, -1);
}

TEST_F(val, header_length_must_be_exact)
{
	static const long deltas[] = { -1, 1, 255, 256, -256, -80 - 2 * 256 };
	size_t len;
	unsigned int i;
	int ret;

	start(self, INPU_OP_COPY, 0);
	len = stream_len(&self->s);
	EXPECT_EQ(80 + 2 * 256, len);
	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		memset(&self->err, 0, sizeof(self->err));
		ret = inpu_validate_stream(&self->s, len + deltas[i], self->reg,
					   self->n_reg, &self->err);
		EXPECT_EQ(INPU_ERR_HEADER, ret);
		EXPECT_EQ(INPU_ERR_HEADER, self->err.status);
		EXPECT_EQ(~0u, self->err.op);
	}
	/* Shorter than a header, and no stream at all. */
	EXPECT_EQ(INPU_ERR_HEADER, inpu_validate_stream(&self->s, 79, self->reg,
							 self->n_reg, NULL));
	EXPECT_EQ(INPU_ERR_HEADER, inpu_validate_stream(NULL, 0, self->reg,
							 self->n_reg, NULL));
}

TEST_F(val, header_n_ops_bounds)
{
	size_t big = sizeof(struct inpu_stream_header) +
		     (size_t)(INPU_MAX_OPS + 1) * sizeof(struct inpu_op);
	struct inpu_stream_header *h = calloc(1, big);
	struct inpu_op *ops = (struct inpu_op *)(h + 1), add;
	unsigned int i;

	ASSERT_NE(NULL, h);
	h->magic = INPU_STREAM_MAGIC;
	h->version = INPU_STREAM_VERSION;
	/* n_ops 0 (a header alone) */
	EXPECT_EQ(INPU_ERR_HEADER, inpu_validate_stream(h, sizeof(*h), self->reg,
							 self->n_reg, NULL));
	make_op(self, INPU_OP_ADD, 0, &add);
	for (i = 0; i <= INPU_MAX_OPS; i++)
		ops[i] = add;
	/* 4096 ops: the maximum */
	h->n_ops = INPU_MAX_OPS;
	EXPECT_EQ(0, inpu_validate_stream(h, big - sizeof(struct inpu_op),
					  self->reg, self->n_reg, &self->err));
	/* 4097 ops with a matching length: still too many */
	h->n_ops = INPU_MAX_OPS + 1;
	EXPECT_EQ(INPU_ERR_HEADER, inpu_validate_stream(h, big, self->reg,
							 self->n_reg, &self->err));
	EXPECT_EQ(~0u, self->err.op);
	/* A huge n_ops: the length check must not overflow into a match. */
	h->n_ops = 0xffffffffu;
	EXPECT_EQ(INPU_ERR_HEADER, inpu_validate_stream(h, big, self->reg,
							 self->n_reg, NULL));
	free(h);
}

TEST_F(val, header_params)
{
	start(self, INPU_OP_COPY, 0);
	/* 8 parameters is the maximum, 9 is a header error. */
	self->s.hdr.n_params = 8;
	EXPECT_ACCEPT();
	self->s.hdr.n_params = 9;
	EXPECT_REJECT(INPU_ERR_HEADER, ~0u, -1);
	self->s.hdr.n_params = 0xffff;
	EXPECT_REJECT(INPU_ERR_HEADER, ~0u, -1);
	/* A declared range with min > max; min == max is fine. */
	self->s.hdr.n_params = 2;
	self->s.hdr.params[1].min = 5;
	self->s.hdr.params[1].max = 5;
	EXPECT_ACCEPT();
	self->s.hdr.params[1].min = 6;
	EXPECT_REJECT(INPU_ERR_PARAM, ~0u, -1);
	self->s.hdr.params[1].min = 0xffffffffu;
	self->s.hdr.params[1].max = 0xfffffffeu;
	EXPECT_REJECT(INPU_ERR_PARAM, ~0u, -1);
	/* Unused declarations (i >= n_params) must be all zero. */
	self->s.hdr.params[1].min = 0;
	self->s.hdr.params[1].max = 0;
	self->s.hdr.params[2].max = 1;
	EXPECT_REJECT(INPU_ERR_PARAM, ~0u, -1);
	self->s.hdr.params[2].max = 0;
	self->s.hdr.params[7].min = 1;
	self->s.hdr.params[7].max = 1;
	EXPECT_REJECT(INPU_ERR_PARAM, ~0u, -1);
	self->s.hdr.n_params = 8;
	EXPECT_ACCEPT();
}

/* ---- op record ------------------------------------------------------------ */

TEST_F(val, unknown_opcode_flags_reserved)
{
	struct inpu_op *op = start(self, INPU_OP_COPY, 0);

	op->opcode = INPU_OP_COUNT;
	EXPECT_REJECT(INPU_ERR_OPCODE, 1, -1);
	op->opcode = 0xffff;
	EXPECT_REJECT(INPU_ERR_OPCODE, 1, -1);
	op->opcode = INPU_OP_COPY;
	op->flags = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op->flags = 0x8000;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op->flags = 0;
	op->reserved = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op->reserved = 0;
	EXPECT_ACCEPT();
}

/* Bytes of each op's struct (section 3 lists the fields). */
static unsigned int op_struct_end(unsigned int opcode)
{
	switch (opcode) {
	case INPU_OP_MATMUL:
		return offsetof(struct inpu_op_matmul, gfmt) + 4;
	case INPU_OP_RMSNORM:
		return offsetof(struct inpu_op_rmsnorm, shift) + 4;
	case INPU_OP_ROPE:
		return offsetof(struct inpu_op_rope, reserved) + 4;
	case INPU_OP_ATTENTION:
		return offsetof(struct inpu_op_attention, out_shift) + 4;
	case INPU_OP_SWIGLU:
		return offsetof(struct inpu_op_swiglu, out_shift) + 4;
	case INPU_OP_ADD:
		return offsetof(struct inpu_op_add, reserved) + 4;
	case INPU_OP_EMBED:
		return offsetof(struct inpu_op_embed, shift) + 4;
	case INPU_OP_COPY:
		return offsetof(struct inpu_op_copy, dst) + 32;
	case INPU_OP_ARGMAX:
		return offsetof(struct inpu_op_argmax, y) + 32;
	case INPU_OP_SAMPLE:
		return offsetof(struct inpu_op_sample, reserved) + 4;
	case INPU_OP_FWHT:
		return offsetof(struct inpu_op_fwht, reserved) + 4;
	}
	return 0;
}

TEST_F(val, bytes_past_the_op_struct)
{
	unsigned int i, end, pos;

	/*
	 * By hand: MATMUL 7 tensors + group + reserved = 224 + 8 = 232;
	 * ATTENTION 4 * 32 + 28 = 156.
	 */
	EXPECT_EQ(232, op_struct_end(INPU_OP_MATMUL));
	EXPECT_EQ(156, op_struct_end(INPU_OP_ATTENTION));
	EXPECT_EQ(80, op_struct_end(INPU_OP_FWHT));
	for (i = 0; i < N_OPS; i++) {
		end = op_struct_end(all_ops[i]);
		ASSERT_LT(0, end);
		/* The first byte past the struct, one in between, the last. */
		for (pos = end; pos < 248; pos = pos == end ? (end + 248) / 2 :
						 pos < 247 ? 247 : 248) {
			struct inpu_op *op = start(self, all_ops[i], 0);

			EXPECT_ACCEPT();
			op->u.raw[pos] = 0x01;
			EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
		}
	}
}

/* ---- reserved immediates and tensor fields -------------------------------- */

TEST_F(val, reserved_immediates)
{
	struct inpu_op *op;

	op = start(self, INPU_OP_ROPE, 0);
	op->u.rope.reserved = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op = start(self, INPU_OP_ADD, 0);
	op->u.add.reserved = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op = start(self, INPU_OP_SAMPLE, 0);
	op->u.sample.reserved = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op = start(self, INPU_OP_FWHT, 0);
	op->u.fwht.reserved = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.reserved0 = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
}

TEST_F(val, tensor_reserved_and_none_slots)
{
	struct inpu_op *op;
	unsigned int i, s;

	for (i = 0; i < N_OPS; i++) {
		for (s = 0; s < inpu_op_slots(all_ops[i]); s++) {
			op = start(self, all_ops[i], 0);
			if (slot(op, s)->dtype == INPU_DT_NONE)
				continue;
			slot(op, s)->reserved0 = 1;
			EXPECT_REJECT(INPU_ERR_RESERVED, 1, s);
			op = start(self, all_ops[i], 0);
			slot(op, s)->reserved1 = 0x100;
			EXPECT_REJECT(INPU_ERR_RESERVED, 1, s);
		}
	}
	/* An unused (NONE) slot must be 32 zero bytes. */
	op = start(self, INPU_OP_MATMUL, 0);
	EXPECT_EQ(INPU_DT_NONE, op->u.matmul.gscale.dtype);
	op->u.matmul.gscale.addr = 0x100000;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 2);
	op = start(self, INPU_OP_MATMUL, 1);
	EXPECT_EQ(INPU_DT_NONE, op->u.matmul.bias.dtype);
	op->u.matmul.bias.rows = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 3);
	op = start(self, INPU_OP_MATMUL, 1);
	op->u.matmul.bias.dyn_mul = 4;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 3);
	op = start(self, INPU_OP_MATMUL, 1);
	op->u.matmul.bias.stride = 4;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 3);
	op = start(self, INPU_OP_MATMUL, 1);
	EXPECT_EQ(INPU_DT_NONE, op->u.matmul.gzero.dtype);
	op->u.matmul.gzero.cols = 64;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 6);
	/* The bias is optional: W8 without bias is valid. */
	op = start(self, INPU_OP_MATMUL, 0);
	memset(&op->u.matmul.bias, 0, sizeof(op->u.matmul.bias));
	EXPECT_ACCEPT();
}

/* Change a slot's dtype, keeping the rest of the tensor valid. */
static void retype(FIXTURE_DATA(val) *self, struct inpu_tensor *t, uint8_t dt)
{
	uint32_t rows = t->rows, cols = t->cols;

	if (dt == INPU_DT_W8_TILED || dt == INPU_DT_W4_TILED)
		*t = tensor(flat_alloc(&self->m, inpu_weight_bytes(dt, rows, cols)),
			    dt, rows, cols);
	else if (dt == INPU_DT_NONE)
		memset(t, 0, sizeof(*t));
	else if (dt < INPU_DT_COUNT)
		*t = ft(self, dt, rows, cols);
	else
		t->dtype = dt;
}

TEST_F(val, dtype_unknown_and_not_allowed)
{
	/* (op, slot, dtype) triples that section 3 does not allow. */
	static const struct { uint8_t op, slot, dt; } bad[] = {
		{ INPU_OP_MATMUL, 0, INPU_DT_INT16 },
		{ INPU_OP_MATMUL, 0, INPU_DT_UINT8 },
		{ INPU_OP_MATMUL, 1, INPU_DT_INT8 },
		{ INPU_OP_MATMUL, 3, INPU_DT_INT16 },
		{ INPU_OP_MATMUL, 4, INPU_DT_INT32 },
		{ INPU_OP_MATMUL, 4, INPU_DT_NONE },
		{ INPU_OP_MATMUL, 5, INPU_DT_UINT8 },
		{ INPU_OP_MATMUL, 5, INPU_DT_QPARAM },
		{ INPU_OP_RMSNORM, 0, INPU_DT_INT8 },
		{ INPU_OP_RMSNORM, 1, INPU_DT_INT16 },
		{ INPU_OP_RMSNORM, 2, INPU_DT_INT32 },
		{ INPU_OP_ROPE, 0, INPU_DT_INT32 },
		{ INPU_OP_ROPE, 1, INPU_DT_INT32 },
		{ INPU_OP_ROPE, 1, INPU_DT_INT8 },
		{ INPU_OP_ATTENTION, 0, INPU_DT_INT16 },
		{ INPU_OP_ATTENTION, 1, INPU_DT_INT32 },
		{ INPU_OP_ATTENTION, 1, INPU_DT_I8ROW },
		{ INPU_OP_ATTENTION, 2, INPU_DT_INT16 },
		{ INPU_OP_ADD, 2, INPU_DT_I8ROW },
		{ INPU_OP_ROPE, 2, INPU_DT_I8ROW },
		{ INPU_OP_COPY, 0, INPU_DT_I8ROW },
		{ INPU_OP_ATTENTION, 2, INPU_DT_UINT8 },
		{ INPU_OP_ATTENTION, 3, INPU_DT_INT32 },
		{ INPU_OP_SWIGLU, 0, INPU_DT_INT8 },
		{ INPU_OP_SWIGLU, 1, INPU_DT_INT32 },
		{ INPU_OP_SWIGLU, 2, INPU_DT_INT32 },
		{ INPU_OP_MATMUL, 5, INPU_DT_I8ROW },
		{ INPU_OP_ADD, 0, INPU_DT_UINT8 },
		{ INPU_OP_ADD, 1, INPU_DT_NONE },
		{ INPU_OP_ADD, 2, INPU_DT_UINT64 },
		{ INPU_OP_EMBED, 0, INPU_DT_INT16 },
		{ INPU_OP_EMBED, 1, INPU_DT_UINT8 },
		{ INPU_OP_EMBED, 2, INPU_DT_INT8 },
		{ INPU_OP_COPY, 0, INPU_DT_W8_TILED },
		{ INPU_OP_COPY, 1, INPU_DT_W4_TILED },
		{ INPU_OP_ARGMAX, 0, INPU_DT_UINT8 },
		{ INPU_OP_ARGMAX, 1, INPU_DT_INT16 },
		{ INPU_OP_SAMPLE, 0, INPU_DT_INT16 },
		{ INPU_OP_SAMPLE, 1, INPU_DT_INT32 },
		{ INPU_OP_SAMPLE, 2, INPU_DT_UINT64 },
		{ INPU_OP_FWHT, 0, INPU_DT_UINT8 },
		{ INPU_OP_FWHT, 1, INPU_DT_QPARAM },
	};
	static const uint8_t unknown[] = { INPU_DT_COUNT, 0x7f, 0xff };
	struct inpu_op *op;
	unsigned int i, s, u;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		op = start(self, bad[i].op, 0);
		retype(self, slot(op, bad[i].slot), bad[i].dt);
		if (validate(self) != INPU_ERR_DTYPE)
			TH_LOG("op %u slot %u dtype %u", bad[i].op, bad[i].slot,
			       bad[i].dt);
		EXPECT_REJECT(INPU_ERR_DTYPE, 1, bad[i].slot);
	}
	for (i = 0; i < N_OPS; i++) {
		for (s = 0; s < inpu_op_slots(all_ops[i]); s++) {
			for (u = 0; u < sizeof(unknown); u++) {
				op = start(self, all_ops[i], 0);
				slot(op, s)->dtype = unknown[u];
				EXPECT_REJECT(INPU_ERR_DTYPE, 1, s);
			}
		}
	}
	/* Allowed alternatives are accepted (the rule is not too strict). */
	op = start(self, INPU_OP_RMSNORM, 0);
	retype(self, &op->u.rmsnorm.x, INPU_DT_INT32);
	retype(self, &op->u.rmsnorm.y, INPU_DT_INT16);
	EXPECT_ACCEPT();
	op = start(self, INPU_OP_ADD, 0);
	retype(self, &op->u.add.a, INPU_DT_INT32);
	retype(self, &op->u.add.b, INPU_DT_INT8);
	retype(self, &op->u.add.y, INPU_DT_INT32);
	EXPECT_ACCEPT();
	op = start(self, INPU_OP_COPY, 0);
	retype(self, &op->u.copy.src, INPU_DT_QPARAM);
	retype(self, &op->u.copy.dst, INPU_DT_QPARAM);
	EXPECT_ACCEPT();
	op = start(self, INPU_OP_EMBED, 0);
	retype(self, &op->u.embed.table, INPU_DT_INT32);
	retype(self, &op->u.embed.y, INPU_DT_INT32);
	EXPECT_ACCEPT();
}

TEST_F(val, dtype_cross_slot_rules)
{
	struct inpu_op *op;
	int ret;

	/* ROPE: y has the dtype of x. */
	op = start(self, INPU_OP_ROPE, 0);
	retype(self, &op->u.rope.y, INPU_DT_INT8);
	EXPECT_REJECT(INPU_ERR_DTYPE, 1, -1);
	/* COPY: same type. */
	op = start(self, INPU_OP_COPY, 0);
	retype(self, &op->u.copy.dst, INPU_DT_INT16);
	EXPECT_REJECT(INPU_ERR_DTYPE, 1, -1);
	/* MATMUL W8 takes no group scales ("NONE for W8"). */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 4, 64);
	EXPECT_REJECT(INPU_ERR_DTYPE, 1, -1);
	/*
	 * MATMUL W4 needs them.  ISA.md gives no status for a W4 matmul
	 * without a gscale tensor; DTYPE (slot 2) and SHAPE are both
	 * plausible: only the rejection is checked.
	 */
	op = start(self, INPU_OP_MATMUL, 1);
	memset(&op->u.matmul.gscale, 0, sizeof(op->u.matmul.gscale));
	ret = validate(self);
	EXPECT_TRUE(ret == INPU_ERR_DTYPE || ret == INPU_ERR_SHAPE);
	EXPECT_EQ(1, self->err.op);
}

/* ---- shapes, strides, alignment ------------------------------------------- */

TEST_F(val, zero_and_oversized_dimensions)
{
	struct inpu_op *op;
	unsigned int i, s;

	for (i = 0; i < N_OPS; i++) {
		for (s = 0; s < inpu_op_slots(all_ops[i]); s++) {
			op = start(self, all_ops[i], 0);
			if (slot(op, s)->dtype == INPU_DT_NONE)
				continue;
			slot(op, s)->rows = 0;
			EXPECT_REJECT(INPU_ERR_SHAPE, 1, s);
			op = start(self, all_ops[i], 0);
			slot(op, s)->cols = 0;
			EXPECT_REJECT(INPU_ERR_SHAPE, 1, s);
		}
	}
	/* 2^24 rows and cols are allowed, 2^24 + 1 not (COPY, big region). */
	op = start(self, INPU_OP_COPY, 0);
	op->u.copy.src = tensor(BIG_BASE, INPU_DT_INT8, 1u << 24, 1);
	op->u.copy.dst = tensor(BIG_BASE + (1ull << 32), INPU_DT_INT8, 1u << 24, 1);
	EXPECT_ACCEPT();
	op->u.copy.src.rows++;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, 0);
	op = start(self, INPU_OP_COPY, 0);
	op->u.copy.src = tensor(BIG_BASE, INPU_DT_INT8, 1, 1u << 24);
	op->u.copy.dst = tensor(BIG_BASE + (1ull << 32), INPU_DT_INT8, 1, 1u << 24);
	EXPECT_ACCEPT();
	op->u.copy.dst.cols++;
	op->u.copy.dst.stride++;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, 1);
	/* Tiled weights too. */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.w.rows = (1u << 24) + 1;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, 1);
}

TEST_F(val, strides_and_alignment)
{
	struct inpu_op *op;

	/* stride smaller than a row: INT16 [2][16] needs 32 bytes. */
	op = start(self, INPU_OP_ADD, 0);
	op->u.add.a.stride = 31;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 0);
	op->u.add.a.stride = 30;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 0);
	op->u.add.a.stride = 0;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 0);
	/* stride larger than a row and aligned: fine (the buffer has room). */
	op->u.add.a.stride = 34;
	EXPECT_ACCEPT();
	/* stride not a multiple of the element size */
	op = start(self, INPU_OP_ARGMAX, 0);
	op->u.argmax.y = ft(self, INPU_DT_INT32, 1, 3);
	op->u.argmax.y.stride = 14;	/* >= 12, 14 % 4 != 0 */
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	/* misaligned addresses */
	op = start(self, INPU_OP_ADD, 0);
	op->u.add.b.addr += 1;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	op = start(self, INPU_OP_SAMPLE, 0);
	op->u.sample.state.addr += 4;	/* UINT64 needs 8 */
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.qp.addr += 4;	/* QPARAM is 8 bytes */
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 4);
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.bias.addr += 2;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 3);
	/* INT8 and UINT8 have no alignment */
	op = start(self, INPU_OP_COPY, 0);
	op->u.copy.src.addr += 1;
	op->u.copy.src.stride = 17;
	EXPECT_ACCEPT();
	/* dyn_mul must be a multiple of the element size */
	op = start(self, INPU_OP_COPY, 0);
	stream_param(&self->s, 0, 1);
	retype(self, &op->u.copy.src, INPU_DT_INT32);
	retype(self, &op->u.copy.dst, INPU_DT_INT32);
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = 64;
	EXPECT_ACCEPT();
	op->u.copy.dst.dyn_mul = 66;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	/* tiled weights: stride 0, page-aligned address and dyn_mul */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.w.stride = 64;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	op = start(self, INPU_OP_MATMUL, 1);
	op->u.matmul.w.addr += 64;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	op = start(self, INPU_OP_MATMUL, 1);
	op->u.matmul.w.addr += 2048;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	op = start(self, INPU_OP_MATMUL, 0);
	stream_param(&self->s, 0, 1);
	op->u.matmul.w.dyn_param = 1;
	op->u.matmul.w.dyn_mul = 2048;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 1);
	op->u.matmul.w.dyn_mul = 4096;
	/* w + 4096 * 1 still inside the memory, no overlap with y */
	EXPECT_ACCEPT();
}

TEST_F(val, extent_is_computed_in_64_bits)
{
	struct inpu_op *op;

	/*
	 * rows * stride cannot overflow 64 bits (rows <= 2^24, stride <
	 * 2^32: < 2^56), but it must not be computed in 32: rows 3, stride
	 * 2^31, INT32 x 1: extent 2 * 2^31 + 4 = 2^32 + 4 (4 if truncated).
	 */
	op = start(self, INPU_OP_ARGMAX, 0);
	op->u.argmax.x = ft(self, INPU_DT_INT32, 3, 1);
	op->u.argmax.x.stride = 0x80000000u;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	/* The largest extent: 2^24 rows of stride 2^32 - 4, about 2^56
	 * bytes, more than the 2^40-byte region it starts in. */
	op->u.argmax.x = tensor(BIG_BASE, INPU_DT_INT32, 1u << 24, 1);
	op->u.argmax.x.stride = 0xfffffffcu;
	op->u.argmax.y = tensor(BIG_BASE + (1ull << 39), INPU_DT_INT32, 1,
				1u << 24);
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	/* 2^7 rows of that stride (about 2^39 bytes) fit in the region. */
	op->u.argmax.x.rows = 1u << 7;
	op->u.argmax.y.cols = 1u << 7;
	op->u.argmax.y.stride = 4u << 7;
	EXPECT_ACCEPT();
}

TEST_F(val, address_plus_extent_overflow)
{
	struct inpu_region whole = { 0, 1ull << 63,
				     INPU_REGION_READ | INPU_REGION_WRITE, 0 };
	struct inpu_op *op;

	/*
	 * Region [0, 2^63); a tensor at 2^64 - 4 of 8 bytes: start is inside
	 * the region, the end wraps to 4, also "inside": must be RANGE.
	 */
	op = start(self, INPU_OP_ADD, 0);
	self->reg[0] = whole;
	op->u.add.a = tensor(0xfffffffffffffffcull, INPU_DT_INT32, 1, 2);
	op->u.add.b = tensor(0x1000, INPU_DT_INT32, 1, 2);
	op->u.add.y = tensor(0x2000, INPU_DT_INT32, 1, 2);
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	/* Through the dynamic part: addr + max * dyn_mul wraps. */
	op->u.add.a = tensor(0x7000000000000000ull, INPU_DT_INT32, 1, 2);
	stream_param(&self->s, 0, 0xffffffffu);
	op->u.add.a.dyn_param = 1;
	op->u.add.a.dyn_mul = 0xfffffffcu;	/* 2^32 * 2^32: about 2^64 */
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	/* ... also when only the extent pushes it over. */
	self->s.hdr.params[0].max = 0;
	op->u.add.a.addr = 0xfffffffffffffff8ull;
	op->u.add.a.dyn_mul = 4;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
}

TEST_F(val, dynamic_address_parameters)
{
	struct inpu_op *op;

	/* dyn_param refers to a parameter the header does not declare */
	op = start(self, INPU_OP_COPY, 0);
	stream_param(&self->s, 0, 1);
	op->u.copy.dst.dyn_param = 2;
	op->u.copy.dst.dyn_mul = 16;
	EXPECT_REJECT(INPU_ERR_PARAM, 1, 1);
	op->u.copy.dst.dyn_param = 9;
	EXPECT_REJECT(INPU_ERR_PARAM, 1, 1);
	op->u.copy.dst.dyn_param = 0xff;
	EXPECT_REJECT(INPU_ERR_PARAM, 1, 1);
	op->u.copy.dst.dyn_param = 1;
	EXPECT_ACCEPT();
	/* dyn_mul without dyn_param ("must be 0"; spec: no status) */
	op->u.copy.dst.dyn_param = 0;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 1);
	/* a dyn_param with dyn_mul 0 is harmless */
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = 0;
	EXPECT_ACCEPT();
}

/* ---- regions and access ---------------------------------------------------- */

TEST_F(val, operand_outside_the_regions)
{
	uint64_t end = self->m.base + self->m.size;
	struct inpu_op *op;

	/* Entirely after, entirely before, crossing the end by one byte. */
	op = start(self, INPU_OP_COPY, 0);
	op->u.copy.src.addr = end;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	op->u.copy.src.addr = self->m.base - 32;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	op->u.copy.src.addr = end - 31;		/* 32 bytes: 1 past the end */
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	op->u.copy.src.addr = end - 32;		/* exactly the last bytes */
	EXPECT_ACCEPT();
	op->u.copy.dst.addr = end - 31;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 1);
	/* Straddling two adjacent regions: not inside one buffer. */
	op = start(self, INPU_OP_COPY, 0);
	op->u.copy.src.addr = ADJ_BASE + AREA_LEN - 16;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 0);
	op->u.copy.src.addr = ADJ_BASE + AREA_LEN;
	EXPECT_ACCEPT();
	/* Dynamic: the declared maximum decides. dst = 2 rows of 16 bytes
	 * at end - 32 - 16 * p: p in [0, 2] stays inside whatever p is... */
	op = start(self, INPU_OP_COPY, 0);
	stream_param(&self->s, 0, 3);
	op->u.copy.dst.addr = end - 32 - 3 * 16;
	op->u.copy.dst.dyn_param = 1;
	op->u.copy.dst.dyn_mul = 16;
	EXPECT_ACCEPT();
	/* ... max 4 puts the last position 16 bytes past the end. */
	self->s.hdr.params[0].max = 4;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 1);
	/* ... and the minimum counts too (min 0 here, addr below base). */
	self->s.hdr.params[0].max = 3;
	op->u.copy.dst.addr = self->m.base - 16;
	self->s.hdr.params[0].min = 1;
	EXPECT_ACCEPT();
	self->s.hdr.params[0].min = 0;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 1);
	/* No regions at all: op 0 already fails. */
	op = start(self, INPU_OP_COPY, 0);
	self->n_reg = 0;
	EXPECT_REJECT(INPU_ERR_RANGE, 0, 0);
}

TEST_F(val, access_rights)
{
	struct inpu_op *op;

	/* An output in a read-only buffer. */
	op = start(self, INPU_OP_ADD, 0);
	op->u.add.y.addr = RO_BASE;
	EXPECT_REJECT(INPU_ERR_ACCESS, 1, 2);
	/* Inputs there are fine. */
	op = start(self, INPU_OP_ADD, 0);
	op->u.add.a.addr = RO_BASE;
	op->u.add.b.addr = RO_BASE + 4096;
	EXPECT_ACCEPT();
	/* An input in a write-only buffer. */
	op->u.add.b.addr = WO_BASE;
	EXPECT_REJECT(INPU_ERR_ACCESS, 1, 1);
	/* An output in a write-only buffer is fine. */
	op->u.add.b.addr = RO_BASE + 4096;
	op->u.add.y.addr = WO_BASE;
	EXPECT_ACCEPT();
	/* The SAMPLE state is read and written: neither RO nor WO will do. */
	op = start(self, INPU_OP_SAMPLE, 0);
	op->u.sample.state.addr = RO_BASE;
	EXPECT_REJECT(INPU_ERR_ACCESS, 1, 1);
	op->u.sample.state.addr = WO_BASE;
	EXPECT_REJECT(INPU_ERR_ACCESS, 1, 1);
	/* Weights in a read-only buffer, the matmul output too: slot 5. */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.w.addr = RO_BASE;
	EXPECT_ACCEPT();
	op->u.matmul.y.addr = RO_BASE + 0x10000;
	EXPECT_REJECT(INPU_ERR_ACCESS, 1, 5);
}

/* ---- op-specific shapes ------------------------------------------------------ */

TEST_F(val, inconsistent_shapes)
{
	struct inpu_op *op;

#define BAD_SHAPE(opc, var, stmt) do { \
	op = start(self, opc, var); \
	stmt; \
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1); \
} while (0)
	/* MATMUL */
	BAD_SHAPE(INPU_OP_MATMUL, 0, op->u.matmul.w = wt(self, INPU_DT_W8_TILED, 8, 63));
	BAD_SHAPE(INPU_OP_MATMUL, 0, op->u.matmul.y = ft(self, INPU_DT_INT16, 3, 8));
	BAD_SHAPE(INPU_OP_MATMUL, 0, op->u.matmul.y = ft(self, INPU_DT_INT16, 2, 9));
	BAD_SHAPE(INPU_OP_MATMUL, 0, op->u.matmul.qp = ft(self, INPU_DT_QPARAM, 1, 7));
	BAD_SHAPE(INPU_OP_MATMUL, 0, op->u.matmul.qp = ft(self, INPU_DT_QPARAM, 2, 8));
	BAD_SHAPE(INPU_OP_MATMUL, 0, op->u.matmul.bias = ft(self, INPU_DT_INT32, 1, 9));
	BAD_SHAPE(INPU_OP_MATMUL, 0, op->u.matmul.bias = ft(self, INPU_DT_INT32, 2, 8));
	/* W4 gscale [Kpad/32][Npad] = [4][64]: rows 3 or 5, cols N = 8 */
	BAD_SHAPE(INPU_OP_MATMUL, 1, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 3, 64));
	BAD_SHAPE(INPU_OP_MATMUL, 1, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 5, 64));
	BAD_SHAPE(INPU_OP_MATMUL, 1, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 2, 64));
	BAD_SHAPE(INPU_OP_MATMUL, 1, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 4, 8));
	/* RMSNORM */
	BAD_SHAPE(INPU_OP_RMSNORM, 0, op->u.rmsnorm.g = ft(self, INPU_DT_INT32, 1, 15));
	BAD_SHAPE(INPU_OP_RMSNORM, 0, op->u.rmsnorm.g = ft(self, INPU_DT_INT32, 2, 16));
	BAD_SHAPE(INPU_OP_RMSNORM, 0, op->u.rmsnorm.y = ft(self, INPU_DT_INT8, 1, 16));
	BAD_SHAPE(INPU_OP_RMSNORM, 0, op->u.rmsnorm.y = ft(self, INPU_DT_INT8, 2, 17));
	/* ROPE: n % head_dim, cs [M][head_dim], y like x */
	BAD_SHAPE(INPU_OP_ROPE, 0, op->u.rope.head_dim = 6);	/* 16 % 6 */
	BAD_SHAPE(INPU_OP_ROPE, 0, op->u.rope.cs = ft(self, INPU_DT_INT16, 1, 8));
	BAD_SHAPE(INPU_OP_ROPE, 0, op->u.rope.cs = ft(self, INPU_DT_INT16, 2, 16));
	BAD_SHAPE(INPU_OP_ROPE, 0, op->u.rope.y = ft(self, INPU_DT_INT16, 2, 8));
	BAD_SHAPE(INPU_OP_ROPE, 0, op->u.rope.y = ft(self, INPU_DT_INT16, 1, 16));
	/* ATTENTION: q [M][H D], y like q, k [C][KV D], v like k */
	BAD_SHAPE(INPU_OP_ATTENTION, 0, op->u.attention.q = ft(self, INPU_DT_INT8, 1, 33));
	BAD_SHAPE(INPU_OP_ATTENTION, 0, op->u.attention.y = ft(self, INPU_DT_INT8, 2, 32));
	BAD_SHAPE(INPU_OP_ATTENTION, 0, op->u.attention.k = ft(self, INPU_DT_INT8, 16, 8));
	BAD_SHAPE(INPU_OP_ATTENTION, 0, op->u.attention.v = ft(self, INPU_DT_INT8, 15, 16));
	BAD_SHAPE(INPU_OP_ATTENTION, 0, op->u.attention.head_dim = 4);
	/* SWIGLU, ADD: all the same shape */
	BAD_SHAPE(INPU_OP_SWIGLU, 0, op->u.swiglu.up = ft(self, INPU_DT_INT16, 2, 15));
	BAD_SHAPE(INPU_OP_SWIGLU, 0, op->u.swiglu.y = ft(self, INPU_DT_INT8, 3, 16));
	BAD_SHAPE(INPU_OP_ADD, 0, op->u.add.b = ft(self, INPU_DT_INT16, 1, 16));
	BAD_SHAPE(INPU_OP_ADD, 0, op->u.add.y = ft(self, INPU_DT_INT8, 2, 32));
	/* EMBED: ids [1][M], y [M][dim] */
	BAD_SHAPE(INPU_OP_EMBED, 0, op->u.embed.ids = ft(self, INPU_DT_INT32, 3, 1));
	BAD_SHAPE(INPU_OP_EMBED, 0, op->u.embed.y = ft(self, INPU_DT_INT16, 4, 16));
	BAD_SHAPE(INPU_OP_EMBED, 0, op->u.embed.y = ft(self, INPU_DT_INT16, 3, 15));
	/* COPY */
	BAD_SHAPE(INPU_OP_COPY, 0, op->u.copy.dst = ft(self, INPU_DT_INT8, 1, 32));
	/* ARGMAX: y [1][M] */
	BAD_SHAPE(INPU_OP_ARGMAX, 0, op->u.argmax.y = ft(self, INPU_DT_INT32, 1, 2));
	BAD_SHAPE(INPU_OP_ARGMAX, 0, op->u.argmax.y = ft(self, INPU_DT_INT32, 3, 1));
	/* SAMPLE: x [1][n], n <= 65536; state and y [1][1] */
	BAD_SHAPE(INPU_OP_SAMPLE, 0, op->u.sample.x = ft(self, INPU_DT_INT32, 2, 16));
	BAD_SHAPE(INPU_OP_SAMPLE, 0, op->u.sample.x = ft(self, INPU_DT_INT32, 1, 65537));
	BAD_SHAPE(INPU_OP_SAMPLE, 0, op->u.sample.state = ft(self, INPU_DT_UINT64, 1, 2));
	BAD_SHAPE(INPU_OP_SAMPLE, 0, op->u.sample.y = ft(self, INPU_DT_INT32, 1, 2));
	/* FWHT */
	BAD_SHAPE(INPU_OP_FWHT, 0, op->u.fwht.y = ft(self, INPU_DT_INT16, 2, 8));
#undef BAD_SHAPE
	/* The largest SAMPLE width is accepted. */
	op = start(self, INPU_OP_SAMPLE, 0);
	op->u.sample.x = ft(self, INPU_DT_INT32, 1, 65536);
	EXPECT_ACCEPT();
}

TEST_F(val, matmul_output_must_not_overlap_inputs)
{
	struct inpu_op *op;
	uint64_t ybytes;

	/* y [2][8] INT16 = 32 bytes */
	op = start(self, INPU_OP_MATMUL, 0);
	ybytes = 32;
	op->u.matmul.y.addr = op->u.matmul.x.addr;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	/* the last byte of x (128 bytes) against the first of y */
	op->u.matmul.y.addr = op->u.matmul.x.addr + 128 - 2;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	/* adjacent, not overlapping */
	op->u.matmul.y.addr = op->u.matmul.x.addr + 128;
	EXPECT_ACCEPT();
	op->u.matmul.y.addr = op->u.matmul.x.addr - ybytes;
	EXPECT_ACCEPT();
	op->u.matmul.y.addr = op->u.matmul.x.addr - ybytes + 2;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	/* the weights, the bias, the qparams */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.y.addr = op->u.matmul.w.addr + 4000;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.y.addr = op->u.matmul.bias.addr + 16;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.y.addr = op->u.matmul.qp.addr + 56;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	/* W4 group scales */
	op = start(self, INPU_OP_MATMUL, 1);
	op->u.matmul.y.addr = op->u.matmul.gscale.addr + 255;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	/* through a dynamic address: only the maximum overlaps */
	op = start(self, INPU_OP_MATMUL, 0);
	/* y at x - 4 * 32 + 32 p: p = 3 ends where x starts, p = 4 is x */
	stream_param(&self->s, 0, 4);
	op->u.matmul.y.addr = op->u.matmul.x.addr - 4 * ybytes;
	op->u.matmul.y.dyn_param = 1;
	op->u.matmul.y.dyn_mul = ybytes;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	self->s.hdr.params[0].max = 3;
	EXPECT_ACCEPT();
	/* Other ops may alias (section 1): y = a for ADD, y = x for ROPE. */
	op = start(self, INPU_OP_ADD, 0);
	retype(self, &op->u.add.y, INPU_DT_INT16);
	op->u.add.y = op->u.add.a;
	EXPECT_ACCEPT();
	op = start(self, INPU_OP_ROPE, 0);
	op->u.rope.y = op->u.rope.x;
	EXPECT_ACCEPT();
	op = start(self, INPU_OP_FWHT, 0);
	op->u.fwht.y = op->u.fwht.x;
	EXPECT_ACCEPT();
}

TEST_F(val, attention_capacity_and_heads)
{
	struct inpu_op *op;

	/* C = 16, M = 1: static pos 15 is the last that fits (15 + 1 <= 16). */
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.pos = 15;
	EXPECT_ACCEPT();
	op->u.attention.pos = 16;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1);
	op->u.attention.pos = 0xffffffffu;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1);
	/* M = 4 rows: max(pos0) + 4 <= 16 -> pos0 <= 12. */
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.q = ft(self, INPU_DT_INT8, 4, 32);
	op->u.attention.y = ft(self, INPU_DT_INT8, 4, 32);
	op->u.attention.pos = 12;
	EXPECT_ACCEPT();
	op->u.attention.pos = 13;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1);
	/* With the position parameter: its declared maximum decides. */
	op->u.attention.pos = 0;
	op->u.attention.pos_param = 1;
	stream_param(&self->s, 5, 12);
	EXPECT_ACCEPT();
	self->s.hdr.params[0].max = 13;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1);
	self->s.hdr.params[0].max = 0xffffffffu;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1);
	self->s.hdr.params[0].max = 12;
	/* pos must be 0 when pos_param is used (spec: no status) */
	op->u.attention.pos = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op->u.attention.pos = 0;
	/* pos_param refers to an undeclared parameter */
	op->u.attention.pos_param = 2;
	EXPECT_REJECT(INPU_ERR_PARAM, 1, -1);
	/* Capacity above 65536 rows. */
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.k = ft(self, INPU_DT_INT8, 65537, 16);
	op->u.attention.v = ft(self, INPU_DT_INT8, 65537, 16);
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1);
	op->u.attention.k.rows = 65536;
	op->u.attention.v.rows = 65536;
	EXPECT_ACCEPT();
	/* Heads: KV must divide H; none may be 0. */
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.n_kv_heads = 3;
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	op->u.attention.n_kv_heads = 0;
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.n_heads = 0;
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.head_dim = 0;
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	/* KV = H (no grouping) and KV = 1 are both valid. */
	op = start(self, INPU_OP_ATTENTION, 0);
	op->u.attention.n_kv_heads = 1;
	op->u.attention.k = ft(self, INPU_DT_INT8, 16, 8);
	op->u.attention.v = ft(self, INPU_DT_INT8, 16, 8);
	EXPECT_ACCEPT();
}

/* ---- immediates ------------------------------------------------------------ */

TEST_F(val, bad_immediates)
{
	struct inpu_op *op;

#define BAD_IMM(opc, stmt) do { \
	op = start(self, opc, 0); \
	stmt; \
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1); \
} while (0)
#define GOOD_IMM(opc, stmt) do { \
	op = start(self, opc, 0); \
	stmt; \
	EXPECT_ACCEPT(); \
} while (0)
	/* RMSNORM: eps >= 1, 0 <= shift <= 62 */
	BAD_IMM(INPU_OP_RMSNORM, op->u.rmsnorm.eps = 0);
	BAD_IMM(INPU_OP_RMSNORM, op->u.rmsnorm.shift = 63);
	BAD_IMM(INPU_OP_RMSNORM, op->u.rmsnorm.shift = 0xffffffffu);
	GOOD_IMM(INPU_OP_RMSNORM, op->u.rmsnorm.shift = 62);
	GOOD_IMM(INPU_OP_RMSNORM, op->u.rmsnorm.shift = 0);
	GOOD_IMM(INPU_OP_RMSNORM, op->u.rmsnorm.eps = 0xffffffffu);
	/* ROPE: head_dim even and >= 2 */
	BAD_IMM(INPU_OP_ROPE, op->u.rope.head_dim = 0);
	BAD_IMM(INPU_OP_ROPE, op->u.rope.head_dim = 1);
	BAD_IMM(INPU_OP_ROPE, { op->u.rope.head_dim = 15;
				op->u.rope.x = ft(self, INPU_DT_INT16, 2, 15);
				op->u.rope.y = ft(self, INPU_DT_INT16, 2, 15);
				op->u.rope.cs = ft(self, INPU_DT_INT16, 2, 15); });
	GOOD_IMM(INPU_OP_ROPE, { op->u.rope.head_dim = 2;
				 op->u.rope.cs = ft(self, INPU_DT_INT16, 2, 2); });
	/* ATTENTION: score_mult > 0, shifts 0..62 */
	BAD_IMM(INPU_OP_ATTENTION, op->u.attention.score_mult = 0);
	BAD_IMM(INPU_OP_ATTENTION, op->u.attention.score_mult = -1);
	BAD_IMM(INPU_OP_ATTENTION, op->u.attention.score_mult = INT32_MIN);
	BAD_IMM(INPU_OP_ATTENTION, op->u.attention.score_shift = 63);
	BAD_IMM(INPU_OP_ATTENTION, op->u.attention.score_shift = -1);
	BAD_IMM(INPU_OP_ATTENTION, op->u.attention.out_shift = 63);
	BAD_IMM(INPU_OP_ATTENTION, op->u.attention.out_shift = -1);
	GOOD_IMM(INPU_OP_ATTENTION, op->u.attention.out_shift = 62);
	GOOD_IMM(INPU_OP_ATTENTION, op->u.attention.out_mult = -5);
	/* SWIGLU shifts */
	BAD_IMM(INPU_OP_SWIGLU, op->u.swiglu.in_shift = 63);
	BAD_IMM(INPU_OP_SWIGLU, op->u.swiglu.in_shift = -1);
	BAD_IMM(INPU_OP_SWIGLU, op->u.swiglu.out_shift = 100);
	BAD_IMM(INPU_OP_SWIGLU, op->u.swiglu.out_shift = INT32_MIN);
	GOOD_IMM(INPU_OP_SWIGLU, op->u.swiglu.in_shift = 62);
	/* ADD, EMBED, FWHT shifts */
	BAD_IMM(INPU_OP_ADD, op->u.add.shift = 63);
	BAD_IMM(INPU_OP_ADD, op->u.add.shift = -1);
	BAD_IMM(INPU_OP_EMBED, op->u.embed.shift = 63);
	BAD_IMM(INPU_OP_EMBED, op->u.embed.shift = -2);
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.shift = 63);
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.shift = -1);
	GOOD_IMM(INPU_OP_EMBED, op->u.embed.shift = 62);
	/* SAMPLE: temp_mult > 0, temp_shift 0..62, top_p in 1..65536 */
	BAD_IMM(INPU_OP_SAMPLE, op->u.sample.temp_mult = 0);
	BAD_IMM(INPU_OP_SAMPLE, op->u.sample.temp_mult = -3);
	BAD_IMM(INPU_OP_SAMPLE, op->u.sample.temp_shift = 63);
	BAD_IMM(INPU_OP_SAMPLE, op->u.sample.temp_shift = -1);
	BAD_IMM(INPU_OP_SAMPLE, op->u.sample.top_p = 0);
	BAD_IMM(INPU_OP_SAMPLE, op->u.sample.top_p = 65537);
	BAD_IMM(INPU_OP_SAMPLE, op->u.sample.top_p = 0xffffffffu);
	GOOD_IMM(INPU_OP_SAMPLE, op->u.sample.top_p = 1);
	GOOD_IMM(INPU_OP_SAMPLE, op->u.sample.top_p = 65536);
	GOOD_IMM(INPU_OP_SAMPLE, op->u.sample.temp_shift = 62);
	/* FWHT: block a power of two in 2..n dividing n (n = 16) */
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.block = 0);
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.block = 1);
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.block = 3);
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.block = 6);
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.block = 12);
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.block = 32);	/* > n */
	BAD_IMM(INPU_OP_FWHT, op->u.fwht.block = 0x80000000u);
	BAD_IMM(INPU_OP_FWHT, { op->u.fwht.block = 8;	/* 8 does not divide 12 */
				op->u.fwht.x = ft(self, INPU_DT_INT16, 2, 12);
				op->u.fwht.y = ft(self, INPU_DT_INT16, 2, 12); });
	GOOD_IMM(INPU_OP_FWHT, op->u.fwht.block = 2);
	GOOD_IMM(INPU_OP_FWHT, op->u.fwht.block = 16);
	GOOD_IMM(INPU_OP_FWHT, { op->u.fwht.block = 4;
				 op->u.fwht.x = ft(self, INPU_DT_INT16, 2, 12);
				 op->u.fwht.y = ft(self, INPU_DT_INT16, 2, 12); });
#undef BAD_IMM
#undef GOOD_IMM
}

/* ---- MATMUL: W4 groups of 16 and zero points -------------------------------- */

TEST_F(val, matmul_w4_groups_and_zero_points_accepted)
{
	struct inpu_op *op;

	/* G 16 with zero points [8][64] (Kpad 128 / 16, Npad 64). */
	op = start(self, INPU_OP_MATMUL, 2);
	EXPECT_ACCEPT();
	/* ... without them (NONE: all zero). */
	memset(&op->u.matmul.gzero, 0, sizeof(op->u.matmul.gzero));
	EXPECT_ACCEPT();
	/* ... strided, in a read-only buffer, behind a parameter. */
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero = ft(self, INPU_DT_INT8, 8, 100);
	op->u.matmul.gzero.cols = 64;
	EXPECT_ACCEPT();
	op->u.matmul.gzero = tensor(RO_BASE, INPU_DT_INT8, 8, 64);
	EXPECT_ACCEPT();
	stream_param(&self->s, 0, 3);
	op->u.matmul.gzero.dyn_param = 1;
	op->u.matmul.gzero.dyn_mul = 512;
	EXPECT_ACCEPT();
	/* G 32, the field 0 or 32, with zero points [4][64] or without. */
	op = start(self, INPU_OP_MATMUL, 1);
	op->u.matmul.group = 32;
	EXPECT_ACCEPT();
	op->u.matmul.gzero = ft(self, INPU_DT_INT8, 4, 64);
	EXPECT_ACCEPT();
	op->u.matmul.group = 0;
	EXPECT_ACCEPT();
	/* Padding: K 172 -> Kpad 256, N 70 -> Npad 128; G 16: [16][128]. */
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.x = ft(self, INPU_DT_INT8, 2, 172);
	op->u.matmul.w = wt(self, INPU_DT_W4_TILED, 70, 172);
	op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 16, 128);
	op->u.matmul.gzero = ft(self, INPU_DT_INT8, 16, 128);
	op->u.matmul.qp = ft(self, INPU_DT_QPARAM, 1, 70);
	op->u.matmul.y = ft(self, INPU_DT_INT32, 2, 70);
	EXPECT_ACCEPT();
	/* ... G 32: [8][128] both. */
	op->u.matmul.group = 32;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1);
	op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 8, 128);
	op->u.matmul.gzero = ft(self, INPU_DT_INT8, 8, 128);
	EXPECT_ACCEPT();
}

TEST_F(val, matmul_w4_group_immediate)
{
	/* Only 16 and 32 (and 0 for 32); checked before the shapes. */
	static const uint32_t bad[] = { 1, 8, 15, 24, 31, 33, 48, 64, 128,
					0x80000010u, 0xffffffffu };
	struct inpu_op *op;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		op = start(self, INPU_OP_MATMUL, 2);
		op->u.matmul.group = bad[i];
		EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
		op = start(self, INPU_OP_MATMUL, 1);
		op->u.matmul.group = bad[i];
		EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	}
	/* W8 has no groups: 0 only, even for the W4 values. */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.group = 16;
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	op->u.matmul.group = 32;
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	op->u.matmul.group = 1;
	EXPECT_REJECT(INPU_ERR_IMM, 1, -1);
	op->u.matmul.group = 0;
	EXPECT_ACCEPT();
	/*
	 * The word after it, gfmt: packed 4-bit codes (1) only for W4 and
	 * without a zero-point tensor; other values reserved.
	 */
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gfmt = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op->u.matmul.gfmt = 0x80000000u;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.gfmt = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op = start(self, INPU_OP_MATMUL, 1);
	op->u.matmul.gfmt = 2;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, -1);
	op->u.matmul.gfmt = 1;
	EXPECT_ACCEPT();
}

TEST_F(val, matmul_w4_group_tensor_shapes)
{
	struct inpu_op *op;

#define BAD_SHAPE(var, stmt) do { \
	op = start(self, INPU_OP_MATMUL, var); \
	stmt; \
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, -1); \
} while (0)
	/* G 16: gscale [8][64]; the G 32 shape, one row off, cols N. */
	BAD_SHAPE(2, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 4, 64));
	BAD_SHAPE(2, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 7, 64));
	BAD_SHAPE(2, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 9, 64));
	BAD_SHAPE(2, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 8, 8));
	BAD_SHAPE(2, op->u.matmul.gscale = ft(self, INPU_DT_UINT8, 8, 128));
	/* The G 16 shape with the group field 0 (= 32). */
	BAD_SHAPE(2, op->u.matmul.group = 0);
	/* Zero points have the shape of the scales. */
	BAD_SHAPE(2, op->u.matmul.gzero = ft(self, INPU_DT_INT8, 4, 64));
	BAD_SHAPE(2, op->u.matmul.gzero = ft(self, INPU_DT_INT8, 9, 64));
	BAD_SHAPE(2, op->u.matmul.gzero = ft(self, INPU_DT_INT8, 1, 64));
	BAD_SHAPE(2, op->u.matmul.gzero = ft(self, INPU_DT_INT8, 8, 8));
	BAD_SHAPE(2, op->u.matmul.gzero = ft(self, INPU_DT_INT8, 8, 65));
	BAD_SHAPE(1, op->u.matmul.gzero = ft(self, INPU_DT_INT8, 8, 64));
	BAD_SHAPE(1, op->u.matmul.gzero = ft(self, INPU_DT_INT8, 3, 64));
	/* Zero points without scales: a W4 matmul needs its scales. */
	BAD_SHAPE(2, memset(&op->u.matmul.gscale, 0, sizeof(op->u.matmul.gscale)));
#undef BAD_SHAPE
	/* Zero dimensions are the tensor's own error, at slot 6. */
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.rows = 0;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, 6);
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.cols = (1u << 24) + 1;
	EXPECT_REJECT(INPU_ERR_SHAPE, 1, 6);
}

TEST_F(val, matmul_gzero_slot_rules)
{
	static const uint8_t bad[] = { INPU_DT_UINT8, INPU_DT_INT16, INPU_DT_INT32,
				       INPU_DT_UINT64, INPU_DT_QPARAM,
				       INPU_DT_W8_TILED, INPU_DT_W4_TILED,
				       INPU_DT_COUNT, 0xff };
	struct inpu_op *op;
	unsigned int i;

	/* INT8 or NONE only: any other type is the slot's error. */
	for (i = 0; i < sizeof(bad); i++) {
		op = start(self, INPU_OP_MATMUL, 2);
		retype(self, &op->u.matmul.gzero, bad[i]);
		EXPECT_REJECT(INPU_ERR_DTYPE, 1, 6);
		op = start(self, INPU_OP_MATMUL, 0);
		op->u.matmul.gzero = ft(self, INPU_DT_INT8, 1, 64);
		retype(self, &op->u.matmul.gzero, bad[i]);
		EXPECT_REJECT(INPU_ERR_DTYPE, 1, 6);
	}
	/* W8 takes no zero points (as no scales): DTYPE of the op. */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.gzero = ft(self, INPU_DT_INT8, 1, 64);
	EXPECT_REJECT(INPU_ERR_DTYPE, 1, -1);
	op->u.matmul.gzero = ft(self, INPU_DT_INT8, 4, 64);
	EXPECT_REJECT(INPU_ERR_DTYPE, 1, -1);
	op->u.matmul.group = 16;
	EXPECT_REJECT(INPU_ERR_DTYPE, 1, -1);
	/* The tensor fields, as for every slot. */
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.reserved0 = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 6);
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.reserved1 = 1;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 6);
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.stride = 63;
	EXPECT_REJECT(INPU_ERR_STRIDE, 1, 6);
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.dyn_mul = 64;
	EXPECT_REJECT(INPU_ERR_RESERVED, 1, 6);
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.dyn_param = 1;
	EXPECT_REJECT(INPU_ERR_PARAM, 1, 6);
	/* Read, never written: a write-only buffer or no buffer fails. */
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.gzero.addr = WO_BASE;
	EXPECT_REJECT(INPU_ERR_ACCESS, 1, 6);
	op->u.matmul.gzero.addr = self->m.base + self->m.size - 511;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 6);
	op->u.matmul.gzero.addr = self->m.base + self->m.size - 512;
	EXPECT_ACCEPT();
}

TEST_F(val, matmul_output_must_not_overlap_zero_points)
{
	struct inpu_op *op;

	/* gzero [8][64] = 512 bytes; y INT8 [2][8] = 16 bytes. */
	op = start(self, INPU_OP_MATMUL, 2);
	op->u.matmul.y.addr = op->u.matmul.gzero.addr;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	op->u.matmul.y.addr = op->u.matmul.gzero.addr + 511;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	op->u.matmul.y.addr = op->u.matmul.gzero.addr - 15;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
	/* Adjacent on either side. */
	op->u.matmul.y.addr = op->u.matmul.gzero.addr + 512;
	EXPECT_ACCEPT();
	op->u.matmul.y.addr = op->u.matmul.gzero.addr - 16;
	EXPECT_ACCEPT();
	/* The G 16 scales too. */
	op->u.matmul.y.addr = op->u.matmul.gscale.addr + 500;
	EXPECT_REJECT(INPU_ERR_RANGE, 1, 5);
}

/* ---- run time ------------------------------------------------------------- */

/* Flat memory whose reads or writes fail inside [lo, hi). */
struct fault_mem {
	struct flat_mem *m;
	uint64_t lo, hi;
	int fail_read, fail_write;
	int with_map;
};

static int hits(const struct fault_mem *f, uint64_t addr, uint64_t len)
{
	return addr < f->hi && addr + len > f->lo;
}

static int fm_read(void *ctx, uint64_t addr, void *dst, uint64_t len)
{
	struct fault_mem *f = ctx;

	if (f->fail_read && hits(f, addr, len))
		return -1;
	return flat_read(f->m, addr, dst, len);
}

static int fm_write(void *ctx, uint64_t addr, const void *src, uint64_t len)
{
	struct fault_mem *f = ctx;

	if (f->fail_write && hits(f, addr, len))
		return -1;
	return flat_write(f->m, addr, src, len);
}

static const void *fm_map(void *ctx, uint64_t addr, uint64_t len)
{
	struct fault_mem *f = ctx;

	if (!f->with_map || hits(f, addr, len))
		return NULL;
	return flat_map(f->m, addr, len);
}

static const struct inpu_mem_ops fault_ops = {
	.read = fm_read,
	.write = fm_write,
	.map = fm_map,
};

TEST_F(val, run_param_outside_declared_range)
{
	struct inpu_tables_store ts;
	struct inpu_engine *e = inpu_engine_new(INPU_ISA_SCALAR, NULL);
	struct inpu_run_result res;
	static const uint32_t bad[][2] = { { 8, 10 }, { 0, 9 }, { 0, 21 },
					   { 0xffffffffu, 15 } };
	uint32_t good[2] = { 7, 20 };
	struct inpu_op *op;
	uint8_t *dst;
	unsigned int i;

	ASSERT_NE(NULL, e);
	ASSERT_EQ(0, inpu_tables_default(&ts));
	op = start(self, INPU_OP_COPY, 0);
	stream_param(&self->s, 0, 7);
	stream_param(&self->s, 10, 20);
	memset(flat_ptr(&self->m, op->u.copy.src.addr), 0x33, 32);
	dst = flat_ptr(&self->m, op->u.copy.dst.addr);
	memset(dst, 0, 32);
	EXPECT_ACCEPT();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		inpu_engine_run(e, &ts.t, &flat_ops, &self->m, &self->s,
				stream_len(&self->s), bad[i], &res);
		EXPECT_EQ(INPU_ERR_PARAM, res.status);
		/* "before any op runs" */
		EXPECT_EQ(0, res.ops_done);
		EXPECT_EQ(0, dst[0]);
	}
	inpu_engine_run(e, &ts.t, &flat_ops, &self->m, &self->s,
			stream_len(&self->s), good, &res);
	EXPECT_EQ(0, res.status);
	EXPECT_EQ(2, res.ops_done);
	EXPECT_EQ(0x33, dst[0]);
	inpu_engine_free(e);
	inpu_tables_release(&ts);
}

TEST_F(val, run_memory_faults)
{
	struct inpu_tables_store ts;
	struct inpu_engine *e = inpu_engine_new(INPU_ISA_SCALAR, NULL);
	struct inpu_run_result res;
	struct fault_mem f = { &self->m, 0, 0, 0, 0, 1 };
	struct inpu_tensor a, b, y, src, d0, d2;
	struct inpu_op *op;

	ASSERT_NE(NULL, e);
	ASSERT_EQ(0, inpu_tables_default(&ts));
	stream_init(&self->s);
	self->m.next = self->m.base;
	a = ft(self, INPU_DT_INT16, 2, 16);
	b = ft(self, INPU_DT_INT16, 2, 16);
	y = ft(self, INPU_DT_INT8, 2, 16);
	src = ft(self, INPU_DT_INT8, 1, 8);
	d0 = ft(self, INPU_DT_INT8, 1, 8);
	d2 = ft(self, INPU_DT_INT8, 1, 8);
	memset(flat_ptr(&self->m, src.addr), 0x77, 8);
	op = stream_add(&self->s, INPU_OP_COPY);	/* op 0 */
	op->u.copy.src = src;
	op->u.copy.dst = d0;
	op = stream_add(&self->s, INPU_OP_ADD);		/* op 1 */
	op->u.add.a = a;
	op->u.add.b = b;
	op->u.add.y = y;
	op->u.add.a_mult = 1;
	op = stream_add(&self->s, INPU_OP_COPY);	/* op 2 */
	op->u.copy.src = src;
	op->u.copy.dst = d2;
	EXPECT_ACCEPT();

	/* The write of ADD's output fails. */
	f.lo = y.addr;
	f.hi = y.addr + 32;
	f.fail_write = 1;
	inpu_engine_run(e, &ts.t, &fault_ops, &f, &self->s, stream_len(&self->s),
			NULL, &res);
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(1, res.fault_op);
	EXPECT_EQ(y.addr, res.fault_addr);
	EXPECT_EQ(1, res.fault_write);
	EXPECT_EQ(1, res.ops_done);
	EXPECT_EQ(0x77, *(uint8_t *)flat_ptr(&self->m, d0.addr));
	EXPECT_EQ(0, *(uint8_t *)flat_ptr(&self->m, d2.addr));

	/* A read of ADD's second input fails. */
	f.lo = b.addr;
	f.hi = b.addr + 64;
	f.fail_write = 0;
	f.fail_read = 1;
	inpu_engine_run(e, &ts.t, &fault_ops, &f, &self->s, stream_len(&self->s),
			NULL, &res);
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(1, res.fault_op);
	EXPECT_EQ(b.addr, res.fault_addr);
	EXPECT_EQ(0, res.fault_write);

	/* The first op's read fails: nothing done. */
	f.lo = src.addr;
	f.hi = src.addr + 8;
	inpu_engine_run(e, &ts.t, &fault_ops, &f, &self->s, stream_len(&self->s),
			NULL, &res);
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(0, res.fault_op);
	EXPECT_EQ(src.addr, res.fault_addr);
	EXPECT_EQ(0, res.fault_write);
	EXPECT_EQ(0, res.ops_done);
	inpu_engine_free(e);
	inpu_tables_release(&ts);
}

TEST_F(val, run_faults_in_weights_state_and_shrunk_memory)
{
	struct inpu_tables_store ts;
	struct inpu_engine *e = inpu_engine_new(inpu_cpu_isa_level(), NULL);
	struct inpu_run_result res;
	struct fault_mem f = { &self->m, 0, 0, 1, 0, 0 };
	struct inpu_op *op;
	uint64_t lo;

	ASSERT_NE(NULL, e);
	ASSERT_EQ(0, inpu_tables_default(&ts));

	/* The second weight tile of a W8 matmul (K 128: 2 tiles per block)
	 * cannot be read, with and without map(). */
	op = start(self, INPU_OP_MATMUL, 0);
	op->u.matmul.x = ft(self, INPU_DT_INT8, 2, 128);
	op->u.matmul.w = wt(self, INPU_DT_W8_TILED, 8, 128);
	EXPECT_ACCEPT();
	f.lo = op->u.matmul.w.addr + 4096;
	f.hi = f.lo + 4096;
	for (f.with_map = 0; f.with_map < 2; f.with_map++) {
		inpu_engine_run(e, &ts.t, &fault_ops, &f, &self->s,
				stream_len(&self->s), NULL, &res);
		EXPECT_EQ(INPU_ERR_FAULT, res.status);
		EXPECT_EQ(1, res.fault_op);
		EXPECT_LE(f.lo, res.fault_addr);
		EXPECT_GT(f.hi, res.fault_addr);
		EXPECT_EQ(0, res.fault_write);
	}

	/* The SAMPLE state cannot be written back. */
	op = start(self, INPU_OP_SAMPLE, 0);
	EXPECT_ACCEPT();
	f.lo = op->u.sample.state.addr;
	f.hi = f.lo + 8;
	f.fail_read = 0;
	f.fail_write = 1;
	inpu_engine_run(e, &ts.t, &fault_ops, &f, &self->s, stream_len(&self->s),
			NULL, &res);
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(1, res.fault_op);
	EXPECT_EQ(f.lo, res.fault_addr);
	EXPECT_EQ(1, res.fault_write);

	/*
	 * Validated against the whole memory, then the backing shrinks below
	 * op 1's output (a buffer unmapped after validation): the write fails
	 * at the output's address.
	 */
	op = start(self, INPU_OP_FWHT, 0);
	lo = self->m.base + self->m.size - 64;
	op->u.fwht.y.addr = lo;
	EXPECT_ACCEPT();
	self->m.size -= 64;
	inpu_engine_run(e, &ts.t, &flat_ops, &self->m, &self->s,
			stream_len(&self->s), NULL, &res);
	self->m.size += 64;
	EXPECT_EQ(INPU_ERR_FAULT, res.status);
	EXPECT_EQ(1, res.fault_op);
	EXPECT_EQ(lo, res.fault_addr);
	EXPECT_EQ(1, res.fault_write);
	EXPECT_EQ(1, res.ops_done);
	inpu_engine_free(e);
	inpu_tables_release(&ts);
}

TEST_HARNESS_MAIN
