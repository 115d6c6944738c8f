// SPDX-License-Identifier: MIT
/*
 * The cycle and energy model (engine/ISA.md, "Cycle model" and "Energy").
 *
 * Matmul runs weight-stationary on an R x C systolic array: each R x C
 * weight tile is loaded (R cycles), then the M activation rows stream
 * through it with a pipeline fill of R + C - 1 cycles.  Everything else
 * runs on a C-lane vector unit.  An op takes the larger of its compute and
 * its memory-transfer time, plus a fixed issue overhead.
 *
 * Energy constants (femtojoules), 45 nm figures from M. Horowitz,
 * "Computing's energy problem (and what we can do about it)", ISSCC 2014:
 * 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ per int8 MAC; an int4 multiply
 * taken as a quarter of the 8-bit one (array multipliers scale with the
 * square of the width) + the same 32-bit add; 8 KiB SRAM read of 64 bits
 * 10 pJ; DRAM 1.3-2.6 nJ per 64 bits (midpoint used).
 */
#include "inpu_engine.h"

#define FJ_MAC_INT8	300ull
#define FJ_MAC_INT4	150ull
#define FJ_SRAM_BYTE	1250ull
#define FJ_DRAM_BYTE	243750ull

void inpu_machine_default(struct inpu_machine *m)
{
	m->sa_rows = 32;
	m->sa_cols = 32;
	m->clock_mhz = 1000;
	m->dram_bytes_per_cycle = 32;
	m->op_overhead_cycles = 64;
}

static uint64_t div_up64(uint64_t v, uint64_t d)
{
	return d ? (v + d - 1) / d : v;
}

static uint64_t tbytes(const struct inpu_tensor *t)
{
	if (t->dtype == INPU_DT_W8_TILED || t->dtype == INPU_DT_W4_TILED)
		return inpu_tiled_bytes(t->dtype, t->rows, t->cols);
	return (uint64_t)t->rows * (inpu_dtype_row_prefix(t->dtype) +
				    (uint64_t)t->cols * inpu_dtype_size(t->dtype));
}


static uint64_t o_rows_cols(const struct inpu_tensor *t)
{
	return (uint64_t)t->rows * t->cols;
}

/* An I8ROW output takes two more passes: its row maximum, its rounding. */
static uint64_t row_quant_elems(const struct inpu_tensor *y)
{
	return y->dtype == INPU_DT_I8ROW ? 2 * o_rows_cols(y) : 0;
}

static uint32_t log2_ceil(uint64_t v)
{
	uint32_t l = 0;

	while (((uint64_t)1 << l) < v)
		l++;
	return l;
}

/* MATMUL on the systolic array: its MACs and buffer traffic, and cycles. */
static uint64_t matmul_cost(const struct inpu_op_matmul *o, uint64_t r,
			    uint64_t cl, struct inpu_cost *cost)
{
	uint64_t m = o->x.rows, k = o->x.cols, nn = o->w.rows;
	uint64_t tiles = div_up64(nn, cl) * div_up64(k, r);

	cost->macs = m * k * nn;
	if (o->w.dtype == INPU_DT_W4_TILED)
		cost->macs_int4 = cost->macs;
	/* Activations are re-read from the buffer for every column
	 * block of the array; partial sums go back once per row tile.
	 */
	cost->sram_bytes += m * k * div_up64(nn, cl) +
			    m * nn * 4 * div_up64(k, r);
	return tiles * (r + m + r + cl - 1);
}

/* ATTENTION over the filled part of the cache: traffic, and cycles. */
static uint64_t attention_cost(const struct inpu_op_attention *o,
			       const uint32_t *params, uint64_t r,
			       uint64_t cl, struct inpu_cost *cost)
{
	uint64_t pos0 = o->pos_param ? params[o->pos_param - 1] : o->pos;
	uint64_t rows = o->q.rows, ctx = pos0 + rows;
	uint64_t keys = rows * pos0 + rows * (rows + 1) / 2;
	uint64_t kvdim = (uint64_t)o->n_kv_heads * o->head_dim;

	cost->macs = 2 * keys * o->n_heads * o->head_dim;
	/* Only the filled part of the cache moves. */
	cost->dram_bytes = 2 * tbytes(&o->q) + ctx * kvdim *
			   (inpu_dtype_size(o->k.dtype) + inpu_dtype_size(o->v.dtype));
	cost->sram_bytes = cost->dram_bytes + keys * o->n_heads * 8;
	return div_up64(cost->macs, r * cl) +
	       div_up64(keys * o->n_heads * 4 + row_quant_elems(&o->y), cl);
}

