# SPDX-License-Identifier: MIT
#
# Top-level build of the inpu stack.  'make help' lists the targets.
# Everything built lands in build/ (and the kernel objects next to their
# sources, as Kbuild does); downloaded sources and the built QEMU
# live under $(INPU_CACHE), which is safe to delete.

SHELL := /bin/bash
.DEFAULT_GOAL := all

INPU_CACHE ?= $(HOME)/.cache/inpu
export INPU_CACHE

KVER ?= $(shell . scripts/env.sh && inpu_kver 2>/dev/null)
KDIR ?= /usr/src/linux-headers-$(KVER)
B := build
QEMU := $(INPU_CACHE)/qemu/qemu-system-x86_64

DRM_CFLAGS = $(shell pkg-config --cflags libdrm)
DRM_LIBS = $(shell pkg-config --libs libdrm)
USER_CFLAGS = -std=c11 -Wall -Wextra -Werror -O2 -g -Iuapi -Iuserspace/lib \
	$(DRM_CFLAGS)
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

UAPI_HEADERS := $(wildcard uapi/*/*.h)
ENGINE_HDRS := $(wildcard engine/*.h)
# The engine proper: integer-only, linked into QEMU and the CPU backend.
ENGINE_SRCS := $(filter-out engine/tables_gen.c,$(wildcard engine/*.c))
ENGINE_CFLAGS = -std=c11 -Wall -Wextra -Werror -O2 -g -Iuapi -Iengine
# SIMD kernel files get their own target flags; dispatch is at run time.
engine_simd_flags = $(if $(findstring avx512,$1),-mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni,$(if $(findstring avx2,$1),-mavx2,))
LIB_SRCS := $(wildcard userspace/lib/*.c)
LIB_HDRS := $(wildcard userspace/lib/*.h)
# The userspace libraries, one per folder (userspace/README.md): the
# integer runtime (.inpu reader, stream builder, cpu and device backends,
# tokenizer), the float reference (llama2.c checkpoints, forward pass,
# perplexity) and the offline quantizer.  Each folder sees only the headers
# of the folders it may use: runtime <- reference <- quantizer.
USER_LIBS_DIRS := runtime reference quantizer
# The quantizer's matrix products: OpenBLAS (Debian's libopenblas-dev;
# faster than BLIS here, userspace/quantizer/README.md), called
# single-threaded from the quantizer's own threads; GPTQ's Cholesky
# factors through LAPACKE (liblapacke-dev; LAPACK is OpenBLAS's).
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS := -llapacke $(or $(shell pkg-config --libs openblas 2>/dev/null),-lopenblas) -lpthread
INC_runtime := -Iuserspace/runtime -Iuserspace/lib
INC_reference := -Iuserspace/reference -Iuserspace/runtime
INC_quantizer := -Iuserspace/quantizer -Iuserspace/reference -Iuserspace/runtime $(BLAS_CFLAGS)
MODEL_SRCS := $(foreach d,$(USER_LIBS_DIRS),$(wildcard userspace/$(d)/*.c))
MODEL_HDRS := $(foreach d,$(USER_LIBS_DIRS),$(wildcard userspace/$(d)/*.h))
MODEL_INC := $(foreach d,$(USER_LIBS_DIRS),-Iuserspace/$(d))
MODEL_CFLAGS = -std=c11 -Wall -Wextra -Werror -O2 -g -Iuapi -Iengine $(DRM_CFLAGS)
# Link order: a library before the ones it uses.
USER_LIBS = $(foreach d,quantizer reference runtime,$(B)/$(d)/libinpu_$(d).a)
ASAN_USER_LIBS = $(foreach d,quantizer reference runtime,$(B)/asan/$(d)/libinpu_$(d).a)
MODEL_LIBS = $(B)/engine/libinpu_engine.a $(B)/engine/libinpu_tables.a -lcrypto $(BLAS_LIBS)
ASAN_MODEL_LIBS = $(B)/asan/engine/libinpu_engine.a $(B)/asan/engine/libinpu_tables.a -lcrypto \
	$(BLAS_LIBS)
KERNEL_SRCS := $(wildcard kernel/*.c kernel/*.h) engine/validate.c engine/inpu_validate.h engine/fw_image.c engine/inpu_fw_image.h Kbuild scripts/kcompat.sh
QEMU_DEV_SRCS := $(wildcard qemu-device/*)
# Firmware image tools: fw_build.c is shared with the host tests and the fuzzer.
FW_HDRS := $(wildcard firmware-blob-tools/*.h) engine/inpu_fw_image.h engine/tables_gen.h uapi/inpu/inpu_fw.h
FW_CFLAGS = -std=c11 -Wall -Wextra -Werror -O2 -g -Iuapi -Iengine -Ifirmware-blob-tools
FUZZ_CFLAGS = -std=c11 -g -O1 -Wall -Wextra -Werror -Iuapi -Iengine -Ifirmware-blob-tools \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

help:
	@echo "make deps       install Debian packages the build needs (root, idempotent)"
	@echo "make            build the module, userspace, tests and QEMU"
	@echo "make check      set up, build and run every test (host, then in the VM)"
	@echo "make demo       set up, build, quantize stories260K, boot the VM and generate a story on the device"
	@echo "make models     quantize stories260K and BabyLlama 1M (W8A8, W4A8) into build/models/"
	@echo "make vm-shell   interactive shell in the test VM (Ctrl-A X quits;"
	@echo "                USER_MODELS=a.inpu puts your models in /opt/inpu/models)"
	@echo "make module | userspace | engine | qemu | kselftest | host-tests | initramfs"
	@echo "make firmware   build/bin/inpu-fw and the image build/firmware/inpu-fw.bin"
	@echo "make fuzz       libFuzzer targets for every parser and the validator (build/fuzz/)"
	@echo "make bench-engine   matmul G MAC/s, scalar vs SIMD, vs the vpdpbusd peak"
	@echo "make bench-vm   jobs/s through the driver and the device, in the VM"
	@echo "make bench      model decode/prefill tok/s and latency: VM device, host cpu, cycle model, llama.cpp"
	@echo "make bench-quantize quantizer wall time and peak memory: stories15M/110M shapes, stories260K, BabyLlama 1M"
	@echo "make bench-act-scales decode tok/s, per-token scales and int16 keys vs static int8 (cpu backend)"
	@echo "make bench-trace    jobs/s with and without inpu-trace attached, in the VM"
	@echo "make soak       100,000 jobs, 4 processes, every device fault, kills and recoveries, in the VM"
	@echo "make check-debug    kselftests, race tests and a short soak on a KASAN/lockdep/kmemleak kernel"
	@echo "make trace      build/bin/inpu-trace, the eBPF job-latency tool"
	@echo "make clean      remove build outputs (the cache stays: $(INPU_CACHE))"

deps:
	@bash scripts/deps.sh

all: module userspace trace engine firmware kselftest host-tests qemu

# ---- kernel module -------------------------------------------------------
module: $(B)/module.log

$(B)/module.log: $(KERNEL_SRCS) $(UAPI_HEADERS)
	@test -n "$(KVER)" || { echo "no Debian 6.12 kernel headers; run 'make deps'" >&2; exit 1; }
	@mkdir -p $(B)
	bash scripts/kcompat.sh $(KDIR) $(CURDIR)/$(B)/kcompat/inpu_kcompat.h
	$(MAKE) -C $(KDIR) M=$(CURDIR) KCOMPAT_DIR=$(CURDIR)/$(B)/kcompat W=1 modules 2>&1 | tee $@.tmp; \
		st=$${PIPESTATUS[0]}; [ $$st = 0 ] && mv $@.tmp $@; exit $$st

# ---- engine --------------------------------------------------------------
engine: $(B)/engine/libinpu_engine.a $(B)/engine/libinpu_tables.a

$(B)/engine/%.o: engine/%.c $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_CFLAGS) $(call engine_simd_flags,$*) -c -o $@ $<

$(B)/engine/libinpu_engine.a: $(patsubst engine/%.c,$(B)/engine/%.o,$(ENGINE_SRCS))
	$(AR) rcs $@ $^

# Offline table generation (floating point): firmware tools and tests only.
$(B)/engine/libinpu_tables.a: $(B)/engine/tables_gen.o
	$(AR) rcs $@ $^

$(B)/asan/engine/%.o: engine/%.c $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_CFLAGS) $(SAN_FLAGS) $(call engine_simd_flags,$*) -c -o $@ $<

$(B)/asan/engine/libinpu_engine.a: $(patsubst engine/%.c,$(B)/asan/engine/%.o,$(ENGINE_SRCS))
	$(AR) rcs $@ $^

$(B)/asan/engine/libinpu_tables.a: $(B)/asan/engine/tables_gen.o
	$(AR) rcs $@ $^

# Engine benchmark (not part of 'make check': numbers, not pass/fail).
bench-engine: $(B)/bench/bench_engine
	$(B)/bench/bench_engine

$(B)/bench/bench_engine: tests/bench/bench_engine.c $(B)/engine/libinpu_engine.a $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ENGINE_CFLAGS) -D_GNU_SOURCE -o $@ $< $(B)/engine/libinpu_engine.a

# ---- firmware image ------------------------------------------------------
FW_NOTE := inpu firmware: exp and SiLU tables of engine/tables_gen.c, default geometry

firmware: $(B)/bin/inpu-fw $(B)/firmware/inpu-fw.bin

$(B)/fwtools/%.o: firmware-blob-tools/%.c $(FW_HDRS) $(ENGINE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(FW_CFLAGS) -c -o $@ $<

$(B)/bin/inpu-fw: firmware-blob-tools/inpu-fw.c $(B)/fwtools/fw_build.o \
		$(B)/engine/fw_image.o $(B)/engine/libinpu_tables.a $(FW_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(FW_CFLAGS) -o $@ $< $(B)/fwtools/fw_build.o $(B)/engine/fw_image.o \
		$(B)/engine/libinpu_tables.a -lcrypto -lm

$(B)/firmware/inpu-fw.bin: $(B)/bin/inpu-fw
	@mkdir -p $(dir $@)
	$(B)/bin/inpu-fw build -o $@ --note "$(FW_NOTE)"

$(B)/asan/fwtools/%.o: firmware-blob-tools/%.c $(FW_HDRS) $(ENGINE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(FW_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/asan/fwtools/libinpu_fw.a: $(B)/asan/fwtools/fw_build.o
	$(AR) rcs $@ $^

$(B)/asan/bin/inpu-fw: firmware-blob-tools/inpu-fw.c $(B)/asan/fwtools/fw_build.o \
		$(B)/asan/engine/fw_image.o $(B)/asan/engine/libinpu_tables.a $(FW_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(FW_CFLAGS) $(SAN_FLAGS) -o $@ $< $(B)/asan/fwtools/fw_build.o \
		$(B)/asan/engine/fw_image.o $(B)/asan/engine/libinpu_tables.a -lcrypto -lm

# libFuzzer targets (clang): the firmware image parser plus the digest check,
# the command-stream validator, the .inpu, checkpoint and tokenizer readers;
# fuzz_seeds writes their seed inputs at test time (tests/check.sh).
FUZZ_TARGETS := fw_image validate qmodel checkpoint tokenizer gguf
fuzz: $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_TARGETS)) $(B)/fuzz/fuzz_seeds

$(B)/fuzz/fuzz_fw_image: tests/fuzz/fuzz_fw_image.c engine/fw_image.c \
		firmware-blob-tools/fw_build.c engine/tables_gen.c $(FW_HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_fw_image.c engine/fw_image.c \
		firmware-blob-tools/fw_build.c engine/tables_gen.c -lcrypto -lm

# The engine with the fuzzers' instrumentation, one object per file (the
# SIMD kernels need their own target flags).
FUZZ_ENGINE_OBJS = $(patsubst engine/%.c,$(B)/fuzz/engine/%.o,$(ENGINE_SRCS) engine/tables_gen.c)
FUZZ_MODEL_CFLAGS = $(FUZZ_CFLAGS) $(MODEL_INC) -Iuserspace/lib $(DRM_CFLAGS)
FUZZ_QMODEL_SRCS = $(addprefix userspace/runtime/,qmodel.c qgraph.c qcpu.c fw_tables.c file.c \
	tokenizer.c) \
	$(B)/gen/fw_blob.c
FUZZ_CKPT_SRCS = $(addprefix userspace/,reference/checkpoint.c reference/forward_float.c \
	runtime/tokenizer.c runtime/file.c) $(wildcard userspace/reference/gguf*.c)
FUZZ_TOK_SRCS = $(addprefix userspace/runtime/,tokenizer.c file.c)
SEED_SRCS = $(addprefix userspace/runtime/,qmodel.c qgraph.c file.c tokenizer.c)

$(B)/fuzz/engine/%.o: engine/%.c $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(call engine_simd_flags,$*) -c -o $@ $<

$(B)/fuzz/fuzz_validate: tests/fuzz/fuzz_validate.c tests/fuzz/fuzz_util.h $(FUZZ_ENGINE_OBJS) $(ENGINE_HDRS) \
		$(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_ENGINE_OBJS) -lm

$(B)/fuzz/fuzz_qmodel: tests/fuzz/fuzz_qmodel.c tests/fuzz/fuzz_util.h $(FUZZ_QMODEL_SRCS) $(MODEL_HDRS) \
		$(FUZZ_ENGINE_OBJS) $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_MODEL_CFLAGS) -o $@ $< $(FUZZ_QMODEL_SRCS) $(FUZZ_ENGINE_OBJS) \
		-lcrypto -lm

$(B)/fuzz/fuzz_checkpoint: tests/fuzz/fuzz_checkpoint.c tests/fuzz/fuzz_util.h tests/fuzz/fuzz_model.h $(FUZZ_CKPT_SRCS) \
		$(MODEL_HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_MODEL_CFLAGS) -o $@ $< $(FUZZ_CKPT_SRCS) -lm

# The GGUF reader: the checkpoint target's sources (they include gguf*.c).
$(B)/fuzz/fuzz_gguf: tests/fuzz/fuzz_gguf.c tests/fuzz/fuzz_util.h tests/fuzz/fuzz_model.h $(FUZZ_CKPT_SRCS) \
		$(MODEL_HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_MODEL_CFLAGS) -o $@ $< $(FUZZ_CKPT_SRCS) -lm

$(B)/fuzz/fuzz_tokenizer: tests/fuzz/fuzz_tokenizer.c tests/fuzz/fuzz_util.h $(FUZZ_TOK_SRCS) \
		$(MODEL_HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_MODEL_CFLAGS) -o $@ $< $(FUZZ_TOK_SRCS) -lm

# Seed writer: tiny .inpu models by the real writer, their step streams.
$(B)/fuzz/fuzz_seeds: tests/fuzz/fuzz_seeds.c $(SEED_SRCS) \
		engine/validate.c $(MODEL_HDRS) $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(MODEL_CFLAGS) $(MODEL_INC) -o $@ $< $(SEED_SRCS) \
		engine/validate.c -lcrypto

# ---- userspace -----------------------------------------------------------
userspace: $(B)/bin/inpu $(B)/lib/pkgconfig/libinpu.pc

# pkg-config file for the build tree (headers: uapi/ and userspace/lib/).
$(B)/lib/pkgconfig/libinpu.pc: userspace/libinpu.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(CURDIR)|' \
	    -e 's|^includedir=.*|includedir=$(CURDIR)/userspace/lib|' \
	    -e 's|^libdir=.*|libdir=$(CURDIR)/$(B)/lib|' \
	    -e 's|^Cflags: .*|Cflags: -I$${includedir} -I$(CURDIR)/uapi|' $< >$@

$(B)/lib/%.o: userspace/lib/%.c $(LIB_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

$(B)/lib/libinpu.a: $(patsubst userspace/lib/%.c,$(B)/lib/%.o,$(LIB_SRCS))
	$(AR) rcs $@ $^

# $(1): a folder under userspace/ with one library, libinpu_$(1).a, built
# plain and with the sanitizers.
define user_lib
$(B)/$(1)/%.o: userspace/$(1)/%.c $(MODEL_HDRS) $(LIB_HDRS) $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(MODEL_CFLAGS) $$(INC_$(1)) -c -o $$@ $$<

$(B)/asan/$(1)/%.o: userspace/$(1)/%.c $(MODEL_HDRS) $(LIB_HDRS) $(ENGINE_HDRS) $(UAPI_HEADERS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(MODEL_CFLAGS) $$(INC_$(1)) $$(SAN_FLAGS) -c -o $$@ $$<

$(B)/$(1)/libinpu_$(1).a: $(patsubst userspace/$(1)/%.c,$(B)/$(1)/%.o,$(wildcard userspace/$(1)/*.c)) \
		$(EXTRA_OBJS_$(1))
	$$(AR) rcs $$@ $$^

$(B)/asan/$(1)/libinpu_$(1).a: $(patsubst userspace/$(1)/%.c,$(B)/asan/$(1)/%.o,$(wildcard userspace/$(1)/*.c)) \
		$(subst $(B)/,$(B)/asan/,$(EXTRA_OBJS_$(1)))
	$$(AR) rcs $$@ $$^
endef
# The runtime carries the firmware image of this build: the cpu backend
# reads the engine's tables from it, as the device does (fw_tables.c).
EXTRA_OBJS_runtime := $(B)/runtime/fw_blob.o
$(foreach d,$(USER_LIBS_DIRS),$(eval $(call user_lib,$(d))))

$(B)/gen/fw_blob.c: $(B)/firmware/inpu-fw.bin scripts/bin2c.sh
	@mkdir -p $(dir $@)
	bash scripts/bin2c.sh inpu_rt_fw_image $< >$@.tmp && mv $@.tmp $@

$(B)/runtime/fw_blob.o: $(B)/gen/fw_blob.c
	$(CC) $(MODEL_CFLAGS) -c -o $@ $<

$(B)/asan/runtime/fw_blob.o: $(B)/gen/fw_blob.c
	@mkdir -p $(dir $@)
	$(CC) $(MODEL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# Fine-tuning (qtune.c) is float loops over activations: -O3 vectorizes
# them behind alias checks, which -O2's cheap cost model does not.
$(B)/quantizer/qtune.o $(B)/asan/quantizer/qtune.o: MODEL_CFLAGS += -O3

# The CLI: inpu.c and its command files (cmd_run.c: inpu run, device ppl).
CLI_SRCS := $(wildcard userspace/cli/*.c)
CLI_HDRS := $(wildcard userspace/cli/*.h)

$(B)/bin/inpu: $(CLI_SRCS) $(CLI_HDRS) $(B)/lib/libinpu.a $(USER_LIBS) \
		$(B)/engine/libinpu_engine.a $(B)/engine/libinpu_tables.a \
		$(LIB_HDRS) $(MODEL_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(MODEL_INC) -o $@ $(CLI_SRCS) \
		$(USER_LIBS) $(B)/lib/libinpu.a $(MODEL_LIBS) $(DRM_LIBS) -lm

# Sanitizer builds of the same sources, for the host tests.
$(B)/asan/lib/%.o: userspace/lib/%.c $(LIB_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/asan/lib/libinpu.a: $(patsubst userspace/lib/%.c,$(B)/asan/lib/%.o,$(LIB_SRCS))
	$(AR) rcs $@ $^

$(B)/asan/bin/inpu: $(CLI_SRCS) $(CLI_HDRS) $(B)/asan/lib/libinpu.a $(ASAN_USER_LIBS) \
		$(B)/asan/engine/libinpu_engine.a $(B)/asan/engine/libinpu_tables.a \
		$(LIB_HDRS) $(MODEL_HDRS) $(UAPI_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) $(MODEL_INC) -o $@ $(CLI_SRCS) \
		$(ASAN_USER_LIBS) $(B)/asan/lib/libinpu.a $(ASAN_MODEL_LIBS) $(DRM_LIBS) -lm

# ---- eBPF job tracing (inpu-trace) ---------------------------------------
# vmlinux.h from the BTF of the headers' vmlinux, the BPF object with clang,
# its skeleton with bpftool, the loader against libbpf.
TRACE_SRCS := $(wildcard userspace/trace/*)
BPF_CFLAGS = -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
	-I$(B)/trace -Iuserspace/trace

trace: $(B)/bin/inpu-trace

$(B)/trace/vmlinux.h:
	@test -n "$(KVER)" || { echo "no Debian 6.12 kernel headers; run 'make deps'" >&2; exit 1; }
	@mkdir -p $(dir $@)
	bpftool btf dump file $(KDIR)/vmlinux format c >$@.tmp && mv $@.tmp $@

$(B)/trace/inpu_trace.bpf.o: userspace/trace/inpu_trace.bpf.c userspace/trace/inpu_trace.h \
		$(B)/trace/vmlinux.h
	clang $(BPF_CFLAGS) -c -o $@ $<

$(B)/trace/inpu_trace.skel.h: $(B)/trace/inpu_trace.bpf.o
	bpftool gen skeleton $< name inpu_trace_bpf >$@.tmp && mv $@.tmp $@

$(B)/bin/inpu-trace: userspace/trace/inpu_trace.c userspace/trace/inpu_trace.h \
		$(B)/trace/inpu_trace.skel.h $(B)/lib/libinpu.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -I$(B)/trace -Iuserspace/trace -o $@ $< \
		$(B)/lib/libinpu.a $(shell pkg-config --libs libbpf) $(DRM_LIBS)

$(B)/asan/bin/inpu-trace: userspace/trace/inpu_trace.c userspace/trace/inpu_trace.h \
		$(B)/trace/inpu_trace.skel.h $(B)/asan/lib/libinpu.a $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -I$(B)/trace -Iuserspace/trace -o $@ $< \
		$(B)/asan/lib/libinpu.a $(shell pkg-config --libs libbpf) $(DRM_LIBS)

# ---- tests ---------------------------------------------------------------
KSRC = $(shell bash scripts/ksrc.sh)
# kselftest_harness.h compares mixed types and defines functions with
# unused parameters by design.
HARNESS_CFLAGS := -Wno-unused-parameter -Wno-sign-compare -Wno-clobbered
HOST_TESTS := $(patsubst tests/host/%.c,$(B)/host-tests/%,$(wildcard tests/host/*.c))

host-tests: $(HOST_TESTS) $(B)/asan/bin/inpu $(B)/asan/bin/inpu-fw $(B)/asan/bin/inpu-trace

$(B)/host-tests/%: tests/host/%.c $(B)/asan/lib/libinpu.a $(B)/asan/fwtools/libinpu_fw.a \
		$(B)/asan/engine/libinpu_engine.a $(B)/asan/engine/libinpu_tables.a \
		$(ASAN_USER_LIBS) \
		$(LIB_HDRS) $(ENGINE_HDRS) $(UAPI_HEADERS) $(FW_HDRS) $(MODEL_HDRS) \
		$(wildcard tests/host/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iengine -Ifirmware-blob-tools $(MODEL_INC) -D_GNU_SOURCE $(HARNESS_CFLAGS) $(SAN_FLAGS) \
		-I$(KSRC)/tools/testing/selftests \
		-o $@ $< $(ASAN_USER_LIBS) $(B)/asan/lib/libinpu.a \
		$(B)/asan/fwtools/libinpu_fw.a $(B)/asan/engine/libinpu_engine.a \
		$(B)/asan/engine/libinpu_tables.a $(DRM_LIBS) -lcrypto $(BLAS_LIBS) -lm

# The quantizer tests: the model library before the engine it uses.
$(B)/host-tests/test_quant_%: tests/host/test_quant_%.c $(B)/asan/lib/libinpu.a \
		$(B)/asan/engine/libinpu_engine.a $(B)/asan/engine/libinpu_tables.a \
		$(ASAN_USER_LIBS) \
		$(LIB_HDRS) $(ENGINE_HDRS) $(UAPI_HEADERS) $(MODEL_HDRS) tests/host/model_util.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iengine $(MODEL_INC) -D_GNU_SOURCE $(HARNESS_CFLAGS) $(SAN_FLAGS) \
		-I$(KSRC)/tools/testing/selftests \
		-o $@ $< $(ASAN_USER_LIBS) $(B)/asan/lib/libinpu.a \
		$(ASAN_MODEL_LIBS) $(DRM_LIBS) -lm

# The job tests link libinpu and the engine (their CPU reference); the job
# benchmark lands in $(B)/bench, outside the kselftest directory.
kselftest: $(B)/lib/libinpu.a engine
	$(MAKE) -C tests/kselftest/inpu KSFT_DIR=$(KSRC)/tools/testing/selftests \
		UAPI_DIR=$(CURDIR)/uapi OUTPUT=$(CURDIR)/$(B)/kselftest \
		BENCH_OUTPUT=$(CURDIR)/$(B)/bench \
		LIBINPU=$(CURDIR)/$(B)/lib/libinpu.a LIBINPU_INC=$(CURDIR)/userspace/lib \
		ENGINE_LIB=$(CURDIR)/$(B)/engine/libinpu_engine.a \
		TABLES_LIB=$(CURDIR)/$(B)/engine/libinpu_tables.a \
		ENGINE_INC=$(CURDIR)/engine

# ---- models --------------------------------------------------------------
# Real models quantized at build time (build outputs, never committed) from
# the shared folder (scripts/env.sh inpu_shared): stories260K W8A8 with the
# quantizer's default options (about 30 s on one core) and W4A8 with 8
# passes of fine-tuning too (about 2.5 minutes on 2 cores; +4.5% perplexity
# against +12.7% without, userspace/quantizer/README.md); BabyLlama 1M (a
# character-level vocabulary without byte tokens) W8A8 and W4A8 without
# fine-tuning (--rtn: W4A8 would fine-tune a model this small by default;
# about 45 and 60 s; W4A8 is +2.1% already, quantizer README.md).  They
# are remade when the quantizer changes, not when only the CLI does.
MODEL_NAMES := stories260K-w8a8.inpu stories260K-w4a8.inpu babyllama-1M-w8a8.inpu \
	babyllama-1M-w4a8.inpu
MODELS := $(addprefix $(B)/models/,$(MODEL_NAMES)) $(B)/models/tok512.bin \
	$(B)/models/tok105.bin
QUANT_DEPS := $(wildcard userspace/quantizer/*.[ch]) uapi/inpu/inpu_model_file.h \
	$(addprefix userspace/,runtime/qmodel.c runtime/qmodel.h runtime/requant.c \
	runtime/tokenizer.c reference/forward_float.c reference/checkpoint.c reference/model.h)
QUANT_OPTS_w8a8 :=
QUANT_OPTS_w4a8 := --finetune 8
QUANT_OPTS_baby_w8a8 :=
# BabyLlama W4A8: round-to-nearest (quick; +2.1%, better than fine-tuned
# here), the default 4-bit codes with 8-bit layers mixed in.
QUANT_OPTS_baby_w4a8 := --rtn

models: $(MODELS)

# $(call quantize,NAME,CHECKPOINT,TOKENIZER,OPTS) for the target $@, scheme
# $*; the two paths relative to the shared folder.
define quantize
	@mkdir -p $(dir $@)
	@shared=$$(. scripts/env.sh && inpu_shared) || exit 1; \
	echo "quantize $(1) ($*) -> $@"; \
	$(B)/bin/inpu quantize -m "$$shared/$(2)" -z "$$shared/$(3)" \
		-c "$$shared/data/tinystories-calib.txt" \
		--scheme $* $(4) -o $@.tmp >$@.log 2>&1 || { tail -n 20 $@.log >&2; rm -f $@.tmp; exit 1; }; \
	mv $@.tmp $@; grep '^time:' $@.log
endef

$(B)/models/stories260K-%.inpu: $(QUANT_DEPS) | $(B)/bin/inpu
	$(call quantize,stories260K,models/stories260K.bin,models/tok512.bin,$(QUANT_OPTS_$*))

$(B)/models/babyllama-1M-%.inpu: $(QUANT_DEPS) | $(B)/bin/inpu
	$(call quantize,babyllama-1M,models/babyllama/babyllama-1M.bin,models/babyllama/tok105.bin,$(QUANT_OPTS_baby_$*))

$(B)/models/tok512.bin $(B)/models/tok105.bin:
	@mkdir -p $(dir $@)
	@shared=$$(. scripts/env.sh && inpu_shared) || exit 1; \
	cp "$$shared/models/$(if $(findstring tok105,$@),babyllama/)$(notdir $@)" $@

# ---- QEMU and the VM -----------------------------------------------------
qemu:
	bash scripts/build-qemu.sh

# In the guest: /opt/inpu/{bin,kselftest,models,data}; models/ holds the
# quantized models of 'make models' and their tokenizers, and any files
# named in USER_MODELS (make vm-shell USER_MODELS=my.inpu); data/ the dev
# text (for inpu ppl).
$(B)/vm/initramfs.cpio: module userspace trace kselftest firmware models tests/vm/init \
		tests/vm/mkinitramfs.sh tests/vm/guest-check.sh tests/vm/trace-overhead.sh \
		tests/vm/soak.sh FORCE
	rm -rf $(B)/vm/root $(B)/vm/firmware
	mkdir -p $(B)/vm/root/bin $(B)/vm/root/kselftest $(B)/vm/root/models \
		$(B)/vm/root/data $(B)/vm/firmware
	cp inpu.ko $(B)/vm/root/
	cp $(B)/bin/inpu $(B)/bin/inpu-trace $(B)/bench/inpu_job_bench $(B)/bench/inpu_trace_load \
		$(B)/bench/inpu_reliability_test $(B)/bench/inpu_ioctl_fuzz \
		$(B)/bench/inpu_hostile_test $(B)/bench/inpu_soak \
		$(B)/vm/root/bin/
	cp $(B)/kselftest/* $(B)/vm/root/kselftest/
	cp $(MODELS) $(B)/vm/root/models/
	$(if $(USER_MODELS),cp $(USER_MODELS) $(B)/vm/root/models/)
	shared=$$(. scripts/env.sh && inpu_shared) && \
		cp "$$shared/data/tinystories-dev.txt" $(B)/vm/root/data/
	cp tests/vm/guest-check.sh tests/vm/trace-overhead.sh tests/vm/soak.sh $(B)/vm/root/
	cp $(B)/firmware/inpu-fw.bin $(B)/vm/firmware/
	bash tests/vm/mkinitramfs.sh $(KVER) $(B)/vm/root $@ $(B)/vm/firmware

initramfs: $(B)/vm/initramfs.cpio

vm-shell: initramfs qemu
	bash tests/vm/run-vm.sh -s $(B)/vm/initramfs.cpio

# Job throughput in the VM (numbers, not pass/fail; not part of 'make check').
bench-vm: initramfs qemu
	bash tests/vm/run-vm.sh -t 600 $(B)/vm/initramfs.cpio 'inpu_job_bench'

# Model speed: VM device vs host cpu backend vs cycle model vs llama.cpp
# anchors, for stories260K and random stories15M/110M-shaped models.
bench: deps
	@$(MAKE) --no-print-directory bench-run

bench-run: initramfs qemu models $(B)/bench/synth_model $(B)/bench/pad_model $(B)/bench/memread
	bash tests/bench/run-bench.sh

# Quantizer time and peak memory, W8A8 and W4A8 with the default options,
# on stories15M/110M-shaped random checkpoints and the two real models:
# build/bench/quantize.md (tests/bench/bench-quantize.sh).
bench-quantize: $(B)/bin/inpu $(B)/bench/synth_model
	bash tests/bench/bench-quantize.sh

# Decode speed of per-token scales and int16 keys against static int8,
# both quantized by this inpu, on the cpu backend of this host:
# build/bench/act-scales.md (tests/bench/bench-act-scales.sh).
bench-act-scales: $(B)/bin/inpu $(B)/bench/synth_model
	bash tests/bench/bench-act-scales.sh

$(B)/bench/synth_model: tests/bench/synth_model.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -o $@ $< -lm

# make bench's anchor and ceiling: stories260K padded for llama.cpp's
# blocks of 32, and one core's memory read speed.
$(B)/bench/pad_model: tests/bench/pad_model.c $(USER_LIBS) $(B)/lib/libinpu.a $(MODEL_HDRS) \
		$(B)/engine/libinpu_engine.a $(B)/engine/libinpu_tables.a
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(MODEL_INC) -o $@ $< \
		$(USER_LIBS) $(B)/lib/libinpu.a $(MODEL_LIBS) -lm

$(B)/bench/memread: tests/bench/memread.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -o $@ $<

# inpu-trace's cost: jobs/s with and without it attached, in the VM.
bench-trace: initramfs qemu
	bash tests/vm/run-vm.sh -t 900 $(B)/vm/initramfs.cpio 'sh /opt/inpu/trace-overhead.sh'

# ---- soak and the debug kernel -------------------------------------------
# 100,000 jobs from 4 processes, every device fault, kills, closes and
# forced recoveries (tests/kselftest/inpu/inpu_soak.c); not in make check.
SOAK_ARGS ?= -j 100000 -p 4
soak: initramfs qemu
	bash tests/vm/run-vm.sh -t 3600 -q fault-inject=on $(B)/vm/initramfs.cpio \
		'sh /opt/inpu/soak.sh $(SOAK_ARGS)'

# The kselftests, the race tests and a short soak on a KASAN, lockdep,
# fault-injection, DMA-API-debug and kmemleak kernel built from Debian's
# linux-source-6.12 (scripts/build-debug-kernel.sh, cached).
check-debug: deps
	@$(MAKE) --no-print-directory check-debug-run

check-debug-run: initramfs qemu
	@bash tests/vm/check-debug.sh

# ---- the two README commands ---------------------------------------------
check: deps
	@$(MAKE) --no-print-directory check-run

check-run:
	@bash tests/check.sh

demo: deps
	@$(MAKE) --no-print-directory demo-run

# The device query, then stories260K (W8A8) generating a story on the
# device through /dev/accel/accel0, with its stats.
DEMO_MODEL ?= stories260K-w8a8.inpu
DEMO_RUN = inpu run -m /opt/inpu/models/$(DEMO_MODEL) -z /opt/inpu/models/tok512.bin \
	-p "Once upon a time" -n 256 --backend device -d /dev/accel/accel0

demo-run: initramfs qemu
	bash tests/vm/run-vm.sh -t 600 $(B)/vm/initramfs.cpio 'inpu info && echo && $(DEMO_RUN)'

clean:
	rm -rf $(B)
	-$(MAKE) -C $(KDIR) M=$(CURDIR) KCOMPAT_DIR=/nonexistent clean >/dev/null 2>&1

FORCE:
.PHONY: help deps all module userspace trace engine firmware fuzz bench bench-run bench-engine bench-quantize bench-act-scales bench-vm bench-trace host-tests kselftest qemu initramfs models \
	vm-shell check check-run demo demo-run clean FORCE soak check-debug check-debug-run
