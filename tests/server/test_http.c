/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP port on 127.0.0.1 (port 0), driven with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "chronik/common.h"
#include "http.h"
#include "metrics.h"

#define KEY "4f2a9c0d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29"

struct fixture {
	chronik_metrics *reg;
	chronik_counter *hits;
	chronik_http *http;
	atomic_int status_rc; /* what the fake status provider returns */
	atomic_int topics_calls;
};

/* ---- fake admin provider --------------------------------------------- */

static int fake_status(json_t **out, void *userdata)
{
	struct fixture *f = userdata;
	int rc = atomic_load(&f->status_rc);

	if (rc != 0)
		return rc;
	*out = json_pack("{s:i,s:s,s:b}", "node_id", 1, "state", "running",
			 "ready", 1);
	return *out ? 0 : CHRONIK_ENOMEM;
}

static int fake_topics(json_t **out, void *userdata)
{
	struct fixture *f = userdata;

	atomic_fetch_add(&f->topics_calls, 1);
	*out = json_pack("{s:[{s:s,s:i}]}", "topics", "name", "orders",
			 "partitions", 3);
	return *out ? 0 : CHRONIK_ENOMEM;
}

static int start(struct fixture *f, chronik_metrics *metrics)
{
	chronik_http_options o = { 0 };
	char err[256];
	int rc;

	o.host = "127.0.0.1";
	o.port = 0;
	o.admin_key = KEY;
	o.metrics = metrics;
	o.admin.status = fake_status;
	o.admin.topics = fake_topics;
	o.admin.userdata = f;
	o.connection_timeout_s = 5;
	rc = chronik_http_start(&f->http, &o, err, sizeof err);
	if (rc != 0)
		print_error("chronik_http_start: %s\n", err);
	return rc;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (!f || chronik_metrics_new(&f->reg) != 0)
		return -1;
	if (chronik_metrics_counter(&f->hits, f->reg, "test_hits_total",
				    "Hits.") != 0)
		return -1;
	atomic_init(&f->status_rc, 0);
	atomic_init(&f->topics_calls, 0);
	if (start(f, f->reg) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	chronik_http_stop(f->http);
	chronik_metrics_free(f->reg);
	free(f);
	return 0;
}

/* ---- client ----------------------------------------------------------- */

struct reply {
	long status;
	char body[16384];
	size_t len;
	char content_type[128];
	char allow[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct reply *r = userdata;
	size_t len = size * n;

	if (len > sizeof r->body - 1 - r->len)
		len = sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return size * n;
}

static void header_value(char *dst, size_t cap, const char *line,
			 size_t len, const char *name)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0)
		return;
	line += nl;
	len -= nl;
	while (len > 0 && *line == ' ') {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, line, len);
	dst[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct reply *r = userdata;

	header_value(r->content_type, sizeof r->content_type, p, size * n,
		     "Content-Type:");
	header_value(r->allow, sizeof r->allow, p, size * n, "Allow:");
	return size * n;
}

/* method "GET" / "HEAD" / other; key NULL: no X-API-Key; body NULL: none */
static void request(struct fixture *f, struct reply *r, const char *method,
		    const char *path, const char *key, const char *body)
{
	char url[256], hdr[512];
	struct curl_slist *headers = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;

	assert_non_null(c);
	memset(r, 0, sizeof *r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s",
		 chronik_http_port(f->http), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || body)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (key) {
		snprintf(hdr, sizeof hdr, "X-API-Key: %s", key);
		headers = curl_slist_append(headers, hdr);
	}
	/* No "Expect: 100-continue" round trip for bodies. */
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
}

static json_t *parse_json(const struct reply *r)
{
	json_error_t e;
	json_t *v = json_loads(r->body, 0, &e);

	if (!v)
		fail_msg("not JSON (%s): '%s'", e.text, r->body);
	return v;
}

static void assert_json_error(const struct reply *r, long status,
			      const char *code)
{
	json_t *v;

	assert_int_equal(r->status, status);
	assert_string_equal(r->content_type, "application/json");
	v = parse_json(r);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
			    code);
	assert_non_null(json_string_value(json_object_get(v, "message")));
	json_decref(v);
}

/* ---- tests ------------------------------------------------------------ */

static void test_http_port_is_reported(void **state)
{
	struct fixture *f = *state;

	assert_true(chronik_http_port(f->http) > 0);
	assert_true(chronik_http_port(f->http) <= 65535);
}

