/* A stand-alone Kafka broker for the benchmark, on librdkafka's mock
 * cluster: in memory, one thread, no JVM eating the CPU the daemon is
 * measured on.  It is not the real thing (no replication, no disk), which is
 * why the tests use Apache Kafka; the benchmark acknowledges at the spool
 * fsync anyway and Kafka only runs behind.
 *
 *   mockkafka TOPIC...    prints "bootstrap=HOST:PORT", serves until SIGTERM */
#include <signal.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char **argv)
{
    /* Blocked before librdkafka starts its threads, so they inherit the mask
     * and the signal reaches sigwait() below. */
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "mockkafka: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "mockkafka: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (mc == NULL) {
        fprintf(stderr, "mockkafka: cannot create the mock cluster\n");
        return 1;
    }
    for (int i = 1; i < argc; i++)
        rd_kafka_mock_topic_create(mc, argv[i], 4, 1);
    printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    sigwait(&set, &sig);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
