# libFuzzer build of the definition-file parser (clang): make fuzz-features,
# then build/fuzz/fuzz_defs -max_total_time=60 libs/features/fuzz/corpus
FUZZ_FEATURES_SRC := libs/features/fuzz/fuzz_defs.c libs/features/defs.c libs/features/lua.c \
                     libs/common/util.c libs/common/log.c
.PHONY: fuzz-features
fuzz-features: $(BUILD)/fuzz/fuzz_defs
$(BUILD)/fuzz/fuzz_defs: $(FUZZ_FEATURES_SRC) $(wildcard libs/features/*.h libs/features/include/features/*.h)
	@mkdir -p $(dir $@)
	clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	  -Ilibs/common/include -Ilibs/features/include -Ilibs/features $(shell pkg-config --cflags jansson avro-c hiredis) \
	  -o $@ $(FUZZ_FEATURES_SRC) $(shell pkg-config --libs jansson) -lm
