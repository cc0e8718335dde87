/* util.c - allocation wrappers, assertions, clocks, ss_buf. */
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ss_allocator allocator = {malloc, calloc, realloc, free};

void ss_set_allocator(const ss_allocator *a)
{
    static const ss_allocator libc = {malloc, calloc, realloc, free};
    allocator = a ? *a : libc;
}

void ss_oom(size_t n)
{
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"out of memory allocating %zu bytes\"}\n", n);
    fflush(stderr);
    abort();
}

void *ss_malloc(size_t n)
{
    void *p = allocator.malloc_fn(n ? n : 1);
    if (!p) ss_oom(n);
    return p;
}

void *ss_calloc(size_t n, size_t size)
{
    void *p = allocator.calloc_fn(n ? n : 1, size ? size : 1);
    if (!p) ss_oom(n * size);
    return p;
}

void *ss_realloc(void *p, size_t n)
{
    void *q = allocator.realloc_fn(p, n ? n : 1);
    if (!q) ss_oom(n);
    return q;
}

char *ss_strndup(const char *s, size_t n)
{
    char *d = ss_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *ss_strdup(const char *s)
{
    return s ? ss_strndup(s, strlen(s)) : NULL;
}

void ss_free(void *p)
{
    if (p) allocator.free_fn(p);
}

void ss_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"assertion failed: %s\",\"at\":\"%s:%d\"}\n",
            expr, file, line);
    fflush(stderr);
    abort();
}

int64_t ss_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ss_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ss_buf_init(ss_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void ss_buf_reset(ss_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void ss_buf_reserve(ss_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    b->data = ss_realloc(b->data, cap);
    b->cap = cap;
}

void ss_buf_append(ss_buf *b, const void *p, size_t n)
{
    ss_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ss_buf_printf(ss_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    ss_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ss_buf_free(ss_buf *b)
{
    ss_free(b->data);
    ss_buf_init(b);
}

size_t ss_strlcpy(char *dst, const char *src, size_t dstlen)
{
    size_t n = strlen(src);
    if (dstlen) {
        size_t c = n < dstlen - 1 ? n : dstlen - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

int ss_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}
