/* SPDX-License-Identifier: Apache-2.0 */
/* Segment files (<base>.log) and their memory-mapped offset and time
 * indexes: create, load (with torn-tail repair and index validation),
 * append, lookups, truncation. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chronik/protocol_records.h"
#include "log_internal.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

void slog_parse_hdr(struct slog_bhdr *h, const uint8_t *b)
{
	h->base = (int64_t)be64(b);
	h->size = be32(b + 8) + 12;
	h->magic = (int8_t)b[16];
	h->attributes = (int16_t)(b[21] << 8 | b[22]);
	h->last = h->base + (int32_t)be32(b + 23);
	h->max_ts = (int64_t)be64(b + 35);
}

void slog_cursor_init(struct slog_cursor *c, int fd, uint64_t end)
{
	c->fd = fd;
	c->end = end;
	c->wpos = 0;
	c->wlen = 0;
}

int slog_cursor_hdr(struct slog_cursor *c, uint64_t pos, struct slog_bhdr *h)
{
	if (pos >= c->end)
		return 0;
	if (c->end - pos < SLOG_BATCH_HDR)
		return CHRONIK_ECORRUPT;
	if (pos < c->wpos || pos + SLOG_BATCH_HDR > c->wpos + c->wlen) {
		size_t want = sizeof c->win;
		ssize_t r;

		if (c->end - pos < want)
			want = (size_t)(c->end - pos);
		do
			r = pread(c->fd, c->win, want, (off_t)pos);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if ((size_t)r < SLOG_BATCH_HDR)
			return CHRONIK_ECORRUPT;
		c->wpos = pos;
		c->wlen = (size_t)r;
	}
	slog_parse_hdr(h, c->win + (pos - c->wpos));
	if (h->magic != 2 || h->size < SLOG_BATCH_HDR ||
	    h->size > c->end - pos || h->last < h->base)
		return CHRONIK_ECORRUPT;
	return 1;
}

static char *seg_path(const chronik_storage_partition *p, int64_t base,
		      const char *ext)
{
	size_t n = strlen(p->dir) + 48;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s/%020" PRId64 "%s", p->dir, base, ext);
	return s;
}

size_t slog_index_cap(const chronik_storage_topic_config *c)
{
	uint64_t iv = c->index_interval_bytes ? c->index_interval_bytes : 4096;

	return (size_t)((c->segment_bytes + c->max_message_bytes) / iv) + 8;
}

static void index_close(struct slog_index *x)
{
	if (x->map && x->map != MAP_FAILED)
		munmap(x->map, x->map_len);
	if (x->fd >= 0)
		close(x->fd);
	x->map = NULL;
	x->fd = -1;
}

/* Zero an index file from byte `from` to its end without touching its
 * map: up to the next 4 KiB boundary with pwrite, the blocks after it
 * punched out, so no page of the map is read or made resident (a memset
 * would make megabytes resident and dirty). Falls back to a memset where
 * the file system cannot punch holes. */
static void index_zero_from(struct slog_index *x, size_t from)
{
	static const uint8_t zeros[4096];
	size_t end;

	if (!x->map || from >= x->map_len)
		return;
	end = (from + sizeof zeros - 1) / sizeof zeros * sizeof zeros;
	if (end > x->map_len)
		end = x->map_len;
	if (end > from && pwrite(x->fd, zeros, end - from, (off_t)from) !=
			      (ssize_t)(end - from))
		memset(x->map + from, 0, end - from);
	if (x->map_len > end &&
	    fallocate(x->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)end, (off_t)(x->map_len - end)) < 0)
		memset(x->map + end, 0, x->map_len - end);
}

/* Zero all entries (the header stays). */
static void index_zero(struct slog_index *x)
{
	index_zero_from(x, SLOG_IDX_HDR);
}

/* Open (create) an index file and map it with room for cap entries;
 * *fresh is set when the header was missing or unknown (then the file is
 * reinitialised and must be rebuilt). */
