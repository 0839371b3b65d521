/* SPDX-License-Identifier: Apache-2.0 */
/* Idempotent producers, broker side: see producers.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "producers.h"

#define PART_BUCKETS 1024
#define EXPIRE_EVERY_MS 60000
#define REGISTRY_BLOB 11 /* version 1, epoch 2, last_ms 8 */

struct chronik_producers {
	chronik_pstate_part *parts[PART_BUCKETS];
	int64_t pid_next, pid_end;
	chronik_pstate registry; /* pid -> epoch, last InitProducerId */
	bool registry_loaded;
	int64_t registry_expired_ms;
};

static struct chronik_producers *prods(chronik_broker *b)
{
	if (!b->producers)
		b->producers = calloc(1, sizeof *b->producers);
	return b->producers;
}

static size_t part_bucket(const chronik_storage_partition *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 40) % PART_BUCKETS;
}

static int64_t expiry_ms(const chronik_broker *b)
{
	return b->cfg->producer_id_expiration_ms;
}

/* ---- rebuild from the log -------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Apply one batch header (61 bytes) to the state. Returns the batch's
 * size or a negative code. */
static int64_t replay_header(chronik_pstate *ps, const uint8_t *h,
			     int64_t from)
{
	int64_t base = (int64_t)be64(h);
	int32_t blen = (int32_t)be32(h + 8);
	int16_t attr = (int16_t)(h[21] << 8 | h[22]);
	int32_t lod = (int32_t)be32(h + 23);
	int64_t max_ts = (int64_t)be64(h + 35);
	int64_t pid = (int64_t)be64(h + 43);
	int16_t epoch = (int16_t)(h[51] << 8 | h[52]);
	int32_t seq = (int32_t)be32(h + 53);
	int rc;

	if (blen < CHRONIK_PROTOCOL_BATCH_HEADER_SIZE -
		   CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD || h[16] != 2)
		return CHRONIK_ECORRUPT;
	if (pid >= 0 && seq >= 0 && lod >= 0 && lod < INT32_MAX &&
	    base >= from &&
	    !(attr & CHRONIK_PROTOCOL_ATTR_CONTROL)) {
		rc = chronik_pstate_replay(ps, pid, epoch, seq, lod + 1, base,
					   max_ts);
		if (rc != 0)
			return rc;
	}
	return (int64_t)blen + CHRONIK_PROTOCOL_BATCH_LOG_OVERHEAD;
}

/* Scan batch headers in [from, to). Returns batches seen or negative. */
static int64_t scan_log(chronik_broker *b, chronik_pstate_part *pp,
			int64_t from, int64_t to)
{
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap), h[CHRONIK_PROTOCOL_BATCH_HEADER_SIZE];
	int64_t off = from, seen = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (off < to && rc == 0) {
		chronik_storage_slice sl;
		rc = chronik_storage_read(&sl, pp->part, off, 1u << 20, buf,
					  cap);
		if (rc == CHRONIK_EAGAIN && sl.length > cap) {
			uint8_t *nb = realloc(buf, sl.length);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap = sl.length;
			rc = 0;
			continue;
		}
		if (rc != 0 || sl.length == 0)
			break;
		for (size_t pos = 0; pos + sizeof h <= sl.length && rc == 0;) {
			int64_t sz;
			if (sl.fd >= 0) {
				if (pread(sl.fd, h, sizeof h,
					  (off_t)(sl.file_position + pos)) !=
				    (ssize_t)sizeof h) {
					rc = -EIO;
					break;
				}
				sz = replay_header(&pp->ps, h, from);
			} else {
				sz = replay_header(&pp->ps, buf + pos, from);
			}
			if (sz < 0)
				rc = (int)sz;
			else
				pos += (size_t)sz;
			seen++;
		}
		if (sl.fd >= 0)
			close(sl.fd);
		off = sl.next_offset;
	}
	free(buf);
	if (rc != 0)
		chronik_log_warn(b->log, "producers", "%s-%d: scanning the log "
				 "from offset %lld: %s", pp->topic,
				 pp->partition, (long long)off,
				 chronik_strerror(rc));
	return rc != 0 ? rc : seen;
}

