/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-server's HTTP port (default 6092), on libmicrohttpd:
 *
 *   GET /health          200 "ok" while the process serves HTTP
 *   GET /ready           200 once the broker called
 *                        chronik_http_set_ready(h, true), 503 before
 *   GET /metrics         Prometheus text 0.0.4 from a chronik_metrics
 *   GET /admin/status    JSON from the admin provider  } X-API-Key
 *   GET /admin/topics    JSON from the admin provider  } required
 *
 * HEAD is accepted wherever GET is. Other methods get 405, unknown paths
 * 404, requests with a body 413, /admin/... without the right key 401
 * (checked before anything else under /admin, so unknown admin paths do
 * not reveal themselves). docs/http.md is the user-facing description.
 *
 * Threads: the server runs its own polling thread (libmicrohttpd's
 * internal one), so it never blocks the broker's libuv loop. Collectors,
 * admin provider callbacks and the metrics rendering run on that thread,
 * one request at a time. chronik_http_set_ready() may be called from any
 * thread; chronik_http_stop() from any thread but the HTTP one.
 */
#ifndef CHRONIK_SERVER_HTTP_H
#define CHRONIK_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "log.h"
#include "metrics.h"

typedef struct chronik_http chronik_http;

/*
 * What the broker exposes on the admin endpoints. Each callback stores a
 * new JSON value in *out (the server takes the reference and releases it)
 * and returns 0; or returns CHRONIK_EAGAIN (answered 503, e.g. still
 * recovering) or another negative code (500). They run on the HTTP
 * thread, concurrently with the broker: take a consistent snapshot (a
 * lock, or a copy the broker publishes) and return quickly. A NULL
 * callback answers 503.
 */
typedef struct chronik_http_admin_provider {
	/* {"node_id":1,"version":"0.1.0","state":"running",...} */
	int (*status)(json_t **out, void *userdata);
	/* {"topics":[{"name":"t","partitions":3,...},...]} */
	int (*topics)(json_t **out, void *userdata);
	void *userdata;
} chronik_http_admin_provider;

typedef struct chronik_http_options {
	/* Address to bind: numeric or a host name; NULL is "0.0.0.0". */
	const char *host;
	/* TCP port, 0 for any free one (see chronik_http_port()). */
	int port;
	/* The admin API key, required and non-empty (chronik_admin_key_load
	 * gives one); copied. The admin API never runs without it. */
	const char *admin_key;
	/* Rendered on /metrics; NULL answers 404. Borrowed: must outlive
	 * the server. */
	chronik_metrics *metrics;
	chronik_http_admin_provider admin;
	/* Where to log (NULL: nowhere). Borrowed. */
	chronik_log *log;
	/* Idle connections are closed after this many seconds (0: 30). */
	unsigned int connection_timeout_s;
	/* Most simultaneous connections (0: 64). */
	unsigned int max_connections;
} chronik_http_options;

/*
 * Bind, listen and start serving. On failure *out is NULL and err (if
 * not NULL) gets one line, e.g. "cannot bind 0.0.0.0:6092: Address
 * already in use". Returns 0, CHRONIK_EARG (no admin key, bad port or
 * host), CHRONIK_ENOMEM, CHRONIK_EFAILED (libmicrohttpd refused to
 * start) or -errno from socket/bind/listen.
 */
int chronik_http_start(chronik_http **out, const chronik_http_options *opts,
		       char *err, size_t errlen);

/* The bound TCP port (the real one when 0 was asked for). */
int chronik_http_port(const chronik_http *h);

/* Readiness as answered by /ready; false at start. */
void chronik_http_set_ready(chronik_http *h, bool ready);
bool chronik_http_is_ready(const chronik_http *h);

/* Stop serving: closes the listener and every connection, waits for the
 * HTTP thread to finish. NULL is fine. */
void chronik_http_stop(chronik_http *h);

#endif /* CHRONIK_SERVER_HTTP_H */
