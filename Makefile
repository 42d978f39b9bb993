# bolsa (the transactions service) and gargalo (the sampling profiler library).
#
#   make                build everything into build/ (bolsa, libgargalo, the gargalo command)
#   make run            install what is missing, build, start bolsa on :8000
#   make test           install what is missing, build, run every test
#   make check-style    formatting, function length, and the libraries' public surfaces
#   make bench          release build, then every benchmark (bench/README.md)
#   make SANITIZE=address,undefined   or   SANITIZE=thread   sanitizer builds
#   make RELEASE=1      optimised build without assertions, into build/release
#   make fuzz           every libFuzzer target for FUZZ_SECONDS (60) each (tests/fuzz)
#   make fault          allocation-failure injection, library and service (tests/fault)
#   make soak           SOAK_SECONDS (600) of mixed load on SQLite, then PostgreSQL
#
# Two products, two surfaces. libgargalo is compiled against include/ and its own
# src/gargalo/ with hidden visibility: only what include/gargalo.h marks GARGALO_EXTERN is
# exported. bolsa is compiled against include/ and src/bolsa/ and so cannot include a
# private gargalo header. src/shared/ holds what both use, compiled once for each. The
# gargalo command (src/cli/) is a user of the library like any other: include/ only, and
# src/record/wire.h for `gargalo record`. libgargalo-record.so (src/record/), which
# `gargalo record` preloads into the program it records, is libgargalo's objects and its
# own, exporting nothing; it is never built with a sanitizer, since it goes into programs
# that are not.

CC      ?= cc
PREFIX  ?= /usr/local

ifeq ($(FUZZ),1)
  # The libFuzzer targets (tests/fuzz) and what they link, built with clang: coverage for
  # the fuzzer, ASan and UBSan, any report fatal so that libFuzzer keeps the input.
  B ?= build/fuzz
  CC = clang
  CFLAGS ?= -g
  CFLAGS += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SANITIZE),thread)
  B ?= build/tsan
else ifneq ($(SANITIZE),)
  B ?= build/asan
else ifeq ($(RELEASE),1)
  B ?= build/release
else
  B ?= build
endif

# What each product calls, and nothing else: libgargalo.so and gargalo.pc name these.
GARGALO_PKGS := libdw libelf libunwind-generic jansson zlib
BOLSA_PKGS   := libmicrohttpd jansson sqlite3 libpq
pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)
GARGALO_LIBS := $(call pkg_libs,$(GARGALO_PKGS)) -lpthread -lrt
BOLSA_LIBS   := $(call pkg_libs,$(BOLSA_PKGS)) -lpthread -lm

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ifeq ($(RELEASE),1)
  CFLAGS += -DNDEBUG
endif
ifneq ($(SANITIZE),)
  # Added to the user's CFLAGS, not in place of them.
  CFLAGS  += -O1 -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=$(SANITIZE)
endif
ifeq ($(WERROR),1)
  WARN += -Werror
endif
BASE_CFLAGS    = -std=gnu11 -fPIC -pthread $(WARN) -Iinclude -Isrc/shared
GARGALO_CFLAGS = $(BASE_CFLAGS) -Isrc/gargalo -I$(B)/gen -fvisibility=hidden \
                 $(call pkg_cflags,$(GARGALO_PKGS)) $(CFLAGS)
BOLSA_CFLAGS   = $(BASE_CFLAGS) -Isrc/bolsa $(call pkg_cflags,$(BOLSA_PKGS)) $(CFLAGS)
CLI_CFLAGS     = $(BASE_CFLAGS) -Isrc/cli -Isrc/record $(call pkg_cflags,jansson) $(CFLAGS)
PLAIN_CFLAGS   = $(filter-out -fsanitize=%,$(GARGALO_CFLAGS))