static int part_load(chronik_broker *b, chronik_pstate_part *pp)
{
	chronik_storage_offsets o;
	int64_t covered = -1, from;
	void *blob = NULL;
	size_t len = 0;
	int rc;

	rc = chronik_storage_partition_offsets(&o, pp->part);
	if (rc != 0)
		return rc;
	rc = chronik_storage_meta_producer_state_get(&blob, &len, b->meta,
		pp->topic, pp->partition, CHRONIK_PRODUCERS_SNAPSHOT_PID);
	if (rc == 0) {
		rc = chronik_pstate_decode(&pp->ps, &covered, blob, len);
		chronik_storage_meta_free(blob);
		if (rc != 0 || covered > o.high_watermark) {
			/* Corrupt, or the log is shorter than the snapshot
			 * says (a replaced data directory): the log wins. */
			chronik_log_warn(b->log, "producers", "%s-%d: producer"
					 " snapshot %s; rebuilding from the "
					 "log", pp->topic, pp->partition,
					 rc ? chronik_strerror(rc) :
					 "ahead of the log");
			chronik_pstate_free(&pp->ps);
			if (chronik_pstate_init(&pp->ps) != 0)
				return -ENOMEM;
			covered = -1;
		}
	} else if (rc != CHRONIK_ENOTFOUND) {
		return rc;
	}
	from = covered >= 0 ? covered : o.log_start_offset;
	if (from < o.log_start_offset)
		from = o.log_start_offset;
	int64_t n = scan_log(b, pp, from, o.high_watermark);
	if (n < 0 && n != CHRONIK_ECORRUPT)
		return (int)n;
	pp->dirty = covered < 0 || n > 0;
	chronik_log_debug(b->log, "producers", "%s-%d: %zu producer(s) from "
			  "snapshot at %lld and %lld batch(es) up to %lld",
			  pp->topic, pp->partition, pp->ps.count,
			  (long long)covered, (long long)n,
			  (long long)o.high_watermark);
	return 0;
}

chronik_pstate_part *chronik_producers_part(chronik_broker *b,
					    chronik_topic *t, int32_t index)
{
	struct chronik_producers *pr = prods(b);
	chronik_storage_partition *part = t->parts[index];
	chronik_pstate_part *pp;
	size_t k;

	if (!pr)
		return NULL;
	k = part_bucket(part);
	for (pp = pr->parts[k]; pp; pp = pp->next)
		if (pp->part == part)
			return pp;
	pp = calloc(1, sizeof *pp);
	if (!pp)
		return NULL;
	pp->part = part;
	pp->partition = index;
	pp->topic = strdup(t->name);
	pp->last_snapshot_ms = pp->last_expire_ms = chronik_wall_ms();
	if (!pp->topic || chronik_pstate_init(&pp->ps) != 0 ||
	    part_load(b, pp) != 0) {
		chronik_log_error(b->log, "producers", "%s-%d: cannot load "
				  "producer state", t->name, index);
		chronik_pstate_free(&pp->ps);
		free(pp->topic);
		free(pp);
		return NULL;
	}
	pp->next = pr->parts[k];
	pr->parts[k] = pp;
	return pp;
}

/* ---- snapshots ------------------------------------------------------- */

static void snapshot_done(int status, void *ud)
{
	(void)status; /* a lost snapshot only makes the next rebuild longer */
	(void)ud;
}

static void part_snapshot(chronik_broker *b, chronik_pstate_part *pp,
			  bool sync)
{
	chronik_storage_meta_batch *mb = NULL;
	chronik_storage_offsets o;
	uint8_t *blob = NULL;
	size_t len = 0;
	int64_t covered, m;
	int rc;

	if (chronik_storage_partition_offsets(&o, pp->part) != 0)
		return;
	covered = o.high_watermark;
	m = chronik_pstate_min_pending(&pp->ps);
	if (m < covered)
		covered = m;
	rc = chronik_pstate_encode(&blob, &len, &pp->ps, covered);
	if (rc == 0 && len > CHRONIK_STORAGE_META_MAX_BLOB)
		rc = CHRONIK_ETOOBIG;
	if (rc == 0)
		rc = chronik_storage_meta_batch_new(&mb, b->meta);
	if (rc == 0)
		rc = chronik_storage_meta_batch_producer_state_put(mb,
			pp->topic, pp->partition,
			CHRONIK_PRODUCERS_SNAPSHOT_PID, blob, len);
	if (rc == 0)
		rc = sync ? chronik_storage_meta_batch_commit(mb) :
		     chronik_storage_meta_batch_commit_async(mb,
			snapshot_done, NULL);
	chronik_storage_meta_batch_free(mb);
	free(blob);
	pp->last_snapshot_ms = chronik_wall_ms();
	if (rc != 0) {
		chronik_log_warn(b->log, "producers", "%s-%d: producer state "
				 "snapshot: %s", pp->topic, pp->partition,
				 chronik_strerror(rc));
		return;
	}
	pp->dirty = false;
}

void chronik_producers_touched(chronik_broker *b, chronik_pstate_part *pp)
{
	int64_t now = chronik_wall_ms();

	pp->dirty = true;
	if (now - pp->last_expire_ms >= EXPIRE_EVERY_MS) {
		pp->last_expire_ms = now;
		chronik_pstate_expire(&pp->ps, now, expiry_ms(b));
	}
	if (now - pp->last_snapshot_ms >= CHRONIK_PRODUCERS_SNAPSHOT_MS)
		part_snapshot(b, pp, false);
}

