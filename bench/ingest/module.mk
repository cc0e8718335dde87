# bench/ingest: the pass-through ceiling is built from a subdirectory into
# $(BUILD)/bench/ingest-passthrough: the generic bench rule would put the
# binary at $(BUILD)/bench/ingest, the directory its own objects live in.
$(BUILD)/bench/ingest-passthrough: bench/ingest/passthrough/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)
BINS += $(BUILD)/bench/ingest-passthrough