static void test_http_health(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	request(f, &r, "GET", "/health", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	request(f, &r, "HEAD", "/health", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	/* The query string does not matter. */
	request(f, &r, "GET", "/health?verbose=1", NULL, NULL);
	assert_int_equal(r.status, 200);
}

static void test_http_ready(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	assert_false(chronik_http_is_ready(f->http));
	request(f, &r, "GET", "/ready", NULL, NULL);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "not ready\n");
	chronik_http_set_ready(f->http, true);
	request(f, &r, "GET", "/ready", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ready\n");
	chronik_http_set_ready(f->http, false); /* shutting down */
	request(f, &r, "GET", "/ready", NULL, NULL);
	assert_int_equal(r.status, 503);
}

static void test_http_metrics(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	chronik_counter_add(f->hits, 41);
	chronik_counter_inc(f->hits);
	request(f, &r, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type,
			    "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(r.body, "# HELP test_hits_total Hits.\n"
				    "# TYPE test_hits_total counter\n"
				    "test_hits_total 42\n");
}

static void test_http_metrics_broker_set(void **state)
{
	struct fixture *f = *state;
	chronik_broker_metrics bm;
	struct reply r;

	assert_int_equal(chronik_broker_metrics_init(&bm, f->reg, "0.1.0"), 0);
	assert_int_equal(chronik_broker_metrics_add_api(&bm, 0, "Produce"),
			 0);
	chronik_broker_metrics_request(&bm, 0, 0, NULL, 0.003);
	request(f, &r, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "chronik_requests_total{api=\"Produce\","
				       "error=\"NONE\"} 1\n"));
	assert_non_null(strstr(r.body, "\nprocess_resident_memory_bytes "));
	assert_non_null(strstr(r.body, "\nchronik_uptime_seconds "));
	/* The collector points at bm: stop serving before it goes away. */
	chronik_http_stop(f->http);
	f->http = NULL;
	chronik_broker_metrics_free(&bm);
}

static void test_http_admin_requires_key(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	request(f, &r, "GET", "/admin/status", NULL, NULL);
	assert_json_error(&r, 401, "unauthorized");
	assert_non_null(strstr(r.body, "missing X-API-Key"));
	request(f, &r, "GET", "/admin/status", "wrong", NULL);
	assert_json_error(&r, 401, "unauthorized");
	assert_non_null(strstr(r.body, "invalid API key"));
	/* A prefix or extension of the key is wrong too. */
	request(f, &r, "GET", "/admin/topics", "4f2a9c0d", NULL);
	assert_json_error(&r, 401, "unauthorized");
	request(f, &r, "GET", "/admin/topics", KEY "0", NULL);
	assert_json_error(&r, 401, "unauthorized");
	/* Unknown admin paths and wrong methods are hidden behind auth,
	 * and the providers never ran. */
	request(f, &r, "GET", "/admin/nope", NULL, NULL);
	assert_json_error(&r, 401, "unauthorized");
	request(f, &r, "DELETE", "/admin/topics", "wrong", NULL);
	assert_json_error(&r, 401, "unauthorized");
	assert_int_equal(atomic_load(&f->topics_calls), 0);
}

static void test_http_admin_with_key(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	json_t *v, *t;

	request(f, &r, "GET", "/admin/status", KEY, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/json");
	v = parse_json(&r);
	assert_int_equal(json_integer_value(json_object_get(v, "node_id")),
			 1);
	assert_string_equal(json_string_value(json_object_get(v, "state")),
			    "running");
	json_decref(v);

	request(f, &r, "GET", "/admin/topics", KEY, NULL);
	assert_int_equal(r.status, 200);
	v = parse_json(&r);
	t = json_array_get(json_object_get(v, "topics"), 0);
	assert_string_equal(json_string_value(json_object_get(t, "name")),
			    "orders");
	assert_int_equal(json_integer_value(json_object_get(t, "partitions")),
			 3);
	json_decref(v);
	assert_int_equal(atomic_load(&f->topics_calls), 1);

	request(f, &r, "GET", "/admin/nope", KEY, NULL);
	assert_json_error(&r, 404, "not_found");
	request(f, &r, "GET", "/admin", KEY, NULL);
	assert_json_error(&r, 404, "not_found");
	request(f, &r, "POST", "/admin/topics", KEY, NULL);
	assert_json_error(&r, 405, "method_not_allowed");
	assert_string_equal(r.allow, "GET, HEAD");
}

static void test_http_admin_provider_failures(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	atomic_store(&f->status_rc, CHRONIK_EAGAIN);
	request(f, &r, "GET", "/admin/status", KEY, NULL);
	assert_json_error(&r, 503, "unavailable");
	atomic_store(&f->status_rc, CHRONIK_EFAILED);
	request(f, &r, "GET", "/admin/status", KEY, NULL);
	assert_json_error(&r, 500, "internal");
	atomic_store(&f->status_rc, 0);
	request(f, &r, "GET", "/admin/status", KEY, NULL);
	assert_int_equal(r.status, 200);
}

static void test_http_not_found_and_methods(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	request(f, &r, "GET", "/", NULL, NULL);
	assert_int_equal(r.status, 404);
	request(f, &r, "GET", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 404);
	request(f, &r, "GET", "/health/", NULL, NULL);
	assert_int_equal(r.status, 404);
	request(f, &r, "GET", "/administrator", NULL, NULL);
	assert_int_equal(r.status, 404);
	request(f, &r, "POST", "/health", NULL, NULL);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	request(f, &r, "PUT", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 405);
	request(f, &r, "DELETE", "/ready", NULL, NULL);
	assert_int_equal(r.status, 405);
}

static void test_http_rejects_bodies(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	request(f, &r, "POST", "/health", NULL, "x=1");
	assert_int_equal(r.status, 405);
	request(f, &r, "GET", "/health", NULL, "x=1");
	assert_int_equal(r.status, 413);
	request(f, &r, "GET", "/admin/status", KEY, "{}");
	assert_json_error(&r, 413, "body_not_allowed");
	/* The server still answers afterwards. */
	request(f, &r, "GET", "/health", NULL, NULL);
	assert_int_equal(r.status, 200);
}

static void test_http_no_metrics_registry(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	chronik_http_options o = { 0 };
	char err[256];

	/* Stopping frees the port: a new server binds it again. */
	o.host = "127.0.0.1";
	o.port = chronik_http_port(f->http);
	o.admin_key = KEY;
	chronik_http_stop(f->http);
	f->http = NULL;
	assert_int_equal(chronik_http_start(&f->http, &o, err, sizeof err), 0);
	assert_int_equal(chronik_http_port(f->http), o.port);
	request(f, &r, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 404);
	/* No provider callbacks: 503, still behind the key. */
	request(f, &r, "GET", "/admin/status", NULL, NULL);
	assert_json_error(&r, 401, "unauthorized");
	request(f, &r, "GET", "/admin/topics", KEY, NULL);
	assert_json_error(&r, 503, "unavailable");
}

static void test_http_start_errors(void **state)
{
	struct fixture *f = *state;
	chronik_http_options o = { 0 };
	chronik_http *h = (chronik_http *)1;
	char err[256];

	o.host = "127.0.0.1";
	/* Never unauthenticated. */
	assert_int_equal(chronik_http_start(&h, &o, err, sizeof err),
			 CHRONIK_EARG);
	assert_null(h);
	assert_non_null(strstr(err, "admin API key"));
	o.admin_key = "";
	assert_int_equal(chronik_http_start(&h, &o, err, sizeof err),
			 CHRONIK_EARG);
	o.admin_key = KEY;
	o.port = 70000;
	assert_int_equal(chronik_http_start(&h, &o, err, sizeof err),
			 CHRONIK_EARG);
	/* The port is taken by the fixture's server. */
	o.port = chronik_http_port(f->http);
	assert_int_equal(chronik_http_start(&h, &o, err, sizeof err),
			 -EADDRINUSE);
	assert_null(h);
	assert_non_null(strstr(err, "cannot bind"));
	o.port = 0;
	o.host = "no-such-host.invalid";
	assert_true(chronik_http_start(&h, &o, err, sizeof err) < 0);
	assert_null(h);
	chronik_http_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_http_port_is_reported),
		T(test_http_health),
		T(test_http_ready),
		T(test_http_metrics),
		T(test_http_metrics_broker_set),
		T(test_http_admin_requires_key),
		T(test_http_admin_with_key),
		T(test_http_admin_provider_failures),
		T(test_http_not_found_and_methods),
		T(test_http_rejects_bodies),
		T(test_http_no_metrics_registry),
		T(test_http_start_errors),
#undef T
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
