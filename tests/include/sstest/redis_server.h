/* sstest/redis_server.h - a real redis-server for C tests: started on a free
 * loopback port (or a given one, to restart it in place), in its own scratch
 * directory, output discarded; ready once it answers PING. Header-only, for
 * tests (compiled with -Itests/include). */
#ifndef SSTEST_REDIS_SERVER_H
#define SSTEST_REDIS_SERVER_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

typedef struct sst_redis {
    pid_t pid;     /* 0 = not running */
    int port;      /* 0 before the first start: pick a free one */
    char url[64];  /* redis://127.0.0.1:<port> */
    char dir[64];  /* scratch directory (--dir), removed by sst_redis_stop */
} sst_redis;

/** A loopback TCP port nobody is bound to right now, or -1. Drawn at random
 * from below the kernel's ephemeral range, as tools/demo/free_port.py does:
 * an ephemeral port (bind to port 0) can be taken by any outgoing connection
 * before the server binds it. */
static inline int sst_free_port(void)
{
    int low = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d", &low) != 1) low = 32768;
        fclose(f);
    }
    int lo = low > 12000 ? 10000 : low, hi = low > 12000 ? low : 65535;
    /* a private generator: the test's own rand() sequence stays untouched */
    static unsigned long long x;
    if (!x) x = ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL) ^ 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 500; i++) {
        struct sockaddr_in a;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int port = lo + (int)(x % (unsigned long long)(hi - lo));
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) return -1;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        int rc = bind(s, (struct sockaddr *)&a, sizeof a);
        close(s);
        if (rc == 0) return port;
    }
    return -1;
}

/** A blocking hiredis connection to the server (2 s timeout), or NULL. */
static inline redisContext *sst_redis_connect(const sst_redis *r)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    return c;
}

static inline int sst_redis_ping(const sst_redis *r)
{
    redisContext *c = sst_redis_connect(r);
    int ok = 0;
    if (c) {
        redisReply *rep = redisCommand(c, "PING");
        ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep) freeReplyObject(rep);
        redisFree(c);
    }
    return ok;
}

/** Start redis-server (zero-initialise r first; after sst_redis_kill the
 * same port is used again, with an empty data set). Returns 0 once it
 * answers PING (within 5 s), -1 otherwise. */
static inline int sst_redis_start(sst_redis *r)
{
    char port[16];
    if (r->port <= 0 && (r->port = sst_free_port()) < 0) return -1;
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d", r->port);
    if (!r->dir[0]) {
        snprintf(r->dir, sizeof r->dir, "/tmp/sst-redis.XXXXXX");
        if (!mkdtemp(r->dir)) {
            r->dir[0] = '\0';
            return -1;
        }
    }
    r->pid = fork();
    if (r->pid < 0) return -1;
    if (r->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", r->dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        if (sst_redis_ping(r)) return 0;
        usleep(50000);
    }
    return -1;
}

/** SIGKILL the server (an outage); sst_redis_start brings it back. */
static inline void sst_redis_kill(sst_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

/** Kill the server and remove its directory. */
static inline void sst_redis_stop(sst_redis *r)
{
    sst_redis_kill(r);
    if (r->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
        if (system(cmd) != 0) { /* best effort */
        }
        r->dir[0] = '\0';
    }
}

#endif
