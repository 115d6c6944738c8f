/*
 * INPU device model: the command ring and the worker thread that runs jobs.
 *
 * The driver queues descriptors (uapi/inpu/inpu_ring.h) and rings the
 * TAIL doorbell; one worker thread runs them in order through the engine
 * and writes each completion record.  Register updates and the interrupt
 * need the BQL, so the worker hands each completion to a bottom half,
 * which moves HEAD, counts the job and raises INPU_IRQ_JOB_DONE.
 *
 * Reset and ring disable never wait for a job: they bump the generation
 * under the device lock.  The worker's DMAs check it under that lock
 * (inpu_mmu.c), and the engine polls it inside its compute loops (every
 * 2^20 MACs or elements, inpu_ring_poll), so a job that was running stops
 * at its next memory access or poll, writes no completion record and
 * moves no register.  The main loop never blocks on the engine, unrealize
 * waits for the worker at most one poll interval, and no DMA of the old
 * job reaches guest memory once the reset has returned.
 *
 * Copyright (c) 2026 The inpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"

#include "inpu.h"
#include "inpu/inpu_mmu.h"
#include "inpu/inpu_regs.h"
#include "inpu/inpu_ring.h"

#define INPU_RING_MAX_SIZE      4096
/* The largest stream the driver can submit (DRM_INPU_MAX_STREAM_BYTES). */
#define INPU_STREAM_MAX_BYTES \
    (sizeof(struct inpu_stream_header) + INPU_MAX_OPS * INPU_OP_BYTES)

/* What the worker took from the shared state when it started a job. */
typedef struct INPUJob {
    uint32_t gen;
    uint32_t pos;
    uint64_t ring_base;
    uint32_t ring_size;
    uint64_t ctx_table;
    INPUFirmware *fw;
} INPUJob;

static void inpu_desc_to_cpu(struct inpu_job_desc *d)
{
    d->job_id = le64_to_cpu(d->job_id);
    d->context = le32_to_cpu(d->context);
    d->flags = le32_to_cpu(d->flags);
    d->stream_addr = le64_to_cpu(d->stream_addr);
    d->stream_len = le32_to_cpu(d->stream_len);
    d->n_params = le32_to_cpu(d->n_params);
    for (unsigned int i = 0; i < INPU_MAX_PARAMS; i++) {
        d->params[i] = le32_to_cpu(d->params[i]);
    }
    d->completion_addr = le64_to_cpu(d->completion_addr);
    d->reserved = le64_to_cpu(d->reserved);
}

/*
 * The engine's poll hook, called before each op and about every 2^20 MACs
 * or elements inside one.  It moves PROGRESS, so the driver can tell a
 * long job that computes from a hung one, and stops the job once a reset,
 * ring disable or unrealize has abandoned it: a single valid op can
 * compute for minutes without touching memory.
 */
static int inpu_ring_poll(void *opaque)
{
    INPUJobMem *m = opaque;

    qatomic_inc(&m->s->progress);
    return qatomic_read(&m->s->gen) != m->gen ||
           qatomic_read(&m->s->worker_quit);
}

/* Run one job whose descriptor was read; fills @res whatever happens. */
static void inpu_job_exec(INPUState *s, const INPUJob *job,
                          const struct inpu_job_desc *d, INPUJobMem *mem,
                          struct inpu_run_result *res)
{
    const struct inpu_region all = {
        .start = 0,
        .len = 1ull << INPU_DVA_BITS,
        .flags = INPU_REGION_READ | INPU_REGION_WRITE,
    };
    const struct inpu_stream_header *hdr;
    g_autofree uint8_t *stream = NULL;
    struct inpu_verror verr;
    uint64_t root;
    int status;

    memset(res, 0, sizeof(*res));
    if (d->flags || d->reserved || d->n_params > INPU_MAX_PARAMS ||
        d->stream_len > INPU_STREAM_MAX_BYTES) {
        res->status = INPU_JOB_BAD_DESC;
        return;
    }
    stream = g_malloc(MAX(d->stream_len, 1));
    if (!inpu_dma(s, job->gen, d->stream_addr, stream, d->stream_len,
                  false)) {
        res->status = INPU_JOB_BAD_DESC;
        return;
    }
    if (!job->fw) {
        res->status = INPU_JOB_NO_FIRMWARE;
        return;
    }
    if (!inpu_mmu_context_root(s, job->gen, job->ctx_table, d->context,
                               &root)) {
        res->status = INPU_JOB_BAD_CONTEXT;
        return;
    }
    /*
     * Structure only: the kernel checked every operand against the job's
     * buffers, and the MMU enforces what is mapped and how.
     */
    status = inpu_validate_stream(stream, d->stream_len, &all, 1, &verr);
    if (status != INPU_OK) {
        res->status = status;
        res->fault_op = verr.op;
        return;
    }
    hdr = (const struct inpu_stream_header *)stream;
    if (d->n_params < hdr->n_params) {
        res->status = INPU_ERR_PARAM;
        res->fault_op = ~0u;
        return;
    }

