/* SPDX-License-Identifier: Apache-2.0 */
/* Kafka client plumbing for chronik-bench; see kafka.h. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "kafka.h"

#define CLIENT_ID "chronik-bench"
#define MAX_FRAME (256u << 20)

int kc_resolve(const char *hostport, struct sockaddr_storage *ss,
	       socklen_t *len, char *msg, size_t msgcap)
{
	char host[256];
	const char *colon, *port, *h = hostport;
	size_t hl;
	struct addrinfo hints, *res = NULL;
	int rc;

	colon = strrchr(hostport, ':');
	if (!colon || !colon[1]) {
		snprintf(msg, msgcap, "'%s': expected host:port", hostport);
		return -1;
	}
	port = colon + 1;
	hl = (size_t)(colon - hostport);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof host) {
		snprintf(msg, msgcap, "'%s': bad host", hostport);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc || !res) {
		snprintf(msg, msgcap, "'%s': %s", hostport, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int kc_encode(uint8_t **buf, size_t *cap, size_t *len, int16_t api,
	      int16_t ver, int32_t corr, const void *body, char *msg,
	      size_t msgcap)
{
	chronik_protocol_request_header hdr;
	chronik_protocol_errinfo err;
	size_t n = 0;
	int rc;

	chronik_protocol_request_header_init(&hdr);
	hdr.request_api_key = api;
	hdr.request_api_version = ver;
	hdr.correlation_id = corr;
	hdr.client_id.ptr = CLIENT_ID;
	hdr.client_id.len = (int32_t)strlen(CLIENT_ID);
	for (;;) {
		rc = chronik_protocol_request_frame_encode(&n, *buf, *cap,
			CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, &hdr, body, &err);
		/* buf NULL only computes the size: allocate and redo. */
		if ((rc != CHRONIK_ETOOBIG && (rc || *buf)) || n <= *cap)
			break;
		uint8_t *nb = realloc(*buf, n + n / 4);
		if (!nb)
			return CHRONIK_ENOMEM;
		*buf = nb;
		*cap = n + n / 4;
	}
	if (rc) {
		if (msg)
			snprintf(msg, msgcap, "encode: %s", err.message);
		return rc;
	}
	*len = n;
	return 0;
}

/* Decode a response frame; a peer that appends bytes after a complete
 * body (librdkafka's mock cluster does, for ListOffsets v5) is
 * tolerated: the body is decoded again without the tail. */
static int decode_response(chronik_protocol_response_header *rh,
			   void **body, chronik_protocol_arena *a,
			   int16_t api, int16_t ver, const uint8_t *p,
			   size_t n, chronik_protocol_errinfo *err)
{
	int rc = chronik_protocol_response_frame_decode(rh, body, a, 0, api,
							ver, p, n, err);
	if (rc == CHRONIK_EMALFORMED && err->offset > 0 && err->offset < n &&
	    strstr(err->message, "trailing"))
		rc = chronik_protocol_response_frame_decode(rh, body, a, 0,
							    api, ver, p,
							    err->offset, err);
	return rc;
}

/* ---- blocking control connection ---- */

