# bench/drift: load generator / Kafka helper for the drift benchmark and the
# drift integration test. The generic PROG rule would put objects under
# $(BUILD)/bench/drift/ -- the binary's own path -- so the sources live in
# src/ and are built here, objects under $(BUILD)/obj/ (as bench/inference).
drift_SRC := $(wildcard bench/drift/src/*.c)
drift_OBJ := $(patsubst bench/drift/src/%.c,$(BUILD)/obj/bench/drift/%.o,$(drift_SRC))
$(BUILD)/obj/bench/drift/%.o: bench/drift/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(BUILD)/bench/drift: $(drift_OBJ) $(LIB_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(drift_OBJ) $(LINK_LIBS) $(LDLIBS)
BINS += $(BUILD)/bench/drift