    inpu_mmu_job_begin(mem, s, job->gen, root);
    inpu_engine_set_poll(s->engine, inpu_ring_poll, mem);
    inpu_engine_run(s->engine, &job->fw->tables, &inpu_mmu_mem_ops, mem,
                    stream, d->stream_len, d->params, res);
    inpu_mmu_job_end(mem);
    if (res->status == INPU_ERR_FAULT && mem->faulted) {
        res->fault_addr = mem->fault_dva;
        res->fault_write = mem->fault_write;
    }
}

static void inpu_completion_fill(struct inpu_completion *c, uint64_t job_id,
                                 const struct inpu_run_result *res)
{
    memset(c, 0, sizeof(*c));
    c->job_id = cpu_to_le64(job_id);
    c->status = cpu_to_le32(res->status);
    c->ops_done = cpu_to_le32(res->ops_done);
    c->fault_op = cpu_to_le32(res->fault_op);
    c->fault_write = cpu_to_le32(res->fault_write ? 1 : 0);
    c->fault_addr = cpu_to_le64(res->fault_addr);
    c->cycles = cpu_to_le64(res->cost.cycles);
    c->energy_fj = cpu_to_le64(res->cost.energy_fj);
    c->macs = cpu_to_le64(res->cost.macs);
    c->seq = cpu_to_le32(INPU_COMPLETION_DONE);
}

/*
 * An injected hang: hold the job until a reset or ring disable abandons
 * it.  Called and returns with s->lock held.
 */
static void inpu_ring_hang_locked(INPUState *s, uint32_t gen)
{
    while (s->gen == gen && !s->worker_quit) {
        qemu_cond_wait(&s->cond, &s->lock);
    }
}

/* An injected slow job: @ms longer, moving PROGRESS every millisecond. */
static void inpu_ring_slow(INPUState *s, uint32_t gen, uint32_t ms)
{
    for (uint32_t i = 0; i < ms && qatomic_read(&s->gen) == gen; i++) {
        g_usleep(1000);
        qatomic_inc(&s->progress);
    }
}

static void *inpu_ring_worker(void *opaque)
{
    INPUState *s = opaque;
    g_autofree INPUJobMem *mem = g_new0(INPUJobMem, 1);

    qemu_mutex_lock(&s->lock);
    while (!s->worker_quit) {
        struct inpu_run_result res = { 0 };
        struct inpu_completion c;
        struct inpu_job_desc d;
        bool have_desc;
        uint32_t fault, slow_ms;
        INPUJob job;

        if (!s->ring_enabled || s->run_pos == s->ring_tail) {
            qemu_cond_wait(&s->cond, &s->lock);
            continue;
        }
        job = (INPUJob) {
            .gen = s->gen,
            .pos = s->run_pos,
            .ring_base = s->ring_base,
            .ring_size = s->ring_size,
            .ctx_table = s->ctx_table,
            .fw = inpu_fw_get_locked(s),
        };
        fault = inpu_fault_pick_locked(s);
        slow_ms = s->fi_slow_ms;
        qatomic_inc(&s->progress);
        if (fault == INPU_FI_HANG) {
            inpu_ring_hang_locked(s, job.gen);
            inpu_fw_put(job.fw);
            continue;
        }
        qemu_mutex_unlock(&s->lock);

        if (fault == INPU_FI_SLOW) {
            inpu_ring_slow(s, job.gen, slow_ms);
        } else if (fault == INPU_FI_STALL) {
            inpu_fault_stall(s, job.gen, slow_ms);
        }
        have_desc = inpu_dma(s, job.gen, job.ring_base +
                             (uint64_t)(job.pos & (job.ring_size - 1)) *
                             sizeof(d), &d, sizeof(d), false);
        if (have_desc) {
            inpu_desc_to_cpu(&d);
            if (fault == INPU_FI_DMA) {
                res.status = INPU_ERR_FAULT;
                res.fault_addr = INPU_FI_DMA_ADDR;
            } else {
                inpu_job_exec(s, &job, &d, mem, &res);
            }
            inpu_completion_fill(&c, d.job_id, &res);
            if (fault == INPU_FI_CORRUPT) {
                c.job_id = ~c.job_id;
                c.seq = cpu_to_le32(0xbad);
            }
        }
        inpu_fw_put(job.fw);
        qatomic_inc(&s->progress);

        qemu_mutex_lock(&s->lock);
        /* Abandoned: no record, no register moves (a cancelled run too). */
        if (job.gen != s->gen || res.status == INPU_RUN_CANCELLED) {
            continue;
        }
        if (!have_desc) {
            qemu_log_mask(LOG_GUEST_ERROR, "inpu: descriptor %u at 0x%"
                          PRIx64 " unreadable; no completion written\n",
                          job.pos, job.ring_base);
        } else if (!inpu_dma_locked(s, job.gen, d.completion_addr, &c,
                                    sizeof(c), true)) {
            qemu_log_mask(LOG_GUEST_ERROR, "inpu: job %" PRIu64 ": cannot "
                          "write its completion record at 0x%" PRIx64 "\n",
                          (uint64_t)d.job_id, (uint64_t)d.completion_addr);
        }
        s->run_pos++;
        s->done_pending++;
        if (fault != INPU_FI_DROP_IRQ) {
            s->done_irqs++;
        }
        s->cycles_pending += res.cost.cycles;
        qemu_bh_schedule(s->done_bh);
    }
    qemu_mutex_unlock(&s->lock);
    return NULL;
}

