/* SPDX-License-Identifier: Apache-2.0 */
/* Idempotent producer state of one partition: see producer_state.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <chronik/common.h>
#include <chronik/protocol.h>

#include "producer_state.h"

#define ERR_OUT_OF_ORDER CHRONIK_PROTOCOL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER

static size_t bucket_of(const chronik_pstate *ps, int64_t pid)
{
	uint64_t h = (uint64_t)pid * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 32) & (ps->nbuckets - 1);
}

int chronik_pstate_init(chronik_pstate *ps)
{
	memset(ps, 0, sizeof *ps);
	ps->nbuckets = 16;
	ps->buckets = calloc(ps->nbuckets, sizeof *ps->buckets);
	return ps->buckets ? 0 : -ENOMEM;
}

void chronik_pstate_free(chronik_pstate *ps)
{
	if (!ps->buckets)
		return;
	for (size_t i = 0; i < ps->nbuckets; i++) {
		chronik_pstate_producer *p = ps->buckets[i];
		while (p) {
			chronik_pstate_producer *n = p->next;
			free(p);
			p = n;
		}
	}
	free(ps->buckets);
	memset(ps, 0, sizeof *ps);
}

chronik_pstate_producer *chronik_pstate_find(const chronik_pstate *ps,
					     int64_t producer_id)
{
	chronik_pstate_producer *p;

	if (!ps->buckets)
		return NULL;
	for (p = ps->buckets[bucket_of(ps, producer_id)]; p; p = p->next)
		if (p->producer_id == producer_id)
			return p;
	return NULL;
}

static void grow(chronik_pstate *ps)
{
	size_t nb = ps->nbuckets * 2;
	chronik_pstate_producer **b = calloc(nb, sizeof *b);
	chronik_pstate old = *ps;

	if (!b)
		return; /* keep the longer chains */
	ps->buckets = b;
	ps->nbuckets = nb;
	for (size_t i = 0; i < old.nbuckets; i++) {
		chronik_pstate_producer *p = old.buckets[i];
		while (p) {
			chronik_pstate_producer *n = p->next;
			size_t k = bucket_of(ps, p->producer_id);
			p->next = b[k];
			b[k] = p;
			p = n;
		}
	}
	free(old.buckets);
}

chronik_pstate_producer *chronik_pstate_get(chronik_pstate *ps,
					    int64_t producer_id)
{
	chronik_pstate_producer *p = chronik_pstate_find(ps, producer_id);
	size_t k;

	if (p)
		return p;
	if (!ps->buckets && chronik_pstate_init(ps) != 0)
		return NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->producer_id = producer_id;
	p->epoch = -1;
	p->last_ts = -1;
	if (ps->count >= ps->nbuckets)
		grow(ps);
	k = bucket_of(ps, producer_id);
	p->next = ps->buckets[k];
	ps->buckets[k] = p;
	ps->count++;
	return p;
}

void chronik_pstate_remove(chronik_pstate *ps, int64_t producer_id)
{
	chronik_pstate_producer **pp;

	if (!ps->buckets)
		return;
	for (pp = &ps->buckets[bucket_of(ps, producer_id)]; *pp;
	     pp = &(*pp)->next) {
		if ((*pp)->producer_id == producer_id) {
			chronik_pstate_producer *p = *pp;
			*pp = p->next;
			free(p);
			ps->count--;
			return;
		}
	}
}

int32_t chronik_pstate_seq_add(int32_t seq, int32_t n)
{
	if (seq > INT32_MAX - n)
		return n - (INT32_MAX - seq) - 1;
	return seq + n;
}

int chronik_pstate_check(const chronik_pstate_producer *pr, int16_t epoch,
			 int32_t first_seq, int32_t count, int16_t *error,
			 const chronik_pstate_batch **dup)
{
	int32_t last_seq;

	*error = 0;
	*dup = NULL;
	if (!pr || pr->n == 0)
		return CHRONIK_PSTATE_APPEND;
	if (epoch < pr->epoch) {
		*error = CHRONIK_PROTOCOL_ERR_INVALID_PRODUCER_EPOCH;
		return CHRONIK_PSTATE_REJECT;
	}
	if (epoch > pr->epoch) {
		if (first_seq != 0) {
			*error = ERR_OUT_OF_ORDER;
			return CHRONIK_PSTATE_REJECT;
		}
		return CHRONIK_PSTATE_APPEND;
	}
	last_seq = chronik_pstate_seq_add(first_seq, count - 1);
	for (int32_t i = 0; i < pr->n; i++) {
		if (pr->b[i].first_seq == first_seq &&
		    pr->b[i].last_seq == last_seq) {
			*dup = &pr->b[i];
			return CHRONIK_PSTATE_DUPLICATE;
		}
	}
	if (first_seq == chronik_pstate_seq_add(pr->b[pr->n - 1].last_seq, 1))
		return CHRONIK_PSTATE_APPEND;
	*error = ERR_OUT_OF_ORDER;
	return CHRONIK_PSTATE_REJECT;
}

