/* SPDX-License-Identifier: MIT */
/*
 * The engine's nonlinear tables as the firmware image carries them, for
 * the backends that run the engine on the host (qcpu.c, qsample.c).
 */
#ifndef INPU_RT_FW_TABLES_H
#define INPU_RT_FW_TABLES_H

#include <stddef.h>

#include "inpu_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * @t pointing into the firmware image built into this library (the image
 * the device boots), parsed and digest-checked as the driver does: 0, or
 * -EINVAL with a message.
 */
int inpu_rt_fw_tables(struct inpu_tables *t, char *err, size_t errlen);
/* The same for the image @image of @len bytes, which must outlive @t. */
int inpu_rt_image_tables(const void *image, size_t len, struct inpu_tables *t,
			 char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* INPU_RT_FW_TABLES_H */
