/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kafka-proxy: a logging Kafka proxy built on libchronik-protocol and
 * libuv.
 *
 *   cc -std=c11 kafka_proxy.c \
 *      $(pkg-config --cflags --libs libchronik-protocol libuv) -o kafka-proxy
 *   ./kafka-proxy --listen 127.0.0.1:19092 --broker 127.0.0.1:9092
 *                 [--advertise HOST:PORT] [-v]
 *
 * Every client connection gets its own connection to the broker. Request
 * frames are decoded (header and body) and logged, then forwarded byte
 * for byte. Responses are matched to their request by correlation id (in
 * order, as Kafka answers them), decoded with the request's API key and
 * version and logged. Metadata, FindCoordinator and DescribeCluster
 * responses (and Produce/Fetch responses with KIP-951 leader endpoints)
 * name broker addresses, which clients would then connect to directly:
 * the proxy replaces every such address with its own advertised one and
 * re-encodes those responses; everything else passes through unchanged.
 *
 * A malformed frame from either side closes both connections of the
 * pair. When one side half-closes, the other side's write direction is
 * shut down once everything queued has been written. When a side's
 * write queue grows over HIGH_WATER bytes, the other side is no longer
 * read until the queue drains below LOW_WATER. SIGINT and SIGTERM close
 * everything and exit 0. See README.md for the log format and the
 * limitations.
 */
#define _POSIX_C_SOURCE 200809L
#include <chronik/protocol.h>
#include <uv.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest frame accepted from either side (Kafka's socket.request.max.bytes
 * is 100 MiB; fetch responses are bounded by fetch.max.bytes, 50 MiB). */
#define MAX_FRAME (128u << 20)
/* Free space offered to each read. */
#define READ_CHUNK (64u << 10)
/* Back-pressure: stop reading a side above HIGH_WATER bytes queued for
 * writing on the other side, resume below LOW_WATER. */
#define HIGH_WATER (1u << 20)
#define LOW_WATER (256u << 10)

struct pair;

/* A growable input buffer holding at most one incomplete frame between
 * reads. */
struct inbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* One socket of a pair: the client's or the broker's. */
struct side {
	uv_tcp_t tcp;
	struct pair *pair;
	struct side *peer;
	const char *name;       /* "client" or "broker", for the log */
	struct inbuf in;
	size_t queued;          /* bytes handed to uv_write, not completed */
	bool reading;           /* uv_read_start is active */
	bool paused;            /* not read: the peer's write queue is full */
	bool eof;               /* EOF was read from this socket */
	bool shut;              /* uv_shutdown was issued on this socket */
	bool shut_done;         /* ... and completed */
	uv_shutdown_t shut_req;
};

/* A request waiting for its response. */
struct pending {
	int32_t corr;
	int16_t api_key;
	int16_t api_version;
	bool decoded;           /* the codec knows this key and version */
	uint64_t sent_ms;
};

/* A client connection and its broker connection. */
struct pair {
	unsigned long id;
	struct side client;
	struct side broker;
	uv_connect_t connect_req;
	bool connected;
	bool closing;
	int open_handles;
	chronik_protocol_arena *arena;
	struct pending *q;      /* ring of requests awaiting a response */
	size_t q_head, q_len, q_cap;
	unsigned long requests, responses, rewritten;
	bool warned_brokers;
	struct pair *prev, *next;
};

/* One write in flight; the bytes follow the struct. */
struct wreq {
	uv_write_t req;
	struct side *dst;
	size_t len;
	uint8_t data[];
};

static struct {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_signal_t sigint, sigterm;
	struct sockaddr_storage broker_addr;
	const char *broker_arg;
	char adv_host[256];
	int adv_port;
	bool verbose;
	unsigned long next_id;
	struct pair *pairs;
} g;

static void logmsg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "kafka-proxy: %s\n", line);
}

