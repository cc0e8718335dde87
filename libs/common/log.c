/* log.c - JSON lines on stderr. One write(2) per line so lines from several
 * processes sharing a file do not interleave. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static const char *service_name = "streamscore";
static ss_log_level min_level = SS_LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

void ss_log_set_level(ss_log_level lvl)
{
    min_level = lvl;
}

int ss_log_enabled(ss_log_level lvl)
{
    return lvl >= min_level && lvl != SS_LOG_OFF;
}

void ss_log_init(const char *service)
{
    const char *lvl = getenv("LOG_LEVEL");
    service_name = service;
    if (!lvl) return;
    for (int i = 0; i <= SS_LOG_OFF; i++)
        if (strcasecmp(lvl, level_names[i]) == 0) min_level = (ss_log_level)i;
}

static void json_escape(ss_buf *b, const char *s)
{
    ss_buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            ss_buf_append(b, e, 2);
        } else if (c == '\n') {
            ss_buf_append(b, "\\n", 2);
        } else if (c < 0x20) {
            ss_buf_printf(b, "\\u%04x", c);
        } else {
            ss_buf_append(b, s, 1);
        }
    }
    ss_buf_append(b, "\"", 1);
}

static void emit(ss_log_level lvl, const char *msg, va_list fields)
{
    char ts[40];
    struct timespec now;
    struct tm tm;
    ss_buf b;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    ss_buf_init(&b);
    ss_buf_printf(&b, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"service\":", ts,
                  now.tv_nsec / 1000000, level_names[lvl]);
    json_escape(&b, service_name);
    ss_buf_append(&b, ",\"msg\":", 7);
    json_escape(&b, msg);
    for (;;) {
        const char *k = va_arg(fields, const char *);
        if (!k) break;
        const char *v = va_arg(fields, const char *);
        ss_buf_append(&b, ",", 1);
        json_escape(&b, k);
        ss_buf_append(&b, ":", 1);
        json_escape(&b, v ? v : "");
    }
    ss_buf_append(&b, "}\n", 2);
    ssize_t w = write(STDERR_FILENO, b.data, b.len);
    (void)w;
    ss_buf_free(&b);
}

void ss_log(ss_log_level lvl, const char *msg, ...)
{
    va_list ap;
    if (!ss_log_enabled(lvl)) return;
    va_start(ap, msg);
    emit(lvl, msg, ap);
    va_end(ap);
}

static void emit_none(ss_log_level lvl, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    emit(lvl, msg, ap);
    va_end(ap);
}

void ss_logf(ss_log_level lvl, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    if (!ss_log_enabled(lvl)) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit_none(lvl, msg, (const char *)NULL);
}
