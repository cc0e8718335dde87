# bench/features: feature updates/s through the library vs redis-benchmark
# running the same script. The generic PROG rule would put objects under
# $(BUILD)/bench/features/, the binary's own path, so the sources live in src/
# and are built here (as bench/inference does). The benchmark prints the
# script's arguments with the library's own call builder: -Ilibs/features.
features_SRC := $(wildcard bench/features/src/*.c)
features_OBJ := $(patsubst bench/features/src/%.c,$(BUILD)/obj/bench/features/%.o,$(features_SRC))
$(BUILD)/obj/bench/features/%.o: bench/features/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Ilibs/features $(CFLAGS) -c -o $@ $<
$(BUILD)/bench/features: $(features_OBJ) $(LIB_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(features_OBJ) $(LINK_LIBS) $(LDLIBS)
BINS += $(BUILD)/bench/features