void chronik_pstate_record(chronik_pstate_producer *pr, int16_t epoch,
			   const chronik_pstate_batch *b)
{
	if (epoch != pr->epoch) {
		pr->epoch = epoch;
		pr->n = 0;
	}
	if (pr->n == CHRONIK_PSTATE_MAX_BATCHES) {
		memmove(&pr->b[0], &pr->b[1],
			(CHRONIK_PSTATE_MAX_BATCHES - 1) * sizeof pr->b[0]);
		pr->n--;
	}
	pr->b[pr->n++] = *b;
	if (b->timestamp > pr->last_ts)
		pr->last_ts = b->timestamp;
}

bool chronik_pstate_drop_pending(chronik_pstate_producer *pr,
				 const void *pending)
{
	for (int32_t i = 0; i < pr->n; i++) {
		if (pr->b[i].pending == pending) {
			memmove(&pr->b[i], &pr->b[i + 1],
				(size_t)(pr->n - i - 1) * sizeof pr->b[0]);
			pr->n--;
			return true;
		}
	}
	return false;
}

bool chronik_pstate_commit(chronik_pstate_producer *pr, const void *pending)
{
	for (int32_t i = 0; i < pr->n; i++) {
		if (pr->b[i].pending == pending) {
			pr->b[i].pending = NULL;
			return true;
		}
	}
	return false;
}

int chronik_pstate_replay(chronik_pstate *ps, int64_t producer_id,
			  int16_t epoch, int32_t base_seq, int32_t count,
			  int64_t first_offset, int64_t ts)
{
	chronik_pstate_producer *pr = chronik_pstate_get(ps, producer_id);
	chronik_pstate_batch b;

	if (!pr)
		return -ENOMEM;
	if (pr->n > 0) {
		if (epoch < pr->epoch)
			return 0;
		if (epoch == pr->epoch &&
		    first_offset <= pr->b[pr->n - 1].last_offset)
			return 0;
	}
	b.first_seq = base_seq;
	b.last_seq = chronik_pstate_seq_add(base_seq, count - 1);
	b.first_offset = first_offset;
	b.last_offset = first_offset + count - 1;
	b.timestamp = ts;
	b.pending = NULL;
	chronik_pstate_record(pr, epoch, &b);
	return 0;
}

static bool has_pending(const chronik_pstate_producer *p)
{
	for (int32_t i = 0; i < p->n; i++)
		if (p->b[i].pending)
			return true;
	return false;
}

size_t chronik_pstate_expire(chronik_pstate *ps, int64_t now_ms,
			     int64_t max_idle_ms)
{
	size_t gone = 0;

	if (!ps->buckets || max_idle_ms < 0)
		return 0;
	for (size_t i = 0; i < ps->nbuckets; i++) {
		chronik_pstate_producer **pp = &ps->buckets[i];
		while (*pp) {
			chronik_pstate_producer *p = *pp;
			if (p->last_ts < now_ms - max_idle_ms &&
			    !has_pending(p)) {
				*pp = p->next;
				free(p);
				ps->count--;
				gone++;
			} else {
				pp = &p->next;
			}
		}
	}
	return gone;
}

int64_t chronik_pstate_min_pending(const chronik_pstate *ps)
{
	int64_t m = INT64_MAX;

	for (size_t i = 0; ps->buckets && i < ps->nbuckets; i++)
		for (chronik_pstate_producer *p = ps->buckets[i]; p;
		     p = p->next)
			for (int32_t k = 0; k < p->n; k++)
				if (p->b[k].pending &&
				    p->b[k].first_offset < m)
					m = p->b[k].first_offset;
	return m;
}

/* ---- snapshot blob (big-endian; docs/formats.md) --------------------- */

#define BLOB_MAGIC "CPST"
#define BLOB_HEAD 24  /* magic 4, version 2, flags 2, covered_to 8,
		       * count 4, reserved 4 */
