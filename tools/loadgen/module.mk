# tools/loadgen: cmocka unit tests of the generator (linked with its objects
# except main.o and the sinks, which tests/test_loadgen.sh exercises for real).
loadgen_LIBOBJS := $(filter-out %/main.o %/sink_file.o %/sink_kafka.o %/sink_http.o,$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/loadgen/*.c)))
$(BUILD)/test/tools/loadgen/%: tools/loadgen/tests/%.c $(loadgen_LIBOBJS) $(LIB_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itools/loadgen $(CFLAGS) $(LDFLAGS) -o $@ $< $(loadgen_LIBOBJS) $(LINK_LIBS) $(LDLIBS) -lcmocka
UNIT_TESTS += $(patsubst tools/loadgen/tests/%.c,$(BUILD)/test/tools/loadgen/%,$(wildcard tools/loadgen/tests/test_*.c))
