// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one place the inpu tracepoints are instantiated.
 */
#include "inpu_hw.h"

#ifndef __CHECKER__
#define CREATE_TRACE_POINTS
#include "inpu_trace.h"
#endif
