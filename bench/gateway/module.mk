# bench/gateway: the gateway's POST /v1/score against a bare evhttp server.
# The generic PROG rule would put objects of bench/gateway/*.c under
# $(BUILD)/bench/gateway/ -- the path of the binary itself -- so the hello
# server lives in src/ and is built here (as bench/inference does).
gateway_bench_SRC := $(wildcard bench/gateway/src/*.c)
gateway_bench_OBJ := $(patsubst bench/gateway/src/%.c,$(BUILD)/obj/bench/gateway/%.o,$(gateway_bench_SRC))
$(BUILD)/obj/bench/gateway/%.o: bench/gateway/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(BUILD)/bench/gateway: $(gateway_bench_OBJ) $(LIB_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(gateway_bench_OBJ) $(LINK_LIBS) $(LDLIBS)
BINS += $(BUILD)/bench/gateway
