/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-bench's load: produce, consume, round-trip and metadata modes
 * on one libuv loop. Producers keep `concurrency` slots, each with one
 * request in flight, spread over the connections; a response (or, for
 * acks=0, the write) completes a slot, which sends its next request at
 * once. Consumers keep one Fetch in flight per fetcher.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define RT_GRACE_NS (10ull * 1000000000ull)

static void finish(bench *b);
static void slot_send(bench_slot *s);
static void fetcher_send(bench_fetcher *f);

void bench_error(bench *b, const char *fmt, ...)
{
	va_list ap;

	b->errors++;
	if (b->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_error, sizeof b->first_error, fmt, ap);
	va_end(ap);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t payload_crc(const uint8_t *p, size_t n)
{
	uint32_t crc = chronik_protocol_crc32c(0, p, 16);
	return chronik_protocol_crc32c(crc, p + BENCH_HDR_SIZE,
				       n - BENCH_HDR_SIZE);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

void bench_payload_make(bench *b, uint8_t *p, uint64_t seq, uint64_t ts)
{
	size_t n = (size_t)b->o.message_size;
	uint32_t crc;

	switch (b->o.payload_pattern) {
	case PATTERN_RANDOM:
		memcpy(p, b->pool + (seq * 7919u) % (b->pool_size - n), n);
		break;
	case PATTERN_SEQUENTIAL:
		memcpy(p, b->pool + (seq & 255u), n);
		break;
	default: /* fixed: filled once, only the header changes */
		break;
	}
	if (n < BENCH_HDR_SIZE)
		return;
	put_le64(p, seq);
	put_le64(p + 8, ts);
	memcpy(p + 20, BENCH_MAGIC, 4);
	crc = payload_crc(p, n);
	for (int i = 0; i < 4; i++)
		p[16 + i] = (uint8_t)(crc >> (8 * i));
}

int bench_payload_check(const uint8_t *p, size_t n, uint64_t *seq,
			uint64_t *ts)
{
	uint32_t crc = 0;

	if (!p || n < BENCH_HDR_SIZE || memcmp(p + 20, BENCH_MAGIC, 4))
		return -1;
	for (int i = 3; i >= 0; i--)
		crc = (crc << 8) | p[16 + i];
	if (crc != payload_crc(p, n))
		return -1;
	*seq = get_le64(p);
	*ts = get_le64(p + 8);
	return 0;
}

/* ---- measurement bookkeeping ---- */

static void record_done(bench *b, uint64_t msgs, uint64_t bytes,
			uint64_t lat_ns, uint64_t now)
{
	b->msgs += msgs;
	b->bytes += bytes;
	b->requests++;
	b->iv_msgs += msgs;
	b->iv_bytes += bytes;
	bench_hist_record(&b->hist, lat_ns);
	bench_hist_record(&b->interval, lat_ns);
	b->t_last_done = now;
}

static void start_measuring(bench *b, uint64_t now)
{
	b->measuring = true;
	b->t_measure = now;
	b->first_measured_seq = b->next_seq;
	bench_hist_reset(&b->hist);
	bench_hist_reset(&b->e2e);
	bench_hist_reset(&b->interval);
	b->msgs = b->bytes = b->requests = 0;
	b->iv_msgs = b->iv_bytes = 0;
}

static void stop_sending(bench *b, uint64_t now)
{
	if (b->stop_sending)
		return;
	b->stop_sending = true;
	b->t_stop_send = now;
}

static bool all_done(bench *b)
{
	if (!b->stop_sending || b->active)
		return false;
	/* Round trip: the consumer's long poll is dropped at the end. */
	if (b->o.mode == MODE_ROUND_TRIP)
		return b->rt_consumed >= b->rt_expected ||
		       uv_hrtime() - b->t_stop_send >= RT_GRACE_NS;
	return b->fetch_active == 0;
}

static void maybe_finish(bench *b)
{
	if (!b->finished && all_done(b))
		finish(b);
}

/* ---- producer and metadata slots ---- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int build_produce(bench_slot *s, int nmsg)
{
	bench *b = s->b;
	chronik_protocol_produce_request req;
	chronik_protocol_produce_request_topic_produce_data td;
	chronik_protocol_produce_request_partition_produce_data pd;
	const uint8_t *batch;
	size_t blen;
	char key[24];
	int32_t klen;
	int64_t ts = wall_ms();
	uint64_t now = uv_hrtime();
	int rc;

	chronik_protocol_batch_builder_reset(b->builder);
	for (int i = 0; i < nmsg; i++) {
		uint64_t seq = b->next_seq++;
		const void *kp = key;

		switch (b->o.key_pattern) {
		case PATTERN_SEQUENTIAL:
			klen = snprintf(key, sizeof key, "%016" PRIu64, seq);
			break;
		case PATTERN_RANDOM:
			klen = snprintf(key, sizeof key, "%016" PRIx64,
					xorshift(&b->rng));
			break;
		case PATTERN_FIXED:
			kp = "chronik-bench-key";
			klen = 17;
			break;
		default:
			kp = NULL;
			klen = -1;
		}
		bench_payload_make(b, b->payload, seq, now);
		rc = chronik_protocol_batch_builder_append(b->builder, ts, kp,
			klen, b->payload, b->o.message_size, NULL, 0);
		if (rc)
			return rc;
	}
	rc = chronik_protocol_batch_builder_finish(&batch, &blen, b->builder);
	if (rc)
		return rc;
	chronik_protocol_produce_request_init(&req);
	chronik_protocol_produce_request_topic_produce_data_init(&td);
	chronik_protocol_produce_request_partition_produce_data_init(&pd);
	req.acks = (int16_t)b->o.acks;
	req.timeout_ms = 30000;
	req.topic_data = &td;
	req.topic_data_count = 1;
	td.name.ptr = b->o.topic;
	td.name.len = (int32_t)strlen(b->o.topic);
	td.partition_data = &pd;
	td.partition_data_count = 1;
	pd.index = s->partition;
	pd.records.ptr = batch;
	pd.records.len = (int32_t)blen;
	return kconn_send(s->conn, &s->req, CHRONIK_PROTOCOL_API_PRODUCE,
			  b->v.produce, &req, b->o.acks == 0);
}

static int build_metadata(bench_slot *s)
{
	bench *b = s->b;
	chronik_protocol_metadata_request req;
	chronik_protocol_metadata_request_metadata_request_topic t;

	chronik_protocol_metadata_request_init(&req);
	chronik_protocol_metadata_request_metadata_request_topic_init(&t);
	t.name.ptr = b->o.topic;
	t.name.len = (int32_t)strlen(b->o.topic);
	req.topics = &t;
	req.topics_count = 1;
	return kconn_send(s->conn, &s->req, CHRONIK_PROTOCOL_API_METADATA,
			  b->v.metadata, &req, false);
}

static void slot_send(bench_slot *s)
{
	bench *b = s->b;
	int nmsg = b->o.mode == MODE_METADATA ? 1 : b->o.batch_size;
	int rc;

	if (b->stop_sending || b->finished || s->conn->closing)
		return;
	if (b->measuring && b->o.count) {
		uint64_t left = b->o.count - b->sent_measured;
		if (left == 0) {
			stop_sending(b, uv_hrtime());
			return;
		}
		if ((uint64_t)nmsg > left)
			nmsg = (int)left;
	}
	s->nmsg = nmsg;
	s->warm = !b->measuring;
	if (b->measuring)
		b->sent_measured += (uint64_t)nmsg;
	if (b->o.mode == MODE_METADATA) {
		rc = build_metadata(s);
	} else {
		s->partition = b->next_part;
		b->next_part = (b->next_part + 1) % b->nparts;
		rc = build_produce(s, nmsg);
	}
	if (rc) {
		bench_error(b, "building a request: %s",
			    chronik_strerror(rc));
		b->failed = true;
		stop_sending(b, uv_hrtime());
		return;
	}
	s->busy = true;
	b->active++;
	if (b->measuring && b->o.count && b->sent_measured >= b->o.count)
		stop_sending(b, uv_hrtime());
}

static void slot_done(bench_slot *s, uint64_t now, bool ok)
{
	bench *b = s->b;
	uint64_t msgs = (uint64_t)s->nmsg;

	s->busy = false;
	b->active--;
	if (!s->warm && ok)
		record_done(b, msgs,
			    b->o.mode == MODE_METADATA ? 0 :
			    msgs * (uint64_t)b->o.message_size,
			    now - s->req.t_sent, now);
	if (b->o.mode == MODE_ROUND_TRIP && !s->warm && ok)
		b->rt_expected += msgs;
	b->t_last_done = now;
	slot_send(s);
	maybe_finish(b);
}

static bool check_produce(bench *b, const bench_slot *s, void *body)
{
	chronik_protocol_produce_response *r = body;
	bool ok = true;

	for (int32_t t = 0; t < r->responses_count; t++) {
		const chronik_protocol_produce_response_topic_produce_response
			*tr = &r->responses[t];
		for (int32_t p = 0; p < tr->partition_responses_count; p++) {
			int16_t ec = tr->partition_responses[p].error_code;
			if (!ec)
				continue;
			ok = false;
			bench_error(b, "produce to partition %d: %s",
				    s->partition,
				    chronik_protocol_error_name(ec));
		}
	}
	if (r->responses_count != 1) {
		bench_error(b, "produce: %d topics in the response",
			    r->responses_count);
		ok = false;
	}
	return ok;
}

static bool check_metadata(bench *b, void *body)
{
	chronik_protocol_metadata_response *r = body;

	if (r->topics_count != 1 || r->topics[0].error_code) {
		bench_error(b, "metadata: %s", r->topics_count == 1 ?
			    chronik_protocol_error_name(
				    r->topics[0].error_code) :
			    "topic missing");
		return false;
	}
	return true;
}

/* ---- consumer ---- */

static void seen_mark(bench *b, uint64_t seq)
{
	size_t byte = (size_t)(seq >> 3);

	if (byte >= b->seen_bytes) {
		size_t n = b->seen_bytes ? b->seen_bytes : 4096;
		while (n <= byte)
			n *= 2;
		uint8_t *nb = realloc(b->seen, n);
		if (!nb) {
			bench_error(b, "validation: out of memory");
			return;
		}
		memset(nb + b->seen_bytes, 0, n - b->seen_bytes);
		b->seen = nb;
		b->seen_bytes = n;
	}
	if (b->seen[byte] & (1u << (seq & 7)))
		b->v_dup++;
	b->seen[byte] |= (uint8_t)(1u << (seq & 7));
	if (seq > b->v_maxseq)
		b->v_maxseq = seq;
}

/* Walk the records of one batch from offset `from`. Returns the number
 * of records at or after `from`; validates and time-stamps them when
 * asked. */
static int64_t batch_records(bench *b, const chronik_protocol_batch *bt,
			     int64_t from, part_state *ps, uint64_t now,
			     bool deep)
{
	chronik_protocol_record_iter it;
	chronik_protocol_record rec;
	void *plain = NULL;
	size_t plain_len;
	int64_t n = 0;
	int rc;

	if (!deep) {
		int64_t first = bt->header.base_offset;
		int64_t last = first + bt->header.last_offset_delta;
		if (first < from)
			first = from;
		return last >= first ? last - first + 1 : 0;
	}
	if (b->o.validate && chronik_protocol_batch_verify_crc(bt)) {
		bench_error(b, "fetch: batch at offset %" PRId64
			    ": bad CRC", bt->header.base_offset);
		b->v_bad++;
		return 0;
	}
	if (bt->header.attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) {
		rc = chronik_protocol_batch_decompress(&plain, &plain_len, bt,
						       256u << 20);
		if (rc) {
			bench_error(b, "fetch: batch at offset %" PRId64
				    ": %s", bt->header.base_offset,
				    chronik_strerror(rc));
			return 0;
		}
		chronik_protocol_record_iter_init_buf(&it, &bt->header, plain,
						      plain_len);
	} else {
		chronik_protocol_record_iter_init(&it, bt);
	}
	while ((rc = chronik_protocol_record_next(&rec, &it)) == 1) {
		uint64_t seq, ts;

		if (rec.offset < from)
			continue;
		n++;
		if (bench_payload_check(rec.value, rec.value_len > 0 ?
					(size_t)rec.value_len : 0,
					&seq, &ts)) {
			if (b->o.validate) {
				b->v_bad++;
				bench_error(b, "record at offset %" PRId64
					    ": payload check failed",
					    rec.offset);
			}
			continue;
		}
		if (b->o.validate) {
			b->v_checked++;
			seen_mark(b, seq);
			if (ps->last_seq >= 0 && (int64_t)seq < ps->last_seq)
				b->v_ooo++;
			ps->last_seq = (int64_t)seq;
		}
		if (b->o.mode == MODE_ROUND_TRIP &&
		    seq >= b->first_measured_seq && b->measuring) {
			bench_hist_record(&b->e2e, now > ts ? now - ts : 0);
			b->rt_consumed++;
		}
	}
	if (rc < 0) {
		bench_error(b, "fetch: batch at offset %" PRId64 ": %s",
			    bt->header.base_offset, chronik_strerror(rc));
		if (b->o.validate)
			b->v_bad++;
	}
	chronik_protocol_free(plain);
	return n;
}

static int build_fetch(bench_fetcher *f)
{
	bench *b = f->b;
	chronik_protocol_fetch_request req;
	chronik_protocol_fetch_request_fetch_topic t;
	chronik_protocol_fetch_request_fetch_partition *parts = f->fparts;
	int n = 0;

	chronik_protocol_fetch_request_init(&req);
	chronik_protocol_fetch_request_fetch_topic_init(&t);
	for (int i = 0; i < f->nparts; i++) {
		part_state *ps = &b->ps[f->parts[i]];
		if (ps->done)
			continue;
		chronik_protocol_fetch_request_fetch_partition_init(&parts[n]);
		parts[n].partition = f->parts[i];
		parts[n].fetch_offset = ps->next;
		parts[n].partition_max_bytes = b->o.fetch_bytes;
		n++;
	}
	if (n == 0)
		return 1;
	if (b->v.fetch >= 13)
		memcpy(t.topic_id.bytes, b->topic_id, 16);
	else {
		t.topic.ptr = b->o.topic;
		t.topic.len = (int32_t)strlen(b->o.topic);
	}
	t.partitions = parts;
	t.partitions_count = n;
	req.topics = &t;
	req.topics_count = 1;
	req.min_bytes = 1;
	req.max_wait_ms = b->o.mode == MODE_ROUND_TRIP ? 100 : 500;
	req.max_bytes = 64 << 20;
	if (b->v.fetch >= 7) {
		req.session_id = 0;
		req.session_epoch = -1;
	}
	return kconn_send(f->conn, &f->req, CHRONIK_PROTOCOL_API_FETCH,
			  b->v.fetch, &req, false);
}

static void fetcher_send(bench_fetcher *f)
{
	bench *b = f->b;
	int rc;

	if (b->finished || f->conn->closing)
		return;
	if (b->o.mode == MODE_CONSUME && b->stop_sending)
		return;
	rc = build_fetch(f);
	if (rc == 1)
		return; /* every partition done */
	if (rc) {
		bench_error(b, "building a fetch: %s", chronik_strerror(rc));
		b->failed = true;
		stop_sending(b, uv_hrtime());
		return;
	}
	f->busy = true;
	b->fetch_active++;
}

static void consume_check_end(bench *b, uint64_t now)
{
	if (b->o.mode != MODE_CONSUME || b->stop_sending)
		return;
	if (b->o.count && b->msgs >= b->o.count) {
		stop_sending(b, now);
		return;
	}
	for (int p = 0; p < b->nparts; p++)
		if (!b->ps[p].done)
			return;
	stop_sending(b, now);
}

static void on_fetch(bench_fetcher *f, void *body, uint64_t now)
{
	bench *b = f->b;
	chronik_protocol_fetch_response *r = body;
	bool deep = b->o.validate || b->o.mode == MODE_ROUND_TRIP;
	uint64_t msgs = 0, bytes = 0;

	if (r->error_code)
		bench_error(b, "fetch: %s",
			    chronik_protocol_error_name(r->error_code));
	for (int32_t t = 0; t < r->responses_count; t++) {
		const chronik_protocol_fetch_response_fetchable_topic_response
			*tr = &r->responses[t];
		for (int32_t i = 0; i < tr->partitions_count; i++) {
			const chronik_protocol_fetch_response_partition_data
				*pd = &tr->partitions[i];
			chronik_protocol_records_iter it;
			chronik_protocol_records_entry e;
			chronik_protocol_batch bt;
			part_state *ps;
			int rc;

			if (pd->partition_index < 0 ||
			    pd->partition_index >= b->nparts)
				continue;
			ps = &b->ps[pd->partition_index];
			if (pd->error_code) {
				bench_error(b, "fetch partition %d: %s",
					    pd->partition_index,
					    chronik_protocol_error_name(
						    pd->error_code));
				ps->done = true;
				continue;
			}
			if (pd->records.len <= 0)
				continue;
			chronik_protocol_records_iter_init(&it,
				pd->records.ptr, (size_t)pd->records.len);
			while ((rc = chronik_protocol_records_next(&e,
							&it)) == 1) {
				if (e.magic != 2 ||
				    chronik_protocol_batch_parse(&bt, e.data,
								 e.size)) {
					bench_error(b, "fetch: bad batch at "
						    "offset %" PRId64,
						    e.offset);
					break;
				}
				msgs += (uint64_t)batch_records(b, &bt,
					ps->next, ps, now, deep);
				bytes += e.size;
				int64_t nx = bt.header.base_offset +
					     bt.header.last_offset_delta + 1;
				if (nx > ps->next)
					ps->next = nx;
			}
			if (rc < 0)
				bench_error(b, "fetch: bad records blob");
			if (b->o.mode == MODE_CONSUME && ps->next >= ps->end)
				ps->done = true;
		}
	}
	f->busy = false;
	b->fetch_active--;
	if (b->o.mode == MODE_CONSUME) {
		if (b->o.count && b->msgs + msgs > b->o.count)
			msgs = b->o.count - b->msgs;
		record_done(b, msgs, bytes, now - f->req.t_sent, now);
		consume_check_end(b, now);
	} else {
		b->t_last_done = now;
	}
	fetcher_send(f);
	maybe_finish(b);
}

/* ---- connection callbacks ---- */

static void on_response(kconn *c, kreq *req, void *body, uint64_t now)
{
	bench *b = c->ud;

	if (req->api == CHRONIK_PROTOCOL_API_FETCH) {
		on_fetch(req->ud, body, now);
		return;
	}
	bench_slot *s = req->ud;
	bool ok = req->api == CHRONIK_PROTOCOL_API_METADATA ?
		check_metadata(b, body) : check_produce(b, s, body);
	slot_done(s, now, ok);
}

static void on_written(kconn *c, kreq *req, uint64_t now)
{
	(void)c;
	slot_done(req->ud, now, true);
}

static void on_conn_error(kconn *c, const char *what)
{
	bench *b = c->ud;

	if (b->finished)
		return;
	bench_error(b, "connection %d: %s", c->id, what);
	b->failed = true;
	finish(b);
}

const kconn_ops bench_conn_ops = {
	.on_response = on_response,
	.on_written = on_written,
	.on_error = on_conn_error,
};

/* ---- timer: warm-up, duration, progress, stall guard ---- */

static void progress_line(bench *b, uint64_t now)
{
	double el = (double)(now - b->t_start) / 1e9;
	bench_hist *h = &b->interval;

	printf("[%5.0fs]%s %10.0f msg/s %9.2f MB/s  p50 %8.3f ms  p99 %8.3f"
	       " ms  max %8.3f ms  in flight %d  errors %" PRIu64 "\n",
	       el, b->measuring ? " " : "w", (double)b->iv_msgs,
	       (double)b->iv_bytes / 1e6,
	       (double)bench_hist_quantile(h, 0.5) / 1e6,
	       (double)bench_hist_quantile(h, 0.99) / 1e6,
	       (double)h->max / 1e6, b->active + b->fetch_active, b->errors);
	fflush(stdout);
	bench_hist_reset(h);
	b->iv_msgs = b->iv_bytes = 0;
}

static void on_tick(uv_timer_t *t)
{
	bench *b = t->data;
	uint64_t now = uv_hrtime();

	b->ticks++;
	if (!b->measuring && now - b->t_start >= (uint64_t)(b->o.warmup *
							     1e9))
		start_measuring(b, now);
	if (b->measuring && b->o.duration > 0 &&
	    now - b->t_measure >= (uint64_t)(b->o.duration * 1e9))
		stop_sending(b, now);
	if (b->o.progress && b->ticks % 10 == 0)
		progress_line(b, now);
	if (now - b->t_last_done > (uint64_t)b->o.timeout_s * 1000000000ull) {
		bench_error(b, "nothing completed for %d s: giving up",
			    b->o.timeout_s);
		b->failed = true;
		finish(b);
		return;
	}
	for (int i = 0; i < b->nconns; i++)
		kconn_flush(&b->conns[i]);
	if (b->o.mode == MODE_ROUND_TRIP)
		kconn_flush(&b->cconn);
	maybe_finish(b);
}

static void finish(bench *b)
{
	if (b->finished)
		return;
	b->finished = true;
	b->t_end = b->t_last_done > b->t_measure ? b->t_last_done
						  : uv_hrtime();
	if (!b->measuring) {
		b->t_measure = b->t_start;
	}
	uv_timer_stop(&b->tick);
	uv_close((uv_handle_t *)&b->tick, NULL);
	for (int i = 0; i < b->nconns; i++)
		kconn_close(&b->conns[i]);
	if (b->o.mode == MODE_ROUND_TRIP)
		kconn_close(&b->cconn);
}

/* Called once every connection is up. */
static void go(bench *b)
{
	uint64_t now = uv_hrtime();

	b->t_start = b->t_last_done = now;
	if (b->o.warmup <= 0 || b->o.mode == MODE_CONSUME)
		start_measuring(b, now);
	b->tick.data = b;
	uv_timer_start(&b->tick, on_tick, 100, 100);
	for (int i = 0; i < b->nfetchers; i++)
		fetcher_send(&b->fetchers[i]);
	for (int i = 0; i < b->nslots; i++)
		slot_send(&b->slots[i]);
	if (b->o.mode == MODE_CONSUME)
		consume_check_end(b, now);
	for (int i = 0; i < b->nconns; i++)
		kconn_flush(&b->conns[i]);
	if (b->o.mode == MODE_ROUND_TRIP)
		kconn_flush(&b->cconn);
	maybe_finish(b);
}

static void on_connect(kconn *c, int status)
{
	bench *b = c->ud;

	if (status) {
		bench_error(b, "connect %s: %s", b->o.bootstrap,
			    uv_strerror(status));
		b->failed = true;
		finish(b);
		return;
	}
	int want = b->nconns + (b->o.mode == MODE_ROUND_TRIP ? 1 : 0);
	if (++b->nconnected == want && !b->finished)
		go(b);
}

int bench_load_start(bench *b)
{
	const struct sockaddr *sa = (const struct sockaddr *)&b->addr;
	int rc;

	uv_timer_init(b->loop, &b->tick);
	for (int i = 0; i < b->nconns; i++) {
		rc = kconn_connect(&b->conns[i], sa, on_connect);
		if (rc)
			return rc;
	}
	if (b->o.mode == MODE_ROUND_TRIP) {
		rc = kconn_connect(&b->cconn, sa, on_connect);
		if (rc)
			return rc;
	}
	return 0;
}
