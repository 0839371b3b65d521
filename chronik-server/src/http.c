/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "admin_key.h"
#include "chronik/common.h"

#define CONTENT_TEXT "text/plain; charset=utf-8"
#define CONTENT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_JSON "application/json"
#define ALLOWED_METHODS "GET, HEAD"
#define API_KEY_HEADER "X-API-Key"

struct chronik_http {
	struct MHD_Daemon *daemon;
	int port;
	atomic_bool ready;
	char admin_key[CHRONIK_ADMIN_KEY_MAX + 1];
	chronik_metrics *metrics;
	chronik_http_admin_provider admin;
	chronik_log *log;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- responses -------------------------------------------------------- */

/* Queue `body` (taken: freed by libmicrohttpd, or here on failure). */
static enum MHD_Result reply_owned(struct MHD_Connection *conn,
				   unsigned int status, const char *type,
				   char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					ALLOWED_METHODS);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn,
				  unsigned int status, const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply_owned(conn, status, CONTENT_TEXT, body, strlen(body));
}

static enum MHD_Result reply_json(struct MHD_Connection *conn,
				  unsigned int status, json_t *v)
{
	char *body = v ? json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII)
		       : NULL;

	json_decref(v);
	if (!body)
		return MHD_NO;
	return reply_owned(conn, status, CONTENT_JSON, body, strlen(body));
}

/* {"error":"<code>","message":"<text>"} */
static enum MHD_Result reply_json_error(struct MHD_Connection *conn,
					unsigned int status, const char *code,
					const char *message)
{
	return reply_json(conn, status,
			  json_pack("{s:s,s:s}", "error", code, "message",
				    message));
}

/* ---- endpoints -------------------------------------------------------- */

static enum MHD_Result serve_metrics(chronik_http *h,
				     struct MHD_Connection *conn)
{
	char *text;
	size_t len;
	int rc;

	if (!h->metrics)
		return reply_text(conn, MHD_HTTP_NOT_FOUND,
				  "metrics are not enabled\n");
	rc = chronik_metrics_render(&text, &len, h->metrics);
	if (rc != 0)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "cannot render metrics\n");
	return reply_owned(conn, MHD_HTTP_OK, CONTENT_METRICS, text, len);
}

static enum MHD_Result serve_admin(chronik_http *h,
				   struct MHD_Connection *conn,
				   int (*fn)(json_t **, void *))
{
	json_t *v = NULL;
	int rc;

	if (!fn)
		return reply_json_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					"unavailable",
					"not provided by this broker");
	rc = fn(&v, h->admin.userdata);
	if (rc == 0 && v)
		return reply_json(conn, MHD_HTTP_OK, v);
	json_decref(v);
	if (rc == CHRONIK_EAGAIN)
		return reply_json_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					"unavailable",
					"the broker is not ready yet");
	if (h->log)
		chronik_log_warn(h->log, "http", "admin provider failed: %s",
				 chronik_strerror(rc ? rc : CHRONIK_EFAILED));
	return reply_json_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				"internal", chronik_strerror(rc ? rc
							   : CHRONIK_EFAILED));
}

static bool is_admin_path(const char *url)
{
	return strncmp(url, "/admin", 6) == 0 &&
	       (url[6] == '\0' || url[6] == '/');
}

/* A request announcing a body: a non-zero Content-Length or any
 * Transfer-Encoding (chunked). */
static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

	if (te)
		return true;
	if (!cl)
		return false;
	while (*cl == '0')
		cl++;
	return *cl != '\0';
}

/*
 * libmicrohttpd's access handler. Every answer is decided on the first
 * call, when only the headers have been read: none of these endpoints
 * takes a body, and answering early means a body is never buffered
 * (libmicrohttpd then closes the connection instead of reading it).
 * Runs on the HTTP thread.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	chronik_http *h = cls;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		   strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	bool admin = is_admin_path(url);
	bool known;

	if (h->log && chronik_log_enabled(h->log, CHRONIK_LOG_DEBUG))
		chronik_log_debug(h->log, "http", "%s %s", method, url);
	if (admin) {
		const char *key = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, API_KEY_HEADER);

		if (!key || !chronik_admin_key_equal(h->admin_key, key)) {
			if (h->log)
				chronik_log_info(h->log, "http",
						 "%s %s: %s API key", method,
						 url,
						 key ? "wrong" : "missing");
			return reply_json_error(
				conn, MHD_HTTP_UNAUTHORIZED, "unauthorized",
				key ? "invalid API key"
				    : "missing " API_KEY_HEADER " header");
		}
		known = strcmp(url, "/admin/status") == 0 ||
			strcmp(url, "/admin/topics") == 0;
	} else {
		known = strcmp(url, "/health") == 0 ||
			strcmp(url, "/ready") == 0 ||
			strcmp(url, "/metrics") == 0;
	}
	if (!known)
		return admin ? reply_json_error(conn, MHD_HTTP_NOT_FOUND,
						"not_found", "no such endpoint")
			     : reply_text(conn, MHD_HTTP_NOT_FOUND,
					  "not found\n");
	if (!get)
		return admin ? reply_json_error(conn,
						MHD_HTTP_METHOD_NOT_ALLOWED,
						"method_not_allowed",
						"use GET")
			     : reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "method not allowed\n");
	if (has_body(conn) || *upload_data_size > 0)
		return admin ? reply_json_error(
				       conn, MHD_HTTP_CONTENT_TOO_LARGE,
				       "body_not_allowed",
				       "this endpoint takes no request body")
			     : reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE,
					  "request body not allowed\n");

	if (strcmp(url, "/health") == 0)
		return reply_text(conn, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/ready") == 0)
		return chronik_http_is_ready(h)
			       ? reply_text(conn, MHD_HTTP_OK, "ready\n")
			       : reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					    "not ready\n");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(h, conn);
	if (strcmp(url, "/admin/status") == 0)
		return serve_admin(h, conn, h->admin.status);
	return serve_admin(h, conn, h->admin.topics);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	chronik_http *h = cls;
	char line[512];

	if (!h->log)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	chronik_log_warn(h->log, "http", "%s", line);
}

/* ---- start / stop ----------------------------------------------------- */

