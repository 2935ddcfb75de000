# vdkim - DKIM signing module for MTAs.
#
#   make          build the module (build/vdkim.so), vdkimctl, tests, benches
#   make check    install what is missing, then run every test (unit tests,
#                 the same under ASan+UBSan, interoperability over real DNS,
#                 keys in devices: make hsm / hsm-san)
#   make demo     sign and verify real mail end to end
#   make bench    the benchmarks (not tests)
#   make install  PREFIX=/usr/local DESTDIR= (also make uninstall)
#   make deb      the Debian packages, into build/deb (make package tests them)
#
# BUILD selects the output folder; SAN=1 builds with AddressSanitizer and
# UndefinedBehaviorSanitizer (used by "check" in build/san).

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc

PKGS       := openssl libconfuse libpsl libidn2
CHECK_PKGS := check
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
# CPPFLAGS and LDFLAGS: a packager's (dpkg-buildflags: fortify, relro, now).
LDFLAGS ?=
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(CPPFLAGS) $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden \
           -Iinclude $(shell pkg-config --cflags $(PKGS))
# One version for the module and the programs (--version): the module's,
# from api/get_api.c.
MODULE_VERSION := $(shell sed -n 's/^\#define VDKIM_MODULE_VERSION "\(.*\)"/\1/p' \
    api/get_api.c)

# The module's layers, lowest first.  A file sees the headers of its own
# layer and of the layers below it, never of one above: the include paths
# are the dependency graph, and the compiler refuses a reach upwards.
#   util    buffers, errors, base64, intervals, names, the config-text reader
#           (also linked by hosts: libvdkim-util.a)
#   engine  DKIM itself: split, canonicalize, sign, verify, keys, DNS
#   device  keys held by PKCS#11 tokens, TPMs and offload cards
#   policy  the config, per-VMTA decisions, rotation, the message path
# api/ (the ABI) and tools/ (vdkimctl) sit on top of policy; the harness
# and other hosts see only include/vdkim/vdkim.h and util.
UTIL_INC   := -Imodule/util
ENGINE_INC := $(UTIL_INC) -Imodule/engine
DEVICE_INC := $(ENGINE_INC) -Imodule/device
POLICY_INC := $(DEVICE_INC) -Imodule/policy
$(BUILD)/obj/module/util/%.o:   ALL_CFLAGS += $(UTIL_INC)
$(BUILD)/obj/module/engine/%.o: ALL_CFLAGS += $(ENGINE_INC)
$(BUILD)/obj/module/device/%.o: ALL_CFLAGS += $(DEVICE_INC)
$(BUILD)/obj/module/policy/%.o: ALL_CFLAGS += $(POLICY_INC)
$(BUILD)/obj/api/%.o:           ALL_CFLAGS += $(POLICY_INC)
$(BUILD)/obj/tools/%.o:         ALL_CFLAGS += $(POLICY_INC) \
                                -DVDKIM_VERSION=\"$(MODULE_VERSION)\"
$(BUILD)/obj/tests/%.o:         ALL_CFLAGS += $(POLICY_INC)
$(BUILD)/obj/harness/%.o:       ALL_CFLAGS += $(UTIL_INC) \
                                -DVDKIM_VERSION=\"$(MODULE_VERSION)\"
# The milter is a host like the harness (util + vdkim.h), and shares the
# harness's process log (harness/log.c) and host-block parser
# (harness/host_conf.c).
$(BUILD)/obj/milter/%.o:        ALL_CFLAGS += $(UTIL_INC) -Iharness \
                                -DVDKIM_VERSION=\"$(MODULE_VERSION)\"
LIBS    := $(shell pkg-config --libs $(PKGS)) -lresolv -lpthread

# VDKIM_ENGINE=0 builds without the OpenSSL ENGINE path (openssl-engine
# blocks are then refused); the provider path is always there.
VDKIM_ENGINE ?= 1
ALL_CFLAGS += -DVDKIM_ENGINE=$(VDKIM_ENGINE)

