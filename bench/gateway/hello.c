/* hello.c - the ceiling for bench/gateway: a bare libevent evhttp server that
 * answers every request with a small JSON body, nothing else (no routing, no
 * auth, no parsing). Usage: gateway-hello [--port N] [--port-file PATH]
 * (port 0 = a free port, written to --port-file). Built as build/bench/gateway. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void on_request(struct evhttp_request *req, void *arg)
{
    static const char body[] = "{\"hello\":\"world\"}\n";
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add_reference(evhttp_request_get_output_buffer(req), body, sizeof(body) - 1, NULL,
                           NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, NULL);
    struct evhttp_bound_socket *b =
        evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port);
    if (!b) {
        fprintf(stderr, "hello: cannot listen on port %d\n", port);
        return 1;
    }
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&sa, &sl);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "%d\n", ntohs(sa.sin_port));
            fclose(f);
        }
    }
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