int kc_sync_open(kc_sync *k, const struct sockaddr *sa, socklen_t salen,
		 int timeout_ms)
{
	struct timeval tv;
	int one = 1;

	memset(k, 0, sizeof *k);
	k->corr = 1;
	k->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0) {
		snprintf(k->err, sizeof k->err, "socket: %s", strerror(errno));
		return -1;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(k->fd, sa, salen) < 0) {
		snprintf(k->err, sizeof k->err, "connect: %s",
			 strerror(errno));
		close(k->fd);
		k->fd = -1;
		return -1;
	}
	if (chronik_protocol_arena_new(&k->arena, 0)) {
		snprintf(k->err, sizeof k->err, "out of memory");
		return -1;
	}
	return 0;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int kc_sync_call(kc_sync *k, int16_t api, int16_t ver, const void *body,
		 void **resp)
{
	chronik_protocol_response_header rh;
	chronik_protocol_errinfo err;
	const chronik_protocol_api_info *ai = chronik_protocol_api_get(api);
	const char *name = ai ? ai->name : "?";
	uint8_t sz[4];
	size_t len, n;
	int32_t corr = k->corr++;
	int rc;

	chronik_protocol_arena_reset(k->arena);
	rc = kc_encode(&k->wbuf, &k->wcap, &len, api, ver, corr, body,
		       k->err, sizeof k->err);
	if (rc)
		return -1;
	if (write_full(k->fd, k->wbuf, len) ||
	    read_full(k->fd, sz, sizeof sz)) {
		snprintf(k->err, sizeof k->err, "%s v%d: %s", name, ver,
			 errno ? strerror(errno) : "connection closed");
		return -1;
	}
	if (chronik_protocol_frame_size(&n, sz, 4, MAX_FRAME)) {
		snprintf(k->err, sizeof k->err, "%s v%d: bad frame size",
			 name, ver);
		return -1;
	}
	if (n > k->rcap) {
		uint8_t *nb = realloc(k->rbuf, n);
		if (!nb) {
			snprintf(k->err, sizeof k->err, "out of memory");
			return -1;
		}
		k->rbuf = nb;
		k->rcap = n;
	}
	if (read_full(k->fd, k->rbuf, n)) {
		snprintf(k->err, sizeof k->err, "%s v%d: short response",
			 name, ver);
		return -1;
	}
	rc = decode_response(&rh, resp, k->arena, api, ver, k->rbuf, n,
			     &err);
	if (rc) {
		snprintf(k->err, sizeof k->err, "%s", err.message);
		return -1;
	}
	if (rh.correlation_id != corr) {
		snprintf(k->err, sizeof k->err,
			 "%s v%d: correlation id %d, expected %d", name, ver,
			 rh.correlation_id, corr);
		return -1;
	}
	return 0;
}

/* The ranges chronik-bench implements. */
static const struct {
	int16_t key, min, max;
	size_t off;
} our_apis[] = {
	{ CHRONIK_PROTOCOL_API_PRODUCE, 3, 11,
	  offsetof(bench_versions, produce) },
	{ CHRONIK_PROTOCOL_API_FETCH, 4, 17, offsetof(bench_versions, fetch) },
	{ CHRONIK_PROTOCOL_API_LIST_OFFSETS, 1, 9,
	  offsetof(bench_versions, list_offsets) },
	{ CHRONIK_PROTOCOL_API_METADATA, 1, 12,
	  offsetof(bench_versions, metadata) },
	{ CHRONIK_PROTOCOL_API_CREATE_TOPICS, 2, 7,
	  offsetof(bench_versions, create_topics) },
};

int kc_sync_negotiate(kc_sync *k, bench_versions *v)
{
	chronik_protocol_api_versions_request req;
	chronik_protocol_api_versions_response *resp = NULL;
	void *body = NULL;
	int16_t ver = 3;

	chronik_protocol_api_versions_request_init(&req);
	req.client_software_name.ptr = CLIENT_ID;
	req.client_software_name.len = (int32_t)strlen(CLIENT_ID);
	req.client_software_version.ptr = "0.1.0";
	req.client_software_version.len = 5;
	if (kc_sync_call(k, CHRONIK_PROTOCOL_API_API_VERSIONS, ver, &req,
			 &body) ||
	    ((chronik_protocol_api_versions_response *)body)->error_code ==
		    CHRONIK_PROTOCOL_ERR_UNSUPPORTED_VERSION) {
		/* A broker without v3 answers in v0 (KIP-511): retry. */
		ver = 0;
		chronik_protocol_api_versions_request_init(&req);
		if (kc_sync_call(k, CHRONIK_PROTOCOL_API_API_VERSIONS, ver,
				 &req, &body))
			return -1;
	}
	resp = body;
	if (resp->error_code) {
		snprintf(k->err, sizeof k->err, "ApiVersions: %s",
			 chronik_protocol_error_name(resp->error_code));
		return -1;
	}
	for (size_t i = 0; i < sizeof our_apis / sizeof our_apis[0]; i++) {
		int16_t *slot = (int16_t *)((char *)v + our_apis[i].off);
		if (chronik_protocol_version_pick(slot, resp, our_apis[i].key,
						  our_apis[i].min,
						  our_apis[i].max))
			*slot = -1;
	}
	return 0;
}

