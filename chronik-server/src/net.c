/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kafka connections: accept, frame reading, request dispatch, in-order
 * responses, back-pressure, idle and partial-frame timeouts.
 * Everything here runs on the loop thread.
 *
 * A connection reads size-prefixed frames. Each complete frame becomes a
 * chronik_request appended to the connection's FIFO and handed to its
 * handler; responses are written strictly from the FIFO's head, so a
 * slow request (a long-polling fetch, a produce waiting for the WAL)
 * holds back the responses behind it, as Kafka's ordering requires.
 * Reading stops while a connection has max_inflight requests in flight
 * or max_queued_output bytes of responses not yet written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "handlers/handlers.h"
#include "net.h"

#define READ_BUF 65536

struct chronik_conn {
	uv_tcp_t tcp;
	chronik_broker *b;
	uint64_t id;
	char peer[80];
	int refs;          /* the handle + writes in flight */
	bool closing;
	bool reading;
	bool trailing_logged; /* one log line per connection */
	bool flush_queued;    /* on b->flush_list (holds a ref) */
	chronik_conn *flush_next;
	/* Frame reader. */
	uint8_t size_buf[4];
	size_t size_got;
	uint8_t *frame;
	size_t frame_len, frame_got;
	uint64_t frame_start_ns; /* 0: between frames */
	uint64_t last_active_ns;
	/* Requests in arrival order; responses leave from the head. */
	chronik_request *head, *tail;
	size_t inflight;         /* in the FIFO */
	/* The client has had two requests in flight at once: it sends
	 * without waiting for responses (see conn_ack_if_waiting). */
	bool pipelines;
	size_t queued_out;       /* bytes handed to uv_write, not done */
	/* A spliced response being written piece by piece (it left the
	 * FIFO; later responses wait for it). */
	chronik_request *sending;
	/* Waits for the socket to become writable after sendfile said
	 * EAGAIN: polls a dup() of the socket's fd, since libuv allows one
	 * handle per fd. Allocated on first use. */
	uv_poll_t *wpoll;
	int wpoll_fd;
	bool wpoll_active;
	chronik_conn *next, **pprev;
	uint8_t rbuf[READ_BUF];
};

/* One uv_write: the bytes of one or more requests' responses (in FIFO
 * order; a request is freed when its last write is done). */
typedef struct write_req {
	uv_write_t w;
	chronik_conn *conn;
	size_t len;
	unsigned int nreqs;
	chronik_request *reqs[];
} write_req;

/* Responses coalesced into one write at most (bounded by the FIFO's
 * max_inflight in practice). */
#define FLUSH_MAX_BUFS 256

static void conn_flush(chronik_conn *c);
static void conn_pump(chronik_conn *c);

uint64_t chronik_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t chronik_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under AddressSanitizer nothing is pooled, so a use after free of a
 * request or a buffer is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define NET_POOLS 0
#else
#define NET_POOLS 1
#endif

/* Small buffers: a request of `size` bytes of at most
 * CHRONIK_NET_SMALL_BUF gets a buffer of exactly that capacity, so any
 * buffer given back with a length up to it can be reused. */
static void *buf_get(chronik_broker *b, size_t size)
{
	if (size > CHRONIK_NET_SMALL_BUF)
		return malloc(size);
	if (b->nbuf_pool > 0)
		return b->buf_pool[--b->nbuf_pool];
	return malloc(CHRONIK_NET_SMALL_BUF);
}

/* Give back p, obtained from buf_get(len) (or holding at least len
 * bytes of capacity CHRONIK_NET_SMALL_BUF or more). */
static void buf_put(chronik_broker *b, void *p, size_t len)
{
	if (NET_POOLS && p && len <= CHRONIK_NET_SMALL_BUF &&
	    !b->arena_pool_closed &&
	    b->nbuf_pool < sizeof b->buf_pool / sizeof b->buf_pool[0]) {
		b->buf_pool[b->nbuf_pool++] = p;
		return;
	}
	free(p);
}

static chronik_request *req_get(chronik_broker *b)
{
	chronik_request *req;

	if (b->nreq_pool > 0) {
		req = b->req_pool[--b->nreq_pool];
		memset(req, 0, sizeof *req);
		return req;
	}
	return calloc(1, sizeof *req);
}

static void req_put(chronik_broker *b, chronik_request *req)
{
	if (NET_POOLS && !b->arena_pool_closed &&
	    b->nreq_pool < sizeof b->req_pool / sizeof b->req_pool[0]) {
		b->req_pool[b->nreq_pool++] = req;
		return;
	}
	free(req);
}

void chronik_net__pools_free(chronik_broker *b)
{
	while (b->nbuf_pool > 0)
		free(b->buf_pool[--b->nbuf_pool]);
	while (b->nreq_pool > 0)
		free(b->req_pool[--b->nreq_pool]);
}

static void conn_unref(chronik_conn *c)
{
	if (--c->refs == 0) {
		buf_put(c->b, c->frame, c->frame_len);
		free(c);
	}
}

/* Close the fds of splices the framework did not take over. */
static void splices_release(chronik_request *req)
{
	for (size_t i = 0; i < req->nsplices; i++) {
		chronik_splice *sp = &req->splices[i];
		for (size_t j = 0; j < sp->npieces; j++)
			if (sp->pieces[j].fd >= 0) {
				close(sp->pieces[j].fd);
				sp->pieces[j].fd = -1;
			}
	}
	req->splices = NULL;
	req->nsplices = 0;
}

/* Only arenas of small Produce requests are pooled: their size is
 * bounded by the frame (records are views), so the chunk a reset keeps
 * stays small. */
#define ARENA_POOL_MAX_FRAME 16384

