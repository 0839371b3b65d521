/* SPDX-License-Identifier: Apache-2.0 */
/* The cleaner: retention (retention.ms, retention.bytes, DeleteRecords)
 * deletes whole old segments; compaction keeps the newest record per key
 * with a bounded key-hash map, cleaning in passes and swapping rewritten
 * segments in with rename. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chronik/protocol_records.h"
#include "log_internal.h"
#include "varint.h"
#include "fsio.h"
#include "thread.h"

/* ---------------------------------------------------------- retention */

static void retention(chronik_storage_partition *p, int64_t now)
{
	const chronik_storage_topic_config *c = &p->cfg;
	uint64_t total = 0;
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->nsegs; i++)
		total += p->segs[i]->size;
	while (n + 1 < p->nsegs) {
		struct slog_seg *g = p->segs[n];

		if (p->segs[n + 1]->base <= p->log_start) {
			total -= g->size;
			n++;
			continue;
		}
		if (!(c->cleanup_policy & CHRONIK_STORAGE_CLEANUP_DELETE))
			break;
		/* An emptied (compacted) segment has no timestamp: it stays,
		 * so compaction never moves the log start offset. */
		if (c->retention_ms >= 0 && g->max_ts >= 0 &&
		    now - g->max_ts > c->retention_ms) {
			total -= g->size;
			n++;
			continue;
		}
		if (c->retention_bytes >= 0 &&
		    total - g->size >= (uint64_t)c->retention_bytes) {
			total -= g->size;
			n++;
			continue;
		}
		break;
	}
	if (n) {
		slog_log(p->s, 2, "%s: retention deleted %zu segment(s) "
			 "below offset %" PRId64, p->name, n,
			 p->segs[n]->base);
		slog_part_remove_front(p, n);
	}
	pthread_mutex_unlock(&p->lock);
}

/* --------------------------------------------------------- compaction */

struct keymap {
	uint64_t *h;
	int64_t *off;
	size_t cap; /* power of two */
	size_t n;
	size_t limit;
};

static uint64_t key_hash(const uint8_t *k, int32_t len)
{
	uint64_t x = 0xcbf29ce484222325ull;

	for (int32_t i = 0; i < len; i++)
		x = (x ^ k[i]) * 0x100000001b3ull;
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	return x ? x : 1;
}

static int map_init(struct keymap *m, size_t bytes)
{
	size_t cap = 1024;

	while (cap * 2 * 16 <= bytes)
		cap *= 2;
	m->h = calloc(cap, sizeof *m->h);
	m->off = calloc(cap, sizeof *m->off);
	m->cap = cap;
	m->n = 0;
	m->limit = cap / 4 * 3;
	return m->h && m->off ? 0 : -ENOMEM;
}

static void map_put(struct keymap *m, uint64_t h, int64_t off)
{
	size_t i = (size_t)h & (m->cap - 1);

	while (m->h[i] && m->h[i] != h)
		i = (i + 1) & (m->cap - 1);
	if (!m->h[i]) {
		m->h[i] = h;
		m->n++;
	}
	m->off[i] = off;
}

static int64_t map_get(const struct keymap *m, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	while (m->h[i]) {
		if (m->h[i] == h)
			return m->off[i];
		i = (i + 1) & (m->cap - 1);
	}
	return -1;
}

/* Read a whole batch at pos into *buf (grown as needed). */
static int read_batch(uint8_t **buf, size_t *cap, const struct slog_seg *g,
		      uint64_t pos, size_t size)
{
	if (size > *cap) {
		uint8_t *n = realloc(*buf, size);

		if (!n)
			return -ENOMEM;
		*buf = n;
		*cap = size;
	}
	if (pread(g->fd, *buf, size, (off_t)pos) != (ssize_t)size)
		return CHRONIK_ECORRUPT;
	return 0;
}

/* Iterate the records of a batch (decompressing if needed). */
struct recs {
	chronik_protocol_batch pb;
	chronik_protocol_record_iter it;
	void *plain;
};

static int recs_open(struct recs *x, const uint8_t *b, size_t len)
{
	size_t pl;
	int r;

	x->plain = NULL;
	if ((r = chronik_protocol_batch_parse(&x->pb, b, len)) < 0)
		return r;
	if (x->pb.header.attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) {
		r = chronik_protocol_batch_decompress(&x->plain, &pl, &x->pb,
						      (size_t)256 << 20);
		if (r < 0)
			return r;
		return chronik_protocol_record_iter_init_buf(
			&x->it, &x->pb.header, x->plain, pl);
	}
	return chronik_protocol_record_iter_init(&x->it, &x->pb);
}