void kc_sync_close(kc_sync *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	chronik_protocol_arena_free(k->arena);
	k->arena = NULL;
	free(k->wbuf);
	free(k->rbuf);
	k->wbuf = k->rbuf = NULL;
}

/* ---- asynchronous connection ---- */

typedef struct wreq {
	uv_write_t w;
	kconn *c;
	unsigned n;
	kreq **done;    /* no_response requests completed by this write */
	unsigned ndone;
	uv_buf_t bufs[];
} wreq;

int kconn_init(kconn *c, uv_loop_t *loop, const kconn_ops *ops, void *ud,
	       int id)
{
	memset(c, 0, sizeof *c);
	c->ops = ops;
	c->ud = ud;
	c->id = id;
	c->next_corr = 1;
	c->rcap = 256 * 1024;
	c->rbuf = malloc(c->rcap);
	if (!c->rbuf || chronik_protocol_arena_new(&c->arena, 64 * 1024))
		return -1;
	if (uv_tcp_init(loop, &c->tcp))
		return -1;
	c->tcp.data = c;
	return 0;
}

static void conn_fail(kconn *c, const char *what)
{
	if (c->closing)
		return;
	if (c->ops->on_error)
		c->ops->on_error(c, what);
	kconn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	kconn *c = h->data;
	size_t end = c->rstart + c->rlen;

	(void)hint;
	if (c->rcap - end < 64 * 1024 && c->rstart) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rlen);
		c->rstart = 0;
		end = c->rlen;
	}
	if (c->rcap - end < 64 * 1024) {
		size_t ncap = c->rcap * 2;
		uint8_t *nb = realloc(c->rbuf, ncap);
		if (nb) {
			c->rbuf = nb;
			c->rcap = ncap;
		}
	}
	buf->base = (char *)c->rbuf + end;
	buf->len = c->rcap - end;
}

/* Process one whole response frame (without its size prefix). */
static int on_frame(kconn *c, const uint8_t *p, size_t n, uint64_t now)
{
	chronik_protocol_response_header rh;
	chronik_protocol_errinfo err;
	kreq *r = c->head;
	void *body = NULL;
	int rc;

	if (!r) {
		conn_fail(c, "response without a request");
		return -1;
	}
	c->head = r->next;
	if (!c->head)
		c->tail = NULL;
	c->inflight--;
	rc = decode_response(&rh, &body, c->arena, r->api, r->ver, p, n,
			     &err);
	if (rc) {
		conn_fail(c, err.message);
		return -1;
	}
	if (rh.correlation_id != r->corr) {
		conn_fail(c, "correlation id mismatch");
		return -1;
	}
	c->ops->on_response(c, r, body, now);
	chronik_protocol_arena_reset(c->arena);
	return c->closing ? -1 : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	kconn *c = s->data;
	uint64_t now;

	(void)buf;
	if (nread < 0) {
		conn_fail(c, nread == UV_EOF ? "connection closed by peer"
					     : uv_strerror((int)nread));
		return;
	}
	if (nread == 0)
		return;
	c->rlen += (size_t)nread;
	c->bytes_in += (uint64_t)nread;
	now = uv_hrtime();
	while (c->rlen >= 4) {
		const uint8_t *p = c->rbuf + c->rstart;
		size_t n;

		if (chronik_protocol_frame_size(&n, p, 4, MAX_FRAME)) {
			conn_fail(c, "bad response frame size");
			return;
		}
		if (c->rlen < 4 + n) {
			/* Make room for the whole frame at once. */
			if (c->rstart + 4 + n > c->rcap) {
				memmove(c->rbuf, p, c->rlen);
				c->rstart = 0;
				if (4 + n > c->rcap) {
					uint8_t *nb = realloc(c->rbuf, 4 + n);
					if (!nb) {
						conn_fail(c, "out of memory");
						return;
					}
					c->rbuf = nb;
					c->rcap = 4 + n;
				}
			}
			break;
		}
		if (on_frame(c, p + 4, n, now))
			return;
		c->rstart += 4 + n;
		c->rlen -= 4 + n;
	}
	if (c->rlen == 0)
		c->rstart = 0;
	kconn_flush(c);
}