static const char *api_name(int16_t key)
{
	const chronik_protocol_api_info *info = chronik_protocol_api_get(key);

	return info ? info->name : "UnknownApi";
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- pair lifetime ---- */

static void on_close(uv_handle_t *h)
{
	struct side *s = h->data;
	struct pair *p = s->pair;

	if (--p->open_handles > 0)
		return;
	free(p->client.in.data);
	free(p->broker.in.data);
	free(p->q);
	chronik_protocol_arena_free(p->arena);
	free(p);
}

/* Close both sockets of the pair (idempotent). Write, shutdown and
 * connect callbacks still run, with UV_ECANCELED, before on_close. */
static void close_pair(struct pair *p)
{
	if (p->closing)
		return;
	p->closing = true;
	if (p->prev)
		p->prev->next = p->next;
	else
		g.pairs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	logmsg("[%lu] closed: %lu requests, %lu responses, %lu rewritten",
	       p->id, p->requests, p->responses, p->rewritten);
	uv_close((uv_handle_t *)&p->client.tcp, on_close);
	uv_close((uv_handle_t *)&p->broker.tcp, on_close);
}

/* Both directions finished cleanly: close the pair. */
static void maybe_finish(struct pair *p)
{
	if (p->client.eof && p->broker.eof && p->client.shut_done &&
	    p->broker.shut_done)
		close_pair(p);
}

/* ---- reading and flow control ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* Start or stop reading s according to its state. */
static void update_reading(struct side *s)
{
	struct pair *p = s->pair;
	bool want = p->connected && !p->closing && !s->eof && !s->paused;
	int rc;

	if (want == s->reading)
		return;
	if (want) {
		rc = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
		if (rc) {
			logmsg("[%lu] %s: read: %s", p->id, s->name,
			       uv_strerror(rc));
			close_pair(p);
			return;
		}
	} else {
		uv_read_stop((uv_stream_t *)&s->tcp);
	}
	s->reading = want;
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct side *dst = w->dst;
	struct side *src = dst->peer;
	struct pair *p = dst->pair;

	dst->queued -= w->len;
	free(w);
	if (p->closing)
		return;
	if (status < 0) {
		logmsg("[%lu] %s: write: %s", p->id, dst->name,
		       uv_strerror(status));
		close_pair(p);
		return;
	}
	if (src->paused && dst->queued <= LOW_WATER) {
		src->paused = false;
		if (g.verbose)
			logmsg("[%lu] %s drained, reading %s again", p->id,
			       dst->name, src->name);
		update_reading(src);
	}
}

/* Queue w on its destination; pauses the source above HIGH_WATER. */
static int send_wreq(struct wreq *w)
{
	struct side *dst = w->dst;
	struct side *src = dst->peer;
	struct pair *p = dst->pair;
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned int)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&dst->tcp, &b, 1, on_write);

	if (rc) {
		logmsg("[%lu] %s: write: %s", p->id, dst->name,
		       uv_strerror(rc));
		free(w);
		return rc;
	}
	dst->queued += w->len;
	if (!src->paused && dst->queued > HIGH_WATER) {
		src->paused = true;
		if (g.verbose)
			logmsg("[%lu] %s write queue %zu bytes, pausing %s",
			       p->id, dst->name, dst->queued, src->name);
		update_reading(src);
	}
	return 0;
}

static struct wreq *wreq_new(struct side *dst, size_t len)
{
	struct wreq *w = malloc(sizeof *w + len);

	if (w) {
		w->dst = dst;
		w->len = len;
	}
	return w;
}

/* Copy len bytes into a new write on dst. */
static int send_copy(struct side *dst, const uint8_t *data, size_t len)
{
	struct wreq *w;

	if (len == 0)
		return 0;
	w = wreq_new(dst, len);
	if (!w) {
		logmsg("[%lu] out of memory", dst->pair->id);
		return -1;
	}
	memcpy(w->data, data, len);
	return send_wreq(w);
}

/* ---- requests ---- */

