/* SPDX-License-Identifier: MIT */
/*
 * The INPU engine: runs a command stream (uapi/inpu/inpu_isa.h) with
 * integer arithmetic only.  Compiled into the QEMU device and into the
 * host CPU reference backend; the semantics are those of engine/ISA.md.
 *
 * Device memory is reached only through struct inpu_mem_ops, so the same
 * code runs over a device MMU (QEMU) or over plain host buffers (tests and
 * the CPU backend).
 */
#ifndef INPU_ENGINE_H
#define INPU_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <inpu/inpu_isa.h>

#include "inpu_validate.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Nonlinear tables, loaded from the firmware image.  The engine never
 * computes a nonlinear function itself.
 *  exp:  exp[i] = round(32768 * e^(-i / 2^exp_frac)); exp[0] > 0,
 *        non-increasing.  Index i is clamped to exp_len - 1.
 *  silu: silu[i] = round(2^silu_out_frac * silu((i - silu_zero) /
 *        2^silu_in_frac)).  Index clamped to [0, silu_len - 1].
 */
struct inpu_tables {
	const uint16_t *exp;
	uint32_t exp_len;
	uint32_t exp_frac;
	const int32_t *silu;
	uint32_t silu_len;
	uint32_t silu_zero;
	uint32_t silu_in_frac;
	uint32_t silu_out_frac;
};

/* Returns INPU_OK or INPU_ERR_TABLES. */
int inpu_tables_check(const struct inpu_tables *t);

/*
 * Device memory.  read/write copy between device addresses and host
 * memory and return 0, or -1 on a fault (unmapped, no permission).
 * map, if not NULL, may return a host pointer to [addr, addr + len) when
 * that range is mapped contiguously for the access; the engine then reads
 * in place and falls back to read() when it returns NULL.  The engine only
 * asks map() for ranges inside one 4 KiB page (weight tiles).
 */
struct inpu_mem_ops {
	int (*read)(void *ctx, uint64_t addr, void *dst, uint64_t len);
	int (*write)(void *ctx, uint64_t addr, const void *src, uint64_t len);
	const void *(*map)(void *ctx, uint64_t addr, uint64_t len);
};

/* The cycle and energy model's machine (engine/ISA.md, "Cycle model"). */
struct inpu_machine {
	uint32_t sa_rows;		/* systolic array rows (default 32) */
	uint32_t sa_cols;		/* systolic array columns (default 32) */
	uint32_t clock_mhz;		/* nominal clock (default 1000) */
	uint32_t dram_bytes_per_cycle;	/* memory bandwidth (default 32) */
	uint32_t op_overhead_cycles;	/* fixed cost per op (default 64) */
};

void inpu_machine_default(struct inpu_machine *m);

/* What one op or one stream cost in the model. */
struct inpu_cost {
	uint64_t cycles;
	uint64_t macs;		/* multiply-accumulates */
	uint64_t macs_int4;	/* of which with int4 weights */
	uint64_t dram_bytes;	/* bytes moved to/from device memory */
	uint64_t sram_bytes;	/* bytes moved through on-chip buffers */
	uint64_t energy_fj;	/* femtojoules, from the constants in ISA.md */
};

/* Result of running a stream. */
struct inpu_run_result {
	int status;		/* enum inpu_status */
	uint32_t ops_done;	/* ops completed before a stop */
	uint32_t fault_op;	/* op index of a failure */
	uint64_t fault_addr;	/* device address of a memory fault */
	int fault_write;	/* 1 if the faulting access was a write */
	struct inpu_cost cost;
};

/* Which kernels run the hot ops; chosen once from CPU features. */
enum inpu_isa_level {
	INPU_ISA_SCALAR = 0,
	INPU_ISA_AVX2 = 1,
	INPU_ISA_AVX512_VNNI = 2,
};

/* The best level this CPU supports. */
enum inpu_isa_level inpu_cpu_isa_level(void);
const char *inpu_isa_level_name(enum inpu_isa_level l);

struct inpu_engine;

/* @level is capped at what the CPU supports.  NULL on allocation failure. */
struct inpu_engine *inpu_engine_new(enum inpu_isa_level level,
				    const struct inpu_machine *machine);
void inpu_engine_free(struct inpu_engine *e);
enum inpu_isa_level inpu_engine_level(const struct inpu_engine *e);

