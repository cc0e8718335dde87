# tools/loadgen: cmocka unit tests of the generator (linked with every
# loadgen object except main.o), like services' tests.
loadgen_LIBOBJS := $(filter-out %/main.o,$(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/loadgen/*.c)))
$(BUILD)/test/tools/loadgen/%: tools/loadgen/tests/%.c $(loadgen_LIBOBJS) $(LIB_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itools/loadgen $(CFLAGS) $(LDFLAGS) -o $@ $< $(loadgen_LIBOBJS) $(LINK_LIBS) $(LDLIBS) -lcmocka
UNIT_TESTS += $(patsubst tools/loadgen/tests/%.c,$(BUILD)/test/tools/loadgen/%,$(wildcard tools/loadgen/tests/test_*.c))