static chronik_protocol_arena *arena_get(chronik_broker *b)
{
	chronik_protocol_arena *a = NULL;

	if (b->narena_pool > 0)
		return b->arena_pool[--b->narena_pool];
	if (chronik_protocol_arena_new(&a, 0) != 0)
		return NULL;
	return a;
}

/* Release req's arena: back to the pool or freed. */
static void arena_put(chronik_request *req)
{
	chronik_broker *b = req->broker;
	chronik_protocol_arena *a = req->arena;

	req->arena = NULL;
	if (!a)
		return;
	if (req->api_key == CHRONIK_PROTOCOL_API_PRODUCE &&
	    req->frame_len <= ARENA_POOL_MAX_FRAME && !b->arena_pool_closed &&
	    b->narena_pool < sizeof b->arena_pool / sizeof b->arena_pool[0]) {
		chronik_protocol_arena_reset(a);
		b->arena_pool[b->narena_pool++] = a;
		return;
	}
	chronik_protocol_arena_free(a);
}

static void request_free(chronik_request *req)
{
	if (!req)
		return;
	if (req->arena)
		splices_release(req);
	for (size_t i = 0; i < req->npieces; i++)
		if (req->pieces[i].fd >= 0)
			close(req->pieces[i].fd);
	free(req->pieces);
	free(req->prefixes);
	if (req->out_free)
		req->out_free(req->out_free_arg);
	arena_put(req);
	buf_put(req->broker, req->frame, req->frame_len);
	buf_put(req->broker, req->out, req->out_len);
	req_put(req->broker, req);
}

static void conn_update_reading(chronik_conn *c)
{
	chronik_broker *b = c->b;
	bool want = !c->closing && !b->stopping &&
		    c->inflight < b->max_inflight &&
		    c->queued_out < b->max_queued_output;

	if (want == c->reading)
		return;
	if (want)
		want = chronik_net__read_start(c) == 0;
	else
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = want;
}

static void on_handle_closed(uv_handle_t *h)
{
	chronik_conn *c = h->data;
	conn_unref(c);
}

static void on_wpoll_closed(uv_handle_t *h)
{
	chronik_conn *c = h->data;
	close(c->wpoll_fd);
	free(h);
	conn_unref(c);
}

/* The socket is writable again: go on with the spliced response. */
static void on_wpoll(uv_poll_t *p, int status, int events)
{
	chronik_conn *c = p->data;
	(void)events;
	uv_poll_stop(p);
	c->wpoll_active = false;
	if (c->closing)
		return;
	if (status < 0) {
		chronik_net__conn_close(c, uv_strerror(status));
		return;
	}
	conn_pump(c);
}

static int conn_wait_writable(chronik_conn *c)
{
	int rc;

	if (!c->wpoll) {
		uv_os_fd_t fd;
		rc = uv_fileno((uv_handle_t *)&c->tcp, &fd);
		if (rc < 0)
			return rc;
		c->wpoll = malloc(sizeof *c->wpoll);
		if (!c->wpoll)
			return UV_ENOMEM;
		c->wpoll_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (c->wpoll_fd < 0) {
			free(c->wpoll);
			c->wpoll = NULL;
			return uv_translate_sys_error(errno);
		}
		rc = uv_poll_init(c->b->loop, c->wpoll, c->wpoll_fd);
		if (rc < 0) {
			close(c->wpoll_fd);
			free(c->wpoll);
			c->wpoll = NULL;
			return rc;
		}
		c->wpoll->data = c;
		c->refs++;
	}
	rc = uv_poll_start(c->wpoll, UV_WRITABLE, on_wpoll);
	if (rc == 0)
		c->wpoll_active = true;
	return rc;
}

/* Close a connection: stop reading, detach requests still being
 * handled (their completion frees them), drop finished responses. */