/* Add the keys of segments [i0, n) from offset `from` to the map until it
 * is nearly full; returns the offset the map covers up to (exclusive). */
static int build_map(int64_t *end_out, struct keymap *m,
		     struct slog_seg **segs, size_t n, int64_t from)
{
	uint8_t *buf = NULL;
	size_t cap = 0;
	int64_t end = from;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		struct slog_seg *g = segs[i];
		struct slog_cursor cur;
		struct slog_bhdr h;
		uint64_t pos;

		if (g->next_off <= from)
			continue;
		slog_cursor_init(&cur, g->fd, g->size);
		pos = slog_oidx_floor(g, from);
		while ((r = slog_cursor_hdr(&cur, pos, &h)) == 1) {
			struct recs x;
			chronik_protocol_record rec;
			int k;

			if (h.last < from) {
				pos += h.size;
				continue;
			}
			if (m->n + (size_t)(h.last - h.base + 1) > m->limit &&
			    m->n > 0)
				goto done;
			if ((r = read_batch(&buf, &cap, g, pos, h.size)) < 0 ||
			    (r = recs_open(&x, buf, h.size)) < 0)
				goto done;
			while ((k = chronik_protocol_record_next(&rec,
								 &x.it)) == 1)
				if (rec.key && rec.offset >= from)
					map_put(m, key_hash(rec.key,
							    rec.key_len),
						rec.offset);
			chronik_protocol_free(x.plain);
			if (k < 0) {
				r = k;
				goto done;
			}
			end = h.last + 1;
			pos += h.size;
		}
		if (r < 0)
			goto done;
		end = g->next_off;
	}
done:
	free(buf);
	*end_out = end;
	return r < 0 ? r : 0;
}

/* Encode the kept records of a batch as a new uncompressed batch with the
 * same base offset, lastOffsetDelta and timestamps. */
