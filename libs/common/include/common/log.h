/* log.h - JSON-lines logging on stderr: {"ts":..,"level":..,"service":..,"msg":..,<fields>} */
#ifndef SS_COMMON_LOG_H
#define SS_COMMON_LOG_H

typedef enum { SS_LOG_DEBUG = 0, SS_LOG_INFO, SS_LOG_WARN, SS_LOG_ERROR, SS_LOG_OFF } ss_log_level;

/** Set the service name and read LOG_LEVEL (debug|info|warn|error|off). */
void ss_log_init(const char *service);
void ss_log_set_level(ss_log_level lvl);
int ss_log_enabled(ss_log_level lvl);

/** Log msg with extra string fields: pairs of (const char *key, const char *value),
 * terminated by NULL. Values are JSON-escaped. */
void ss_log(ss_log_level lvl, const char *msg, ...) __attribute__((sentinel));
/** Log a printf-formatted message without fields. */
void ss_logf(ss_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ss_debug(...) ss_logf(SS_LOG_DEBUG, __VA_ARGS__)
#define ss_info(...) ss_logf(SS_LOG_INFO, __VA_ARGS__)
#define ss_warn(...) ss_logf(SS_LOG_WARN, __VA_ARGS__)
#define ss_error(...) ss_logf(SS_LOG_ERROR, __VA_ARGS__)

#endif
