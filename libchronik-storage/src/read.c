/* SPDX-License-Identifier: Apache-2.0 */
/* Reads: whole batches by offset (file ranges for sendfile, or copies of
 * the in-memory tail) and ListOffsets lookups by timestamp. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chronik/protocol_records.h"
#include "log_internal.h"

/* Index of the last segment whose base <= off (0 if none). */
static size_t seg_find(const chronik_storage_partition *p, int64_t off)
{
	size_t lo = 0, hi = p->nsegs;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (p->segs[mid]->base <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int corrupt(chronik_storage_partition *p, const struct slog_seg *g,
		   uint64_t pos, int r)
{
	if (r != CHRONIK_ECORRUPT)
		return slog_err(p->s, r, "read %s: %s", g->path,
				chronik_strerror(r));
	return slog_err(p->s, r, "segment %s: invalid batch header at "
			"position %" PRIu64, g->path, pos);
}

/* Copy whole batches from the in-memory tail; p->lock held. */
static int read_tail(chronik_storage_slice *out, chronik_storage_partition *p,
		     int64_t offset, int64_t hw, size_t max_bytes, void *buf,
		     size_t cap)
{
	struct slog_entry *e = p->tail_head;
	size_t n = 0;

	while (e && e->last < offset)
		e = e->tail_next;
	out->next_offset = offset;
	for (; e && e->last < hw; e = e->tail_next) {
		if (n > 0 && n + e->len > max_bytes)
			break;
		if (!buf || n + e->len > cap) {
			if (n == 0) {
				out->length = e->len;
				return CHRONIK_EAGAIN;
			}
			break;
		}
		memcpy((uint8_t *)buf + n, e->data + e->hdr_len, e->len);
		n += e->len;
		out->next_offset = e->last + 1;
	}
	out->length = n;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_read(chronik_storage_slice *out,
					     chronik_storage_partition *p,
					     int64_t offset, size_t max_bytes,
					     void *buf, size_t buf_cap)
{
	int64_t hw;
	int r = 0;

	if (!out || !p)
		return CHRONIK_EARG;
	memset(out, 0, sizeof *out);
	out->fd = -1;
	pthread_mutex_lock(&p->lock);
	hw = atomic_load(&p->hw);
	out->high_watermark = hw;
	out->last_stable_offset = hw;
	out->log_start_offset = p->log_start;
	out->next_offset = offset;
	if (offset < p->log_start || offset > hw) {
		r = CHRONIK_ENOTFOUND;
		goto out;
	}
	if (offset == hw)
		goto out;
	for (size_t i = seg_find(p, offset); offset < p->seg_end &&
					      i < p->nsegs; i++) {
		struct slog_seg *g = p->segs[i];
		struct slog_cursor cur;
		struct slog_bhdr h;
		uint64_t start, end, lim, pos;

		if (g->next_off <= offset)
			continue;
		slog_cursor_init(&cur, g->fd, g->size);
		pos = slog_oidx_floor(g, offset);
		while ((r = slog_cursor_hdr(&cur, pos, &h)) == 1 &&
		       h.last < offset)
			pos += h.size;
		if (r < 0) {
			r = corrupt(p, g, pos, r);
			goto out;
		}
		if (r == 0)
			continue; /* a gap left by compaction */
		start = pos;
		end = pos + h.size;
		out->next_offset = h.last + 1;
		lim = start + max_bytes;
		if (end < lim && end < g->size) {
			/* Jump close to the budget with the index, then walk
			 * the few batches left. */
			uint64_t q = slog_oidx_floor_pos(g, lim);

			if (q > end)
				end = q;
			while ((r = slog_cursor_hdr(&cur, end, &h)) == 1 &&
			       end + h.size <= lim && h.last < hw)
				end += h.size;
			if (r < 0) {
				r = corrupt(p, g, end, r);
				goto out;
			}
			/* The first batch not returned says where to go on
			 * (there may be a compaction gap before it). */
			out->next_offset = r == 1 ? h.base : g->next_off;
		}
		out->fd = fcntl(g->fd, F_DUPFD_CLOEXEC, 0);
		if (out->fd < 0) {
			r = -errno;
			goto out;
		}
		out->file_position = start;
		out->length = (size_t)(end - start);
		r = 0;
		goto out;
	}
	if (offset < p->seg_end)
		offset = p->seg_end; /* only gaps were left in segments */
	r = read_tail(out, p, offset, hw, max_bytes, buf, buf_cap);
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* First record of a batch with timestamp >= target and offset >= min:
 * 1 with the offset and timestamp, 0 if none. */
static int batch_find_ts(int64_t *off, int64_t *ts, const uint8_t *b,
			 size_t len, int64_t target, int64_t min)
{
	chronik_protocol_batch pb;
	chronik_protocol_record_iter it;
	chronik_protocol_record rec;
	void *plain = NULL;
	size_t plain_len;
	int r, found = 0;

	if (chronik_protocol_batch_parse(&pb, b, len) < 0)
		return CHRONIK_ECORRUPT;
	if (pb.header.max_timestamp < target)
		return 0;
	if (pb.header.attributes & CHRONIK_PROTOCOL_ATTR_LOG_APPEND_TIME) {
		int64_t first = pb.header.base_offset;

		*off = first < min ? min : first;
		*ts = pb.header.max_timestamp;
		return 1;
	}
	if (pb.header.attributes & CHRONIK_PROTOCOL_ATTR_COMPRESSION_MASK) {
		r = chronik_protocol_batch_decompress(&plain, &plain_len, &pb,
						      (size_t)256 << 20);
		if (r < 0)
			return r;
		chronik_protocol_record_iter_init_buf(&it, &pb.header, plain,
						      plain_len);
	} else {
		chronik_protocol_record_iter_init(&it, &pb);
	}
	while ((r = chronik_protocol_record_next(&rec, &it)) == 1) {
		if (rec.timestamp >= target && rec.offset >= min) {
			*off = rec.offset;
			*ts = rec.timestamp;
			found = 1;
			break;
		}
	}
	chronik_protocol_free(plain);
	return r < 0 ? r : found;
}

static int seg_find_ts(int64_t *off, int64_t *ts, chronik_storage_partition *p,
		       struct slog_seg *g, int64_t target, int64_t min,
		       int64_t hw)
{
	struct slog_cursor cur;
	struct slog_bhdr h;
	int64_t start = slog_tidx_start(g, target);
	uint64_t pos = slog_oidx_floor(g, start);
	uint8_t *b = NULL;
	int r;

	slog_cursor_init(&cur, g->fd, g->size);
	while ((r = slog_cursor_hdr(&cur, pos, &h)) == 1 && h.base < hw) {
		if (h.max_ts >= target && h.last >= min) {
			uint8_t *nb = realloc(b, h.size);

			if (!nb) {
				r = -ENOMEM;
				break;
			}
			b = nb;
			if (pread(g->fd, b, h.size, (off_t)pos) !=
			    (ssize_t)h.size) {
				r = CHRONIK_ECORRUPT;
				break;
			}
			r = batch_find_ts(off, ts, b, h.size, target, min);
			if (r != 0)
				break;
		}
		pos += h.size;
	}
	free(b);
	if (r < 0)
		return corrupt(p, g, pos, r);
	return r == 1;
}

static int find_ts(int64_t *off, int64_t *ts, chronik_storage_partition *p,
		   int64_t target, int64_t hw)
{
	int r;

	for (size_t i = seg_find(p, p->log_start); i < p->nsegs; i++) {
		struct slog_seg *g = p->segs[i];

		if (g->max_ts < target || g->next_off <= p->log_start)
			continue;
		r = seg_find_ts(off, ts, p, g, target, p->log_start, hw);
		if (r != 0)
			return r;
	}
	for (struct slog_entry *e = p->tail_head; e && e->last < hw;
	     e = e->tail_next) {
		if (e->last < p->seg_end || e->max_ts < target)
			continue;
		r = batch_find_ts(off, ts, e->data + e->hdr_len, e->len,
				  target, p->log_start);
		if (r != 0)
			return r;
	}
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_lookup_time(
	int64_t *offset_out, int64_t *timestamp_out,
	chronik_storage_partition *p, int64_t timestamp)
{
	int64_t off = -1, ts = -1, hw;
	int r = 0;

	if (!offset_out || !p || timestamp < -3)
		return CHRONIK_EARG;
	pthread_mutex_lock(&p->lock);
	hw = atomic_load(&p->hw);
	if (timestamp == CHRONIK_STORAGE_TIME_LATEST) {
		off = hw;
	} else if (timestamp == CHRONIK_STORAGE_TIME_EARLIEST) {
		off = p->log_start;
	} else {
		int64_t target = timestamp;

		if (timestamp == CHRONIK_STORAGE_TIME_MAX_TIMESTAMP) {
			target = -1;
			for (size_t i = 0; i < p->nsegs; i++)
				if (p->segs[i]->next_off > p->log_start &&
				    p->segs[i]->max_ts > target)
					target = p->segs[i]->max_ts;
			for (struct slog_entry *e = p->tail_head;
			     e && e->last < hw; e = e->tail_next)
				if (e->last >= p->seg_end && e->max_ts > target)
					target = e->max_ts;
		}
		if (target >= 0) {
			r = find_ts(&off, &ts, p, target, hw);
			if (r == 0) {
				off = -1;
				ts = -1;
			}
		}
		r = r < 0 ? r : 0;
	}
	pthread_mutex_unlock(&p->lock);
	if (r == 0) {
		*offset_out = off;
		if (timestamp_out)
			*timestamp_out = ts;
	}
	return r;
}
