/* Replays the definition parser's fuzz corpus (libs/features/fuzz/corpus)
 * through the fuzz target, plus deterministic mutations of every file
 * (bit flips, truncations, spliced spans), so each test run (and the
 * sanitizer run) exercises the parser the way libFuzzer does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz/fuzz_defs.c"

#define MUTATIONS_PER_FILE 1500

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static size_t mutate(char *dst, const char *src, size_t n, size_t cap)
{
    static const char tokens[][8] = {"{",      "}",    "[",       "]",     ",",    ":",
                                     "\"",     "0",    "-1",      "1e309", "null", "true",
                                     "\"1h\"", "\"\"", "\\u0000", "30d"};
    memcpy(dst, src, n);
    int edits = 1 + (int)(next_rand() % 4);
    for (int k = 0; k < edits && n > 0; k++) {
        size_t at = next_rand() % n;
        switch (next_rand() % 5) {
        case 0:
            dst[at] ^= (char)(1u << (next_rand() % 8));
            break; /* bit flip */
        case 1:
            n = at;
            break; /* truncate */
        case 2: {  /* delete a span */
            size_t len = 1 + next_rand() % 16;
            if (at + len > n) len = n - at;
            memmove(dst + at, dst + at + len, n - at - len);
            n -= len;
            break;
        }
        case 3: { /* insert a token */
            const char *t = tokens[next_rand() % (sizeof tokens / sizeof tokens[0])];
            size_t len = strlen(t);
            if (n + len > cap) break;
            memmove(dst + at + len, dst + at, n - at);
            memcpy(dst + at, t, len);
            n += len;
            break;
        }
        default: { /* duplicate a span */
            size_t len = 1 + next_rand() % 64;
            if (at + len > n || n + len > cap) break;
            memmove(dst + at + len, dst + at, n - at);
            n += len;
            break;
        }
        }
    }
    return n;
}

static void test_corpus_and_mutations(void **state)
{
    static char src[65536], dst[70000];
    const char *dirs[] = {"libs/features/fuzz/corpus", "../libs/features/fuzz/corpus"};
    DIR *dir = NULL;
    const char *base = NULL;
    int files = 0;
    (void)state;
    for (size_t i = 0; i < 2 && !dir; i++)
        dir = opendir(base = dirs[i]);
    assert_non_null(dir);
    for (struct dirent *de; (de = readdir(dir));) {
        char path[512];
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", base, de->d_name);
        size_t n = read_file(path, src, sizeof src);
        assert_true(n > 0);
        LLVMFuzzerTestOneInput((const uint8_t *)src, n);
        for (int m = 0; m < MUTATIONS_PER_FILE; m++) {
            size_t mn = mutate(dst, src, n, sizeof dst);
            LLVMFuzzerTestOneInput((const uint8_t *)dst, mn);
        }
        files++;
    }
    closedir(dir);
    assert_true(files >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus_and_mutations)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