static size_t encode_record(uint8_t *o, const chronik_protocol_record *r)
{
	uint8_t body[64];
	size_t n = 0, hn;

	body[n++] = 0; /* attributes */
	n += chronik_varint64_write(body + n, r->timestamp_delta);
	n += chronik_varint64_write(body + n, r->offset_delta);
	n += chronik_varint64_write(body + n, r->key ? r->key_len : -1);
	hn = n;
	/* The length prefix needs the exact size of the rest. */
	size_t vlen_sz = chronik_varint64_size(r->value ? r->value_len : -1);
	size_t hc_sz = chronik_varint64_size(r->headers_count);
	size_t len = hn + (r->key ? (size_t)r->key_len : 0) + vlen_sz +
		     (r->value ? (size_t)r->value_len : 0) + hc_sz +
		     r->headers_size;
	size_t w = chronik_varint64_write(o, (int64_t)len);

	memcpy(o + w, body, hn);
	w += hn;
	if (r->key) {
		memcpy(o + w, r->key, (size_t)r->key_len);
		w += (size_t)r->key_len;
	}
	w += chronik_varint64_write(o + w, r->value ? r->value_len : -1);
	if (r->value) {
		memcpy(o + w, r->value, (size_t)r->value_len);
		w += (size_t)r->value_len;
	}
	w += chronik_varint64_write(o + w, r->headers_count);
	memcpy(o + w, r->headers, r->headers_size);
	return w + r->headers_size;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

struct clean_ctx {
	chronik_storage_partition *p;
	const struct keymap *m;
	int64_t end;       /* map covers offsets below this */
	int64_t ts_horizon; /* tombstones older than this go */
	int kept_tombstones;
	uint8_t *out;
	size_t out_cap;
};

/* Filter one batch; *len_out 0 drops it, out==b keeps it verbatim. */
static int clean_batch(struct clean_ctx *c, const uint8_t *b, size_t len,
		       const uint8_t **out, size_t *len_out)
{
	struct recs x;
	chronik_protocol_record rec;
	size_t w = SLOG_BATCH_HDR, total = 0, kept = 0;
	int k, r;

	if ((r = recs_open(&x, b, len)) < 0)
		return r;
	if (x.pb.header.attributes & CHRONIK_PROTOCOL_ATTR_CONTROL) {
		chronik_protocol_free(x.plain);
		*out = b;
		*len_out = len;
		return 0;
	}
	/* Worst case the re-encoded records are the decompressed size plus
	 * a few bytes each. */
	size_t need = SLOG_BATCH_HDR + len +
		      (size_t)x.pb.header.records_count * 16 + 64;
	if (x.plain)
		need += (size_t)((uint8_t *)x.it.end_ - (uint8_t *)x.plain);
	if (need > c->out_cap) {
		uint8_t *n = realloc(c->out, need);

		if (!n) {
			chronik_protocol_free(x.plain);
			return -ENOMEM;
		}
		c->out = n;
		c->out_cap = need;
	}
	while ((k = chronik_protocol_record_next(&rec, &x.it)) == 1) {
		int keep = 1;

		total++;
		if (rec.key) {
			int64_t mo = map_get(c->m, key_hash(rec.key,
							    rec.key_len));

			if (mo >= 0 && rec.offset < mo)
				keep = 0;
			else if (!rec.value && rec.offset < c->end &&
				 rec.timestamp < c->ts_horizon)
				keep = 0;
			else if (!rec.value)
				c->kept_tombstones = 1;
		}
		if (keep) {
			w += encode_record(c->out + w, &rec);
			kept++;
		}
	}
	chronik_protocol_free(x.plain);
	if (k < 0)
		return k;
	if (kept == total) {
		*out = b;
		*len_out = len;
		return 0;
	}
	if (kept == 0) {
		*len_out = 0;
		return 0;
	}
	memcpy(c->out, b, SLOG_BATCH_HDR);
	int codec = (b[22] & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK);
	if (codec != CHRONIK_PROTOCOL_COMPRESSION_NONE) {
		/* Re-compress with the batch's own codec. */
		void *z = NULL;
		size_t zl = 0;

		r = chronik_protocol_compress(&z, &zl, codec, 0, 0,
					      c->out + SLOG_BATCH_HDR,
					      w - SLOG_BATCH_HDR);
		if (r < 0)
			return r;
		if (SLOG_BATCH_HDR + zl > c->out_cap) {
			uint8_t *n = realloc(c->out, SLOG_BATCH_HDR + zl);

			if (!n) {
				chronik_protocol_free(z);
				return -ENOMEM;
			}
			c->out = n;
			c->out_cap = SLOG_BATCH_HDR + zl;
		}
		memcpy(c->out + SLOG_BATCH_HDR, z, zl);
		chronik_protocol_free(z);
		w = SLOG_BATCH_HDR + zl;
	}
	put_be32(c->out + 8, (uint32_t)(w - 12));
	put_be32(c->out + 57, (uint32_t)kept);
	put_be32(c->out + 17,
		 chronik_protocol_crc32c(0, c->out + 21, w - 21));
	*out = c->out;
	*len_out = w;
	return 0;
}

/* Test hook: _exit(77) at this step of a swap (0: never). */
int slog_crash_point;

static void crash_point(int n)
{
	if (slog_crash_point == n)
		_exit(77);
}

static void seg_file(char *buf, size_t n, const chronik_storage_partition *p,
		     int64_t base, const char *ext)
{
	snprintf(buf, n, "%s/%020" PRId64 "%s", p->dir, base, ext);
}

static const char *const seg_exts[3] = {".log", ".index", ".timeindex"};

/* ------------------------------------------------- cleaner state file */

/* cleaner-offset (docs/formats.md), 40 bytes, little-endian: magic
 * "CHRKCLNO", u32 version 1, u32 flags (bit 0: tombstones kept), i64
 * cleaned-up-to offset, i64 time of that pass (ms), u32 CRC-32C of bytes
 * 0..31, u32 zero. Replaced with a .tmp file and rename. */
#define CLN_MAGIC "CHRKCLNO"
#define CLN_FILE "cleaner-offset"

static void le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Load the persisted state once; clean_mu held (or opening). */
static void clean_state_load(chronik_storage_partition *p)
{
	char path[4200];
	uint8_t b[40];
	int fd;

	if (p->clean_loaded)
		return;
	p->clean_loaded = 1;
	snprintf(path, sizeof path, "%s/%s", p->dir, CLN_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (read(fd, b, sizeof b) == (ssize_t)sizeof b &&
	    !memcmp(b, CLN_MAGIC, 8) && le_get(b + 8, 4) == 1 &&
	    (uint32_t)le_get(b + 32, 4) == chronik_protocol_crc32c(0, b, 32)) {
		p->kept_tombstones = (int)(le_get(b + 12, 4) & 1);
		p->cleaned_upto = (int64_t)le_get(b + 16, 8);
		p->last_clean_ms = (int64_t)le_get(b + 24, 8);
	} else {
		slog_log(p->s, 1, "%s: unreadable, compacting from the start",
			 path);
	}
	close(fd);
}

static int clean_state_store(chronik_storage_partition *p)
{
	chronik_storage *s = p->s;
	char path[4200], tmp[4210];
	uint8_t b[40];
	int fd, r = 0;

	memset(b, 0, sizeof b);
	memcpy(b, CLN_MAGIC, 8);
	le_put(b + 8, 1, 4);
	le_put(b + 12, p->kept_tombstones ? 1 : 0, 4);
	le_put(b + 16, (uint64_t)p->cleaned_upto, 8);
	le_put(b + 24, (uint64_t)p->last_clean_ms, 8);
	le_put(b + 32, chronik_protocol_crc32c(0, b, 32), 4);
	snprintf(path, sizeof path, "%s/%s", p->dir, CLN_FILE);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return slog_err(s, -errno, "create %s: %s", tmp,
				strerror(errno));
	if (write(fd, b, sizeof b) != (ssize_t)sizeof b ||
	    (s->opts.sync_segments && fsync(fd) < 0))
		r = errno ? -errno : -EIO;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0 && s->opts.sync_segments)
		r = chronik_util_fsync_dir(p->dir);
	if (r < 0)
		return slog_err(s, r, "write %s: %s", path, strerror(-r));
	return 0;
}

int slog_clean_truncated(chronik_storage_partition *p, int64_t end)
{
	clean_state_load(p);
	if (p->cleaned_upto <= end)
		return 0;
	p->cleaned_upto = end;
	return clean_state_store(p);
}

/* ------------------------------------------------------ swap markers */

/* <base>.swap (docs/formats.md): magic "CHRKSWAP", u32 version 1, u32
 * count, count x i64 base offsets of segments merged into <base> (to be
 * deleted), u32 CRC-32C of everything before it. Its presence means the
 * <base>.*.cleaned files are complete and synced and replace <base>. */
#define SWAP_MAGIC "CHRKSWAP"

static int swap_marker_write(chronik_storage_partition *p, int64_t base,
			     const int64_t *merged, size_t m)
{
	chronik_storage *s = p->s;
	size_t len = 16 + 8 * m + 4;
	uint8_t *b = calloc(1, len);
	char path[4400], tmp[4400];
	int fd, r = 0;

	if (!b)
		return -ENOMEM;
	memcpy(b, SWAP_MAGIC, 8);
	le_put(b + 8, 1, 4);
	le_put(b + 12, m, 4);
	for (size_t i = 0; i < m; i++)
		le_put(b + 16 + 8 * i, (uint64_t)merged[i], 8);
	le_put(b + len - 4, chronik_protocol_crc32c(0, b, len - 4), 4);
	seg_file(path, sizeof path, p, base, ".swap");
	seg_file(tmp, sizeof tmp, p, base, ".swap.tmp");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(b);
		return -errno;
	}
	if (write(fd, b, len) != (ssize_t)len ||
	    (s->opts.sync_segments && fsync(fd) < 0))
		r = errno ? -errno : -EIO;
	close(fd);
	free(b);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0 && s->opts.sync_segments)
		r = chronik_util_fsync_dir(p->dir);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Finish the swap a marker commits (idempotent): cleaned files over the
 * segment, merged segments deleted, marker removed. */
