/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chronik/common.h"
#include "metrics.h"

static int setup(void **state)
{
	chronik_metrics *reg;

	if (chronik_metrics_new(&reg) != 0)
		return -1;
	*state = reg;
	return 0;
}

static int teardown(void **state)
{
	chronik_metrics_free(*state);
	return 0;
}

static char *render(chronik_metrics *reg)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(chronik_metrics_render(&text, &len, reg), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_metrics_exposition_exact(void **state)
{
	chronik_metrics *reg = *state;
	chronik_metric_family *req, *size, *empty;
	chronik_counter *produce, *fetch, *again;
	chronik_gauge *temp;
	chronik_histogram *lat, *sz;
	const char *labels[] = { "api", "path" };
	const char *v1[] = { "Produce", "a\"b\\c\nd" };
	const char *v2[] = { "Fetch", "/" };
	const char *api[] = { "api" };
	const char *produce_api[] = { "Produce" };
	const double bounds[] = { 0.25, 1, 2.5 };
	const double size_bounds[] = { 1024 };
	char *text;

	assert_int_equal(chronik_metrics_counter_family(
				 &req, reg, "test_requests_total",
				 "Requests.\nSecond line \\ backslash", 2,
				 labels),
			 0);
	assert_int_equal(chronik_metric_counter(&produce, req, v1), 0);
	assert_int_equal(chronik_metric_counter(&fetch, req, v2), 0);
	assert_int_equal(chronik_metric_counter(&again, req, v1), 0);
	assert_ptr_equal(produce, again);
	chronik_counter_add(produce, 2);
	chronik_counter_inc(again);
	chronik_counter_inc(fetch);

	assert_int_equal(chronik_metrics_gauge(&temp, reg, "test_temperature",
					       "Temp."),
			 0);
	chronik_gauge_set(temp, 1);
	chronik_gauge_add(temp, -2.5);

	assert_int_equal(chronik_metrics_histogram(&lat, reg,
						   "test_latency_seconds",
						   "Latency.", bounds, 3),
			 0);
	chronik_histogram_observe(lat, 0.0625);
	chronik_histogram_observe(lat, 0.25); /* le is inclusive */
	chronik_histogram_observe(lat, 0.5);
	chronik_histogram_observe(lat, 3);
	chronik_histogram_observe(lat, NAN); /* ignored */
	assert_int_equal(chronik_histogram_count(lat), 4);

	assert_int_equal(chronik_metrics_histogram_family(
				 &size, reg, "test_size_bytes", "Sizes.", 1,
				 api, size_bounds, 1),
			 0);
	assert_int_equal(chronik_metric_histogram(&sz, size, produce_api), 0);
	chronik_histogram_observe(sz, 100);

	assert_int_equal(chronik_metrics_gauge_family(&empty, reg,
						      "test_empty", "", 0,
						      NULL),
			 0);

	text = render(reg);
	assert_string_equal(
		text,
		"# HELP test_requests_total Requests.\\nSecond line \\\\ "
		"backslash\n"
		"# TYPE test_requests_total counter\n"
		"test_requests_total{api=\"Produce\",path=\"a\\\"b\\\\c\\nd\"}"
		" 3\n"
		"test_requests_total{api=\"Fetch\",path=\"/\"} 1\n"
		"# HELP test_temperature Temp.\n"
		"# TYPE test_temperature gauge\n"
		"test_temperature -1.5\n"
		"# HELP test_latency_seconds Latency.\n"
		"# TYPE test_latency_seconds histogram\n"
		"test_latency_seconds_bucket{le=\"0.25\"} 2\n"
		"test_latency_seconds_bucket{le=\"1\"} 3\n"
		"test_latency_seconds_bucket{le=\"2.5\"} 3\n"
		"test_latency_seconds_bucket{le=\"+Inf\"} 4\n"
		"test_latency_seconds_sum 3.8125\n"
		"test_latency_seconds_count 4\n"
		"# HELP test_size_bytes Sizes.\n"
		"# TYPE test_size_bytes histogram\n"
		"test_size_bytes_bucket{api=\"Produce\",le=\"1024\"} 1\n"
		"test_size_bytes_bucket{api=\"Produce\",le=\"+Inf\"} 1\n"
		"test_size_bytes_sum{api=\"Produce\"} 100\n"
		"test_size_bytes_count{api=\"Produce\"} 1\n"
		"# HELP test_empty \n"
		"# TYPE test_empty gauge\n");
	free(text);
}

static void test_metrics_special_values(void **state)
{
	chronik_metrics *reg = *state;
	chronik_gauge *g1, *g2, *g3, *g4;
	char *text;

	assert_int_equal(chronik_metrics_gauge(&g1, reg, "a", "x"), 0);
	assert_int_equal(chronik_metrics_gauge(&g2, reg, "b", "x"), 0);
	assert_int_equal(chronik_metrics_gauge(&g3, reg, "c", "x"), 0);
	assert_int_equal(chronik_metrics_gauge(&g4, reg, "d", "x"), 0);
	chronik_gauge_set(g1, INFINITY);
	chronik_gauge_set(g2, -INFINITY);
	chronik_gauge_set(g3, NAN);
	chronik_gauge_set(g4, 0.1 + 0.2); /* needs 17 digits */
	text = render(reg);
	assert_non_null(strstr(text, "\na +Inf\n"));
	assert_non_null(strstr(text, "\nb -Inf\n"));
	assert_non_null(strstr(text, "\nc NaN\n"));
	assert_non_null(strstr(text, "\nd 0.30000000000000004\n"));
	free(text);
}

static void test_metrics_invalid_registrations(void **state)
{
	chronik_metrics *reg = *state;
	chronik_metric_family *f;
	chronik_counter *c;
	chronik_gauge *g;
	const char *le[] = { "le" };
	const char *dunder[] = { "__x" };
	const char *dup[] = { "a", "a" };
	const char *bad[] = { "a-b" };
	const double unsorted[] = { 1, 1 };
	const double inf[] = { 1, INFINITY };
	char long_value[CHRONIK_METRICS_VALUE_MAX + 2];
	const char *lv[] = { long_value };
	const char *one[] = { "a" };

	assert_int_equal(chronik_metrics_counter(&c, reg, "1abc", ""),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_counter(&c, reg, "a b", ""),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_counter(&c, reg, "", ""),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_counter(&c, reg, "ns:ok_total", ""),
			 0);
	assert_int_equal(chronik_metrics_gauge(&g, reg, "ns:ok_total", ""),
			 CHRONIK_EEXIST);
	assert_int_equal(chronik_metrics_histogram_family(
				 &f, reg, "h1", "", 1, le, NULL, 0),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_counter_family(&f, reg, "c1", "", 1,
							dunder),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_counter_family(&f, reg, "c2", "", 2,
							dup),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_counter_family(&f, reg, "c3", "", 1,
							bad),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_histogram_family(
				 &f, reg, "h2", "", 0, NULL, unsorted, 2),
			 CHRONIK_EARG);
	assert_int_equal(chronik_metrics_histogram_family(&f, reg, "h3", "",
							  0, NULL, inf, 2),
			 CHRONIK_EARG);
	/* "le" is an ordinary label outside histograms. */
	assert_int_equal(chronik_metrics_counter_family(&f, reg, "c4", "", 1,
							le),
			 0);
	/* Wrong series type, value too long. */
	assert_int_equal(chronik_metric_gauge(&g, f, one), CHRONIK_EARG);
	memset(long_value, 'x', sizeof long_value - 1);
	long_value[sizeof long_value - 1] = '\0';
	assert_int_equal(chronik_metric_counter(&c, f, lv), CHRONIK_EARG);
}

static void collect(chronik_metrics *reg, void *userdata)
{
	chronik_gauge *g = userdata;

	chronik_gauge_add(g, 1);
}

static void test_metrics_collector_runs_per_scrape(void **state)
{
	chronik_metrics *reg = *state;
	chronik_gauge *g;
	char *text;

	assert_int_equal(chronik_metrics_gauge(&g, reg, "scrapes", "n"), 0);
	assert_int_equal(chronik_metrics_add_collector(reg, collect, g), 0);
	free(render(reg));
	text = render(reg);
	assert_non_null(strstr(text, "\nscrapes 2\n"));
	free(text);
	assert_int_equal(chronik_metrics_add_collector(reg, NULL, NULL),
			 CHRONIK_EARG);
}

#define NTHREADS 8
#define NITER 100000

struct worker {
	chronik_metrics *reg;
	chronik_metric_family *fam;
	chronik_counter *shared;
	chronik_gauge *gauge;
	chronik_histogram *hist;
	chronik_broker_metrics *bm;
	chronik_counter *mine; /* got from the registry in the thread */
};

static void *work(void *arg)
{
	struct worker *w = arg;
	const char *values[] = { "same" };

	if (chronik_metric_counter(&w->mine, w->fam, values) != 0)
		return NULL;
	for (int i = 0; i < NITER; i++) {
		chronik_counter_inc(w->shared);
		chronik_counter_inc(w->mine);
		chronik_gauge_inc(w->gauge);
		chronik_histogram_observe(w->hist, (i & 1) ? 0.5 : 2.0);
		chronik_broker_metrics_request(w->bm, 0, i % 3 == 0 ? 6 : 0,
					       "NOT_LEADER_OR_FOLLOWER", 0.001);
	}
	return NULL;
}

static void test_metrics_concurrent_increments(void **state)
{
	chronik_metrics *reg = *state;
	chronik_broker_metrics bm;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	chronik_metric_family *fam;
	chronik_counter *shared, *err_counter;
	chronik_gauge *gauge;
	chronik_histogram *hist;
	const double bounds[] = { 1 };
	const char *lab[] = { "k" };
	const char *errv[] = { "Produce", "NOT_LEADER_OR_FOLLOWER" };
	const uint64_t total = (uint64_t)NTHREADS * NITER;
	uint64_t errors = 0;

	assert_int_equal(chronik_broker_metrics_init(&bm, reg, "test"), 0);
	assert_int_equal(chronik_broker_metrics_add_api(&bm, 0, "Produce"),
			 0);
	assert_int_equal(chronik_metrics_counter(&shared, reg, "t_total", ""),
			 0);
	assert_int_equal(chronik_metrics_gauge(&gauge, reg, "t_gauge", ""), 0);
	assert_int_equal(chronik_metrics_histogram(&hist, reg, "t_hist", "",
						   bounds, 1),
			 0);
	assert_int_equal(chronik_metrics_counter_family(&fam, reg, "t_fam",
							"", 1, lab),
			 0);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ reg, fam, shared, gauge, hist, &bm,
					NULL };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		assert_non_null(w[i].mine);
		assert_ptr_equal(w[i].mine, w[0].mine);
	}
	for (int i = 0; i < NITER; i++)
		errors += i % 3 == 0;
	errors *= NTHREADS;

	assert_int_equal(chronik_counter_get(shared), total);
	assert_int_equal(chronik_counter_get(w[0].mine), total);
	assert_true(chronik_gauge_get(gauge) == (double)total);
	assert_int_equal(chronik_histogram_count(hist), total);
	assert_true(chronik_histogram_sum(hist) ==
		    (double)total / 2 * 0.5 + (double)total / 2 * 2.0);
	assert_int_equal(chronik_counter_get(bm.requests_ok[0]),
			 total - errors);
	assert_int_equal(chronik_metric_counter(&err_counter, bm.requests,
						errv),
			 0);
	assert_int_equal(chronik_counter_get(err_counter), errors);
	assert_int_equal(chronik_histogram_count(bm.duration[0]), total);
	chronik_broker_metrics_free(&bm);
}

