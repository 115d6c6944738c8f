/*
 * INPU device model: firmware boot.
 *
 * The image is parsed with the same code the driver and the tools use
 * (engine/fw_image.c); the digest is checked with GLib's SHA-256.  Only a
 * fully verified image replaces the loaded tables.
 *
 * Copyright (c) 2026 The inpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/pci/pci_device.h"
#include "system/dma.h"

#include "inpu.h"
#include "inpu/inpu_regs.h"
#include "inpu_fw_image.h"

static void inpu_fw_clear(gpointer data)
{
    INPUFirmware *fw = data;

    g_free(fw->exp);
    g_free(fw->silu);
}

/* A reference to the loaded firmware, or NULL; the caller holds s->lock. */
INPUFirmware *inpu_fw_get_locked(INPUState *s)
{
    return s->fw ? g_atomic_rc_box_acquire(s->fw) : NULL;
}

void inpu_fw_put(INPUFirmware *fw)
{
    if (fw) {
        g_atomic_rc_box_release_full(fw, inpu_fw_clear);
    }
}

/* Jobs already running keep their reference to the old tables. */
static void inpu_fw_install(INPUState *s, INPUFirmware *fw)
{
    INPUFirmware *old;

    qemu_mutex_lock(&s->lock);
    old = s->fw;
    s->fw = fw;
    qemu_mutex_unlock(&s->lock);
    inpu_fw_put(old);
}

void inpu_fw_unload(INPUState *s)
{
    inpu_fw_install(s, NULL);
    s->fw_status = INPU_FW_STATUS_NONE;
    s->fw_version = 0;
    s->fw_features = 0;
}

static void inpu_fw_fail(INPUState *s, uint32_t code, int section,
                         uint32_t offset)
{
    inpu_fw_unload(s);
    s->fw_status = INPU_FW_STATUS_ERROR;
    s->fw_error = code | (section >= 0 ? (uint32_t)(section + 1) << 16 : 0);
    s->fw_err_offset = offset;
}

static bool inpu_fw_digest(const uint8_t *img, const struct inpu_fw_info *info)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    uint8_t digest[INPU_FW_DIGEST_BYTES];
    gsize len = sizeof(digest);

    g_checksum_update(sum, img, info->digest_offset);
    g_checksum_get_digest(sum, digest, &len);
    return len == sizeof(digest) && inpu_fw_digest_ok(img, info, digest);
}

void inpu_fw_boot(INPUState *s)
{
    struct inpu_fw_error err = { 0 };
    struct inpu_fw_info info;
    g_autofree uint8_t *img = NULL;
    INPUFirmware *fw;

    /* Short images are the parser's to diagnose; only bound the DMA. */
    if (!s->fw_size || s->fw_size > INPU_FW_MAX_SIZE) {
        inpu_fw_fail(s, s->fw_size ? INPU_FW_E_TOO_LARGE : INPU_FW_E_TRUNCATED,
                     -1, 0);
        return;
    }
    img = g_malloc(s->fw_size);
    if (pci_dma_read(PCI_DEVICE(s), s->fw_addr, img, s->fw_size)
        != MEMTX_OK) {
        qemu_log_mask(LOG_GUEST_ERROR, "inpu: firmware DMA from 0x%" PRIx64
                      " failed\n", s->fw_addr);
        inpu_fw_fail(s, INPU_FW_DEV_E_DMA, -1, 0);
        return;
    }
    if (inpu_fw_parse(img, s->fw_size, &info, &err) != INPU_FW_OK) {
        inpu_fw_fail(s, err.code, err.section, err.offset);
        return;
    }
    if (!inpu_fw_digest(img, &info)) {
        inpu_fw_fail(s, INPU_FW_E_DIGEST, -1, info.digest_offset);
        return;
    }

    fw = g_atomic_rc_box_new0(INPUFirmware);
    fw->exp = g_memdup2(info.exp_values, info.exp.len * sizeof(uint16_t));
    fw->silu = g_memdup2(info.silu_values, info.silu.len * sizeof(int32_t));
    fw->tables = (struct inpu_tables) {
        .exp = fw->exp,
        .exp_len = info.exp.len,
        .exp_frac = info.exp.frac,
        .silu = fw->silu,
        .silu_len = info.silu.len,
        .silu_zero = info.silu.zero,
        .silu_in_frac = info.silu.in_frac,
        .silu_out_frac = info.silu.out_frac,
    };
    inpu_fw_install(s, fw);
    s->fw_version = info.fw_version;
    s->fw_features = info.features;
    s->fw_error = 0;
    s->fw_err_offset = 0;
    s->fw_status = INPU_FW_STATUS_OK;
}