#define BLOB_PRODUCER 19 /* pid 8, epoch 2, last_ts 8, n 1 */
#define BLOB_BATCH 32    /* seqs 4+4, offsets 8+8, ts 8 */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
	return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return p + 8;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int32_t kept(const chronik_pstate_producer *p, int64_t covered_to,
		    int32_t *from)
{
	/* Batches are in offset order: keep the committed prefix below
	 * covered_to. */
	int32_t k = 0;
	*from = 0;
	for (int32_t i = 0; i < p->n; i++) {
		if (p->b[i].pending || p->b[i].last_offset >= covered_to)
			break;
		k++;
	}
	return k;
}

int chronik_pstate_encode(uint8_t **out, size_t *len,
			  const chronik_pstate *ps, int64_t covered_to)
{
	size_t cap = BLOB_HEAD + 4, n = 0;
	uint8_t *buf, *w;

	for (size_t i = 0; ps->buckets && i < ps->nbuckets; i++)
		for (chronik_pstate_producer *p = ps->buckets[i]; p;
		     p = p->next)
			cap += BLOB_PRODUCER +
			       (size_t)p->n * BLOB_BATCH;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	w = buf + BLOB_HEAD;
	for (size_t i = 0; ps->buckets && i < ps->nbuckets; i++) {
		for (chronik_pstate_producer *p = ps->buckets[i]; p;
		     p = p->next) {
			int32_t from, k = kept(p, covered_to, &from);
			if (k == 0)
				continue;
			w = put64(w, (uint64_t)p->producer_id);
			w = put16(w, (uint16_t)p->epoch);
			w = put64(w, (uint64_t)p->last_ts);
			*w++ = (uint8_t)k;
			for (int32_t j = from; j < from + k; j++) {
				const chronik_pstate_batch *b = &p->b[j];
				w = put32(w, (uint32_t)b->first_seq);
				w = put32(w, (uint32_t)b->last_seq);
				w = put64(w, (uint64_t)b->first_offset);
				w = put64(w, (uint64_t)b->last_offset);
				w = put64(w, (uint64_t)b->timestamp);
			}
			n++;
		}
	}
	memcpy(buf, BLOB_MAGIC, 4);
	put16(buf + 4, CHRONIK_PSTATE_BLOB_VERSION);
	put16(buf + 6, 0);
	put64(buf + 8, (uint64_t)covered_to);
	put32(buf + 16, (uint32_t)n);
	put32(buf + 20, 0);
	w = put32(w, chronik_protocol_crc32c(0, buf, (size_t)(w - buf)));
	*out = buf;
	*len = (size_t)(w - buf);
	return 0;
}

int chronik_pstate_decode(chronik_pstate *ps, int64_t *covered_to,
			  const void *blob, size_t len)
{
	const uint8_t *p = blob, *end;
	uint32_t n;

	if (len < BLOB_HEAD + 4 || memcmp(p, BLOB_MAGIC, 4) != 0)
		return CHRONIK_ECORRUPT;
	if (get16(p + 4) != CHRONIK_PSTATE_BLOB_VERSION)
		return CHRONIK_EVERSION;
	if (chronik_protocol_crc32c(0, p, len - 4) != get32(p + len - 4))
		return CHRONIK_ECORRUPT;
	*covered_to = (int64_t)get64(p + 8);
	n = get32(p + 16);
	end = p + len - 4;
	p += BLOB_HEAD;
	for (uint32_t i = 0; i < n; i++) {
		chronik_pstate_producer *pr;
		int64_t pid;
		uint8_t k;

		if ((size_t)(end - p) < BLOB_PRODUCER)
			return CHRONIK_ECORRUPT;
		pid = (int64_t)get64(p);
		k = p[18];
		if (pid < 0 || k == 0 || k > CHRONIK_PSTATE_MAX_BATCHES ||
		    (size_t)(end - p) < BLOB_PRODUCER +
		    (size_t)k * BLOB_BATCH)
			return CHRONIK_ECORRUPT;
		pr = chronik_pstate_get(ps, pid);
		if (!pr)
			return -ENOMEM;
		pr->epoch = (int16_t)get16(p + 8);
		pr->last_ts = (int64_t)get64(p + 10);
		pr->n = k;
		p += BLOB_PRODUCER;
		for (uint8_t j = 0; j < k; j++, p += BLOB_BATCH) {
			chronik_pstate_batch *b = &pr->b[j];
			b->first_seq = (int32_t)get32(p);
			b->last_seq = (int32_t)get32(p + 4);
			b->first_offset = (int64_t)get64(p + 8);
			b->last_offset = (int64_t)get64(p + 16);
			b->timestamp = (int64_t)get64(p + 24);
			b->pending = NULL;
		}
	}
	return p == end ? 0 : CHRONIK_ECORRUPT;
}