void chronik_producers_snapshot_all(chronik_broker *b)
{
	struct chronik_producers *pr = b->producers;
	int64_t now = chronik_wall_ms();

	if (!pr || !b->meta || !b->storage)
		return;
	for (size_t i = 0; i < PART_BUCKETS; i++) {
		for (chronik_pstate_part *pp = pr->parts[i]; pp;
		     pp = pp->next) {
			if (chronik_pstate_expire(&pp->ps, now,
						  expiry_ms(b)) > 0)
				pp->dirty = true;
			if (pp->dirty)
				part_snapshot(b, pp, true);
		}
	}
}

void chronik_producers_free(chronik_broker *b)
{
	struct chronik_producers *pr = b->producers;

	if (!pr)
		return;
	for (size_t i = 0; i < PART_BUCKETS; i++) {
		while (pr->parts[i]) {
			chronik_pstate_part *pp = pr->parts[i];
			pr->parts[i] = pp->next;
			chronik_pstate_free(&pp->ps);
			free(pp->topic);
			free(pp);
		}
	}
	chronik_pstate_free(&pr->registry);
	free(pr);
	b->producers = NULL;
}

/* ---- producer ids and the epoch registry ----------------------------- */

int chronik_producers_new_id(chronik_broker *b, int64_t *pid)
{
	struct chronik_producers *pr = prods(b);
	int rc;

	if (!pr)
		return CHRONIK_ENOMEM;
	if (pr->pid_next >= pr->pid_end) {
		int64_t first;
		/* Blocks keep ids unique across restarts; the rest of a
		 * block is skipped after one. */
		rc = chronik_storage_meta_producer_id_alloc(&first, b->meta,
			CHRONIK_PRODUCERS_ID_BLOCK);
		if (rc != 0)
			return rc;
		pr->pid_next = first;
		pr->pid_end = first + CHRONIK_PRODUCERS_ID_BLOCK;
	}
	*pid = pr->pid_next++;
	return 0;
}

static int registry_cb(const char *topic, int32_t partition,
		       int64_t producer_id, const void *blob, size_t len,
		       void *ud)
{
	chronik_pstate *reg = ud;
	const uint8_t *p = blob;
	chronik_pstate_producer *e;

	(void)topic;
	(void)partition;
	if (len != REGISTRY_BLOB || p[0] != 1)
		return 0; /* unknown: ignored (a new id is given instead) */
	e = chronik_pstate_get(reg, producer_id);
	if (!e)
		return -ENOMEM;
	e->epoch = (int16_t)(p[1] << 8 | p[2]);
	e->last_ts = (int64_t)be64(p + 3);
	return 0;
}

static void registry_expire(chronik_broker *b, struct chronik_producers *pr)
{
	int64_t now = chronik_wall_ms(), cut = now - expiry_ms(b);
	int64_t gone[64];
	size_t n = 0;

	if (now - pr->registry_expired_ms < EXPIRE_EVERY_MS)
		return;
	pr->registry_expired_ms = now;
	for (size_t i = 0; i < pr->registry.nbuckets && n < 64; i++)
		for (chronik_pstate_producer *e = pr->registry.buckets[i];
		     e && n < 64; e = e->next)
			if (e->last_ts < cut)
				gone[n++] = e->producer_id;
	for (size_t i = 0; i < n; i++) {
		chronik_pstate_remove(&pr->registry, gone[i]);
		chronik_storage_meta_producer_state_delete(b->meta,
			CHRONIK_PRODUCERS_REGISTRY_TOPIC, 0, gone[i]);
	}
}

chronik_pstate_producer *chronik_producers_registry_find(chronik_broker *b,
							 int64_t pid)
{
	struct chronik_producers *pr = prods(b);

	if (!pr)
		return NULL;
	if (!pr->registry_loaded) {
		if (chronik_pstate_init(&pr->registry) != 0)
			return NULL;
		chronik_storage_meta_producer_state_foreach(b->meta,
			CHRONIK_PRODUCERS_REGISTRY_TOPIC, 0, registry_cb,
			&pr->registry);
		pr->registry_loaded = true;
		pr->registry_expired_ms = 0;
	}
	registry_expire(b, pr);
	return pid >= 0 ? chronik_pstate_find(&pr->registry, pid) : NULL;
}

int chronik_producers_registry_set(chronik_broker *b,
				   chronik_storage_meta_batch *mb,
				   int64_t pid, int16_t epoch)
{
	struct chronik_producers *pr = prods(b);
	chronik_pstate_producer *e;
	uint8_t blob[REGISTRY_BLOB];
	int64_t now = chronik_wall_ms();

	if (!pr || !(e = chronik_pstate_get(&pr->registry, pid)))
		return CHRONIK_ENOMEM;
	e->epoch = epoch;
	e->last_ts = now;
	blob[0] = 1;
	blob[1] = (uint8_t)((uint16_t)epoch >> 8);
	blob[2] = (uint8_t)epoch;
	for (int i = 0; i < 8; i++)
		blob[3 + i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
	return chronik_storage_meta_batch_producer_state_put(mb,
		CHRONIK_PRODUCERS_REGISTRY_TOPIC, 0, pid, blob, sizeof blob);
}