static int queue_push(struct pair *p, const struct pending *e)
{
	if (p->q_len == p->q_cap) {
		size_t ncap = p->q_cap ? p->q_cap * 2 : 16;
		struct pending *nq = malloc(ncap * sizeof *nq);

		if (!nq)
			return -1;
		for (size_t i = 0; i < p->q_len; i++)
			nq[i] = p->q[(p->q_head + i) % p->q_cap];
		free(p->q);
		p->q = nq;
		p->q_head = 0;
		p->q_cap = ncap;
	}
	p->q[(p->q_head + p->q_len) % p->q_cap] = *e;
	p->q_len++;
	return 0;
}

/* Extra detail for a few requests, for -v. */
static void describe_request(char *out, size_t cap, int16_t key,
			     const void *body)
{
	out[0] = '\0';
	if (key == CHRONIK_PROTOCOL_API_PRODUCE) {
		const chronik_protocol_produce_request *r = body;
		int32_t parts = 0;
		int64_t bytes = 0;

		for (int32_t t = 0; t < r->topic_data_count; t++) {
			int32_t np = r->topic_data[t].partition_data_count;

			for (int32_t i = 0; i < np; i++) {
				int32_t n = r->topic_data[t]
					.partition_data[i].records.len;

				parts++;
				bytes += n > 0 ? n : 0;
			}
		}
		snprintf(out, cap, " topics=%" PRId32 " partitions=%"
			 PRId32 " record_bytes=%" PRId64,
			 r->topic_data_count, parts, bytes);
	} else if (key == CHRONIK_PROTOCOL_API_FETCH) {
		const chronik_protocol_fetch_request *r = body;

		snprintf(out, cap, " topics=%" PRId32 " max_wait_ms=%"
			 PRId32, r->topics_count, r->max_wait_ms);
	} else if (key == CHRONIK_PROTOCOL_API_METADATA) {
		const chronik_protocol_metadata_request *r = body;

		if (r->topics_count < 0)
			snprintf(out, cap, " topics=all");
		else
			snprintf(out, cap, " topics=%" PRId32,
				 r->topics_count);
	}
}

/* A complete request frame (with its size prefix) from the client. */
static int on_request(struct pair *p, const uint8_t *f, size_t flen)
{
	chronik_protocol_request_header h;
	chronik_protocol_errinfo err;
	void *body = NULL;
	struct pending e;
	char detail[160];
	bool no_response = false;
	int rc;

	chronik_protocol_request_header_init(&h);
	rc = chronik_protocol_request_frame_decode(&h, &body, p->arena,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, f, flen, &err);
	if (rc == CHRONIK_EUNSUPPORTED || rc == CHRONIK_EVERSION) {
		/* Newer than this codec: forward it, only match the reply. */
		logmsg("[%lu] > %s(%d) v%d corr=%" PRId32 " size=%zu "
		       "not decoded: %s", p->id, api_name(h.request_api_key),
		       h.request_api_key, h.request_api_version,
		       h.correlation_id, flen, err.message);
	} else if (rc) {
		logmsg("[%lu] malformed request from client: %s", p->id,
		       err.message);
		return rc;
	} else {
		const chronik_protocol_produce_request *pr = body;

		if (h.request_api_key == CHRONIK_PROTOCOL_API_PRODUCE &&
		    pr->acks == 0)
			no_response = true;
		detail[0] = '\0';
		if (g.verbose)
			describe_request(detail, sizeof detail,
					 h.request_api_key, body);
		logmsg("[%lu] > %s v%d corr=%" PRId32 " size=%zu "
		       "client=%.*s%s%s", p->id, api_name(h.request_api_key),
		       h.request_api_version, h.correlation_id, flen,
		       h.client_id.len > 0 ? (int)h.client_id.len : 1,
		       h.client_id.len > 0 ? h.client_id.ptr : "-", detail,
		       no_response ? " acks=0 (no response)" : "");
	}
	p->requests++;
	if (no_response)
		return 0;
	e.corr = h.correlation_id;
	e.api_key = h.request_api_key;
	e.api_version = h.request_api_version;
	e.decoded = rc == 0;
	e.sent_ms = uv_now(g.loop);
	if (queue_push(p, &e)) {
		logmsg("[%lu] out of memory", p->id);
		return -1;
	}
	return 0;
}