void chronik_net__conn_close(chronik_conn *c, const char *why)
{
	chronik_broker *b = c->b;
	chronik_request *req, *next;

	if (c->closing)
		return;
	c->closing = true;
	chronik_log_debug(b->log, "net", "connection %llu (%s) closed: %s",
			  (unsigned long long)c->id, c->peer, why);
	if (c->reading)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	b->nconns--;
	chronik_gauge_add(b->bm->connections, -1);
	for (req = c->head; req; req = next) {
		next = req->next;
		req->next = NULL;
		if (req->done) {
			request_free(req);
			continue;
		}
		req->conn = NULL;
		if (req->cancel)
			req->cancel(req);
	}
	c->head = c->tail = NULL;
	c->inflight = 0;
	if (c->sending) {
		/* Its uv_writes (if any) are cancelled; the last frees it. */
		req = c->sending;
		c->sending = NULL;
		req->all_queued = true;
		if (req->writes == 0)
			request_free(req);
	}
	if (c->wpoll) {
		uv_poll_stop(c->wpoll);
		uv_close((uv_handle_t *)c->wpoll, on_wpoll_closed);
		c->wpoll = NULL;
	}
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_write(uv_write_t *w, int status)
{
	write_req *wr = (write_req *)w;
	chronik_conn *c = wr->conn;
	chronik_broker *b = c->b;

	c->queued_out -= wr->len;
	if (status == 0)
		chronik_counter_add(b->bm->bytes_sent, wr->len);
	for (unsigned int i = 0; i < wr->nreqs; i++) {
		chronik_request *req = wr->reqs[i];
		if (--req->writes == 0 && req->all_queued)
			request_free(req);
	}
	free(wr);
	if (status < 0 && !c->closing)
		chronik_net__conn_close(c, uv_strerror(status));
	if (!c->closing) {
		if (c->sending)
			conn_pump(c); /* the queue may be empty now */
		else
			conn_update_reading(c);
	}
	conn_unref(c);
}

/* Write bufs[0..n) holding the responses of reqs[0..nreqs). 0 or a
 * libuv error (then no request counts the write).
 *
 * The bytes go out with uv_try_write first, and only what the socket did
 * not take is queued with uv_write. Besides the write request and its
 * callback one loop turn later, that saves an epoll_ctl per response:
 * libuv re-arms the socket's epoll registration whenever a uv_write
 * completes, even one that was written at once. A request that is
 * written whole here is freed here if nothing else holds it
 * (all_queued set, no uv_write of it pending). */
static int conn_writev(chronik_conn *c, chronik_request **reqs,
		       unsigned int nreqs, uv_buf_t *bufs, unsigned int n,
		       size_t len)
{
	write_req *wr;
	uv_buf_t rest[FLUSH_MAX_BUFS];
	int rc = UV_EAGAIN;

	if (n <= FLUSH_MAX_BUFS)
		rc = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
	if (rc < 0 && rc != UV_EAGAIN)
		return rc;
	if (rc > 0) {
		size_t done = (size_t)rc;
		unsigned int k = 0;

		chronik_counter_add(c->b->bm->bytes_sent, done);
		if (done == len) {
			for (unsigned int i = 0; i < nreqs; i++)
				if (reqs[i]->writes == 0 &&
				    reqs[i]->all_queued)
					request_free(reqs[i]);
			return 0;
		}
		/* Queue the rest: skip the buffers written whole, then the
		 * written part of the next. */
		while (done >= bufs[k].len)
			done -= bufs[k++].len;
		for (unsigned int i = k; i < n; i++)
			rest[i - k] = bufs[i];
		rest[0].base += done;
		rest[0].len -= done;
		bufs = rest;
		n -= k;
		len -= (size_t)rc;
	}
	wr = malloc(sizeof *wr + nreqs * sizeof *reqs);
	if (!wr)
		return UV_ENOMEM;
	wr->conn = c;
	wr->len = len;
	wr->nreqs = nreqs;
	memcpy(wr->reqs, reqs, nreqs * sizeof *reqs);
	for (unsigned int i = 0; i < nreqs; i++)
		reqs[i]->writes++;
	c->refs++;
	c->queued_out += len;
	rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, n, on_write);
	if (rc < 0) {
		for (unsigned int i = 0; i < nreqs; i++)
			reqs[i]->writes--;
		c->refs--;
		c->queued_out -= len;
		free(wr);
	}
	return rc;
}

/* uv_write bufs[0..n) for req. 0 or a libuv error. */
static int conn_write(chronik_conn *c, chronik_request *req,
		      uv_buf_t *bufs, unsigned int n, size_t len)
{
	return conn_writev(c, &req, 1, bufs, n, len);
}

/* Write what can be written of the spliced response c->sending: memory
 * pieces with uv_write, file pieces with sendfile(2) once libuv's write
 * queue is empty (so the bytes stay in order); on EAGAIN wait for the
 * socket to become writable. When every byte is out, go on with the
 * FIFO. */
static void conn_pump(chronik_conn *c)
{
	chronik_request *req = c->sending;
	uv_stream_t *s = (uv_stream_t *)&c->tcp;
	int rc;

	if (!req || c->wpoll_active)
		return;
	while (req->piece_idx < req->npieces) {
		chronik_out_piece *pc = &req->pieces[req->piece_idx];
		if (pc->fd < 0) {
			uv_buf_t bufs[16];
			unsigned int n = 0;
			size_t len = 0;
			while (req->piece_idx < req->npieces && n < 16 &&
			       req->pieces[req->piece_idx].fd < 0) {
				pc = &req->pieces[req->piece_idx++];
				bufs[n++] = uv_buf_init((char *)pc->mem,
							(unsigned int)pc->len);
				len += pc->len;
			}
			rc = conn_write(c, req, bufs, n, len);
			if (rc < 0) {
				chronik_net__conn_close(c, uv_strerror(rc));
				return;
			}
			continue;
		}
		if (uv_stream_get_write_queue_size(s) > 0)
			return; /* on_write calls us again */
		uv_os_fd_t fd;
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) < 0) {
			chronik_net__conn_close(c, "no socket");
			return;
		}
		off_t off = (off_t)(pc->pos + req->piece_off);
		size_t left = pc->len - (size_t)req->piece_off;
		ssize_t n = sendfile(fd, pc->fd, &off,
				     left > (1u << 30) ? (1u << 30) : left);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = conn_wait_writable(c);
			if (rc < 0)
				chronik_net__conn_close(c, uv_strerror(rc));
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* 0: the file is shorter than the range (truncated
			 * since): the frame cannot be completed. */
			chronik_log_info(c->b->log, "net", "connection %llu "
					 "(%s): sendfile: %s; closing",
					 (unsigned long long)c->id, c->peer,
					 n == 0 ? "file shorter than expected" :
					 strerror(errno));
			chronik_net__conn_close(c, "sendfile failed");
			return;
		}
		chronik_counter_add(c->b->bm->bytes_sent, (uint64_t)n);
		req->piece_off += (uint64_t)n;
		if (req->piece_off == pc->len) {
			close(pc->fd);
			pc->fd = -1;
			req->piece_idx++;
			req->piece_off = 0;
		}
	}
	c->sending = NULL;
	req->all_queued = true;
	if (req->writes == 0)
		request_free(req);
	conn_flush(c);
}

/* Write every finished response at the head of the FIFO: consecutive
 * in-memory responses go out together in one uv_write (one writev). A
 * spliced response ends the group; it is pumped once the group is
 * queued, and conn_pump flushes the rest when it is done. */
