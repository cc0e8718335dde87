/* fuzz_defs.c - libFuzzer target for the definition-file parser (and the
 * script generator it feeds). Build: make fuzz-features (clang, libFuzzer +
 * ASan/UBSan), run: build/fuzz/fuzz_defs libs/features/fuzz/corpus.
 * libs/features/tests/test_defs_corpus.c replays the corpus (and mutations of
 * it) in every test run. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "features-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    ss_feature_defs *d = ss_feature_defs_parse((const char *)data, size, "fuzz", err, sizeof err);
    if (d) {
        /* a valid file: every derived table must be consistent */
        ss_assert(ss_feature_defs_count(d) > 0);
        ss_assert(ss_feature_defs_lua(d) != NULL);
        for (size_t i = 0; i < d->n_features; i++) {
            const fd_feature *f = &d->features[i];
            ss_assert(ss_feature_defs_index(d, f->name) >= 0);
            if (f->tile_ms) ss_assert(f->window_ms % f->tile_ms == 0);
        }
        ss_feature_defs_free(d);
    } else {
        ss_assert(strncmp(err, "bad feature definitions: fuzz", 29) == 0);
    }
    return 0;
}
