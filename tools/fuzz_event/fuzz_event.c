/* fuzz_event - fuzz target for the input parsers ingest and the gateway run on
 * untrusted bytes: format sniffing, JSON parsing and field validation,
 * Confluent framing and Avro decoding (ss_event_validate_any), and the
 * Avro -> JSON rendering of whatever decoded.
 *
 * Built two ways:
 *   make fuzz                       clang + libFuzzer + ASan (build-fuzz/), runs FUZZ_SECONDS
 *   build/bin/fuzz_event FILE...    replay main (any compiler): runs each file once;
 *                                   tests/test_fuzz_replay.sh replays fuzz/corpus/event
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro.h"
#include "events/validate.h"

static ss_avro_registry *registry;
static ss_avro_codec *codec;
static ss_event_rules *rules;

static int init(void)
{
    char err[512];
    ss_event_rules_config cfg;
    const char *dir = getenv("SCHEMA_DIR") ? getenv("SCHEMA_DIR") : "schemas";
    if (!(registry = ss_avro_registry_new(dir, NULL, err, sizeof(err))) ||
        !(codec = ss_avro_codec_new(registry, "CardTransaction", "events.ingest-value", err,
                                    sizeof(err)))) {
        fprintf(stderr, "fuzz_event: %s\n", err);
        return -1;
    }
    ss_event_rules_config_defaults(&cfg);
    if (!(rules = ss_event_rules_new(&cfg, ss_avro_codec_schema(codec), err, sizeof(err)))) {
        fprintf(stderr, "fuzz_event: %s\n", err);
        return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    avro_value_t *v = NULL;
    ss_event_error e;
    if (!rules && init()) abort();
    if (ss_event_validate_any(rules, codec, data, size, &v, &e) == 0) {
        ss_event_info info;
        if (ss_event_info_get(rules, v, &info)) abort(); /* validated => identity readable */
        json_t *j = ss_avro_to_json(v);
        if (!j) abort();
        json_decref(j);
    } else if (!e.reason || !*e.reason) {
        abort(); /* every rejection names a reason */
    }
    return 0;
}

#ifndef SS_LIBFUZZER
int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 2;
        }
        uint8_t *buf = malloc(1 << 20);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    printf("fuzz_event: replayed %d input(s)\n", n);
    ss_event_rules_free(rules);
    ss_avro_codec_free(codec);
    ss_avro_registry_free(registry);
    return 0;
}
#endif
