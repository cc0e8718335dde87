# bench/features prints the script's arguments with the library's own call
# builder (features-internal.h)
$(BUILD)/obj/bench/features/%.o: CPPFLAGS += -Ilibs/features
