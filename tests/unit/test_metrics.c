/* The Prometheus registry: families without labels show at 0 before their
 * first use (counters and histograms; a gauge family a hook emptied stays
 * empty), metrics_find does not create, and values keep their digits. */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sbuf.h"
#include "test.h"

static char *render(void)
{
    struct sbuf b = SBUF_INIT;
    metrics_render(&b);
    char *s = strdup(b.p ? b.p : "");
    sbuf_free(&b);
    return s;
}

TEST(unlabelled_counters_and_histograms_show_at_zero_before_use)
{
    metrics_family("t_total", M_COUNTER, "a counter", NULL);
    metrics_family("t_seconds", M_HISTOGRAM, "a histogram", NULL);
    metrics_family("t_gauge", M_GAUGE, "a gauge that a hook fills", NULL);
    metrics_family("t_by_org_total", M_COUNTER, "labelled", "org");
    char *s = render();
    CHECK(strstr(s, "\nt_total 0\n") != NULL);
    CHECK(strstr(s, "\nt_seconds_count 0\n") != NULL);
    CHECK(strstr(s, "t_seconds_bucket{le=\"+Inf\"} 0\n") != NULL);
    CHECK(strstr(s, "\nt_gauge ") == NULL);
    CHECK(strstr(s, "t_by_org_total{") == NULL);
    free(s);
    metrics_reset_all();
}

TEST(find_does_not_create_and_preregistered_values_show)
{
    CHECK(metrics_find("t_missing_total") == NULL);
    struct mfam *f = metrics_family("t_req_total", M_COUNTER, "requests", "source,status");
    CHECK(metrics_find("t_req_total") == f);
    metrics_add(metrics_find("t_req_total"), 0, "vk", "200");
    char *s = render();
    CHECK(strstr(s, "t_req_total{source=\"vk\",status=\"200\"} 0\n") != NULL);
    free(s);
    metrics_reset_all();
}

TEST(large_values_keep_their_digits)
{
    struct mfam *g = metrics_family("t_start_seconds", M_GAUGE, "a Unix time", NULL);
    metrics_set(g, 1796680456.25);
    char *s = render();
    CHECK(strstr(s, "\nt_start_seconds 1796680456.25\n") != NULL);
    free(s);
    metrics_reset_all();
}

int main(void)
{
    RUN(unlabelled_counters_and_histograms_show_at_zero_before_use);
    RUN(find_does_not_create_and_preregistered_values_show);
    RUN(large_values_keep_their_digits);
    return test_done();
}