static void conn_flush(chronik_conn *c)
{
	while (c->head && c->head->done && !c->closing && !c->sending) {
		chronik_request *reqs[FLUSH_MAX_BUFS];
		uv_buf_t bufs[FLUSH_MAX_BUFS];
		unsigned int n = 0;
		size_t len = 0;
		chronik_request *spliced = NULL;

		while (c->head && c->head->done && n < FLUSH_MAX_BUFS) {
			chronik_request *req = c->head;
			c->head = req->next;
			if (!c->head)
				c->tail = NULL;
			c->inflight--;
			req->next = NULL;
			if (req->no_response || !req->out) {
				request_free(req);
				continue;
			}
			if (req->pieces) {
				spliced = req;
				break;
			}
			req->all_queued = true;
			reqs[n] = req;
			bufs[n++] = uv_buf_init((char *)req->out,
						(unsigned int)req->out_len);
			len += req->out_len;
		}
		if (n > 0) {
			int rc = conn_writev(c, reqs, n, bufs, n, len);
			if (rc < 0) {
				for (unsigned int i = 0; i < n; i++)
					request_free(reqs[i]);
				if (spliced)
					request_free(spliced);
				chronik_net__conn_close(c, uv_strerror(rc));
				return;
			}
		}
		if (spliced) {
			c->sending = spliced;
			conn_pump(c);
			return; /* conn_pump flushes the rest when done */
		}
	}
	if (!c->closing)
		conn_update_reading(c);
}

/* End of a loop turn (check phase): flush every connection that has
 * responses finished during the turn. */
static void on_flush_check(uv_check_t *h)
{
	chronik_broker *b = h->data;

	while (b->flush_list) {
		chronik_conn *c = b->flush_list;
		b->flush_list = c->flush_next;
		c->flush_next = NULL;
		c->flush_queued = false;
		if (!c->closing)
			conn_flush(c);
		conn_unref(c);
	}
	uv_check_stop(h);
}

/* Flush c at the end of this loop turn, so that the responses finished
 * in the turn (a WAL commit completes many) share one write. */
static void conn_flush_later(chronik_conn *c)
{
	chronik_broker *b = c->b;

	if (c->flush_queued || c->closing)
		return;
	if (!b->flush_check_init) {
		conn_flush(c);
		return;
	}
	c->flush_queued = true;
	c->refs++;
	c->flush_next = b->flush_list;
	b->flush_list = c;
	if (!uv_is_active((uv_handle_t *)&b->flush_check))
		uv_check_start(&b->flush_check, on_flush_check);
}