static void test_metrics_broker_set(void **state)
{
	chronik_metrics *reg = *state;
	chronik_broker_metrics bm;
	static const char *const names[] = {
		"chronik_build_info{version=\"9.9.9\"} 1\n",
		"# TYPE process_start_time_seconds gauge\n",
		"# TYPE chronik_uptime_seconds gauge\n",
		"# TYPE process_resident_memory_bytes gauge\n",
		"chronik_requests_total{api=\"Produce\",error=\"NONE\"} 2\n",
		"chronik_requests_total{api=\"Produce\",error="
		"\"NOT_LEADER_OR_FOLLOWER\"} 1\n",
		"chronik_requests_total{api=\"Produce\",error=\"-1\"} 1\n",
		"chronik_requests_total{api=\"Fetch\",error=\"NONE\"} 0\n",
		"chronik_requests_total{api=\"Fetch\",error="
		"\"FUTURE_ERROR\"} 2\n",
		"chronik_requests_total{api=\"unknown\",error=\"NONE\"} 1\n",
		"chronik_requests_total{api=\"unknown\",error="
		"\"UNSUPPORTED_VERSION\"} 1\n",
		"chronik_request_duration_seconds_bucket{api=\"Produce\","
		"le=\"0.001\"} 2\n",
		"chronik_request_duration_seconds_count{api=\"Produce\"} 4\n",
		"chronik_request_duration_seconds_count{api=\"Fetch\"} 2\n",
		"chronik_request_duration_seconds_count{api=\"unknown\"} 2\n",
		"chronik_network_bytes_received_total 100\n",
		"chronik_network_bytes_sent_total 200\n",
		"chronik_connections 1\n",
		"chronik_connections_accepted_total 2\n",
		"chronik_partitions 3\n",
		"chronik_under_replicated_partitions 0\n",
		"chronik_wal_syncs_total 1\n",
		"chronik_wal_sync_records_bucket{le=\"63\"} 1\n",
		"chronik_wal_sync_records_count 1\n",
		"chronik_wal_sync_seconds_bucket{le=\"0.000255\"} 1\n",
		"chronik_wal_sync_seconds_count 1\n",
	};
	const char *p;
	char *text;
	double rss;

	assert_int_equal(chronik_broker_metrics_init(&bm, reg, "9.9.9"), 0);
	assert_int_equal(chronik_broker_metrics_add_api(&bm, 0, "Produce"),
			 0);
	assert_int_equal(chronik_broker_metrics_add_api(&bm, 1, "Fetch"), 0);
	assert_int_equal(chronik_broker_metrics_add_api(&bm, 1, "Fetch"),
			 CHRONIK_EEXIST);
	assert_int_equal(chronik_broker_metrics_add_api(&bm, 500, "X"),
			 CHRONIK_EARG);
	chronik_broker_metrics_request(&bm, 0, 0, NULL, 0.0005);
	chronik_broker_metrics_request(&bm, 0, 0, NULL, 0.001);
	chronik_broker_metrics_request(&bm, 0, 6, "NOT_LEADER_OR_FOLLOWER",
				       0.02);
	chronik_broker_metrics_request(&bm, 0, -1, NULL, 0.02);
	/* Beyond the cached range: looked up each time, still counted. */
	chronik_broker_metrics_request(&bm, 1, 500, "FUTURE_ERROR", 0.02);
	chronik_broker_metrics_request(&bm, 1, 500, "FUTURE_ERROR", 0.02);
	chronik_broker_metrics_request(&bm, 77, 0, NULL, 0.02);
	chronik_broker_metrics_request(&bm, -3, 35, "UNSUPPORTED_VERSION",
				       0.02);
	chronik_counter_add(bm.bytes_received, 100);
	chronik_counter_add(bm.bytes_sent, 200);
	chronik_counter_inc(bm.connections_accepted);
	chronik_counter_inc(bm.connections_accepted);
	chronik_gauge_inc(bm.connections);
	chronik_gauge_inc(bm.connections);
	chronik_gauge_dec(bm.connections);
	chronik_gauge_set(bm.partitions, 3);
	chronik_counter_inc(bm.wal_syncs);
	chronik_histogram_observe(bm.wal_sync_records, 42);
	chronik_histogram_observe(bm.wal_sync_seconds, 0.00015);

	text = render(reg);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strstr(text, names[i]))
			fail_msg("missing '%s' in:\n%s", names[i], text);
	p = strstr(text, "\nprocess_resident_memory_bytes ");
	assert_non_null(p);
	rss = strtod(p + strlen("\nprocess_resident_memory_bytes "), NULL);
	assert_true(rss > 1e5);
	p = strstr(text, "\nprocess_start_time_seconds ");
	assert_non_null(p);
	assert_true(strtod(p + 28, NULL) > 1.6e9);
	free(text);
	/* A second set in the same registry collides. */
	{
		chronik_broker_metrics again;

		assert_int_equal(chronik_broker_metrics_init(&again, reg,
							     "x"),
				 CHRONIK_EEXIST);
	}
	chronik_broker_metrics_free(&bm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metrics_exposition_exact,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_special_values,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_metrics_invalid_registrations, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_metrics_collector_runs_per_scrape, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_metrics_concurrent_increments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_broker_set,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