static void inpu_ring_done_bh(void *opaque)
{
    INPUState *s = opaque;
    uint32_t n, irqs;
    uint64_t cycles;

    qemu_mutex_lock(&s->lock);
    n = s->done_pending;
    irqs = s->done_irqs;
    cycles = s->cycles_pending;
    s->done_pending = 0;
    s->done_irqs = 0;
    s->cycles_pending = 0;
    qemu_mutex_unlock(&s->lock);

    if (n) {
        s->ring_head += n;
        s->jobs_done += n;
        s->busy_cycles += cycles;
        /* Only when every completion of the batch lost its interrupt. */
        if (irqs) {
            inpu_raise_irq(s, INPU_IRQ_JOB_DONE);
        }
    }
}

/* Abandon whatever the worker runs; callers hold s->lock. */
static void inpu_ring_stop_locked(INPUState *s)
{
    /* Atomic: in-place reads check it without the lock. */
    qatomic_set(&s->gen, s->gen + 1);
    s->ring_enabled = false;
    s->done_pending = 0;
    s->done_irqs = 0;
    s->cycles_pending = 0;
    /* A worker holding an injected hang lets go. */
    qemu_cond_broadcast(&s->cond);
}

static void inpu_ring_enable(INPUState *s, bool enable)
{
    uint32_t size = s->ring_size_reg;

    if (enable == s->ring_enabled) {
        return;
    }
    if (!enable) {
        qemu_mutex_lock(&s->lock);
        inpu_ring_stop_locked(s);
        qemu_mutex_unlock(&s->lock);
        return;
    }
    if (!size || size > INPU_RING_MAX_SIZE || (size & (size - 1))) {
        qemu_log_mask(LOG_GUEST_ERROR, "inpu: ring not enabled: size %u is "
                      "not a power of two in 1..%u\n", size,
                      INPU_RING_MAX_SIZE);
        return;
    }
    qemu_mutex_lock(&s->lock);
    s->ring_base = s->ring_base_reg;
    s->ring_size = size;
    s->ring_tail = 0;
    s->run_pos = 0;
    s->ring_enabled = true;
    qemu_mutex_unlock(&s->lock);
    s->ring_head = 0;
}

static void inpu_ring_doorbell(INPUState *s, uint32_t tail)
{
    if (!s->ring_enabled) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "inpu: doorbell %u ignored: ring disabled\n", tail);
        return;
    }
    /* Queued jobs cannot be taken back, nor more than a ring queued. */
    if (tail - s->ring_head > s->ring_size ||
        tail - s->ring_head < s->ring_tail - s->ring_head) {
        qemu_log_mask(LOG_GUEST_ERROR, "inpu: doorbell %u ignored: head %u, "
                      "tail %u, size %u\n", tail, s->ring_head,
                      s->ring_tail, s->ring_size);
        return;
    }
    qemu_mutex_lock(&s->lock);
    s->ring_tail = tail;
    qemu_cond_signal(&s->cond);
    qemu_mutex_unlock(&s->lock);
}

/*
 * Fields the worker also reads are written under s->lock; the main loop,
 * their only writer, reads them without it.
 */