/*
 * Element operations of an op on the vector unit (0 for the others), and
 * EMBED's traffic.
 */
static uint64_t vector_elems(const struct inpu_op *op, struct inpu_cost *cost)
{
	uint64_t elems = 0;

	switch (op->opcode) {
	case INPU_OP_RMSNORM:
		elems = 3 * o_rows_cols(&op->u.rmsnorm.x) +
			row_quant_elems(&op->u.rmsnorm.y);
		break;
	case INPU_OP_ROPE:
		elems = 3 * o_rows_cols(&op->u.rope.x);
		break;
	case INPU_OP_SWIGLU:
		elems = 3 * o_rows_cols(&op->u.swiglu.gate) +
			row_quant_elems(&op->u.swiglu.y);
		break;
	case INPU_OP_ADD:
		elems = 2 * o_rows_cols(&op->u.add.a);
		break;
	case INPU_OP_EMBED:
		elems = o_rows_cols(&op->u.embed.y);
		/* Only the gathered rows of the table move. */
		cost->dram_bytes = tbytes(&op->u.embed.ids) + tbytes(&op->u.embed.y) +
				   elems * inpu_dtype_size(op->u.embed.table.dtype);
		cost->sram_bytes = cost->dram_bytes;
		break;
	case INPU_OP_COPY:
		elems = o_rows_cols(&op->u.copy.src);
		break;
	case INPU_OP_ARGMAX:
		elems = o_rows_cols(&op->u.argmax.x);
		break;
	case INPU_OP_SAMPLE: {
		uint64_t nv = op->u.sample.x.cols;

		/* exp lookups, then a comparison sort. */
		elems = nv * (2 + log2_ceil(nv));
		break;
	}
	case INPU_OP_FWHT:
		elems = o_rows_cols(&op->u.fwht.x) *
			(1 + log2_ceil(op->u.fwht.block));
		break;
	default:
		break;
	}
	return elems;
}

/* The larger of compute and transfer time, plus the issue overhead. */
static void cycles_and_energy(const struct inpu_machine *mc, uint64_t compute,
			      struct inpu_cost *cost)
{
	cost->cycles = div_up64(cost->dram_bytes, mc->dram_bytes_per_cycle);
	if (compute > cost->cycles)
		cost->cycles = compute;
	cost->cycles += mc->op_overhead_cycles;
	cost->energy_fj = (cost->macs - cost->macs_int4) * FJ_MAC_INT8 +
			  cost->macs_int4 * FJ_MAC_INT4 +
			  cost->sram_bytes * FJ_SRAM_BYTE +
			  cost->dram_bytes * FJ_DRAM_BYTE;
}

void inpu_op_cost(const struct inpu_machine *mc, const struct inpu_op *op,
		  const uint32_t *params, struct inpu_cost *cost)
{
	uint64_t r = mc->sa_rows ? mc->sa_rows : 1;
	uint64_t cl = mc->sa_cols ? mc->sa_cols : 1;
	uint64_t compute = 0, elems = 0;
	const struct inpu_tensor *t = (const struct inpu_tensor *)op->u.raw;
	unsigned int i, n = inpu_op_slots(op->opcode);

	cost->macs = 0;
	cost->macs_int4 = 0;
	cost->dram_bytes = 0;
	for (i = 0; i < n; i++)
		cost->dram_bytes += tbytes(&t[i]);
	cost->sram_bytes = cost->dram_bytes;

	switch (op->opcode) {
	case INPU_OP_MATMUL:
		compute = matmul_cost(&op->u.matmul, r, cl, cost);
		break;
	case INPU_OP_ATTENTION:
		compute = attention_cost(&op->u.attention, params, r, cl, cost);
		break;
	default:
		elems = vector_elems(op, cost);
		break;
	}
	if (elems)
		compute = div_up64(elems, cl);
	cycles_and_energy(mc, compute, cost);
}