/* ---- responses ---- */

/* Point one advertised address at the proxy. */
static void rewrite_addr(struct pair *p, const char *what, int32_t node,
			 chronik_protocol_str *host, int32_t *port)
{
	logmsg("[%lu]   %s node %" PRId32 " %.*s:%" PRId32 " -> %s:%d",
	       p->id, what, node, host->len > 0 ? (int)host->len : 0,
	       host->len > 0 ? host->ptr : "", *port, g.adv_host,
	       g.adv_port);
	host->ptr = g.adv_host;
	host->len = (int32_t)strlen(g.adv_host);
	*port = g.adv_port;
}

/* Point every broker of a Metadata response at the proxy. Returns the
 * number of addresses changed. */
static int rewrite_metadata(struct pair *p,
			    chronik_protocol_metadata_response *m)
{
	int32_t i;

	if (m->brokers_count > 1 && !p->warned_brokers) {
		p->warned_brokers = true;
		logmsg("[%lu] warning: %" PRId32 " brokers in Metadata; all "
		       "are advertised as %s:%d and reached through %s",
		       p->id, m->brokers_count, g.adv_host, g.adv_port,
		       g.broker_arg);
	}
	for (i = 0; i < m->brokers_count; i++)
		rewrite_addr(p, "broker", m->brokers[i].node_id,
			     &m->brokers[i].host, &m->brokers[i].port);
	return i;
}

/* The same for FindCoordinator: the single coordinator of v0-v3, or
 * every successful entry of the v4+ coordinators array. */
static int rewrite_coordinator(struct pair *p, int16_t version,
			       chronik_protocol_find_coordinator_response *r)
{
	int n = 0;

	if (version < 4) {
		if (r->error_code != 0)
			return 0;
		rewrite_addr(p, "coordinator", r->node_id, &r->host,
			     &r->port);
		return 1;
	}
	for (int32_t i = 0; i < r->coordinators_count; i++) {
		chronik_protocol_find_coordinator_response_coordinator *c =
			&r->coordinators[i];

		if (c->error_code != 0)
			continue;
		rewrite_addr(p, "coordinator", c->node_id, &c->host,
			     &c->port);
		n++;
	}
	return n;
}

/* Other responses that carry broker addresses: DescribeCluster's broker
 * list, and the NodeEndpoints that Produce v10+ and Fetch v16+ add
 * (KIP-951) when a partition's leader moved. Usually there are none and
 * the response passes through unchanged. */
static int rewrite_other(struct pair *p, int16_t api_key, void *body)
{
	int32_t i = 0;

	if (api_key == CHRONIK_PROTOCOL_API_DESCRIBE_CLUSTER) {
		chronik_protocol_describe_cluster_response *r = body;

		for (i = 0; i < r->brokers_count; i++)
			rewrite_addr(p, "broker", r->brokers[i].broker_id,
				     &r->brokers[i].host,
				     &r->brokers[i].port);
	} else if (api_key == CHRONIK_PROTOCOL_API_PRODUCE) {
		chronik_protocol_produce_response *r = body;

		for (i = 0; i < r->node_endpoints_count; i++)
			rewrite_addr(p, "leader", r->node_endpoints[i].node_id,
				     &r->node_endpoints[i].host,
				     &r->node_endpoints[i].port);
	} else if (api_key == CHRONIK_PROTOCOL_API_FETCH) {
		chronik_protocol_fetch_response *r = body;

		for (i = 0; i < r->node_endpoints_count; i++)
			rewrite_addr(p, "leader", r->node_endpoints[i].node_id,
				     &r->node_endpoints[i].host,
				     &r->node_endpoints[i].port);
	}
	return i;
}