static int swap_finish(chronik_storage_partition *p, int64_t base,
		       const int64_t *merged, size_t m)
{
	char from[4400], to[4400];
	int r = 0;

	for (int i = 0; i < 3; i++) {
		char ext[32];

		snprintf(ext, sizeof ext, "%s.cleaned", seg_exts[i]);
		seg_file(from, sizeof from, p, base, ext);
		seg_file(to, sizeof to, p, base, seg_exts[i]);
		if (rename(from, to) < 0 && errno != ENOENT && r == 0)
			r = -errno;
		crash_point(3 + i);
	}
	for (size_t j = 0; j < m; j++)
		for (int i = 0; i < 3; i++) {
			seg_file(to, sizeof to, p, merged[j], seg_exts[i]);
			if (unlink(to) < 0 && errno != ENOENT && r == 0)
				r = -errno;
			crash_point(6);
		}
	if (r == 0 && p->s->opts.sync_segments)
		r = chronik_util_fsync_dir(p->dir);
	if (r == 0) {
		crash_point(7);
		seg_file(to, sizeof to, p, base, ".swap");
		unlink(to);
	}
	return r;
}

int slog_clean_recover(chronik_storage_partition *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return slog_err(p->s, -errno, "open %s: %s", p->dir,
				strerror(errno));
	while (r == 0 && (de = readdir(d))) {
		const char *nm = de->d_name;
		char path[4400];
		uint8_t *b = NULL;
		int64_t base, *merged = NULL;
		char *end;
		size_t m = 0;
		struct stat st;
		int fd, ok = 0;

		if (strlen(nm) != 25 || strcmp(nm + 20, ".swap"))
			continue;
		base = strtoll(nm, &end, 10);
		if (end != nm + 20 || base < 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", p->dir, nm);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size >= 20 &&
		    st.st_size < (1 << 24) &&
		    (b = malloc((size_t)st.st_size)) &&
		    read(fd, b, (size_t)st.st_size) == st.st_size) {
			size_t len = (size_t)st.st_size;

			m = (size_t)le_get(b + 12, 4);
			ok = !memcmp(b, SWAP_MAGIC, 8) &&
			     le_get(b + 8, 4) == 1 && len == 20 + 8 * m &&
			     (uint32_t)le_get(b + len - 4, 4) ==
				     chronik_protocol_crc32c(0, b, len - 4);
			if (ok && m && (merged = malloc(m * sizeof *merged)))
				for (size_t i = 0; i < m; i++)
					merged[i] = (int64_t)le_get(
						b + 16 + 8 * i, 8);
			if (ok && m && !merged)
				r = -ENOMEM;
		}
		if (fd >= 0)
			close(fd);
		free(b);
		if (r == 0 && ok) {
			slog_log(p->s, 1, "%s: finishing the compaction swap "
				 "of segment %020" PRId64 " cut short by a "
				 "crash", p->name, base);
			r = swap_finish(p, base, merged, m);
			if (r < 0)
				slog_err(p->s, r, "%s: finish swap %s: %s",
					 p->name, path, strerror(-r));
		} else if (r == 0) {
			/* Written with rename: never partial. Someone
			 * else's file; leave the cleaned files to go. */
			slog_log(p->s, 1, "%s: ignoring invalid %s", p->name,
				 path);
			unlink(path);
		}
		free(merged);
	}
	closedir(d);
	return r;
}