static int index_open(struct slog_index *x, const char *path,
		      const char *magic, size_t esz, size_t cap, int64_t base,
		      int *fresh)
{
	struct stat st;
	uint8_t *m, hdr[SLOG_IDX_HDR];
	size_t len = SLOG_IDX_HDR + cap * esz;
	ssize_t n;

	x->esz = esz;
	x->count = 0;
	x->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (x->fd < 0)
		return -errno;
	if (fstat(x->fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size > len)
		len = (size_t)st.st_size;
	if ((size_t)st.st_size < len && ftruncate(x->fd, (off_t)len) < 0)
		return -errno;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, x->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	/* Looked up by binary search and appended a page at a time: no
	 * readahead (it would fault in, and for a new sparse file zero, up
	 * to megabytes of the map on the first access). */
	(void)madvise(m, len, MADV_RANDOM);
	x->map = m;
	x->map_len = len;
	x->cap = (len - SLOG_IDX_HDR) / esz;
	/* The header by pread/pwrite: an index nothing was added to (an
	 * idle partition) has no page of its map resident. */
	n = pread(x->fd, hdr, sizeof hdr, 0);
	if (n < 0)
		return -errno;
	*fresh = n != (ssize_t)sizeof hdr || memcmp(hdr, magic, 8) != 0 ||
		 le32(hdr + 8) != SLOG_IDX_VERSION || le32(hdr + 12) != esz ||
		 (int64_t)le64(hdr + 16) != base;
	if (*fresh) {
		/* A new file is a hole already; an old one loses its
		 * blocks. */
		if (st.st_size > 0)
			index_zero(x);
		memcpy(hdr, magic, 8);
		put_le32(hdr + 8, SLOG_IDX_VERSION);
		put_le32(hdr + 12, (uint32_t)esz);
		put_le64(hdr + 16, (uint64_t)base);
		if (pwrite(x->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
			return errno ? -errno : -EIO;
	}
	return 0;
}

static uint8_t *ent(const struct slog_index *x, size_t i)
{
	return x->map + SLOG_IDX_HDR + i * x->esz;
}

static void oidx_add(struct slog_seg *g, int64_t off, uint64_t pos)
{
	uint8_t *e;

	if (g->oidx.count >= g->oidx.cap)
		return; /* sparser from here on; still correct */
	e = ent(&g->oidx, g->oidx.count);
	put_le32(e, (uint32_t)(off - g->base));
	put_le32(e + 4, (uint32_t)pos);
	g->oidx.count++;
	g->last_oidx_pos = pos;
}

static void tidx_add(struct slog_seg *g, int64_t ts, int64_t off)
{
	uint8_t *e;

	if (g->tidx.count >= g->tidx.cap)
		return;
	e = ent(&g->tidx, g->tidx.count);
	put_le64(e, (uint64_t)ts);
	put_le32(e + 8, (uint32_t)(off - g->base));
	g->tidx.count++;
}

static int64_t tidx_ts(const struct slog_seg *g, size_t i)
{
	return (int64_t)le64(ent(&g->tidx, i));
}

/* Index bookkeeping for a batch at pos (shared by append and rebuild). */
static void index_batch(struct slog_seg *g, uint32_t interval,
			const struct slog_bhdr *h, uint64_t pos)
{
	int64_t prev_max = g->max_ts;

	if (h->max_ts > g->max_ts)
		g->max_ts = h->max_ts;
	if (g->oidx.count == 0 || pos - g->last_oidx_pos >= interval) {
		oidx_add(g, h->base, pos);
		if (g->max_ts > prev_max || g->tidx.count == 0 ||
		    g->max_ts > tidx_ts(g, g->tidx.count - 1))
			tidx_add(g, g->max_ts, h->base);
	}
}

static void seg_free(struct slog_seg *g)
{
	index_close(&g->oidx);
	index_close(&g->tidx);
	if (g->fd >= 0)
		close(g->fd);
	free(g->path);
	free(g);
}

void slog_seg_get(struct slog_seg *g)
{
	atomic_fetch_add(&g->refs, 1);
}

void slog_seg_put(struct slog_seg *g)
{
	if (g && atomic_fetch_sub(&g->refs, 1) == 1)
		seg_free(g);
}

static struct slog_seg *seg_new(int64_t base)
{
	struct slog_seg *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	atomic_init(&g->refs, 1);
	g->base = base;
	g->fd = -1;
	g->oidx.fd = -1;
	g->tidx.fd = -1;
	g->next_off = base;
	g->max_ts = -1;
	return g;
}

static int open_indexes(struct slog_seg *g, chronik_storage_partition *p,
			size_t cap, int *fresh, const char *suffix)
{
	char ie[32], te[32];
	char *ip, *tp;

	snprintf(ie, sizeof ie, ".index%s", suffix ? suffix : "");
	snprintf(te, sizeof te, ".timeindex%s", suffix ? suffix : "");
	ip = seg_path(p, g->base, ie);
	tp = seg_path(p, g->base, te);
	int f1 = 0, f2 = 0, r = -ENOMEM;

	if (ip && tp) {
		r = index_open(&g->oidx, ip, SLOG_IDX_MAGIC, SLOG_OIDX_ESZ,
			       cap, g->base, &f1);
		if (r == 0)
			r = index_open(&g->tidx, tp, SLOG_TIDX_MAGIC,
				       SLOG_TIDX_ESZ, cap, g->base, &f2);
	}
	free(ip);
	free(tp);
	*fresh = f1 || f2;
	return r;
}

int slog_seg_create(struct slog_seg **out, chronik_storage_partition *p,
		    int64_t base, const char *suffix)
{
	struct slog_seg *g = seg_new(base);
	char ext[32];
	int fresh, r;

	*out = NULL;
	if (!g)
		return -ENOMEM;
	snprintf(ext, sizeof ext, ".log%s", suffix ? suffix : "");
	g->path = seg_path(p, base, ext);
	if (!g->path) {
		seg_free(g);
		return -ENOMEM;
	}
	g->fd = open(g->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (g->fd < 0) {
		r = -errno;
		seg_free(g);
		return r;
	}
	{
		/* With a suffix (compaction output) the indexes get it too
		 * and are created empty. */
		if (suffix) {
			char ie[48], te[48];
			char *ip, *tp;

			snprintf(ie, sizeof ie, ".index%s", suffix);
			snprintf(te, sizeof te, ".timeindex%s", suffix);
			ip = seg_path(p, base, ie);
			tp = seg_path(p, base, te);

			if (ip)
				unlink(ip);
			if (tp)
				unlink(tp);
			free(ip);
			free(tp);
		}
		r = open_indexes(g, p, slog_index_cap(&p->cfg), &fresh,
				 suffix);
		if (r < 0) {
			seg_free(g);
			return r;
		}
		/* A stale index from an older segment with this base. */
		if (!fresh) {
			index_zero(&g->oidx);
			index_zero(&g->tidx);
		}
	}
	*out = g;
	return 0;
}

int slog_seg_append(struct slog_seg *g, const chronik_storage_topic_config *c,
		    const uint8_t *batch, size_t len, const struct slog_bhdr *h)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = pwrite(g->fd, batch + done, len - done,
				   (off_t)(g->size + done));

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)w;
	}
	if (g->size == 0)
		g->first_ms = slog_now_ms();
	if (g->oidx.map)
		index_batch(g, c->index_interval_bytes, h, g->size);
	else if (h->max_ts > g->max_ts)
		g->max_ts = h->max_ts;
	g->size += len;
	g->next_off = h->last + 1;
	return 0;
}

int slog_wbuf_flush(struct slog_wbuf *wb)
{
	uint64_t pos = wb->pos;
	int i = 0, r = 0;

	while (i < wb->n) {
		ssize_t w = pwritev(wb->g->fd, wb->iov + i, wb->n - i,
				    (off_t)pos);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		pos += (uint64_t)w;
		while (i < wb->n && (size_t)w >= wb->iov[i].iov_len) {
			w -= (ssize_t)wb->iov[i].iov_len;
			i++;
		}
		if (i < wb->n && w > 0) {
			wb->iov[i].iov_base = (uint8_t *)wb->iov[i].iov_base + w;
			wb->iov[i].iov_len -= (size_t)w;
		}
	}
	if (r < 0 && wb->g) {
		wb->g->size = wb->pos;
		wb->g->next_off = wb->next_off;
	}
	wb->g = NULL;
	wb->n = 0;
	wb->len = 0;
	return r;
}

int slog_seg_append_staged(struct slog_seg *g,
			   const chronik_storage_topic_config *c,
			   const uint8_t *batch, size_t len,
			   const struct slog_bhdr *h, struct slog_wbuf *wb)
{
	int r;

	if (wb->n && (wb->g != g || wb->n == SLOG_WBUF_IOV ||
		      wb->pos + wb->len != g->size) &&
	    (r = slog_wbuf_flush(wb)) < 0)
		return r;
	if (wb->n == 0) {
		wb->g = g;
		wb->pos = g->size;
		wb->next_off = g->next_off;
	}
	wb->iov[wb->n].iov_base = (void *)batch;
	wb->iov[wb->n].iov_len = len;
	wb->n++;
	wb->len += len;
	if (g->size == 0)
		g->first_ms = slog_now_ms();
	if (g->oidx.map)
		index_batch(g, c->index_interval_bytes, h, g->size);
	else if (h->max_ts > g->max_ts)
		g->max_ts = h->max_ts;
	g->size += len;
	g->next_off = h->last + 1;
	return 0;
}

/* Scan batches from pos to the end; with verify, also check each CRC.
 * Stops at the first invalid batch: *valid_end is where it starts. When
 * idx, every batch is indexed. */
static int scan(struct slog_seg *g, uint64_t pos, uint64_t end, int verify,
		uint32_t interval, int idx, uint64_t *valid_end)
{
	size_t cap = (size_t)1 << 20;
	uint8_t *buf = malloc(cap);
	uint64_t bpos = 0;
	size_t blen = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	while (pos < end) {
		struct slog_bhdr h;
		const uint8_t *b;

		if (end - pos < SLOG_BATCH_HDR)
			break;
		if (pos < bpos || pos + SLOG_BATCH_HDR > bpos + blen) {
			size_t want = cap;
			ssize_t n;

			if (end - pos < want)
				want = (size_t)(end - pos);
			n = pread(g->fd, buf, want, (off_t)pos);
			if (n < 0) {
				r = -errno;
				goto out;
			}
			bpos = pos;
			blen = (size_t)n;
			if (blen < SLOG_BATCH_HDR)
				break;
		}
		b = buf + (pos - bpos);
		slog_parse_hdr(&h, b);
		if (h.magic != 2 || h.size < SLOG_BATCH_HDR ||
		    h.size > end - pos || h.last < h.base ||
		    (g->next_off > g->base && h.base < g->next_off))
			break;
		if (verify) {
			chronik_protocol_batch pb;
			uint8_t *big = NULL;

			if (pos + h.size > bpos + blen) {
				if (h.size <= cap) {
					bpos = pos + 1; /* force a refill */
					blen = 0;
					ssize_t n = pread(g->fd, buf, h.size,
							  (off_t)pos);
					if (n != (ssize_t)h.size)
						break;
					bpos = pos;
					blen = h.size;
					b = buf;
				} else {
					big = malloc(h.size);
					if (!big ||
					    pread(g->fd, big, h.size,
						  (off_t)pos) !=
						    (ssize_t)h.size) {
						free(big);
						break;
					}
					b = big;
				}
			}
			int ok = chronik_protocol_batch_parse(&pb, b,
							      h.size) == 0 &&
				 chronik_protocol_batch_verify_crc(&pb) == 0;
			free(big);
			if (!ok)
				break;
		}
		if (idx)
			index_batch(g, interval, &h, pos);
		else if (h.max_ts > g->max_ts)
			g->max_ts = h.max_ts;
		g->next_off = h.last + 1;
		pos += h.size;
	}
out:
	*valid_end = pos;
	free(buf);
	return r;
}


static void reset_indexes(struct slog_seg *g)
{
	index_zero(&g->oidx);
	index_zero(&g->tidx);
	g->oidx.count = 0;
	g->tidx.count = 0;
	g->last_oidx_pos = 0;
	g->max_ts = -1;
	g->next_off = g->base;
}

/* Count the valid entries of both indexes against the log; 0 if they are
 * consistent, 1 if they must be rebuilt. With past_end, entries for
 * batches at or after g->size may follow (a prefix of the log). */
static int validate_indexes(struct slog_seg *g, int past_end)
{
	struct slog_cursor cur;
	struct slog_bhdr h;
	uint32_t prel = 0, ppos = 0;
	int at_end = 0;
	size_t i;

	for (i = 0; i < g->oidx.cap; i++) {
		uint8_t *e = ent(&g->oidx, i);
		uint32_t rel = le32(e), pos = le32(e + 4);

		if (i == 0 ? pos != 0 : (rel <= prel || pos <= ppos))
			break;
		if (pos >= g->size) {
			at_end = 1;
			break;
		}
		prel = rel;
		ppos = pos;
	}
	g->oidx.count = i;
	if (g->size > 0 && i == 0)
		return 1;
	/* Entries after the valid ones must be zero, or the file is
	 * damaged (a torn write, a wrong file). */
	for (size_t j = i; !(past_end && at_end) && j < g->oidx.cap &&
			   j < i + 4; j++)
		if (le64(ent(&g->oidx, j)) != 0)
			return 1;
	g->last_oidx_pos = ppos;
	slog_cursor_init(&cur, g->fd, g->size);
	if (i > 0) {
		if (slog_cursor_hdr(&cur, ppos, &h) != 1 ||
		    h.base != g->base + (int64_t)prel)
			return 1;
	}
	int64_t pts = INT64_MIN;
	prel = 0;
	for (i = 0; i < g->tidx.cap; i++) {
		uint8_t *e = ent(&g->tidx, i);
		int64_t ts = (int64_t)le64(e);
		uint32_t rel = le32(e + 8);

		if (ts == 0 && rel == 0 && i > 0)
			break;
		if (ts <= pts || rel < prel)
			break;
		pts = ts;
		prel = rel;
	}
	g->tidx.count = i;
	if (g->oidx.count > 0 && g->tidx.count == 0 && g->size > 0)
		return 1;
	g->max_ts = g->tidx.count ? pts : -1;
	return 0;
}

static int index_grow(struct slog_index *x, size_t cap)
{
	size_t len = SLOG_IDX_HDR + cap * x->esz;
	uint8_t *m;

	if (cap <= x->cap)
		return 0;
	if (ftruncate(x->fd, (off_t)len) < 0)
		return -errno;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, x->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	munmap(x->map, x->map_len);
	x->map = m;
	x->map_len = len;
	x->cap = cap;
	return 0;
}

static int rebuild(chronik_storage *s, struct slog_seg *g,
		   const chronik_storage_topic_config *c, size_t cap)
{
	uint64_t end;
	int r;

	if ((r = index_grow(&g->oidx, cap)) < 0 ||
	    (r = index_grow(&g->tidx, cap)) < 0)
		return slog_err(s, r, "index of %s: %s", g->path,
				chronik_strerror(r));
	reset_indexes(g);
	r = scan(g, 0, g->size, 0, c->index_interval_bytes, 1, &end);
	if (r < 0)
		return r;
	if (end != g->size)
		return slog_err(s, CHRONIK_ECORRUPT,
				"segment %s: invalid batch at position %" PRIu64
				" (file size %" PRIu64 ")",
				g->path, end, g->size);
	return 0;
}

int slog_seg_rebuild_indexes(chronik_storage *s, struct slog_seg *g,
			     const chronik_storage_topic_config *c)
{
	return rebuild(s, g, c,
		       (size_t)(g->size / c->index_interval_bytes) + 8);
}

/* Zero the index entries from count on (stale ones after a cut). */
static void zero_index_rest(struct slog_index *x)
{
	if (x->map && x->count < x->cap)
		index_zero_from(x, SLOG_IDX_HDR + x->count * x->esz);
}

/* Trust the log before `from` (a recovery point: synced and valid when it
 * was written) and its indexes there; index entries at or after it are
 * dropped. 0 when the prefix matches the recovery point, 1 when it does
 * not (then the caller scans everything). */
static int load_prefix(struct slog_seg *g, uint64_t from, int64_t from_off)
{
	uint64_t size = g->size, end;
	int bad;

	if (from > size || from_off < g->base)
		return 1;
	g->size = from;
	bad = validate_indexes(g, 1);
	g->size = size;
	if (bad)
		return 1;
	while (g->tidx.count > 0 &&
	       g->base + (int64_t)le32(ent(&g->tidx, g->tidx.count - 1) + 8) >=
		       from_off)
		g->tidx.count--;
	g->max_ts = g->tidx.count ?
			    tidx_ts(g, g->tidx.count - 1) : -1;
	zero_index_rest(&g->oidx);
	zero_index_rest(&g->tidx);
	/* Headers only from the last index entry to the recovery point. */
	g->next_off = g->base;
	if (scan(g, g->last_oidx_pos, from, 0, 0, 0, &end) < 0 ||
	    end != from || (from > 0 ? g->next_off : g->base) != from_off)
		return 1;
	return 0;
}

int slog_seg_load(struct slog_seg **out, chronik_storage_partition *p,
		  int64_t base, int verify, uint64_t from, int64_t from_off,
		  uint64_t *cut)
{
	chronik_storage *s = p->s;
	const chronik_storage_topic_config *c = &p->cfg;
	struct slog_seg *g = seg_new(base);
	struct stat st;
	uint64_t end;
	int fresh = 0, r;

	*out = NULL;
	if (cut)
		*cut = 0;
	if (!g)
		return -ENOMEM;
	g->path = seg_path(p, base, ".log");
	if (!g->path) {
		r = -ENOMEM;
		goto fail;
	}
	g->fd = open(g->path, O_RDWR | O_CLOEXEC);
	if (g->fd < 0 || fstat(g->fd, &st) < 0) {
		r = slog_err(s, -errno, "open %s: %s", g->path,
			     strerror(errno));
		goto fail;
	}
	g->size = (uint64_t)st.st_size;
	if (g->size > UINT32_MAX) {
		r = slog_err(s, CHRONIK_ECORRUPT, "segment %s: too large",
			     g->path);
		goto fail;
	}
	if (verify) {
		/* Data after the recovery point (all of it without one) may
		 * end in a torn write: verify every batch by CRC and cut the
		 * log at the first bad one, indexing in the same pass. */
		size_t cap = slog_index_cap(c);

		r = open_indexes(g, p, cap, &fresh, NULL);
		if (r < 0)
			goto fail;
		if (from > 0 && (fresh || load_prefix(g, from, from_off))) {
			slog_log(s, 1, "segment %s: does not match the "
				 "recovery point (position %" PRIu64
				 ", offset %" PRId64 "); checking all of it",
				 g->path, from, from_off);
			from = 0;
		}
		if (from == 0)
			reset_indexes(g);
		r = scan(g, from, g->size, 1, c->index_interval_bytes, 1,
			 &end);
		if (r < 0)
			goto fail;
		if (end < g->size) {
			slog_log(s, 1,
				 "segment %s: torn or corrupt tail at position "
				 "%" PRIu64 " (offset %" PRId64 "), %" PRIu64
				 " bytes truncated",
				 g->path, end, g->next_off, g->size - end);
			if (ftruncate(g->fd, (off_t)end) < 0) {
				r = slog_err(s, -errno, "truncate %s: %s",
					     g->path, strerror(errno));
				goto fail;
			}
			if (cut)
				*cut = g->size - end;
			g->size = end;
			p->recovered_trunc = 1;
		}
		g->first_ms = g->size ? slog_now_ms() : 0;
		*out = g;
		return 0;
	}
	r = open_indexes(g, p, 0, &fresh, NULL);
	if (r < 0)
		goto fail;
	if (fresh || validate_indexes(g, 0)) {
		slog_log(s, 1, "segment %s: index missing or inconsistent, "
			 "rebuilding it from the log", g->path);
		r = slog_seg_rebuild_indexes(s, g, c);
		if (r < 0)
			goto fail;
	} else {
		/* Batches after the last index entry are not indexed: read
		 * their headers for the end offset and max timestamp. */
		g->next_off = g->base;
		r = scan(g, g->last_oidx_pos, g->size, 0, 0, 0, &end);
		if (r < 0)
			goto fail;
		if (end != g->size) {
			r = slog_err(s, CHRONIK_ECORRUPT,
				     "segment %s: invalid batch at position "
				     "%" PRIu64 " (file size %" PRIu64 ")",
				     g->path, end, g->size);
			goto fail;
		}
	}
	*out = g;
	return 0;
fail:
	seg_free(g);
	return r;
}

void slog_seg_trim_indexes(struct slog_seg *g)
{
	/* The file keeps its mapping; only the size on disk shrinks to the
	 * used entries (no access beyond them ever happens). */
	if (g->oidx.fd >= 0 &&
	    ftruncate(g->oidx.fd, (off_t)(SLOG_IDX_HDR +
					  g->oidx.count * SLOG_OIDX_ESZ)) == 0)
		g->oidx.cap = g->oidx.count;
	if (g->tidx.fd >= 0 &&
	    ftruncate(g->tidx.fd, (off_t)(SLOG_IDX_HDR +
					  g->tidx.count * SLOG_TIDX_ESZ)) == 0)
		g->tidx.cap = g->tidx.count;
}

void slog_seg_unlink(struct slog_seg *g)
{
	size_t n = strlen(g->path);
	char *q = malloc(n + 16);

	unlink(g->path);
	if (!q)
		return;
	memcpy(q, g->path, n - 4);
	strcpy(q + n - 4, ".index");
	unlink(q);
	strcpy(q + n - 4, ".timeindex");
	unlink(q);
	free(q);
}

uint64_t slog_oidx_floor(const struct slog_seg *g, int64_t off)
{
	size_t lo = 0, hi = g->oidx.count;

	if (off < g->base || hi == 0)
		return 0;
	/* Last entry with relative offset <= off - base. */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if ((int64_t)le32(ent(&g->oidx, mid)) <= off - g->base)
			lo = mid;
		else
			hi = mid;
	}
	if ((int64_t)le32(ent(&g->oidx, lo)) > off - g->base)
		return 0;
	return le32(ent(&g->oidx, lo) + 4);
}

uint64_t slog_oidx_floor_pos(const struct slog_seg *g, uint64_t pos)
{
	size_t lo = 0, hi = g->oidx.count;

	if (hi == 0)
		return 0;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (le32(ent(&g->oidx, mid) + 4) <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return le32(ent(&g->oidx, lo) + 4) <= pos ?
		       le32(ent(&g->oidx, lo) + 4) : 0;
}

int64_t slog_tidx_start(const struct slog_seg *g, int64_t target)
{
	size_t lo = 0, hi = g->tidx.count;

	/* First entry with ts >= target; start at the one before it. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (tidx_ts(g, mid) < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return g->base;
	return g->base + le32(ent(&g->tidx, lo - 1) + 8);
}

int slog_seg_truncate(chronik_storage *s, struct slog_seg *g, uint64_t pos,
		      const chronik_storage_topic_config *c)
{
	if (ftruncate(g->fd, (off_t)pos) < 0 || fdatasync(g->fd) < 0)
		return slog_err(s, -errno, "truncate %s: %s", g->path,
				strerror(errno));
	g->size = pos;
	/* It becomes the active segment again: room for a full one. */
	return rebuild(s, g, c, slog_index_cap(c));
}
