# bolsa (the transactions service) and gargalo (the sampling profiler library).
#
#   make                build everything into build/
#   make run            install what is missing, build, start bolsa on :8000
#   make test           install what is missing, build, run every test
#   make bench          release build, then every benchmark (bench/README.md)
#   make SANITIZE=address,undefined   or   SANITIZE=thread   sanitizer builds
#   make RELEASE=1      optimised build without assertions, into build/release

CC      ?= cc
PREFIX  ?= /usr/local

ifeq ($(SANITIZE),thread)
  B ?= build/tsan
else ifneq ($(SANITIZE),)
  B ?= build/asan
else ifeq ($(RELEASE),1)
  B ?= build/release
else
  B ?= build
endif

PKGS    := libmicrohttpd jansson sqlite3 libpq libdw libunwind
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ifeq ($(RELEASE),1)
  CFLAGS += -DNDEBUG
endif
ifneq ($(SANITIZE),)
  CFLAGS := -O1 -g -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=$(SANITIZE)
endif
ifeq ($(WERROR),1)
  WARN += -Werror
endif
ALL_CFLAGS = -std=gnu11 -fPIC -pthread $(WARN) -Iinclude -Isrc -I$(B)/gen $(PKG_CFLAGS) $(CFLAGS)
LIBS    := $(PKG_LIBS) -lpthread -lrt -lm

GARGALO_SRC := $(wildcard src/gargalo/*.c)
BOLSA_SRC   := $(filter-out src/bolsa/main.c,$(wildcard src/bolsa/*.c))
ASSETS      := $(sort $(wildcard src/gargalo/assets/*))
GARGALO_OBJ := $(GARGALO_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/gargalo_assets.o
BOLSA_OBJ   := $(BOLSA_SRC:%.c=$(B)/obj/%.o)
UNIT_TESTS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_PROGS  := $(patsubst tests/progs/%.c,$(B)/progs/%,$(wildcard tests/progs/*.c))
BENCH_PROGS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))

.PHONY: all run test bench bench-quick clean install deps-run deps-test deps-bench
all: $(B)/bolsa $(B)/libgargalo.a $(B)/libgargalo.so $(B)/gargalo.pc \
     $(UNIT_TESTS) $(TEST_PROGS) $(BENCH_PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The HTML renderer's page lives in real .html/.css/.js files, embedded at build time.
$(B)/gen/gargalo_assets.c: $(ASSETS) scripts/embed-assets.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-assets.sh $(ASSETS) > $@.tmp && mv $@.tmp $@
$(B)/obj/gen/gargalo_assets.o: $(B)/gen/gargalo_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libgargalo.a: $(GARGALO_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/libgargalo.so: $(GARGALO_OBJ)
	$(CC) -shared -Wl,-soname,libgargalo.so.0 $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/libbolsa.a: $(BOLSA_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/gargalo.pc: scripts/gargalo.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKGS@|$(filter-out libmicrohttpd jansson sqlite3 libpq,$(PKGS))|' $< > $@

# -rdynamic is not needed: gargalo reads symbols from the ELF files and their debug info.
$(B)/bolsa: $(B)/obj/src/bolsa/main.o $(B)/libbolsa.a $(B)/libgargalo.a
	$(CC) $(LDFLAGS) -pthread -o $@ $^ $(LIBS)
$(B)/tests/%: tests/unit/%.c $(B)/libbolsa.a $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka
$(B)/progs/%: tests/progs/%.c $(B)/libbolsa.a $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/bench/%: bench/%.c $(B)/libgargalo.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

# make run: the embedded SQLite default, profiling enabled for local use.
run: deps-run
	@$(MAKE) --no-print-directory $(B)/bolsa
	BOLSA_PROFILE=$${BOLSA_PROFILE:-1} ./$(B)/bolsa

test: deps-test
	@scripts/test.sh

bench: deps-bench
	@$(MAKE) --no-print-directory RELEASE=1 all
	@bench/run.sh $(if $(QUICK),--quick)

install: $(B)/libgargalo.a $(B)/libgargalo.so $(B)/gargalo.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/gargalo.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/libgargalo.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libgargalo.so $(DESTDIR)$(PREFIX)/lib/libgargalo.so.0
	ln -sf libgargalo.so.0 $(DESTDIR)$(PREFIX)/lib/libgargalo.so
	install -m 644 $(B)/gargalo.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
