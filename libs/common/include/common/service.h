/* service.h - process lifecycle shared by every service: signals and the
 * start-up of log, config and the loop. */
#ifndef SS_COMMON_SERVICE_H
#define SS_COMMON_SERVICE_H

#include <event2/event.h>

/** Install SIGTERM/SIGINT handlers on base: the first calls stop(arg) (stop
 * intake, finish in-flight work, flush, commit, close, then exit the loop),
 * a second exits the process at once with status 1. SIGPIPE is ignored. */
void ss_service_signals(struct event_base *base, void (*stop)(void *arg), void *arg);
/** Free the signal events (before event_base_free). */
void ss_service_signals_free(void);

#endif