/* --------------------------------------------------------- rewriting */

/* Rewrite the segments segs[0..m) (adjacent, closed) through the filter
 * into one new segment with the first one's base, indexes built as it is
 * written, then swap it in; only the renames and the table update happen
 * under the partition lock. */
static int clean_group(struct clean_ctx *c, struct slog_seg **segs, size_t m)
{
	chronik_storage_partition *p = c->p;
	chronik_storage *s = p->s;
	struct slog_seg *ng = NULL, *g0 = segs[0];
	uint8_t *buf = NULL;
	size_t cap = 0, changed = m > 1, nbat = 0;
	int64_t *merged = NULL;
	char path[4400];
	int r = 0;

	if ((r = slog_seg_create(&ng, p, g0->base, ".cleaned")) < 0)
		return slog_err(s, r, "%s: compaction: create: %s", p->name,
				strerror(-r));
	for (size_t i = 0; i < m && r == 0; i++) {
		struct slog_seg *g = segs[i];
		struct slog_cursor cur;
		struct slog_bhdr h;
		uint64_t pos = 0;

		slog_cursor_init(&cur, g->fd, g->size);
		while ((r = slog_cursor_hdr(&cur, pos, &h)) == 1) {
			const uint8_t *o = NULL;
			size_t olen;
			struct slog_bhdr nh;

			if ((r = read_batch(&buf, &cap, g, pos, h.size)) < 0 ||
			    (r = clean_batch(c, buf, h.size, &o, &olen)) < 0)
				break;
			if (olen != h.size || o != buf)
				changed = 1;
			if (olen) {
				slog_parse_hdr(&nh, o);
				r = slog_seg_append(ng, &p->cfg, o, olen, &nh);
				if (r < 0)
					break;
				nbat++;
			}
			pos += h.size;
		}
		if (r < 0)
			slog_err(s, r, "%s: compaction of %s at position %"
				 PRIu64 ": %s", p->name, g->path, pos,
				 chronik_strerror(r));
	}
	free(buf);
	(void)nbat;
	if (r == 0 && !changed)
		goto discard; /* nothing to drop: keep the old file */
	slog_seg_trim_indexes(ng);
	if (r == 0 && s->opts.sync_segments &&
	    (fdatasync(ng->fd) < 0 || fdatasync(ng->oidx.fd) < 0 ||
	     fdatasync(ng->tidx.fd) < 0))
		r = slog_err(s, -errno, "%s: sync %s: %s", p->name, ng->path,
			     strerror(errno));
	crash_point(1);
	if (r == 0 && m > 1 && !(merged = malloc((m - 1) * sizeof *merged)))
		r = -ENOMEM;
	for (size_t i = 1; r == 0 && i < m; i++)
		merged[i - 1] = segs[i]->base;
	if (r == 0 && (r = swap_marker_write(p, g0->base, merged, m - 1)) < 0)
		slog_err(s, r, "%s: compaction: swap marker: %s", p->name,
			 strerror(-r));
	if (r < 0)
		goto discard;
	crash_point(2);
	/* Committed: from here on open finishes the swap if we crash. */
	pthread_mutex_lock(&p->lock);
	size_t k;
	for (k = 0; k < p->nsegs && p->segs[k] != g0; k++)
		;
	if (k + m > p->nsegs || p->segs[k + m - 1] != segs[m - 1]) {
		/* Cannot happen (see below); the files are swapped on disk
		 * already, so stop rather than serve stale data. */
		atomic_store(&s->failed, CHRONIK_EFAILED);
		pthread_mutex_unlock(&p->lock);
		slog_seg_put(ng);
		free(merged);
		return slog_err(s, CHRONIK_EFAILED, "%s: compaction: segment "
				"table changed during the swap", p->name);
	}
	r = swap_finish(p, g0->base, merged, m - 1);
	free(ng->path);
	ng->path = strdup(g0->path);
	if (!ng->path)
		abort(); /* a few bytes; nothing sane to do */
	/* Retention and truncation wait for clean_mu; the writer only
	 * appends: the group is still in place. */
	for (size_t i = 0; i < m; i++)
		slog_seg_put(p->segs[k + i]);
	p->segs[k] = ng;
	memmove(p->segs + k + 1, p->segs + k + m,
		(p->nsegs - k - m) * sizeof *p->segs);
	p->nsegs -= m - 1;
	p->dir_dirty = 1;
	pthread_mutex_unlock(&p->lock);
	free(merged);
	if (r < 0)
		return slog_err(s, r, "%s: compaction swap of %s: %s",
				p->name, g0->path, strerror(-r));
	return 0;
discard:
	for (int i = 0; i < 3; i++) {
		char ext[32];

		snprintf(ext, sizeof ext, "%s.cleaned", seg_exts[i]);
		seg_file(path, sizeof path, p, g0->base, ext);
		unlink(path);
	}
	slog_seg_put(ng);
	free(merged);
	return r;
}