/* Re-encode a changed response (size prefix recomputed) into a write. */
static struct wreq *encode_response(struct pair *p, const struct pending *e,
				    const chronik_protocol_response_header *h,
				    const void *body)
{
	chronik_protocol_errinfo err;
	struct wreq *w;
	size_t need = 0, written = 0;
	int rc;

	rc = chronik_protocol_response_frame_encode(&need, NULL, 0,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, e->api_key,
		e->api_version, h, body, &err);
	if (rc != 0 && rc != CHRONIK_ETOOBIG) {
		logmsg("[%lu] re-encoding %s v%d: %s", p->id,
		       api_name(e->api_key), e->api_version, err.message);
		return NULL;
	}
	w = wreq_new(&p->client, need);
	if (!w) {
		logmsg("[%lu] out of memory", p->id);
		return NULL;
	}
	rc = chronik_protocol_response_frame_encode(&written, w->data, need,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, e->api_key,
		e->api_version, h, body, &err);
	if (rc || written != need) {
		logmsg("[%lu] re-encoding %s v%d: %s", p->id,
		       api_name(e->api_key), e->api_version, err.message);
		free(w);
		return NULL;
	}
	return w;
}

/* A complete response frame from the broker. *replace is set to a new
 * frame to send instead of f when the response was rewritten. */
static int on_response(struct pair *p, const uint8_t *f, size_t flen,
		       struct wreq **replace)
{
	chronik_protocol_response_header h;
	chronik_protocol_errinfo err;
	struct pending e;
	void *body = NULL;
	int32_t corr;
	int16_t ver;
	int rc, changed = 0;

	*replace = NULL;
	if (flen < 8) {
		logmsg("[%lu] malformed response from broker: %zu-byte "
		       "frame", p->id, flen - 4);
		return -1;
	}
	corr = (int32_t)get_be32(f + 4);
	if (p->q_len == 0) {
		logmsg("[%lu] malformed response from broker: corr=%" PRId32
		       " answers no request", p->id, corr);
		return -1;
	}
	e = p->q[p->q_head];
	if (e.corr != corr) {
		logmsg("[%lu] malformed response from broker: corr=%" PRId32
		       ", expected %" PRId32, p->id, corr, e.corr);
		return -1;
	}
	p->q_head = (p->q_head + 1) % p->q_cap;
	p->q_len--;
	p->responses++;
	if (!e.decoded) {
		logmsg("[%lu] < %s(%d) v%d corr=%" PRId32 " size=%zu "
		       "%" PRIu64 " ms not decoded", p->id, api_name(e.api_key),
		       e.api_key, e.api_version, corr, flen,
		       uv_now(g.loop) - e.sent_ms);
		return 0;
	}
	chronik_protocol_response_header_init(&h);
	ver = e.api_version;
	rc = chronik_protocol_response_frame_decode(&h, &body, p->arena,
		CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX, e.api_key, ver, f, flen,
		&err);
	if (rc && e.api_key == CHRONIK_PROTOCOL_API_API_VERSIONS) {
		/* A broker that does not support the requested ApiVersions
		 * version answers with an error in a v0 body. */
		chronik_protocol_errinfo err0;

		if (chronik_protocol_response_frame_decode(&h, &body,
			p->arena, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX,
			e.api_key, 0, f, flen, &err0) == 0) {
			rc = 0;
			ver = 0;
		}
	}
	if (rc) {
		logmsg("[%lu] malformed response from broker: %s", p->id,
		       err.message);
		return rc;
	}
	logmsg("[%lu] < %s v%d corr=%" PRId32 " size=%zu %" PRIu64 " ms%s",
	       p->id, api_name(e.api_key), e.api_version, corr, flen,
	       uv_now(g.loop) - e.sent_ms,
	       ver != e.api_version ? " (v0 error body)" : "");
	if (e.api_key == CHRONIK_PROTOCOL_API_METADATA)
		changed = rewrite_metadata(p, body);
	else if (e.api_key == CHRONIK_PROTOCOL_API_FIND_COORDINATOR)
		changed = rewrite_coordinator(p, ver, body);
	else
		changed = rewrite_other(p, e.api_key, body);
	if (changed == 0)
		return 0;
	*replace = encode_response(p, &e, &h, body);
	if (!*replace)
		return -1;
	p->rewritten++;
	if (g.verbose)
		logmsg("[%lu]   %s re-encoded: %zu -> %zu bytes", p->id,
		       api_name(e.api_key), flen, (*replace)->len);
	return 0;
}