# How the sanitizer runs report: leaks checked, the first error stops the
# run (hsm-san turns leak checks off: OpenSSL engines keep memory to exit).
SAN_LEAKS = 1
SAN_ENV = ASAN_OPTIONS=detect_leaks=$(SAN_LEAKS):abort_on_error=0 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

ifeq ($(SAN),1)
ALL_CFLAGS += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
LDSAN      := -fsanitize=address,undefined
endif

UTIL_SRC   := $(sort $(wildcard module/util/*.c))
MODULE_SRC := $(UTIL_SRC) $(sort $(wildcard module/engine/*.c module/device/*.c \
              module/policy/*.c))
API_SRC    := $(sort $(wildcard api/*.c api/exim/*.c))
TOOL_SRC   := $(sort $(wildcard tools/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/*.c))
ABI_SRC    := $(sort $(wildcard tests/abi/*.c))
HARNESS_SRC := $(sort $(wildcard harness/*.c))
MILTER_SRC := $(sort $(wildcard milter/*.c))

UTIL_OBJ   := $(UTIL_SRC:%.c=$(BUILD)/obj/%.o)
MODULE_OBJ := $(MODULE_SRC:%.c=$(BUILD)/obj/%.o)
API_OBJ    := $(API_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_OBJ   := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
ABI_OBJ    := $(ABI_SRC:%.c=$(BUILD)/obj/%.o)
HARNESS_OBJ := $(HARNESS_SRC:%.c=$(BUILD)/obj/%.o)
# What the milter shares with the harness: the process log, the host-block
# parser, GET /metrics.
HOST_SHARED_OBJ := $(addprefix $(BUILD)/obj/harness/,log.o log_syslog.o \
              reopen_file.o host_conf.o metrics_http.o net_addr.o)
MILTER_OBJ := $(MILTER_SRC:%.c=$(BUILD)/obj/%.o) $(HOST_SHARED_OBJ)

UTIL_LIB   := $(BUILD)/libvdkim-util.a
ENGINE_LIB := $(BUILD)/libvdkim.a
SO         := $(BUILD)/vdkim.so
VDKIMCTL   := $(BUILD)/vdkimctl
UNIT       := $(BUILD)/unit_tests
ABI_TEST   := $(BUILD)/abi_test
EXIM_SHIM_TEST := $(BUILD)/exim_shim_test
HARNESS    := $(BUILD)/vdkim-harness
MILTER     := $(BUILD)/vdkim-milter
PEERS      := $(BUILD)/peers/opendkim_peer
BENCHES    := $(BUILD)/bench_engine $(BUILD)/smtp_load $(BUILD)/device_bench \
              $(BUILD)/fork_bench $(BUILD)/stats_bench $(BUILD)/scale_bench \
              $(BUILD)/abi_body_bench
# The simulated offload card (an OpenSSL provider), for tests and benches.
DEVICE_SIM := $(BUILD)/device_sim/vdkim_sim.so
# A file whose open() waits while a test wants (LD_PRELOAD): a long reload.
OPEN_GATE  := $(BUILD)/open_gate.so

.PHONY: all check unit unit-san abi abi-san harness harness-san interop policy-cli exim \
	rotation rotation-san dnscheck hsm hsm-san milter milter-san milter-sendmail metrics import import-san \
	demo bench deps deps-demo setup-test install clean programs uninstall deb package

all: $(SO) $(VDKIMCTL) $(HARNESS) $(MILTER) $(UNIT) $(ABI_TEST) $(EXIM_SHIM_TEST) $(PEERS) \
	$(BENCHES) $(DEVICE_SIM) $(BUILD)/hsm_steps $(OPEN_GATE)

# The Debian packages (scripts/deps.sh): "make demo" installs only the
# demo's (deps-demo), "make check" and "make bench" everything (deps);
# setup-test checks the script with stand-ins for apt (tests/deps/run.sh).
deps:
	@sh scripts/deps.sh check

deps-demo:
	@sh scripts/deps.sh demo

setup-test:
	bash tests/deps/run.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(ENGINE_LIB): $(MODULE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The small library hosts share with the module: strbuf, errors, the
# config-text reader (a host's own block lives in the same file).
$(UTIL_LIB): $(UTIL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SO): $(MODULE_OBJ) $(API_OBJ) api/vdkim.map
	$(CC) -shared -o $@ $(MODULE_OBJ) $(API_OBJ) $(LDSAN) $(LDFLAGS) \
	    -Wl,--version-script=api/vdkim.map -Wl,-z,defs $(LIBS)

$(VDKIMCTL): $(TOOL_OBJ) $(ENGINE_LIB)
	$(CC) -o $@ $(TOOL_OBJ) $(ENGINE_LIB) $(LDSAN) $(LDFLAGS) $(LIBS)

$(UNIT): $(UNIT_OBJ) $(ENGINE_LIB)
	$(CC) -o $@ $(UNIT_OBJ) $(ENGINE_LIB) $(LDSAN) \
	    $(shell pkg-config --libs $(CHECK_PKGS)) $(LIBS)

# The harness loads vdkim.so like any MTA; of the module it links only
# the util library (its settings live in the same file as the policy).
$(HARNESS): $(HARNESS_OBJ) $(UTIL_LIB)
	$(CC) -o $@ $(HARNESS_OBJ) $(UTIL_LIB) $(LDSAN) $(LDFLAGS) \
	    $(shell pkg-config --libs libconfuse openssl) -ldl -lpthread

# vdkim-milter: the module behind libmilter, for Postfix and Sendmail.
$(MILTER): $(MILTER_OBJ) $(UTIL_LIB)
	$(CC) -o $@ $(MILTER_OBJ) $(UTIL_LIB) $(LDSAN) $(LDFLAGS) \
	    $(shell pkg-config --libs libconfuse openssl) -lmilter -ldl -lpthread

# The ABI test dlopens vdkim.so and checks its signatures with the engine.
$(ABI_TEST): $(ABI_OBJ) $(ENGINE_LIB)
	$(CC) -o $@ $(ABI_OBJ) $(ENGINE_LIB) $(LDSAN) \
	    $(shell pkg-config --libs $(CHECK_PKGS)) $(LIBS) -ldl

# The Exim shim uses the dlfunc API of exim4-dev's local_scan.h (types and
# return codes only: Exim's functions are found at run time).
EXIM_INCLUDE ?= /usr/include/exim4
$(BUILD)/obj/api/exim/%.o: ALL_CFLAGS += -isystem $(EXIM_INCLUDE)

# The Exim shim's test plays Exim: it exports Exim's API (-rdynamic) for
# the vdkim.so it dlopens to find.
$(EXIM_SHIM_TEST): $(BUILD)/obj/tests/exim/exim_shim_test.o \
    $(BUILD)/obj/tests/abi/work_keys.o $(ENGINE_LIB)
	$(CC) -rdynamic -o $@ $(filter %.o,$^) $(ENGINE_LIB) $(LDSAN) \
	    $(shell pkg-config --libs $(CHECK_PKGS)) $(LIBS) -ldl

$(BUILD)/obj/tests/exim/%.o: ALL_CFLAGS += $(shell pkg-config --cflags $(CHECK_PKGS)) \
	-isystem $(EXIM_INCLUDE) -Itests/abi

$(BUILD)/obj/tests/abi/%.o: ALL_CFLAGS += $(shell pkg-config --cflags $(CHECK_PKGS))

$(BUILD)/obj/tests/unit/%.o: ALL_CFLAGS += $(shell pkg-config --cflags $(CHECK_PKGS)) \
	-DVDKIM_TESTDATA=\"$(CURDIR)/tests/data\"

# Peers: small programs around the libraries we test against.
$(BUILD)/peers/opendkim_peer: tests/peers/opendkim_peer.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	    $(shell pkg-config --cflags opendkim) -o $@ $< \
	    $(shell pkg-config --libs opendkim) -lssl -lcrypto

# The MTA benchmark's load generator and SMTP sink.
$(BUILD)/smtp_load: bench/smtp_load.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDSAN) -lpthread

$(DEVICE_SIM): tests/device_sim/sim_provider.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< $(LDSAN) -lcrypto -lpthread

# Never sanitized (also in build/san): it is preloaded after the ASan runtime.
$(OPEN_GATE): tests/harness/open_gate.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -fPIC -shared \
	    -o $@ $< -ldl

# A host for the device tests: signs on command between device changes.
$(BUILD)/hsm_steps: tests/hsm/sign_steps.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDSAN) -ldl -lpthread

# The benchmarks that play a host share loading vdkim.so and signing one
# message (bench/bench_abi.c, compiled into each).
BENCH_ABI := bench/bench_abi.c bench/bench_abi.h

# Device signing rates through vdkim.so (dlopen, like a host).
$(BUILD)/device_bench: bench/device_bench.c $(BENCH_ABI)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LDSAN) -ldl -lpthread

# Signing with the counters off and on (through vdkim.so).
$(BUILD)/stats_bench: bench/stats_bench.c $(BENCH_ABI)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LDSAN) -ldl

# A forked child's first signature against a warm one (through vdkim.so).
$(BUILD)/fork_bench: bench/fork_bench.c $(BENCH_ABI)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LDSAN) -ldl

# Many domain-keys and virtual MTAs: the engine library for the load's
# internals, vdkim.so (dlopen) for messages.
$(BUILD)/scale_bench: bench/scale_bench.c $(BENCH_ABI) $(ENGINE_LIB)
	$(CC) $(ALL_CFLAGS) $(POLICY_INC) -o $@ $(filter %.c,$^) $(ENGINE_LIB) $(LDSAN) \
	    $(LIBS) -ldl

# Relaxed bodies through vdkim.so against SHA-256 (issue 13).
$(BUILD)/abi_body_bench: bench/abi_body_bench.c $(BENCH_ABI)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LDSAN) -ldl -lcrypto

$(BUILD)/bench_engine: bench/bench_engine.c $(ENGINE_LIB)
	$(CC) $(ALL_CFLAGS) $(ENGINE_INC) $(shell pkg-config --cflags opendkim) -o $@ $< \
	    $(ENGINE_LIB) $(shell pkg-config --libs opendkim) $(LIBS)

unit: $(UNIT)
	$(UNIT)

unit-san:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/unit_tests
	$(SAN_ENV) build/san/unit_tests

abi: $(SO) $(VDKIMCTL) $(ABI_TEST) $(EXIM_SHIM_TEST)
	bash tests/abi/run.sh $(BUILD)
	bash tests/install/run.sh $(BUILD)

# An ASan module must be loaded by an ASan program: both come from build/san.
abi-san:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/vdkim.so \
	    build/san/abi_test build/san/exim_shim_test
	$(MAKE) --no-print-directory $(VDKIMCTL)
	$(SAN_ENV) \
	VDKIMCTL=$(CURDIR)/$(VDKIMCTL) bash tests/abi/run.sh build/san

harness: $(HARNESS) $(SO) $(VDKIMCTL) $(OPEN_GATE)
	bash tests/harness/run.sh $(BUILD)

# An ASan module must be loaded by an ASan program: both come from build/san.
harness-san:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/vdkim.so \
	    build/san/vdkim-harness build/san/open_gate.so
	$(MAKE) --no-print-directory $(VDKIMCTL)
	$(SAN_ENV) \
	VDKIMCTL=$(CURDIR)/$(VDKIMCTL) bash tests/harness/run.sh build/san

interop: $(VDKIMCTL) $(PEERS)
	bash tests/interop/run.sh $(BUILD)

policy-cli: $(VDKIMCTL)
	bash tests/policy/run.sh $(BUILD)

# The real Exim 4.96 signing through ${dlfunc} (tests/exim/run.sh).
exim: $(SO) $(VDKIMCTL) $(PEERS)
	bash tests/exim/run.sh $(BUILD)

rotation: $(VDKIMCTL) $(SO) $(HARNESS)
	bash tests/rotation/run.sh $(BUILD)

dnscheck: $(VDKIMCTL) $(SO) $(HARNESS)
	bash tests/dnscheck/run.sh $(BUILD)

# An ASan module must be loaded by an ASan program: all come from build/san.
rotation-san:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/vdkimctl \
	    build/san/vdkim.so build/san/vdkim-harness
	$(SAN_ENV) \
	bash tests/rotation/run.sh build/san

# Keys in devices: SoftHSM2 (PKCS#11 engine), swtpm (tpm2 provider), the
# simulated offload card; also under ASan+UBSan (hsm-san).
hsm: $(SO) $(VDKIMCTL) $(HARNESS) $(PEERS) $(DEVICE_SIM) $(BUILD)/hsm_steps \
    $(BUILD)/device_bench
	bash tests/hsm/run.sh $(BUILD)

hsm-san: SAN_LEAKS = 0
hsm-san:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/vdkim.so \
	    build/san/hsm_steps build/san/device_bench \
	    build/san/device_sim/vdkim_sim.so build/san/vdkim-harness
	$(MAKE) --no-print-directory $(VDKIMCTL) $(PEERS)
	$(SAN_ENV) \
	VDKIMCTL=$(CURDIR)/$(VDKIMCTL) PEERS=$(CURDIR)/$(BUILD)/peers \
	HSM_QUICK=1 bash tests/hsm/run.sh build/san

# The real Postfix 3.7 (Debian's package, cached under BUILD, unpacked
# into a work folder, not installed) signing through vdkim-milter (tests/milter/run.sh).
milter: $(SO) $(VDKIMCTL) $(MILTER) $(PEERS) $(BUILD)/failing_module.so
	bash tests/milter/run.sh $(BUILD)

# A module whose every message fails: the milter's module-error path.
$(BUILD)/failing_module.so: tests/milter/failing_module.c include/vdkim/vdkim.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< $(LDSAN)

# libmilter's callbacks under ASan+UBSan, driven by miltertest.
milter-san:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/vdkim.so \
	    build/san/vdkim-milter build/san/failing_module.so
	$(MAKE) --no-print-directory $(VDKIMCTL)
	$(SAN_ENV) \
	VDKIMCTL=$(CURDIR)/$(VDKIMCTL) bash tests/milter/san.sh build/san

# A real Sendmail 8.17 (Debian's packages, cached under BUILD, unpacked into
# a work folder, not installed; sendmail.cf built with m4) signing through
# vdkim-milter (tests/milter/sendmail.sh).
milter-sendmail: $(SO) $(VDKIMCTL) $(MILTER)
	bash tests/milter/sendmail.sh $(BUILD)

# The counters end to end: GET /metrics of the harness and the milter,
# promtool, a private Prometheus 2.42 scraping the harness, vdkimctl stats,
# the real Exim's processes adding into one stats-file (tests/metrics/run.sh).
metrics: $(SO) $(VDKIMCTL) $(HARNESS) $(MILTER)
	bash tests/metrics/run.sh $(BUILD)

# vdkimctl import pmta|opendkim, and the imported config against Debian's
# opendkim behind the milter tests' private Postfix (tests/import/run.sh).
import: $(VDKIMCTL) $(SO) $(MILTER)
	bash tests/import/run.sh $(BUILD)

# The importers under ASan+UBSan (their own checks; the equivalence with
# opendkim, which runs no vdkimctl code, is make import's).
import-san:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 build/san/vdkimctl
	$(SAN_ENV) IMPORT_CLI_ONLY=1 VDKIMCTL=$(CURDIR)/build/san/vdkimctl \
	    bash tests/import/run.sh build/san

# ---------------------------------------------------------------- fuzzing
# libFuzzer harnesses for every surface that takes outside bytes
# (tests/fuzz/README.md).  One source per harness links either with
# libFuzzer (clang, FUZZ=1, build/fuzzer: "make fuzz") or with
# tests/fuzz/replay.c (gcc + ASan/UBSan, build/san: "make fuzz-replay",
# part of check: every corpus file and past crash, no clang needed), or
# with gcov (COV=1, build/cov: "make fuzz-coverage").
FUZZ_NAMES := verify sign tag_list key_record body_canon conf rot_state \
              decide smtp exim_spool milter
FUZZ_SECONDS ?= 60
FUZZ_OBJ = $(BUILD)/obj/tests/fuzz
# What each harness links besides its own file and fuzz_common.o: the
# engine library for the module's surfaces; only util for the harness's
# SMTP code (as the harness links it); the milter's callbacks with the
# module linked in (no dlopen).  .SECONDEXPANSION lets the link rule
# pick the list by the harness's name.
FUZZ_MODULE = $(FUZZ_OBJ)/fuzz_keys.o $(ENGINE_LIB)
FUZZ_LINK_verify     = $(FUZZ_MODULE)
FUZZ_LINK_sign       = $(FUZZ_MODULE)
FUZZ_LINK_tag_list   = $(FUZZ_MODULE)
FUZZ_LINK_key_record = $(FUZZ_MODULE)
FUZZ_LINK_body_canon = $(FUZZ_OBJ)/body_canon_plain.o $(FUZZ_MODULE)
FUZZ_LINK_conf       = $(FUZZ_OBJ)/fuzz_file.o $(FUZZ_MODULE)
FUZZ_LINK_rot_state  = $(FUZZ_MODULE)
FUZZ_LINK_decide     = $(FUZZ_OBJ)/fuzz_policy.o $(FUZZ_MODULE)
FUZZ_LINK_smtp       = $(BUILD)/obj/harness/smtp_session.o \
                       $(BUILD)/obj/harness/dot_codec.o \
                       $(BUILD)/obj/harness/envelope.o $(UTIL_LIB)
FUZZ_LINK_exim_spool = $(BUILD)/obj/api/exim/exim_spool.o $(UTIL_LIB)
FUZZ_LINK_milter     = $(BUILD)/obj/milter/session.o \
                       $(BUILD)/obj/milter/milter_config.o \
                       $(HOST_SHARED_OBJ) \
                       $(FUZZ_OBJ)/fuzz_policy.o \
                       $(filter-out $(BUILD)/obj/api/exim/%,$(API_OBJ)) \
                       $(FUZZ_MODULE)

ifeq ($(FUZZ),1)
CC         := clang
ALL_CFLAGS += -O1 -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all -fno-omit-frame-pointer
LDSAN      := -fsanitize=fuzzer,address,undefined
FUZZ_DRIVER :=
else
FUZZ_DRIVER = $(FUZZ_OBJ)/replay.o
endif
ifeq ($(COV),1)
ALL_CFLAGS += -O0 --coverage
LDSAN      := --coverage
endif

$(FUZZ_OBJ)/%.o: ALL_CFLAGS += -Itests/fuzz -Iharness -Imilter -Iapi \
	-Iapi/exim -isystem $(EXIM_INCLUDE) -DVDKIM_TESTDATA=\"$(CURDIR)/tests/data\"

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: $(FUZZ_OBJ)/fuzz_%.o $(FUZZ_OBJ)/fuzz_common.o \
    $(FUZZ_DRIVER) $$(FUZZ_LINK_$$*)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o %.a,$^) $(LDSAN) \
	    $(shell pkg-config --libs libconfuse openssl) $(LIBS) -ldl

.PHONY: fuzz fuzz-replay fuzz-coverage
# Every corpus file and every past crash, under ASan+UBSan, without clang.
fuzz-replay:
	$(MAKE) --no-print-directory BUILD=build/san SAN=1 \
	    $(FUZZ_NAMES:%=build/san/fuzz/fuzz_%)
	$(SAN_ENV) bash tests/fuzz/replay.sh build/san $(FUZZ_NAMES)

# Each harness FUZZ_SECONDS (default 60) with libFuzzer (needs clang:
# scripts/deps.sh fuzz installs it).
fuzz:
	@sh scripts/deps.sh fuzz
	$(MAKE) --no-print-directory BUILD=build/fuzzer FUZZ=1 \
	    $(FUZZ_NAMES:%=build/fuzzer/fuzz/fuzz_%)
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh build/fuzzer $(FUZZ_NAMES)

# Line coverage of the engine's parsers by the replayed corpora (gcov).
fuzz-coverage:
	$(MAKE) --no-print-directory BUILD=build/cov COV=1 \
	    $(FUZZ_NAMES:%=build/cov/fuzz/fuzz_%)
	bash tests/fuzz/coverage.sh build/cov $(FUZZ_NAMES)

-include $(wildcard $(BUILD)/obj/tests/fuzz/*.d)

check: deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory unit-san
	$(MAKE) --no-print-directory fuzz-replay
	$(MAKE) --no-print-directory abi
	$(MAKE) --no-print-directory abi-san
	$(MAKE) --no-print-directory policy-cli
	$(MAKE) --no-print-directory rotation
	$(MAKE) --no-print-directory dnscheck
	$(MAKE) --no-print-directory rotation-san
	$(MAKE) --no-print-directory harness
	$(MAKE) --no-print-directory harness-san
	$(MAKE) --no-print-directory interop
	$(MAKE) --no-print-directory exim
	$(MAKE) --no-print-directory hsm
	$(MAKE) --no-print-directory hsm-san
	$(MAKE) --no-print-directory milter
	$(MAKE) --no-print-directory milter-san
	$(MAKE) --no-print-directory milter-sendmail
	$(MAKE) --no-print-directory metrics
	$(MAKE) --no-print-directory import
	$(MAKE) --no-print-directory import-san
	$(MAKE) --no-print-directory package
	$(MAKE) --no-print-directory setup-test
	bash scripts/demo.sh $(BUILD)

demo: deps-demo
	$(MAKE) --no-print-directory $(SO) $(VDKIMCTL) $(HARNESS) $(PEERS)
	bash scripts/demo.sh $(BUILD)

bench: deps
	$(MAKE) --no-print-directory $(BENCHES) $(VDKIMCTL) $(SO) $(HARNESS)
	bash bench/run.sh $(BUILD)
	bash bench/fork_bench.sh $(BUILD)
	bash bench/stats_bench.sh $(BUILD)
	bash bench/abi_body_bench.sh $(BUILD)
	bash bench/reload_bench.sh $(BUILD)
	$(MAKE) --no-print-directory $(DEVICE_SIM)
	bash bench/device_bench.sh $(BUILD)
	bash bench/mta_bench.sh $(BUILD)
	$(MAKE) --no-print-directory $(MILTER)
	bash bench/milter_bench.sh $(BUILD)
	bash bench/scale_bench.sh $(BUILD)

# ---------------------------------------------------------------- install
# make install [PREFIX=/usr/local] [DESTDIR=] and the folders below.  The
# daemons (vdkim-harness, vdkim-milter) go to sbin, as Debian policy wants
# programs only the administrator starts; vdkimctl goes to bin: sign,
# verify, dns-record and explain are of use to any user.  The config and
# the state live in /etc and /var whatever the PREFIX (the programs' default
# config is /etc/vdkim/vdkim.conf), and the example config never replaces
# an existing one.
#
# A host gets what it can use: vdkim.so, the one header of its ABI, and a
# pkg-config file with that header's -I (no Libs: hosts dlopen the module)
# and the module's path (pkg-config --variable=module vdkim).  dkim.h and
# policy.h declare the static engine library's functions, which vdkim.so
# does not export: they are not installed (tests/install/run.sh checks).
BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
LIBDIR        ?= $(PREFIX)/lib
MODULEDIR     ?= $(LIBDIR)/vdkim
INCLUDEDIR    ?= $(PREFIX)/include
PKGCONFIGDIR  ?= $(LIBDIR)/pkgconfig
MANDIR        ?= $(PREFIX)/share/man
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_HEADERS := include/vdkim/vdkim.h
MAN_PAGES := $(sort $(wildcard man/*.[0-9]))
UNIT_FILES := $(sort $(wildcard systemd/*.service.in systemd/*.timer.in))
# The paths the units, the example config and vdkim.pc name.
SUBST := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(MODULE_VERSION)|g' \
	-e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	-e 's|@MODULEDIR@|$(MODULEDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g'

# What a package build needs (debian/rules): the programs, not the tests.
programs: $(SO) $(VDKIMCTL) $(HARNESS) $(MILTER)

install: programs
	install -d $(DESTDIR)$(MODULEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/vdkim $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/vdkim
	install -d -m 0755 $(DESTDIR)$(LOCALSTATEDIR)/lib/vdkim
	install -m 0644 $(SO) $(DESTDIR)$(MODULEDIR)/vdkim.so
	install -m 0755 systemd/vdkim-keycheck $(DESTDIR)$(MODULEDIR)/vdkim-keycheck
	install -m 0755 $(VDKIMCTL) $(DESTDIR)$(BINDIR)/vdkimctl
	install -m 0755 $(HARNESS) $(MILTER) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/vdkim/
	$(SUBST) api/vdkim.pc.in \
	    >$(DESTDIR)$(PKGCONFIGDIR)/vdkim.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/vdkim.pc
	for m in $(MAN_PAGES); do \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; done
	for u in $(UNIT_FILES); do b=$${u##*/}; \
	    $(SUBST) $$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$${b%.in} && \
	    chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${b%.in} || exit 1; done
	$(SUBST) conf-examples/vdkim.conf.in >$(DESTDIR)$(SYSCONFDIR)/vdkim/vdkim.conf.example
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/vdkim/vdkim.conf.example
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/vdkim/vdkim.conf ]; then \
	    echo "install: $(DESTDIR)$(SYSCONFDIR)/vdkim/vdkim.conf exists: kept" \
	        "(the new example is vdkim.conf.example)"; \
	else \
	    install -m 0644 $(DESTDIR)$(SYSCONFDIR)/vdkim/vdkim.conf.example \
	        $(DESTDIR)$(SYSCONFDIR)/vdkim/vdkim.conf; fi