static void request_account(chronik_request *req)
{
	chronik_broker *b = req->broker;
	double secs = (double)(chronik_now_ns() - req->start_ns) / 1e9;

	chronik_broker_metrics_request(b->bm, req->api_key, req->error_code,
		req->error_code ? chronik_protocol_error_name(req->error_code)
				: NULL, secs);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Turn the encoded response (with splice markers in place of spliced
 * byte fields) into pieces: the bytes around each marker, the field's
 * real length prefix, the splice's pieces; and fix the frame size. The
 * splices' fds move to req->pieces.
 */
static int request_splice(chronik_request *req, int16_t version)
{
	bool flexible = chronik_protocol_response_header_version(
		req->api_key, version) >= 1;
	size_t plen = flexible ? 1 : 4;
	size_t n = 1, k = 0, from = 0, at = 4;
	uint64_t total = req->out_len - 4;
	uint8_t *out = req->out;

	for (size_t i = 0; i < req->nsplices; i++)
		n += 2 + req->splices[i].npieces;
	req->pieces = calloc(n, sizeof *req->pieces);
	req->prefixes = calloc(req->nsplices, sizeof *req->prefixes);
	if (!req->pieces || !req->prefixes)
		return CHRONIK_ENOMEM;
	for (size_t i = 0; i < req->nsplices; i++) {
		chronik_splice *sp = &req->splices[i];
		uint8_t *m = memmem(out + at, req->out_len - at, sp->marker,
				    CHRONIK_SPLICE_MARKER);
		size_t mpos, pl = 0;
		uint64_t v;

		if (!m)
			return CHRONIK_EMALFORMED;
		mpos = (size_t)(m - out);
		if (mpos < at + plen ||
		    (flexible && out[mpos - 1] != CHRONIK_SPLICE_MARKER + 1) ||
		    (!flexible && get_be32(out + mpos - 4) !=
				  CHRONIK_SPLICE_MARKER))
			return CHRONIK_EMALFORMED;
		if (sp->len >= INT32_MAX)
			return CHRONIK_ETOOBIG;
		req->pieces[k++] = (chronik_out_piece){ -1, 0, out + from,
			mpos - plen - from };
		if (flexible) {
			for (v = (uint64_t)sp->len + 1; v >= 0x80; v >>= 7)
				req->prefixes[i][pl++] = (uint8_t)(v | 0x80);
			req->prefixes[i][pl++] = (uint8_t)v;
		} else {
			put_be32(req->prefixes[i], (uint32_t)sp->len);
			pl = 4;
		}
		req->pieces[k++] = (chronik_out_piece){ -1, 0,
			req->prefixes[i], pl };
		for (size_t j = 0; j < sp->npieces; j++) {
			chronik_splice_piece *p = &sp->pieces[j];
			req->pieces[k++] = (chronik_out_piece){ p->fd,
				p->pos, p->mem, p->len };
			p->fd = -1;
		}
		total += pl + sp->len;
		total -= plen + CHRONIK_SPLICE_MARKER;
		from = at = mpos + CHRONIK_SPLICE_MARKER;
	}
	req->pieces[k++] = (chronik_out_piece){ -1, 0, out + from,
		req->out_len - from };
	/* Drop empty memory pieces. */
	n = 0;
	for (size_t i = 0; i < k; i++)
		if (req->pieces[i].fd >= 0 || req->pieces[i].len > 0)
			req->pieces[n++] = req->pieces[i];
	req->npieces = n;
	if (total > INT32_MAX)
		return CHRONIK_ETOOBIG;
	put_be32(out, (uint32_t)total);
	return 0;
}

void chronik_splice_init(chronik_broker *b, chronik_splice *sp)
{
	uint32_t seq = ++b->splice_seq;

	memset(sp, 0, sizeof *sp);
	memcpy(sp->marker, b->splice_nonce, sizeof b->splice_nonce);
	put_be32(sp->marker + sizeof b->splice_nonce, seq);
}

/* Encode req->resp behind a size prefix into req->out. */
static int request_encode(chronik_request *req, int16_t version)
{
	chronik_protocol_response_header rh;
	chronik_protocol_errinfo err;
	size_t n = 0;
	int rc;

	chronik_protocol_response_header_init(&rh);
	rh.correlation_id = req->hdr.correlation_id;
	/* Most responses (every Produce response of a few partitions) fit
	 * in a small buffer: encode straight into one, which sizes the
	 * message once instead of twice; a larger one tells its size. */
	req->out = buf_get(req->broker, CHRONIK_NET_SMALL_BUF);
	if (!req->out)
		return -ENOMEM;
	rc = chronik_protocol_response_frame_encode(&n, req->out,
		CHRONIK_NET_SMALL_BUF, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX,
		req->api_key, version, &rh, req->resp, &err);
	if (rc == 0) {
		req->out_len = n;
	} else if (rc == CHRONIK_ETOOBIG && n > CHRONIK_NET_SMALL_BUF) {
		buf_put(req->broker, req->out, CHRONIK_NET_SMALL_BUF);
		req->out = malloc(n);
		if (!req->out)
			return -ENOMEM;
		rc = chronik_protocol_response_frame_encode(&req->out_len,
			req->out, n, CHRONIK_PROTOCOL_FRAME_SIZE_PREFIX,
			req->api_key, version, &rh, req->resp, &err);
	}
	if (rc == 0 && req->nsplices)
		rc = request_splice(req, version);
	if (rc != 0)
		chronik_log_error(req->broker->log, "net",
				  "cannot encode %s v%d response: %s",
				  chronik_protocol_api_get(req->api_key)->name,
				  version, err.message);
	return rc;
}

static void request_finish(chronik_request *req, bool respond,
			   int16_t version)
{
	chronik_conn *c = req->conn;
	int rc = 0;

	if (req->done)
		return;
	request_account(req);
	if (respond && c && !c->closing)
		rc = request_encode(req, version);
	req->no_response = !respond;
	req->done = true;
	/* Splices not taken over by the encoding: close their fds. */
	splices_release(req);
	/* The request bytes and decoded structs are no longer needed. */
	arena_put(req);
	req->resp = NULL;
	buf_put(req->broker, req->frame, req->frame_len);
	req->frame = NULL;
	if (!c) {
		request_free(req);
		return;
	}
	if (rc != 0) {
		chronik_net__conn_close(c, "response encoding failed");
		return;
	}
	conn_flush_later(c);
}

void chronik_request_complete(chronik_request *req)
{
	request_finish(req, true, req->api_version);
}

void chronik_request_complete_silent(chronik_request *req)
{
	request_finish(req, false, req->api_version);
}

char *chronik_request_strdup(chronik_request *req,
			     const chronik_protocol_str *s)
{
	if (s->len < 0)
		return NULL;
	char *p = chronik_protocol_arena_alloc(req->arena, (size_t)s->len + 1);
	if (!p)
		return NULL;
	memcpy(p, s->ptr, (size_t)s->len);
	p[s->len] = '\0';
	return p;
}

/*
 * Trailing bytes after a complete request body. Kafka's broker reads the
 * fields it knows and ignores whatever follows, and librdkafka >= 2.10
 * relies on it: its all-topics Metadata v9+ request writes the null
 * topic array as 4 bytes instead of a 1-byte varint (librdkafka issue
 * 5049), leaving 3 bytes after the body. The codec rejects such a body
 * (CHRONIK_EMALFORMED at the offset where the message ended), so for the
 * APIs below the body is decoded again without the tail.
 *
 * Only APIs that change nothing are tolerant. For the others (Produce,
 * topic and group changes, commits, transactions) bytes after the body
 * mean that the client and the broker disagree about the layout, and
 * acting on a misread write is worse than closing the connection: they
 * stay strict. A decode error anywhere but at a message end is never
 * forgiven: the prefix decode then fails (the decoder needs bytes that
 * the cut removed) and the original error stands.
 */
static bool api_tolerates_trailing(int16_t api_key)
{
	switch (api_key) {
	case CHRONIK_PROTOCOL_API_FETCH:
	case CHRONIK_PROTOCOL_API_LIST_OFFSETS:
	case CHRONIK_PROTOCOL_API_METADATA:
	case CHRONIK_PROTOCOL_API_OFFSET_FETCH:
	case CHRONIK_PROTOCOL_API_FIND_COORDINATOR:
	case CHRONIK_PROTOCOL_API_DESCRIBE_GROUPS:
	case CHRONIK_PROTOCOL_API_LIST_GROUPS:
	case CHRONIK_PROTOCOL_API_API_VERSIONS:
	case CHRONIK_PROTOCOL_API_DESCRIBE_ACLS:
	case CHRONIK_PROTOCOL_API_DESCRIBE_CONFIGS:
	case CHRONIK_PROTOCOL_API_DESCRIBE_LOG_DIRS:
	case CHRONIK_PROTOCOL_API_DESCRIBE_CLIENT_QUOTAS:
	case CHRONIK_PROTOCOL_API_DESCRIBE_CLUSTER:
	case CHRONIK_PROTOCOL_API_DESCRIBE_PRODUCERS:
	case CHRONIK_PROTOCOL_API_DESCRIBE_TRANSACTIONS:
	case CHRONIK_PROTOCOL_API_LIST_TRANSACTIONS:
	case CHRONIK_PROTOCOL_API_CONSUMER_GROUP_DESCRIBE:
	case CHRONIK_PROTOCOL_API_DESCRIBE_TOPIC_PARTITIONS:
		return true;
	default:
		return false;
	}
}

static int decode_without_tail(chronik_conn *c, chronik_request *req,
			       void **body, const uint8_t *p, size_t n,
			       chronik_protocol_errinfo *err)
{
	chronik_protocol_errinfo err2;
	size_t end = err->offset;

	if (!api_tolerates_trailing(req->api_key) || end >= n)
		return err->code ? err->code : CHRONIK_EMALFORMED;
	if (chronik_protocol_request_decode(body, req->arena, req->api_key,
					    req->api_version, p, end,
					    &err2) != 0)
		return CHRONIK_EMALFORMED; /* err keeps the first error */
	if (!c->trailing_logged) {
		c->trailing_logged = true;
		chronik_log_info(c->b->log, "net", "connection %llu (%s): "
				 "ignoring %zu byte(s) after the %s v%d body "
				 "(as Kafka does; librdkafka issue 5049)",
				 (unsigned long long)c->id, c->peer, n - end,
				 chronik_protocol_api_get(req->api_key)->name,
				 req->api_version);
	}
	return 0;
}

/* A complete frame: decode, route, run the handler. Takes the frame. */
static void conn_dispatch(chronik_conn *c, uint8_t *frame, size_t len)
{
	chronik_broker *b = c->b;
	chronik_protocol_errinfo err;
	chronik_request *req;
	size_t used = 0;
	void *body = NULL;
	int rc;

	req = req_get(b);
	if (req)
		req->arena = arena_get(b);
	if (!req || !req->arena) {
		if (req)
			req_put(b, req);
		buf_put(b, frame, len);
		chronik_net__conn_close(c, "out of memory");
		return;
	}
	req->broker = b;
	req->conn = c;
	req->frame = frame;
	req->frame_len = len;
	req->start_ns = chronik_now_ns();
	chronik_protocol_request_header_init(&req->hdr);
	rc = chronik_protocol_request_header_decode(&req->hdr, &used,
		req->arena, frame, len, &err);
	req->api_key = req->hdr.request_api_key;
	req->api_version = req->hdr.request_api_version;
	if (rc != 0) {
		/* An unknown API key has no known header layout; Kafka
		 * closes the connection too. */
		chronik_log_info(b->log, "net", "connection %llu (%s): bad "
				 "request header: %s; closing",
				 (unsigned long long)c->id, c->peer,
				 err.message);
		if (rc == CHRONIK_EUNSUPPORTED)
			chronik_broker_metrics_request(b->bm, req->api_key,
				CHRONIK_PROTOCOL_ERR_INVALID_REQUEST, NULL, 0);
		request_free(req);
		chronik_net__conn_close(c, "bad request header");
		return;
	}
	const chronik_handler *h = NULL;
	if (req->api_key >= 0 && req->api_key < CHRONIK_METRICS_MAX_API &&
	    b->handlers[req->api_key].fn)
		h = &b->handlers[req->api_key];
	if (!h) {
		chronik_log_info(b->log, "net", "connection %llu (%s): API "
				 "key %d is not served; closing",
				 (unsigned long long)c->id, c->peer,
				 req->api_key);
		chronik_broker_metrics_request(b->bm, req->api_key,
			CHRONIK_PROTOCOL_ERR_INVALID_REQUEST, NULL, 0);
		request_free(req);
		chronik_net__conn_close(c, "API not served");
		return;
	}
	/* Queue it now so its response keeps its place in the order. */
	if (c->tail)
		c->tail->next = req;
	else
		c->head = req;
	c->tail = req;
	c->inflight++;

	if (req->api_version < h->min_version ||
	    req->api_version > h->max_version) {
		if (req->api_key == CHRONIK_PROTOCOL_API_API_VERSIONS) {
			/* KIP-511: answer a too-new ApiVersions with a v0
			 * body carrying UNSUPPORTED_VERSION and our ranges,
			 * so the client can retry with a version we know. */
			if (chronik_protocol_response_new(&req->resp,
				req->arena, req->api_key) != 0 ||
			    chronik_api_versions_fill(req, req->resp) != 0) {
				req->done = true;
				chronik_net__conn_close(c, "out of memory");
				return;
			}
			((chronik_protocol_api_versions_response *)
				req->resp)->error_code =
				CHRONIK_PROTOCOL_ERR_UNSUPPORTED_VERSION;
			req->error_code =
				CHRONIK_PROTOCOL_ERR_UNSUPPORTED_VERSION;
			request_finish(req, true, 0);
			return;
		}
		chronik_log_info(b->log, "net", "connection %llu (%s): %s v%d "
				 "is not supported (%d-%d); closing",
				 (unsigned long long)c->id, c->peer,
				 chronik_protocol_api_get(req->api_key)->name,
				 req->api_version, h->min_version,
				 h->max_version);
		req->error_code = CHRONIK_PROTOCOL_ERR_UNSUPPORTED_VERSION;
		request_account(req);
		req->done = true; /* freed by the close */
		chronik_net__conn_close(c, "unsupported version");
		return;
	}
	rc = chronik_protocol_request_decode(&body, req->arena, req->api_key,
		req->api_version, frame + used, len - used, &err);
	if (rc == CHRONIK_EMALFORMED)
		rc = decode_without_tail(c, req, &body, frame + used,
					 len - used, &err);
	if (rc == 0)
		rc = chronik_protocol_response_new(&req->resp, req->arena,
						   req->api_key);
	if (rc != 0) {
		chronik_log_info(b->log, "net", "connection %llu (%s): bad "
				 "request: %s; closing",
				 (unsigned long long)c->id, c->peer,
				 err.message);
		req->error_code = CHRONIK_PROTOCOL_ERR_INVALID_REQUEST;
		request_account(req);
		req->done = true;
		chronik_net__conn_close(c, "malformed request");
		return;
	}
	rc = h->fn(req, body, req->resp);
	switch (rc) {
	case CHRONIK_HANDLER_DONE:
		chronik_request_complete(req);
		break;
	case CHRONIK_HANDLER_NO_RESPONSE:
		chronik_request_complete_silent(req);
		break;
	case CHRONIK_HANDLER_ASYNC:
		break;
	default:
		chronik_log_info(b->log, "net", "connection %llu (%s): %s "
				 "handler failed (%s); closing",
				 (unsigned long long)c->id, c->peer,
				 chronik_protocol_api_get(req->api_key)->name,
				 chronik_strerror(rc));
		request_account(req);
		req->done = true;
		chronik_net__conn_close(c, "handler error");
		break;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	chronik_conn *c = h->data;
	(void)suggested;
	/* Inside a big frame, read straight into it (no copy). */
	if (c->frame && c->frame_len - c->frame_got >= READ_BUF) {
		*buf = uv_buf_init((char *)c->frame + c->frame_got,
				   (unsigned int)(c->frame_len -
						  c->frame_got));
		return;
	}
	*buf = uv_buf_init((char *)c->rbuf, READ_BUF);
}

/* Consume bytes read into rbuf: frame sizes, frame bodies, dispatch. */
static void conn_consume(chronik_conn *c, const uint8_t *p, size_t n)
{
	chronik_broker *b = c->b;

	while (n > 0 && !c->closing) {
		if (!c->frame) {
			size_t take = 4 - c->size_got;
			if (take > n)
				take = n;
			if (c->size_got == 0)
				c->frame_start_ns = chronik_now_ns();
			memcpy(c->size_buf + c->size_got, p, take);
			c->size_got += take;
			p += take;
			n -= take;
			if (c->size_got < 4)
				return;
			size_t size = 0;
			int rc = chronik_protocol_frame_size(&size, c->size_buf,
				4, b->max_request_bytes);
			if (rc != 0 || size == 0) {
				chronik_log_info(b->log, "net", "connection "
					"%llu (%s): request size %s; closing",
					(unsigned long long)c->id, c->peer,
					rc == CHRONIK_ETOOBIG ?
					"over socket.request.max.bytes" :
					"invalid");
				chronik_net__conn_close(c, "bad frame size");
				return;
			}
			c->frame = buf_get(b, size);
			if (!c->frame) {
				chronik_net__conn_close(c, "out of memory");
				return;
			}
			c->frame_len = size;
			c->frame_got = 0;
		}
		size_t take = c->frame_len - c->frame_got;
		if (take > n)
			take = n;
		memcpy(c->frame + c->frame_got, p, take);
		c->frame_got += take;
		p += take;
		n -= take;
		if (c->frame_got == c->frame_len) {
			uint8_t *f = c->frame;
			size_t len = c->frame_len;
			c->frame = NULL;
			c->size_got = 0;
			c->frame_start_ns = 0;
			conn_dispatch(c, f, len);
		}
	}
}

/* After a read: acknowledge the bytes read now, instead of letting the
 * kernel delay the ACK until a response carries it, when the client may
 * be holding bytes back for that ACK. A client with Nagle's algorithm on
 * (librdkafka's default: socket.nagle.disable=false) sends a small
 * segment only once everything it sent before is acknowledged:
 *  - a frame still incomplete: its tail may be such a segment;
 *  - a client that pipelines, whose oldest request waits (for the WAL's
 *    sync, or a long poll): its next request would wait for our
 *    response, so only one request at a time would be in flight behind
 *    each sync.
 * A client that waits for each response before it sends again gains
 * nothing from the extra ACK packet (the response carries the ACK), and
 * with 128 such connections the packets cost a third of the throughput,
 * hence the `pipelines` condition. TCP_QUICKACK is not sticky; it is set
 * for each such read. */
static void conn_ack_if_waiting(chronik_conn *c)
{
	uv_os_fd_t fd;
	int one = 1;

	if (c->inflight >= 2)
		c->pipelines = true;
	if (!(c->frame ||
	      (c->pipelines && c->head && !c->head->done)) ||
	    uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
		return;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	chronik_conn *c = s->data;
	chronik_broker *b = c->b;

	if (nread < 0) {
		chronik_net__conn_close(c, nread == UV_EOF ? "peer closed" :
					uv_strerror((int)nread));
		return;
	}
	if (nread == 0)
		return;
	chronik_counter_add(b->bm->bytes_received, (uint64_t)nread);
	c->last_active_ns = chronik_now_ns();
	if (c->frame && (uint8_t *)buf->base == c->frame + c->frame_got) {
		c->frame_got += (size_t)nread;
		if (c->frame_got == c->frame_len) {
			uint8_t *f = c->frame;
			size_t len = c->frame_len;
			c->frame = NULL;
			c->size_got = 0;
			c->frame_start_ns = 0;
			conn_dispatch(c, f, len);
		}
	} else {
		conn_consume(c, (const uint8_t *)buf->base, (size_t)nread);
	}
	if (!c->closing) {
		conn_ack_if_waiting(c);
		conn_update_reading(c);
	}
}

int chronik_net__read_start(chronik_conn *c)
{
	return uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connection(uv_stream_t *server, int status)
{
	chronik_broker *b = server->data;
	chronik_conn *c;

	if (status < 0) {
		chronik_log_warn(b->log, "net", "accept: %s",
				 uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->b = b;
	c->refs = 1;
	uv_tcp_init(b->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->id = ++b->next_conn_id;
	struct sockaddr_storage ss;
	int sl = sizeof ss;
	strcpy(c->peer, "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		char host[64] = "";
		int port = 0;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(a, host, sizeof host);
			port = ntohs(a->sin6_port);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			uv_ip4_name(a, host, sizeof host);
			port = ntohs(a->sin_port);
		}
		snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
	}
	c->last_active_ns = chronik_now_ns();
	c->next = b->conns;
	if (b->conns)
		b->conns->pprev = &c->next;
	c->pprev = &b->conns;
	b->conns = c;
	b->nconns++;
	chronik_gauge_add(b->bm->connections, 1);
	chronik_counter_add(b->bm->connections_accepted, 1);
	chronik_log_debug(b->log, "net", "connection %llu from %s",
			  (unsigned long long)c->id, c->peer);
	conn_update_reading(c);
}

/* Idle connections and stalled partial frames (slowloris). */
static void on_sweep(uv_timer_t *t)
{
	chronik_broker *b = t->data;
	uint64_t now = chronik_now_ns();
	uint64_t limit = b->idle_ms * 1000000u;
	chronik_conn *c, *next;

	for (c = b->conns; c; c = next) {
		next = c->next;
		if (c->frame_start_ns && now - c->frame_start_ns > limit)
			chronik_net__conn_close(c, "partial request timed out");
		else if (!c->head && c->queued_out == 0 && !c->sending &&
			 now - c->last_active_ns > limit)
			chronik_net__conn_close(c, "idle");
	}
}

int chronik_net_listen(chronik_broker *b)
{
	const chronik_config_addr *a = &b->cfg->bind_kafka;
	struct sockaddr_storage ss;
	int rc;

	if (uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)&ss) != 0) {
		/* A host name: resolve it synchronously at start-up. */
		uv_getaddrinfo_t gai;
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
		rc = uv_getaddrinfo(b->loop, &gai, NULL, a->host, NULL, &hints);
		if (rc != 0) {
			chronik_log_error(b->log, "net", "cannot resolve %s: %s",
					  a->host, uv_strerror(rc));
			return rc;
		}
		memcpy(&ss, gai.addrinfo->ai_addr, gai.addrinfo->ai_addrlen);
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port =
				htons((uint16_t)a->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port =
				htons((uint16_t)a->port);
		uv_freeaddrinfo(gai.addrinfo);
	}
	uv_tcp_init(b->loop, &b->listener);
	b->listener.data = b;
	rc = uv_tcp_bind(&b->listener, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&b->listener, 1024,
			       on_connection);
	if (rc != 0) {
		chronik_log_error(b->log, "net", "cannot listen on %s:%d: %s",
				  a->host, a->port, uv_strerror(rc));
		uv_close((uv_handle_t *)&b->listener, NULL);
		return rc;
	}
	int sl = sizeof ss;
	uv_tcp_getsockname(&b->listener, (struct sockaddr *)&ss, &sl);
	b->bound_port = ntohs(ss.ss_family == AF_INET6 ?
			      ((struct sockaddr_in6 *)&ss)->sin6_port :
			      ((struct sockaddr_in *)&ss)->sin_port);
	b->listening = true;
	uint64_t every = b->idle_ms / 4;
	if (every > 1000)
		every = 1000;
	if (every < 10)
		every = 10;
	uv_timer_init(b->loop, &b->sweep_timer);
	b->sweep_timer.data = b;
	uv_timer_start(&b->sweep_timer, on_sweep, every, every);
	b->sweep_started = true;
	uv_check_init(b->loop, &b->flush_check);
	b->flush_check.data = b;
	/* Never keeps the loop alive by itself. */
	uv_unref((uv_handle_t *)&b->flush_check);
	b->flush_check_init = true;
	return 0;
}

void chronik_net_stop_accepting(chronik_broker *b)
{
	if (b->listening) {
		uv_close((uv_handle_t *)&b->listener, NULL);
		b->listening = false;
	}
}

/* Shutdown: stop reading everywhere and answer parked requests now. */
void chronik_net_quiesce(chronik_broker *b)
{
	chronik_conn *c, *next;

	for (c = b->conns; c; c = next) {
		next = c->next;
		if (c->reading)
			uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
		/* A cancel completes its request, and the flush that follows
		 * may free it and finished requests after it: rescan. */
again:
		for (chronik_request *r = c->head; r && !c->closing;
		     r = r->next)
			if (!r->done && r->cancel) {
				r->cancel(r);
				goto again;
			}
	}
}

/* True once no connection has requests or output pending. */
bool chronik_net_idle(chronik_broker *b)
{
	for (chronik_conn *c = b->conns; c; c = c->next)
		if (c->head || c->queued_out || c->sending)
			return false;
	return true;
}

void chronik_net_close_all(chronik_broker *b)
{
	while (b->conns)
		chronik_net__conn_close(b->conns, "shutdown");
	if (b->flush_check_init) {
		/* Drop the flush list's refs (every connection is closing). */
		on_flush_check(&b->flush_check);
		uv_close((uv_handle_t *)&b->flush_check, NULL);
		b->flush_check_init = false;
	}
	/* Requests completing from now on free their arenas. */
	b->arena_pool_closed = true;
	while (b->narena_pool > 0)
		chronik_protocol_arena_free(b->arena_pool[--b->narena_pool]);
	chronik_net__pools_free(b);
	if (b->sweep_started) {
		uv_close((uv_handle_t *)&b->sweep_timer, NULL);
		b->sweep_started = false;
	}
}