/* ---- frame assembly ---- */

/* Handle every complete frame in s->in and forward it to the peer. Runs
 * of unchanged frames go out as one write. */
static void process_input(struct side *s)
{
	struct pair *p = s->pair;
	struct inbuf *in = &s->in;
	size_t off = 0, run = 0;

	while (!p->closing) {
		size_t size, flen;
		struct wreq *w = NULL;
		int rc = chronik_protocol_frame_size(&size, in->data + off,
						     in->len - off, MAX_FRAME);

		if (rc == CHRONIK_EAGAIN)
			break;
		if (rc) {
			logmsg("[%lu] malformed frame from %s: bad size "
			       "prefix %" PRIu32 " (%s)", p->id, s->name,
			       get_be32(in->data + off), chronik_strerror(rc));
			close_pair(p);
			return;
		}
		if (in->len - off - 4 < size)
			break;
		flen = 4 + size;
		if (s == &p->client)
			rc = on_request(p, in->data + off, flen);
		else
			rc = on_response(p, in->data + off, flen, &w);
		chronik_protocol_arena_reset(p->arena);
		if (rc) {
			close_pair(p);
			return;
		}
		if (w) {
			if (send_copy(s->peer, in->data + run, off - run) ||
			    send_wreq(w)) {
				close_pair(p);
				return;
			}
			run = off + flen;
		}
		off += flen;
	}
	if (p->closing)
		return;
	if (send_copy(s->peer, in->data + run, off - run)) {
		close_pair(p);
		return;
	}
	memmove(in->data, in->data + off, in->len - off);
	in->len -= off;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct side *s = h->data;
	struct inbuf *in = &s->in;

	(void)hint;
	if (in->cap - in->len < READ_CHUNK) {
		size_t ncap = in->cap * 2;
		uint8_t *nd;

		if (ncap < in->len + READ_CHUNK)
			ncap = in->len + READ_CHUNK;
		nd = realloc(in->data, ncap);
		if (!nd) {
			*buf = uv_buf_init(NULL, 0); /* read_cb: UV_ENOBUFS */
			return;
		}
		in->data = nd;
		in->cap = ncap;
	}
	*buf = uv_buf_init((char *)in->data + in->len,
			   (unsigned int)(in->cap - in->len));
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct side *s = req->data;
	struct pair *p = s->pair;

	if (p->closing)
		return;
	if (status < 0) {
		logmsg("[%lu] %s: shutdown: %s", p->id, s->name,
		       uv_strerror(status));
		close_pair(p);
		return;
	}
	s->shut_done = true;
	maybe_finish(p);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct side *s = st->data;
	struct side *peer = s->peer;
	struct pair *p = s->pair;
	int rc;

	(void)buf;
	if (p->closing)
		return;
	if (nread > 0) {
		s->in.len += (size_t)nread;
		process_input(s);
		return;
	}
	if (nread == 0)
		return;
	if (nread != UV_EOF) {
		logmsg("[%lu] %s: read: %s", p->id, s->name,
		       uv_strerror((int)nread));
		close_pair(p);
		return;
	}
	s->eof = true;
	update_reading(s);
	if (s->in.len > 0) {
		logmsg("[%lu] malformed frame from %s: connection closed "
		       "%zu bytes into a frame", p->id, s->name, s->in.len);
		close_pair(p);
		return;
	}
	logmsg("[%lu] %s closed its side, shutting down the %s side",
	       p->id, s->name, peer->name);
	/* Sent once the writes queued on peer are done. */
	peer->shut = true;
	rc = uv_shutdown(&peer->shut_req, (uv_stream_t *)&peer->tcp,
			 on_shutdown);
	if (rc) {
		logmsg("[%lu] %s: shutdown: %s", p->id, peer->name,
		       uv_strerror(rc));
		close_pair(p);
	}
}