static int compact(chronik_storage_partition *p, int64_t now)
{
	chronik_storage *s = p->s;
	struct slog_seg **segs = NULL;
	struct keymap m = {0};
	struct clean_ctx c = {0};
	size_t n = 0;
	uint64_t seg_bytes;
	int64_t dirty_end, end;
	int r = 0;

	clean_state_load(p);
	pthread_mutex_lock(&p->lock);
	/* Only closed segments wholly before the last recovery point:
	 * synced, so the rewrite never races with a torn tail. */
	while (n + 1 < p->nsegs && p->rp_base >= 0 &&
	       p->segs[n]->base < p->rp_base)
		n++;
	if (n > 0 && (segs = malloc(n * sizeof *segs)))
		for (size_t i = 0; i < n; i++) {
			segs[i] = p->segs[i];
			slog_seg_get(segs[i]);
		}
	c.ts_horizon = now - p->cfg.delete_retention_ms;
	seg_bytes = p->cfg.segment_bytes;
	pthread_mutex_unlock(&p->lock);
	if (!segs)
		return n > 0 ? -ENOMEM : 0;
	dirty_end = segs[n - 1]->next_off;
	if (p->cleaned_upto >= dirty_end &&
	    !(p->kept_tombstones &&
	      now - p->last_clean_ms >= p->cfg.delete_retention_ms))
		goto out;
	if ((r = map_init(&m, s->opts.cleaner_map_bytes ?
				      s->opts.cleaner_map_bytes :
				      (size_t)16 << 20)) < 0)
		goto out;
	r = build_map(&end, &m, segs, n, p->cleaned_upto);
	if (r < 0) {
		slog_err(s, r, "%s: compaction: reading keys: %s", p->name,
			 chronik_strerror(r));
		goto out;
	}
	if (end <= p->cleaned_upto)
		end = p->cleaned_upto;
	c.p = p;
	c.m = &m;
	c.end = end;
	/* Groups of adjacent segments that fit one segment together are
	 * merged while cleaned. */
	for (size_t i = 0; i < n && r == 0;) {
		size_t j = i + 1;
		uint64_t sum = segs[i]->size;

		if (!(segs[i]->base < end || p->kept_tombstones)) {
			i++;
			continue;
		}
		while (j < n && (segs[j]->base < end || p->kept_tombstones) &&
		       sum + segs[j]->size <= seg_bytes &&
		       segs[j]->next_off - segs[i]->base < INT32_MAX) {
			sum += segs[j]->size;
			j++;
		}
		r = clean_group(&c, segs + i, j - i);
		i = j;
	}
	if (r == 0) {
		slog_log(s, 2, "%s: compacted up to offset %" PRId64
			 " (%zu keys)", p->name, end, m.n);
		p->cleaned_upto = end;
		p->last_clean_ms = now;
		p->kept_tombstones = c.kept_tombstones;
		r = clean_state_store(p);
	}
out:
	for (size_t i = 0; i < n; i++)
		slog_seg_put(segs[i]);
	free(segs);
	free(m.h);
	free(m.off);
	free(c.out);
	return r;
}

