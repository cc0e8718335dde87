# bench/inference: the C tree evaluator against libxgboost's own predictor.
inference_LDLIBS += -lxgboost

# The generic PROG rule would compile bench/inference/*.c into
# $(BUILD)/bench/inference/ -- the directory path of the binary itself -- so
# the sources live in src/ and are built here, objects under $(BUILD)/obj/.
inference_SRC := $(wildcard bench/inference/src/*.c)
inference_OBJ := $(patsubst bench/inference/src/%.c,$(BUILD)/obj/bench/inference/%.o,$(inference_SRC))
$(BUILD)/obj/bench/inference/%.o: bench/inference/src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(BUILD)/bench/inference: $(inference_OBJ) $(LIB_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(inference_OBJ) $(LINK_LIBS) $(LDLIBS) $(inference_LDLIBS)
BINS += $(BUILD)/bench/inference