/* ---- connections ---- */

static void side_init(struct pair *p, struct side *s, struct side *peer,
		      const char *name)
{
	s->pair = p;
	s->peer = peer;
	s->name = name;
	s->tcp.data = s;
	s->shut_req.data = s;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct pair *p = req->data;

	if (p->closing)
		return;
	if (status < 0) {
		logmsg("[%lu] cannot connect to broker %s: %s", p->id,
		       g.broker_arg, uv_strerror(status));
		close_pair(p);
		return;
	}
	p->connected = true;
	uv_tcp_nodelay(&p->broker.tcp, 1);
	if (g.verbose)
		logmsg("[%lu] connected to broker %s", p->id, g.broker_arg);
	update_reading(&p->client);
	update_reading(&p->broker);
}

static void addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[64] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		uv_ip4_name(in, host, sizeof host);
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		uv_ip6_name(in6, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%d", host, port);
	} else {
		snprintf(out, cap, "?");
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	char peer[80] = "?";
	struct pair *p;
	int rc;

	if (status < 0) {
		logmsg("accept: %s", uv_strerror(status));
		return;
	}
	p = calloc(1, sizeof *p);
	if (!p || chronik_protocol_arena_new(&p->arena, 0)) {
		logmsg("out of memory");
		free(p);
		return;
	}
	p->id = ++g.next_id;
	uv_tcp_init(g.loop, &p->client.tcp);
	uv_tcp_init(g.loop, &p->broker.tcp);
	side_init(p, &p->client, &p->broker, "client");
	side_init(p, &p->broker, &p->client, "broker");
	p->connect_req.data = p;
	p->open_handles = 2;
	p->next = g.pairs;
	if (g.pairs)
		g.pairs->prev = p;
	g.pairs = p;
	rc = uv_accept(server, (uv_stream_t *)&p->client.tcp);
	if (rc) {
		logmsg("accept: %s", uv_strerror(rc));
		close_pair(p);
		return;
	}
	uv_tcp_nodelay(&p->client.tcp, 1);
	if (uv_tcp_getpeername(&p->client.tcp, (struct sockaddr *)&ss,
			       &sslen) == 0)
		addr_str((struct sockaddr *)&ss, peer, sizeof peer);
	logmsg("[%lu] client %s connected", p->id, peer);
	rc = uv_tcp_connect(&p->connect_req, &p->broker.tcp,
			    (const struct sockaddr *)&g.broker_addr,
			    on_connect);
	if (rc) {
		logmsg("[%lu] cannot connect to broker %s: %s", p->id,
		       g.broker_arg, uv_strerror(rc));
		close_pair(p);
	}
}

static void on_signal(uv_signal_t *sig, int signum)
{
	(void)sig;
	logmsg("%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	uv_close((uv_handle_t *)&g.listener, NULL);
	uv_close((uv_handle_t *)&g.sigint, NULL);
	uv_close((uv_handle_t *)&g.sigterm, NULL);
	while (g.pairs)
		close_pair(g.pairs);
}

/* ---- command line ---- */

/* Split "HOST:PORT" or "[V6]:PORT". */
static int split_hostport(const char *arg, char *host, size_t cap,
			  int *port)
{
	const char *colon = strrchr(arg, ':');
	const char *h = arg;
	size_t hlen;
	char *end;
	long v;

	if (!colon || colon == arg)
		return -1;
	hlen = (size_t)(colon - arg);
	if (arg[0] == '[' && colon[-1] == ']') {
		h = arg + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= cap)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	v = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: kafka-proxy --listen HOST:PORT "
		"--broker HOST:PORT [--advertise HOST:PORT] [-v]\n");
}

