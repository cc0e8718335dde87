/* service.c - SIGTERM/SIGINT handling shared by every service. */
#include "common/service.h"

#include <signal.h>
#include <unistd.h>

#include "common/log.h"

static struct event *sig_term, *sig_int;
static void (*stop_fn)(void *);
static void *stop_arg;
static int stopping;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (stopping) {
        ss_logf(SS_LOG_WARN, "second signal %d: exiting now", (int)sig);
        _exit(1);
    }
    stopping = 1;
    ss_logf(SS_LOG_INFO, "signal %d: draining", (int)sig);
    stop_fn(stop_arg);
}

void ss_service_signals(struct event_base *base, void (*stop)(void *arg), void *arg)
{
    signal(SIGPIPE, SIG_IGN);
    stop_fn = stop;
    stop_arg = arg;
    stopping = 0;
    sig_term = evsignal_new(base, SIGTERM, on_signal, NULL);
    sig_int = evsignal_new(base, SIGINT, on_signal, NULL);
    event_add(sig_term, NULL);
    event_add(sig_int, NULL);
}

void ss_service_signals_free(void)
{
    if (sig_term) event_free(sig_term);
    if (sig_int) event_free(sig_int);
    sig_term = sig_int = NULL;
}