# Removes what install put in, except the config and the state (an
# operator's files).
uninstall:
	rm -f $(DESTDIR)$(MODULEDIR)/vdkim.so $(DESTDIR)$(MODULEDIR)/vdkim-keycheck \
	    $(DESTDIR)$(BINDIR)/vdkimctl \
	    $(DESTDIR)$(SBINDIR)/vdkim-harness $(DESTDIR)$(SBINDIR)/vdkim-milter \
	    $(DESTDIR)$(INCLUDEDIR)/vdkim/vdkim.h $(DESTDIR)$(PKGCONFIGDIR)/vdkim.pc \
	    $(DESTDIR)$(SYSCONFDIR)/vdkim/vdkim.conf.example \
	    $(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
	    $(foreach u,$(UNIT_FILES),$(DESTDIR)$(SYSTEMDUNITDIR)/$(basename $(notdir $(u))))
	-rmdir $(DESTDIR)$(MODULEDIR) $(DESTDIR)$(INCLUDEDIR)/vdkim 2>/dev/null

# The Debian package (debian/), built from a copy of the tree in a
# temporary folder (dpkg-buildpackage writes beside the source), into
# $(BUILD)/deb: vdkim_VERSION_ARCH.deb, vdkim-dev_..., .changes, .buildinfo.
deb:
	bash scripts/build-deb.sh $(BUILD)/deb

# Builds the package, checks it with lintian, installs it into a scratch
# root (never the machine itself) and runs the programs from there; also
# the man pages (groff, man) and the units (systemd-analyze verify).
package:
	bash tests/package/run.sh $(BUILD)

clean:
	rm -rf build

-include $(MODULE_OBJ:.o=.d) $(API_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) \
	$(ABI_OBJ:.o=.d) $(HARNESS_OBJ:.o=.d) $(MILTER_OBJ:.o=.d) $(BUILD)/obj/tests/exim/exim_shim_test.d