/*
 * Run status of a run stopped by the poll hook.  Not an enum inpu_status:
 * a cancelled job is abandoned, never reported with a completion record.
 */
#define INPU_RUN_CANCELLED 0x200

/*
 * Cancellation and progress.  If set, @poll(@opaque) is called before each
 * op and, inside an op, after about every 2^20 multiply-accumulates or
 * elements of work (a head of ATTENTION, a few tiles of MATMUL, chunks of
 * the element-wise ops), from the thread running inpu_engine_run().  A
 * nonzero return stops the run at once: the op is left unfinished (its
 * output partly written), res->status is INPU_RUN_CANCELLED, fault_op the
 * op.  NULL (the default) never cancels.
 */
typedef int (*inpu_poll_fn)(void *opaque);
void inpu_engine_set_poll(struct inpu_engine *e, inpu_poll_fn poll,
			  void *opaque);

/*
 * The engine's scratch memory in bytes: retained (kept between runs, at
 * most a fixed cap) and the most held at once since the last reset
 * (@reset_peak: start counting again from what is held now).
 */
struct inpu_engine_mem {
	uint64_t retained;
	uint64_t peak;
};
void inpu_engine_mem_stats(struct inpu_engine *e, struct inpu_engine_mem *m,
			   int reset_peak);

/*
 * Run a stream that inpu_validate_stream() accepted.  @params holds
 * hdr->n_params values; each is checked against its declared range first
 * (INPU_ERR_PARAM).  Structural checks are not repeated here: run only
 * validated streams.
 */
void inpu_engine_run(struct inpu_engine *e, const struct inpu_tables *tables,
		     const struct inpu_mem_ops *mem, void *mem_ctx,
		     const void *stream, size_t len, const uint32_t *params,
		     struct inpu_run_result *res);

/* Model cost of one op with the given parameters (no memory access). */
void inpu_op_cost(const struct inpu_machine *m, const struct inpu_op *op,
		  const uint32_t *params, struct inpu_cost *cost);

/* ---- weight layouts (engine/layout.c) ---------------------------------- */

/* Bytes of a packed weight tensor of N x K; 0 on overflow or bad type. */
uint64_t inpu_weight_bytes(uint8_t dtype, uint32_t n, uint32_t k);
/* Bytes of the W4 group-scale tensor: (Kpad / 32) x Npad. */
uint64_t inpu_w4_gscale_bytes(uint32_t n, uint32_t k);
/*
 * Bytes of a W4 per-group tensor (scales or zero points) for groups of
 * @group (32 or 16) inputs: (Kpad / group) x Npad; 0 for another size.
 */
uint64_t inpu_w4_group_bytes(uint32_t n, uint32_t k, uint32_t group);
/*
 * Per-group bytes v[N][K/group rounded up] (row-major; scales, or zero
 * points as int8) to and from the group-major device tensor (padding 0).
 * Another group size than 32 or 16 does nothing.
 */
void inpu_pack_w4_groups(const uint8_t *v, uint32_t n, uint32_t k,
			 uint32_t group, uint8_t *out);
void inpu_unpack_w4_groups(const uint8_t *packed, uint32_t n, uint32_t k,
			   uint32_t group, uint8_t *v);

/* Pack row-major int8 w[N][K] into the W8 layout (out: inpu_weight_bytes). */
void inpu_pack_w8(const int8_t *w, uint32_t n, uint32_t k, uint8_t *out);
void inpu_unpack_w8(const uint8_t *packed, uint32_t n, uint32_t k, int8_t *w);
/*
 * Pack row-major int4 values q[N][K] (each in -8..7, one per int8) and
 * group scales s[N][K/32 rounded up] (row-major) into the W4 layout.
 * With @s (@gscale) NULL only the weights are (un)packed (for groups of
 * another size: inpu_pack_w4_groups).
 */
void inpu_pack_w4(const int8_t *q, const uint8_t *s, uint32_t n, uint32_t k,
		  uint8_t *out, uint8_t *gscale_out);
void inpu_unpack_w4(const uint8_t *packed, const uint8_t *gscale, uint32_t n,
		    uint32_t k, int8_t *q, uint8_t *s);

#ifdef __cplusplus
}
#endif

#endif /* INPU_ENGINE_H */