/* Resolve the broker address once, before the loop runs. */
static int resolve_broker(const char *arg)
{
	char host[256], port_s[8];
	struct addrinfo hints;
	uv_getaddrinfo_t req;
	int port, rc;

	if (split_hostport(arg, host, sizeof host, &port) || port == 0) {
		fprintf(stderr, "kafka-proxy: bad --broker '%s'\n", arg);
		return -1;
	}
	snprintf(port_s, sizeof port_s, "%d", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* No callback: resolves synchronously. */
	rc = uv_getaddrinfo(g.loop, &req, NULL, host, port_s, &hints);
	if (rc) {
		fprintf(stderr, "kafka-proxy: cannot resolve %s: %s\n", arg,
			uv_strerror(rc));
		return -1;
	}
	memcpy(&g.broker_addr, req.addrinfo->ai_addr,
	       req.addrinfo->ai_addrlen);
	uv_freeaddrinfo(req.addrinfo);
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen_arg = NULL, *adv_arg = NULL;
	char lhost[256], bound[80];
	struct sockaddr_storage laddr, ss;
	int lport, sslen = sizeof ss, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			g.verbose = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--listen") == 0) {
			listen_arg = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--broker") == 0) {
			g.broker_arg = argv[++i];
		} else if (i + 1 < argc &&
			   strcmp(argv[i], "--advertise") == 0) {
			adv_arg = argv[++i];
		} else {
			usage();
			return 2;
		}
	}
	if (!listen_arg || !g.broker_arg) {
		usage();
		return 2;
	}
	g.loop = uv_default_loop();
	signal(SIGPIPE, SIG_IGN);
	if (resolve_broker(g.broker_arg))
		return 1;

	if (split_hostport(listen_arg, lhost, sizeof lhost, &lport) ||
	    (uv_ip4_addr(lhost, lport, (struct sockaddr_in *)&laddr) &&
	     uv_ip6_addr(lhost, lport, (struct sockaddr_in6 *)&laddr))) {
		fprintf(stderr, "kafka-proxy: bad --listen '%s' (an IP "
			"address and a port)\n", listen_arg);
		return 2;
	}
	uv_tcp_init(g.loop, &g.listener);
	rc = uv_tcp_bind(&g.listener, (const struct sockaddr *)&laddr, 0);
	if (!rc)
		rc = uv_listen((uv_stream_t *)&g.listener, 128,
			       on_connection);
	if (!rc)
		rc = uv_tcp_getsockname(&g.listener, (struct sockaddr *)&ss,
					&sslen);
	if (rc) {
		fprintf(stderr, "kafka-proxy: listen on %s: %s\n",
			listen_arg, uv_strerror(rc));
		return 1;
	}
	addr_str((struct sockaddr *)&ss, bound, sizeof bound);

	/* Advertised address: --advertise, else the bound address (which
	 * makes no sense for a wildcard address). */
	if (adv_arg) {
		if (split_hostport(adv_arg, g.adv_host, sizeof g.adv_host,
				   &g.adv_port) || g.adv_port == 0) {
			fprintf(stderr, "kafka-proxy: bad --advertise '%s'\n",
				adv_arg);
			return 2;
		}
	} else if (strcmp(lhost, "0.0.0.0") == 0 || strcmp(lhost, "::") == 0) {
		fprintf(stderr, "kafka-proxy: listening on a wildcard "
			"address needs --advertise HOST:PORT\n");
		return 2;
	} else {
		snprintf(g.adv_host, sizeof g.adv_host, "%s", lhost);
		g.adv_port = ss.ss_family == AF_INET ?
			ntohs(((struct sockaddr_in *)&ss)->sin_port) :
			ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}

	uv_signal_init(g.loop, &g.sigint);
	uv_signal_init(g.loop, &g.sigterm);
	uv_signal_start(&g.sigint, on_signal, SIGINT);
	uv_signal_start(&g.sigterm, on_signal, SIGTERM);

	logmsg("listening on %s, broker %s, advertising %s:%d (codec %s)",
	       bound, g.broker_arg, g.adv_host, g.adv_port,
	       chronik_protocol_version_string());
	uv_run(g.loop, UV_RUN_DEFAULT);
	rc = uv_loop_close(g.loop);
	if (rc)
		logmsg("loop close: %s", uv_strerror(rc));
	logmsg("exited");
	return rc ? 1 : 0;
}