int slog_clean_partition(chronik_storage_partition *p, int64_t now_ms)
{
	int r = 0;

	pthread_mutex_lock(&p->clean_mu);
	if (p->deleted) {
		/* Deleted meanwhile (the table was read without it). */
		pthread_mutex_unlock(&p->clean_mu);
		return 0;
	}
	retention(p, now_ms);
	if (p->cfg.cleanup_policy & CHRONIK_STORAGE_CLEANUP_COMPACT)
		r = compact(p, now_ms);
	pthread_mutex_unlock(&p->clean_mu);
	return r;
}

CHRONIK_STORAGE_API int chronik_storage_run_cleaner(chronik_storage *s)
{
	int r = 0;

	if (!s)
		return CHRONIK_EARG;
	for (size_t i = 0;; i++) {
		chronik_storage_partition *p;
		int k;

		pthread_mutex_lock(&s->lock);
		p = i < s->nparts ? s->parts[i] : NULL;
		pthread_mutex_unlock(&s->lock);
		if (!p)
			break;
		k = slog_clean_partition(p, slog_now_ms());
		if (k < 0 && r == 0)
			r = k;
	}
	return r;
}

void *slog_cleaner_main(void *arg)
{
	chronik_storage *s = arg;
	unsigned iv = s->opts.retention_check_ms ? s->opts.retention_check_ms
						  : 5000;

	chronik_util_thread_setup("seg-cleaner", 1);

	pthread_mutex_lock(&s->cl_mu);
	while (!s->cl_stop) {
		struct timespec dl;

		slog_deadline_ms(&dl, iv);
		/* Directories queued before this thread first waited (the
		 * open's scan queues leftovers) signalled nobody: do them
		 * now rather than one interval later. */
		if (!s->ndel_dirs)
			pthread_cond_timedwait(&s->cl_cv, &s->cl_mu, &dl);
		if (s->cl_stop)
			break;
		pthread_mutex_unlock(&s->cl_mu);
		slog_remove_deleted_dirs(s);
		chronik_storage_run_cleaner(s);
		pthread_mutex_lock(&s->cl_mu);
	}
	pthread_mutex_unlock(&s->cl_mu);
	return NULL;
}
