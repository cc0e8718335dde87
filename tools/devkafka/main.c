/* devkafka - librdkafka's mock cluster on loopback: the embedded Kafka for
 * development, tests and the demo. NOT a production broker: in memory only,
 * plaintext, and each partition keeps only its newest ~5 MiB (see
 * docs/architecture.md). Point services at a real cluster with KAFKA_BROKERS.
 *
 *   devkafka [--brokers N] [--partitions P] [--topic NAME[:PARTS]]...
 *            [--bootstrap-file FILE]
 * Creates the project's topics, prints the bootstrap address, runs until
 * SIGTERM/SIGINT. SIGUSR1 takes every broker down, SIGUSR2 brings them up
 * (fault injection for tests). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static const char *default_topics[] = {"events.ingest", "events.raw", "events.dlq",
                                       "features.enriched", "scores", "labels",
                                       "monitoring.drift", NULL};

static volatile sig_atomic_t stop, fault;

static void on_signal(int sig)
{
    if (sig == SIGUSR1 || sig == SIGUSR2)
        fault = sig;
    else
        stop = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: devkafka [--brokers N] [--partitions P] [--topic NAME[:PARTS]]... "
                    "[--bootstrap-file FILE]\n");
    exit(2);
}

static int write_bootstrap(const char *path, const char *bootstraps)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%s\n", bootstraps);
    if (fclose(f) != 0) return -1;
    return rename(tmp, path);
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec, int def_parts, int rf)
{
    char name[256];
    int parts = def_parts;
    const char *colon = strrchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof(name)) return -1;
    memcpy(name, spec, n);
    name[n] = '\0';
    if (colon && (parts = atoi(colon + 1)) <= 0) return -1;
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, rf);
    if (e) {
        fprintf(stderr, "devkafka: create topic %s: %s\n", name, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int brokers = 1, partitions = 4, ntopics = 0;
    const char *bootstrap_file = NULL, *topics[64];
    char errstr[256];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc)
            brokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--partitions") && i + 1 < argc)
            partitions = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topic") && i + 1 < argc && ntopics < 64)
            topics[ntopics++] = argv[++i];
        else if (!strcmp(argv[i], "--bootstrap-file") && i + 1 < argc)
            bootstrap_file = argv[++i];
        else
            usage();
    }
    if (brokers < 1 || brokers > 9 || partitions < 1 || partitions > 256) usage();

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "devkafka: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "devkafka: failed to create the mock cluster\n");
        return 1;
    }
    int rf = brokers < 3 ? brokers : 3;
    for (const char **t = default_topics; *t; t++)
        if (create_topic(mc, *t, partitions, rf)) return 1;
    for (int i = 0; i < ntopics; i++)
        if (create_topic(mc, topics[i], partitions, rf)) {
            fprintf(stderr, "devkafka: bad --topic \"%s\"\n", topics[i]);
            return 2;
        }

    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    printf("%s\n", bs);
    fflush(stdout);
    if (bootstrap_file && write_bootstrap(bootstrap_file, bs)) {
        fprintf(stderr, "devkafka: write %s: %s\n", bootstrap_file, strerror(errno));
        return 1;
    }
    fprintf(stderr, "{\"level\":\"info\",\"service\":\"devkafka\",\"msg\":\"mock cluster up\","
                    "\"bootstrap\":\"%s\",\"brokers\":%d,\"partitions\":%d}\n",
            bs, brokers, partitions);

    while (!stop) {
        int sig = fault;
        if (!sig) {
            usleep(20000);
            continue;
        }
        fault = 0;
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            for (int b = 1; b <= brokers; b++) {
                if (sig == SIGUSR1)
                    rd_kafka_mock_broker_set_down(mc, b);
                else
                    rd_kafka_mock_broker_set_up(mc, b);
            }
            fprintf(stderr, "{\"level\":\"info\",\"service\":\"devkafka\",\"msg\":\"brokers %s\"}\n",
                    sig == SIGUSR1 ? "down" : "up");
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    if (bootstrap_file) unlink(bootstrap_file);
    return 0;
}