SHARED_SRC  := $(wildcard src/shared/*.c)
GARGALO_SRC := $(wildcard src/gargalo/*.c)
BOLSA_SRC   := $(filter-out src/bolsa/main.c,$(wildcard src/bolsa/*.c))
ASSETS      := $(sort $(wildcard src/gargalo/assets/*))
GARGALO_OBJ := $(GARGALO_SRC:%.c=$(B)/obj/%.o) $(SHARED_SRC:src/%.c=$(B)/obj/gargalo-%.o) \
               $(B)/obj/gen/gargalo_assets.o
BOLSA_OBJ   := $(BOLSA_SRC:%.c=$(B)/obj/%.o) $(SHARED_SRC:src/%.c=$(B)/obj/bolsa-%.o)
CLI_OBJ     := $(patsubst %.c,$(B)/obj/%.o,$(wildcard src/cli/*.c)) $(B)/obj/src/record/wire.o
RECORD_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(wildcard src/record/*.c))
ifeq ($(SANITIZE),)
  PRELOAD_OBJ := $(GARGALO_OBJ) $(RECORD_OBJ)
else
  PRELOAD_OBJ := $(patsubst $(B)/obj/%,$(B)/obj/plain/%,$(GARGALO_OBJ) $(RECORD_OBJ))
endif
UNIT_TESTS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_DSOS   := $(B)/tests/libggdl_a.so $(B)/tests/libggdl_b.so $(B)/tests/libggdl_plt.so
TEST_PROGS  := $(patsubst tests/progs/%.c,$(B)/progs/%,$(wildcard tests/progs/*.c))
BENCH_PROGS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
FAULT_PROGS := $(B)/fault/bolsa $(B)/fault/fault_gargalo

.PHONY: all run test bench bench-quick clean install check-style deps-run deps-test deps-bench \
        fuzz fuzzers fault soak
all: $(B)/bolsa $(B)/gargalo $(B)/libgargalo.a $(B)/libgargalo.so $(B)/gargalo.pc \
     $(B)/libgargalo-record.so \
     $(TEST_DSOS) $(UNIT_TESTS) $(TEST_PROGS) $(BENCH_PROGS) $(FAULT_PROGS)

$(B)/obj/src/gargalo/%.o: src/gargalo/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/gargalo-shared/%.o: src/shared/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/src/bolsa/%.o: src/bolsa/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BOLSA_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/bolsa-shared/%.o: src/shared/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BOLSA_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/src/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/src/record/%.o: src/record/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) -MMD -MP -c $< -o $@
# Sanitizer builds: the preloaded object's own copies, built without the sanitizer.
$(B)/obj/plain/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PLAIN_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/plain/gargalo-shared/%.o: src/shared/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PLAIN_CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/plain/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PLAIN_CFLAGS) -c $< -o $@

# The HTML renderer's page lives in real .html/.css/.js files, embedded at build time.
$(B)/gen/gargalo_assets.c: $(ASSETS) scripts/embed-assets.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-assets.sh $(ASSETS) > $@.tmp && mv $@.tmp $@
$(B)/obj/gen/gargalo_assets.o: $(B)/gen/gargalo_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) -c $< -o $@

$(B)/libgargalo.a: $(GARGALO_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/libgargalo.so: $(GARGALO_OBJ)
	$(CC) -shared -Wl,-soname,libgargalo.so.0 -Wl,--as-needed $(LDFLAGS) -o $@ $^ $(GARGALO_LIBS)
$(B)/libgargalo-record.so: $(PRELOAD_OBJ) src/record/preload.map
	$(CC) -shared -Wl,--version-script=src/record/preload.map -Wl,--as-needed \
	    $(filter-out -fsanitize=%,$(LDFLAGS)) -o $@ $(PRELOAD_OBJ) $(GARGALO_LIBS)
$(B)/libbolsa.a: $(BOLSA_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/gargalo.pc: scripts/gargalo.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKGS@|$(GARGALO_PKGS)|' $< > $@

# -rdynamic is not needed: gargalo reads symbols from the ELF files and their debug info.
$(B)/bolsa: $(B)/obj/src/bolsa/main.o $(B)/libbolsa.a $(B)/libgargalo.a
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(BOLSA_LIBS) $(GARGALO_LIBS)

$(B)/gargalo: $(CLI_OBJ) $(B)/libgargalo.a
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(GARGALO_LIBS)

# Tests of bolsa see bolsa's headers; tests of gargalo see gargalo's private headers.
$(B)/tests/test_bolsa_%: tests/unit/test_bolsa_%.c $(B)/libbolsa.a $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(BOLSA_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(BOLSA_LIBS) \
	    $(GARGALO_LIBS) -lcmocka
# Small libraries the sampler tests load, unload and call through the PLT.
$(B)/tests/libggdl_%.so: tests/unit/ggdl.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -g -DGGDL_TAG=$* -o $@ $<
$(B)/tests/test_sampler_effects: tests/unit/test_sampler_effects.c $(B)/libgargalo.a $(TEST_DSOS)
	$(CC) $(GARGALO_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(B)/libgargalo.a -L$(B)/tests \
	    -lggdl_plt -Wl,-rpath,'$$ORIGIN' $(GARGALO_LIBS) -ldl -lcmocka
$(B)/tests/%: tests/unit/%.c $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $(filter-out %.h,$^) $(GARGALO_LIBS) -lcmocka
$(B)/progs/%: tests/progs/%.c $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) $(LDFLAGS) -o $@ $^ $(GARGALO_LIBS) $(BOLSA_LIBS)
$(B)/bench/%: bench/%.c $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) $(call pkg_cflags,$(BOLSA_PKGS)) $(LDFLAGS) -o $@ $^ \
	    $(GARGALO_LIBS) $(BOLSA_LIBS)

# --- allocation-failure injection (tests/fault/README.md) --------------------------------
# failalloc.o replaces malloc and its family in the programs it is linked into: only
# these two test programs, never build/bolsa. $(B)/fault/bolsa is bolsa's main and
# objects with one more middleware put in front (bolsa_fault.c, through --wrap).
$(B)/obj/tests/fault/failalloc.o: tests/fault/failalloc.c
	@mkdir -p $(dir $@)
	$(CC) $(BOLSA_CFLAGS) -fno-builtin -fno-sanitize=all -MMD -MP -c $< -o $@
$(B)/obj/tests/fault/bolsa_fault.o: tests/fault/bolsa_fault.c
	@mkdir -p $(dir $@)
	$(CC) $(BOLSA_CFLAGS) -MMD -MP -c $< -o $@
$(B)/fault/bolsa: $(B)/obj/src/bolsa/main.o $(B)/obj/tests/fault/bolsa_fault.o \
                  $(B)/obj/tests/fault/failalloc.o $(B)/libbolsa.a $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -pthread -Wl,--wrap=bolsa_server_start -o $@ $^ $(BOLSA_LIBS) $(GARGALO_LIBS)
$(B)/fault/fault_gargalo: tests/fault/fault_gargalo.c $(B)/obj/tests/fault/failalloc.o \
                          $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(GARGALO_CFLAGS) $(LDFLAGS) -o $@ $^ $(GARGALO_LIBS)

# Under ASan and UBSan, which catch the leaks and misuse a failed allocation leaves.
fault: deps-test
	@$(MAKE) --no-print-directory SANITIZE=address,undefined all
	@tests/fault/run.sh build/asan

# --- soak: SOAK_SECONDS of mixed load, half on SQLite, half on PostgreSQL ---------------
SOAK_SECONDS ?= 600
soak: deps-test
	@$(MAKE) --no-print-directory all
	@status=0; for db in sqlite postgresql; do \
	    python3 tests/soak/run.py --bolsa $(B)/bolsa --db $$db --seconds $$(($(SOAK_SECONDS) / 2)) \
	        || status=1; \
	done; exit $$status

# --- fuzzing (tests/fuzz/README.md) --------------------------------------------------------
# One libFuzzer binary per tests/fuzz/fuzz_NAME.c, in $(B)/fuzzers/NAME (make FUZZ=1).
# The profiling middleware's target replaces the HTTP seam with its own stand-in, so it
# links the objects it needs rather than libbolsa.a (which would bring http.o along), and
# replaces gargalo_start, so that no request of it is really profiled.
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,$(B)/fuzzers/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_PROFILE_OBJ := $(addprefix $(B)/obj/src/bolsa/,profiling.o profile_files.o profile_name.o capture.o \
                                                 origin.o input.o errors.o \
                                                 timing.o jsonalloc.o)

$(B)/fuzzers/profile_query: tests/fuzz/fuzz_profile_query.c tests/fuzz/fuzz.h $(FUZZ_PROFILE_OBJ) \
                          $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(BOLSA_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -Wl,--wrap=gargalo_start -o $@ \
	    $(filter-out %.h,$^) $(BOLSA_LIBS) $(GARGALO_LIBS)
$(B)/fuzzers/%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(B)/libbolsa.a $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(BOLSA_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $(filter-out %.h,$^) \
	    $(BOLSA_LIBS) $(GARGALO_LIBS)

# The fuzzers, and the program that writes saved sessions for their seeds.
fuzzers: $(FUZZ_TARGETS) $(B)/progs/render_profile

fuzz: deps-test
	@$(MAKE) --no-print-directory FUZZ=1 fuzzers
	@tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

# make run: the embedded SQLite default, profiling enabled for local use, and the profile
# of every request slower than 500 ms kept (BOLSA_PROFILE_SLOW_MS=0 make run: none).
run: deps-run
	@$(MAKE) --no-print-directory $(B)/bolsa
	BOLSA_PROFILE=$${BOLSA_PROFILE:-1} BOLSA_PROFILE_SLOW_MS=$${BOLSA_PROFILE_SLOW_MS:-500} ./$(B)/bolsa

test: deps-test
	@scripts/test.sh

check-style: $(B)/libgargalo.so $(B)/libgargalo-record.so
	@scripts/check-style.sh $(B)

bench: deps-bench
	@$(MAKE) --no-print-directory RELEASE=1 all
	@bench/run.sh $(if $(QUICK),--quick)

install: $(B)/libgargalo.a $(B)/libgargalo.so $(B)/gargalo.pc $(B)/gargalo $(B)/libgargalo-record.so
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/gargalo $(DESTDIR)$(PREFIX)/bin/
	install -m 644 include/gargalo.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/libgargalo.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libgargalo.so $(DESTDIR)$(PREFIX)/lib/libgargalo.so.0
	ln -sf libgargalo.so.0 $(DESTDIR)$(PREFIX)/lib/libgargalo.so
	install -m 755 $(B)/libgargalo-record.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(B)/gargalo.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

clean:
	rm -rf build

-include $(shell find $(B)/obj $(B)/tests -name '*.d' 2>/dev/null)
