/* fixture_store.h - the scorer tests' model store: a scratch directory with
 * the card-fraud fixture bundles (v1, v2, ...) written by make_bundles.py
 * (Debian's python3-xgboost), removed afterwards. */
#ifndef SS_SCORER_TESTS_FIXTURE_STORE_H
#define SS_SCORER_TESTS_FIXTURE_STORE_H

#include <stdio.h>
#include <stdlib.h>

/** Create `dir` (a mkdtemp template of `len` bytes) and fill it; 0 or -1. */
static inline int fixture_store_make(char *dir, size_t len, const char *tmpl)
{
    char cmd[1024];
    snprintf(dir, len, "%s", tmpl);
    if (!mkdtemp(dir)) return -1;
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=2 /usr/bin/python3 services/scorer/tests/make_bundles.py %s "
             "card-fraud >%s/py.log 2>&1",
             dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline int fixture_store_remove(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

#endif