bool inpu_ring_read(INPUState *s, hwaddr addr, uint64_t *val)
{
    switch (addr) {
    case INPU_REG_RING_BASE_LO:
        *val = (uint32_t)s->ring_base_reg;
        break;
    case INPU_REG_RING_BASE_HI:
        *val = (uint32_t)(s->ring_base_reg >> 32);
        break;
    case INPU_REG_RING_SIZE:
        *val = s->ring_size_reg;
        break;
    case INPU_REG_RING_HEAD:
        *val = s->ring_head;
        break;
    case INPU_REG_RING_TAIL:
        *val = s->ring_tail;
        break;
    case INPU_REG_RING_CTRL:
        *val = s->ring_enabled ? INPU_RING_CTRL_ENABLE : 0;
        break;
    case INPU_REG_CTX_TABLE_LO:
        *val = (uint32_t)s->ctx_table;
        break;
    case INPU_REG_CTX_TABLE_HI:
        *val = (uint32_t)(s->ctx_table >> 32);
        break;
    case INPU_REG_JOBS_DONE:
        *val = s->jobs_done;
        break;
    case INPU_REG_BUSY_CYCLES_LO:
        *val = (uint32_t)s->busy_cycles;
        break;
    case INPU_REG_BUSY_CYCLES_HI:
        *val = (uint32_t)(s->busy_cycles >> 32);
        break;
    default:
        return false;
    }
    return true;
}

bool inpu_ring_write(INPUState *s, hwaddr addr, uint64_t val)
{
    switch (addr) {
    case INPU_REG_RING_BASE_LO:
        s->ring_base_reg = deposit64(s->ring_base_reg, 0, 32, val);
        break;
    case INPU_REG_RING_BASE_HI:
        s->ring_base_reg = deposit64(s->ring_base_reg, 32, 32, val);
        break;
    case INPU_REG_RING_SIZE:
        s->ring_size_reg = val;
        break;
    case INPU_REG_RING_TAIL:
        inpu_ring_doorbell(s, val);
        break;
    case INPU_REG_RING_CTRL:
        inpu_ring_enable(s, val & INPU_RING_CTRL_ENABLE);
        break;
    case INPU_REG_CTX_TABLE_LO:
    case INPU_REG_CTX_TABLE_HI:
        qemu_mutex_lock(&s->lock);
        s->ctx_table = deposit64(s->ctx_table,
                                 addr == INPU_REG_CTX_TABLE_LO ? 0 : 32,
                                 32, val);
        qemu_mutex_unlock(&s->lock);
        break;
    default:
        return false;
    }
    return true;
}

void inpu_ring_reset(INPUState *s)
{
    qemu_mutex_lock(&s->lock);
    inpu_ring_stop_locked(s);
    s->ring_base = 0;
    s->ring_size = 0;
    s->ring_tail = 0;
    s->run_pos = 0;
    s->ctx_table = 0;
    qemu_mutex_unlock(&s->lock);

    s->ring_base_reg = 0;
    s->ring_size_reg = 0;
    s->ring_head = 0;
    s->jobs_done = 0;
    s->busy_cycles = 0;
}

bool inpu_ring_init(INPUState *s, Error **errp)
{
    struct inpu_machine machine;

    inpu_machine_default(&machine);
    machine.sa_rows = s->sa_rows;
    machine.sa_cols = s->sa_cols;
    s->engine = inpu_engine_new(MIN(s->engine_isa, INPU_ISA_AVX512_VNNI),
                                &machine);
    if (!s->engine) {
        error_setg(errp, "inpu: cannot allocate the engine");
        return false;
    }
    s->done_bh = qemu_bh_new_guarded(inpu_ring_done_bh, s,
                                     &DEVICE(s)->mem_reentrancy_guard);
    s->worker_quit = false;
    qemu_thread_create(&s->worker, "inpu-worker", inpu_ring_worker, s,
                       QEMU_THREAD_JOINABLE);
    return true;
}

void inpu_ring_exit(INPUState *s)
{
    qemu_mutex_lock(&s->lock);
    inpu_ring_stop_locked(s);
    s->worker_quit = true;
    qemu_cond_signal(&s->cond);
    qemu_mutex_unlock(&s->lock);
    /* The worker needs no BQL, so joining under it cannot deadlock. */
    qemu_thread_join(&s->worker);

    qemu_bh_delete(s->done_bh);
    s->done_bh = NULL;
    inpu_engine_free(s->engine);
    s->engine = NULL;
}