/* A listening socket on host:port, tried for every address the name
 * gives. Returns the fd or -errno (err filled). */
static int listen_on(const char *host, int port, int *bound_port,
		     char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai, *it;
	char service[16];
	int fd = -1, rc, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(service, sizeof service, "%d", port);
	rc = getaddrinfo(host, service, &hints, &ai);
	if (rc != 0)
		return fail(err, errlen, CHRONIK_EARG,
			    "cannot resolve HTTP bind address '%s': %s", host,
			    gai_strerror(rc));
	rc = -EADDRNOTAVAIL;
	for (it = ai; it; it = it->ai_next) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;

		/* Non-blocking: a client gone between poll and accept must
		 * not stall the HTTP thread. */
		fd = socket(it->ai_family,
			    it->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    it->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, it->ai_addr, it->ai_addrlen) != 0 ||
		    listen(fd, 64) != 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
			rc = -errno;
			close(fd);
			fd = -1;
			continue;
		}
		*bound_port = ss.ss_family == AF_INET6
				      ? ntohs(((struct sockaddr_in6 *)&ss)
						      ->sin6_port)
				      : ntohs(((struct sockaddr_in *)&ss)
						      ->sin_port);
		break;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return fail(err, errlen, rc, "cannot bind HTTP port %s:%d: %s",
			    host, port, chronik_strerror(rc));
	return fd;
}

int chronik_http_start(chronik_http **out, const chronik_http_options *opts,
		       char *err, size_t errlen)
{
	const char *host = opts->host ? opts->host : "0.0.0.0";
	chronik_http *h;
	unsigned int timeout, maxconn;
	size_t keylen;
	int fd;

	*out = NULL;
	if (err && errlen > 0)
		err[0] = '\0';
	keylen = opts->admin_key ? strlen(opts->admin_key) : 0;
	if (keylen == 0 || keylen > CHRONIK_ADMIN_KEY_MAX)
		return fail(err, errlen, CHRONIK_EARG,
			    "the HTTP server needs an admin API key");
	if (opts->port < 0 || opts->port > 65535)
		return fail(err, errlen, CHRONIK_EARG, "bad HTTP port %d",
			    opts->port);
	h = calloc(1, sizeof *h);
	if (!h)
		return fail(err, errlen, CHRONIK_ENOMEM, "out of memory");
	memcpy(h->admin_key, opts->admin_key, keylen + 1);
	h->metrics = opts->metrics;
	h->admin = opts->admin;
	h->log = opts->log;
	atomic_init(&h->ready, false);
	timeout = opts->connection_timeout_s ? opts->connection_timeout_s : 30;
	maxconn = opts->max_connections ? opts->max_connections : 64;

	/* Binding here rather than in libmicrohttpd gives a real errno
	 * (EADDRINUSE, EACCES) to report. */
	fd = listen_on(host, opts->port, &h->port, err, errlen);
	if (fd < 0) {
		free(h);
		return fd;
	}
	h->daemon = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		maxconn, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_END);
	if (!h->daemon) {
		close(fd);
		memset(h->admin_key, 0, sizeof h->admin_key);
		free(h);
		return fail(err, errlen, CHRONIK_EFAILED,
			    "cannot start the HTTP server on %s:%d", host,
			    opts->port);
	}
	if (h->log)
		chronik_log_info(h->log, "http",
				 "HTTP listening on %s port %d (/health, "
				 "/ready, /metrics, /admin)",
				 host, h->port);
	*out = h;
	return 0;
}

int chronik_http_port(const chronik_http *h)
{
	return h->port;
}

void chronik_http_set_ready(chronik_http *h, bool ready)
{
	atomic_store_explicit(&h->ready, ready, memory_order_release);
}

bool chronik_http_is_ready(const chronik_http *h)
{
	return atomic_load_explicit(&((chronik_http *)h)->ready,
				    memory_order_acquire);
}

void chronik_http_stop(chronik_http *h)
{
	if (!h)
		return;
	/* Joins the HTTP thread and closes the listening socket too. */
	MHD_stop_daemon(h->daemon);
	memset(h->admin_key, 0, sizeof h->admin_key);
	free(h);
}
