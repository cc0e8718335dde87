/* util.h - allocation, assertions, time and a growable byte buffer. */
#ifndef SS_COMMON_UTIL_H
#define SS_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

/** Allocator hooks: tests may swap them to inject failures. A NULL result
 * from a hook aborts the process through ss_oom() (redis zmalloc style). */
typedef struct ss_allocator {
    void *(*malloc_fn)(size_t);
    void *(*calloc_fn)(size_t, size_t);
    void *(*realloc_fn)(void *, size_t);
    void (*free_fn)(void *);
} ss_allocator;

void ss_set_allocator(const ss_allocator *a); /* NULL restores libc */
void *ss_malloc(size_t n);
void *ss_calloc(size_t n, size_t size);
void *ss_realloc(void *p, size_t n);
char *ss_strdup(const char *s);
char *ss_strndup(const char *s, size_t n);
void ss_free(void *p);
void ss_oom(size_t n) __attribute__((noreturn));

/** Internal invariant: aborts with file:line and the expression. */
#define ss_assert(e) ((e) ? (void)0 : ss_assert_fail(#e, __FILE__, __LINE__))
void ss_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

int64_t ss_now_ms(void);   /* wall clock, epoch milliseconds */
int64_t ss_mono_us(void);  /* monotonic clock, microseconds */

/** Growable byte buffer; data is always NUL-terminated past len. */
typedef struct ss_buf {
    char *data;
    size_t len;
    size_t cap;
} ss_buf;

void ss_buf_init(ss_buf *b);
void ss_buf_reset(ss_buf *b); /* len = 0, keeps capacity */
void ss_buf_reserve(ss_buf *b, size_t extra);
void ss_buf_append(ss_buf *b, const void *p, size_t n);
void ss_buf_printf(ss_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ss_buf_free(ss_buf *b);

/** Copy at most dstlen-1 bytes and NUL-terminate; returns strlen(src). */
size_t ss_strlcpy(char *dst, const char *src, size_t dstlen);
/** snprintf into err/errlen when err != NULL; returns -1 for `return ss_err(...)`. */
int ss_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