static void on_connected(uv_connect_t *req, int status)
{
	kconn *c = req->data;

	if (status == 0) {
		c->connected = true;
		status = uv_read_start((uv_stream_t *)&c->tcp, on_alloc,
				       on_read);
	}
	if (c->on_connect)
		c->on_connect(c, status);
}

int kconn_connect(kconn *c, const struct sockaddr *sa,
		  void (*on_connect)(kconn *c, int status))
{
	c->on_connect = on_connect;
	c->connect_req.data = c;
	uv_tcp_nodelay(&c->tcp, 1);
	return uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connected);
}

int kconn_send(kconn *c, kreq *req, int16_t api, int16_t ver,
	       const void *body, bool no_response)
{
	int rc;

	req->api = api;
	req->ver = ver;
	req->corr = c->next_corr++;
	if (c->next_corr < 0)
		c->next_corr = 1;
	req->no_response = no_response;
	rc = kc_encode(&req->buf, &req->cap, &req->len, api, ver, req->corr,
		       body, NULL, 0);
	if (rc)
		return rc;
	req->t_sent = uv_hrtime();
	req->next = NULL;
	if (c->qtail)
		c->qtail->next = req;
	else
		c->qhead = req;
	c->qtail = req;
	c->nqueued++;
	return 0;
}

static void on_write(uv_write_t *w, int status)
{
	wreq *wr = (wreq *)w;
	kconn *c = wr->c;
	uint64_t now = uv_hrtime();

	if (status < 0) {
		free(wr);
		conn_fail(c, uv_strerror(status));
		return;
	}
	for (unsigned i = 0; i < wr->ndone && !c->closing; i++)
		c->ops->on_written(c, wr->done[i], now);
	free(wr);
	if (!c->closing)
		kconn_flush(c);
}

void kconn_flush(kconn *c)
{
	wreq *wr;
	unsigned n = 0, nd = 0;
	kreq *r, *next;
	int rc;

	if (!c->nqueued || c->closing || !c->connected)
		return;
	wr = malloc(sizeof *wr + c->nqueued * sizeof(uv_buf_t) +
		    c->nqueued * sizeof(kreq *));
	if (!wr) {
		conn_fail(c, "out of memory");
		return;
	}
	wr->c = c;
	wr->done = (kreq **)(wr->bufs + c->nqueued);
	for (r = c->qhead; r; r = next) {
		next = r->next;
		wr->bufs[n++] = uv_buf_init((char *)r->buf,
					    (unsigned)r->len);
		c->bytes_out += r->len;
		if (r->no_response) {
			wr->done[nd++] = r;
			continue;
		}
		r->next = NULL;
		if (c->tail)
			c->tail->next = r;
		else
			c->head = r;
		c->tail = r;
		c->inflight++;
	}
	wr->n = n;
	wr->ndone = nd;
	c->qhead = c->qtail = NULL;
	c->nqueued = 0;
	rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, wr->bufs, n, on_write);
	if (rc) {
		free(wr);
		conn_fail(c, uv_strerror(rc));
	}
}

static void on_closed(uv_handle_t *h)
{
	kconn *c = h->data;

	free(c->rbuf);
	c->rbuf = NULL;
	chronik_protocol_arena_free(c->arena);
	c->arena = NULL;
}

void kconn_close(kconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_closed);
}
