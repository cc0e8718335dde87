# streamscore top-level build. Non-recursive: every directory contributes a
# module.mk (optional) and the generic rules below pick up its sources.
#   make            build everything into build/
#   make test       install deps, build, run every test (tests/run)
#   make demo       install deps, build, run the embedded stack (tools/demo)
#   make SANITIZE=address,undefined test   same, instrumented, into build-san/

CC       ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD    ?= build
else
BUILD    ?= build-san
endif

PKGS      := rdkafka avro-c libevent libevent_openssl hiredis jansson openssl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
WERROR   ?= -Werror
CFLAGS   += -std=c11 -Wall -Wextra $(WERROR) -fno-strict-aliasing -pthread
CPPFLAGS += -D_GNU_SOURCE -MMD -MP $(PKG_CFLAGS) $(patsubst %,-I%,$(wildcard libs/*/include))
LDLIBS   += $(PKG_LIBS) -lm -lpthread
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

# ---- libraries: libs/<name>/*.c -> $(BUILD)/lib/libss_<name>.a
LIB_NAMES := $(notdir $(patsubst %/,%,$(wildcard libs/*/)))
lib_a      = $(BUILD)/lib/libss_$(1).a
LIB_ARCHIVES := $(foreach l,$(LIB_NAMES),$(call lib_a,$(l)))
define LIB_template
lib_$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard libs/$(1)/*.c))
$(call lib_a,$(1)): $$(lib_$(1)_OBJS)
	@mkdir -p $$(dir $$@)
	$$(AR) rcs $$@ $$^
$(BUILD)/test/libs/$(1)/%: libs/$(1)/tests/%.c $(LIB_ARCHIVES)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) -Ilibs/$(1) -Itests/include $$(CFLAGS) $$(LDFLAGS) -o $$@ $$< $$(LINK_LIBS) $$(LDLIBS) $$($(1)_LDLIBS) -lcmocka
UNIT_TESTS += $$(patsubst libs/$(1)/tests/%.c,$(BUILD)/test/libs/$(1)/%,$$(wildcard libs/$(1)/tests/test_*.c))
endef
$(foreach l,$(LIB_NAMES),$(eval $(call LIB_template,$(l))))
LINK_LIBS = -Wl,--start-group $(LIB_ARCHIVES) -Wl,--end-group

# ---- services: services/<name>/*.c -> $(BUILD)/bin/streamscore-<name>
SVC_NAMES := $(notdir $(patsubst %/,%,$(wildcard services/*/)))
define SVC_template
$(1)_SVC_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard services/$(1)/*.c))
$(1)_SVC_LIBOBJS := $$(filter-out %/main.o,$$($(1)_SVC_OBJS))
$(BUILD)/bin/streamscore-$(1): $$($(1)_SVC_OBJS) $(LIB_ARCHIVES)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_SVC_OBJS) $$(LINK_LIBS) $$(LDLIBS) $$($(1)_LDLIBS)
BINS += $(BUILD)/bin/streamscore-$(1)
# unit tests of a service link its objects except main.o
$(BUILD)/test/services/$(1)/%: services/$(1)/tests/%.c $$($(1)_SVC_LIBOBJS) $(LIB_ARCHIVES)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) -Iservices/$(1) -Itests/include $$(CFLAGS) $$(LDFLAGS) -o $$@ $$< $$($(1)_SVC_LIBOBJS) $$(LINK_LIBS) $$(LDLIBS) $$($(1)_LDLIBS) -lcmocka
UNIT_TESTS += $$(patsubst services/$(1)/tests/%.c,$(BUILD)/test/services/$(1)/%,$$(wildcard services/$(1)/tests/test_*.c))
endef
$(foreach s,$(SVC_NAMES),$(eval $(call SVC_template,$(s))))

# ---- tools and benchmarks: tools/<name>/*.c -> $(BUILD)/bin/<name>; bench/<name>/*.c -> $(BUILD)/bench/<name>
define PROG_template
$(1)_$(2)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard $(1)/$(2)/*.c))
ifneq ($$($(1)_$(2)_OBJS),)
$(BUILD)/$(3)/$(2): $$($(1)_$(2)_OBJS) $(LIB_ARCHIVES)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_$(2)_OBJS) $$(LINK_LIBS) $$(LDLIBS) $$($(2)_LDLIBS)
BINS += $(BUILD)/$(3)/$(2)
endif
endef
TOOL_NAMES  := $(notdir $(patsubst %/,%,$(wildcard tools/*/)))
BENCH_NAMES := $(notdir $(patsubst %/,%,$(wildcard bench/*/)))

# per-directory extras (extra LDLIBS, data files, ...)
-include $(wildcard libs/*/module.mk services/*/module.mk tools/*/module.mk bench/*/module.mk)

$(foreach t,$(TOOL_NAMES),$(eval $(call PROG_template,tools,$(t),bin)))
$(foreach b,$(BENCH_NAMES),$(eval $(call PROG_template,bench,$(b),bench)))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

.PHONY: all build deps test unit demo bench clean format check-format fuzz
all build: $(LIB_ARCHIVES) $(BINS) $(UNIT_TESTS)

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/run

unit: all
	@BUILD=$(BUILD) tests/run --unit

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tools/demo/demo.sh $(if $(DURATION),--duration $(DURATION))

bench: deps
	@$(MAKE) --no-print-directory all
	@for b in bench/*/run.sh; do BUILD=$(BUILD) $$b || exit 1; done

# libFuzzer (clang): instrumented libraries in build-fuzz/, then every tools/fuzz_*
# target linked with -fsanitize=fuzzer; each runs FUZZ_SECONDS on its corpus. Per-input
# leak checks are off (libavro caches allocations across inputs); leaks are checked by
# replaying the corpus under the SANITIZE build at exit (tests/test_fuzz_replay.sh).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tools/%/,%,$(wildcard tools/fuzz_*/))
fuzz:
	@scripts/deps.sh
	$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz WERROR= SANITIZE=address,fuzzer-no-link \
	  $(patsubst $(BUILD)/%,build-fuzz/%,$(LIB_ARCHIVES))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/fuzz fuzz/corpus/$${t#fuzz_} build-fuzz/fuzz/new-$$t && \
	  clang $(CPPFLAGS) -O1 -g -DSS_LIBFUZZER -fsanitize=address,fuzzer -o build-fuzz/fuzz/$$t \
	    tools/$$t/*.c $(patsubst $(BUILD)/%,build-fuzz/%,$(LINK_LIBS)) $(LDLIBS) && \
	  build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -detect_leaks=0 \
	    build-fuzz/fuzz/new-$$t fuzz/corpus/$${t#fuzz_} || exit 1; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz

# dependency files of sources that exist (a moved or deleted source leaves a stale .d behind)
DEP_SRCS := $(wildcard libs/*/*.c services/*/*.c tools/*/*.c bench/*/*.c)
DEP_TESTS := $(wildcard libs/*/tests/test_*.c services/*/tests/test_*.c)
-include $(wildcard $(patsubst %.c,$(BUILD)/obj/%.d,$(DEP_SRCS)) \
  $(patsubst libs/%.c,$(BUILD)/test/libs/%.d,$(subst /tests/,/,$(filter libs/%,$(DEP_TESTS)))) \
  $(patsubst services/%.c,$(BUILD)/test/services/%.d,$(subst /tests/,/,$(filter services/%,$(DEP_TESTS)))))
