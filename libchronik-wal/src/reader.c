/* SPDX-License-Identifier: Apache-2.0 */
/* Readers: sequential iteration over durable records with pread into a
 * private buffer, so they run alongside the writer without locks except
 * to look up segments. */
#include "wal_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "crc32c.h"

#define READ_CHUNK ((size_t)4 * 1024 * 1024)

struct chronik_wal_reader {
	chronik_wal *w;
	int fd;
	uint64_t seg_base;
	uint64_t from_lsn;
	uint64_t expect;   /* LSN of the next record */
	uint8_t *buf;
	size_t cap;
	uint64_t buf_off;  /* file offset of buf[0] */
	size_t len, pos;   /* valid bytes in buf, parse position */
	int eof;           /* the last refill hit the end of the file */
};

static int reader_open_seg(chronik_wal_reader *r, uint64_t base)
{
	char name[32];
	int fd;

	chronik_wal__seg_name(name, sizeof name, base);
	fd = openat(r->w->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		chronik_wal__set_error(r->w, "reader: open %s/%s: %s",
				       r->w->dir, name, strerror(e));
		return e == ENOENT ? CHRONIK_ENOTFOUND : -e;
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->seg_base = base;
	r->expect = base;
	r->buf_off = WAL_SEG_HDR_SIZE;
	r->len = r->pos = 0;
	r->eof = 0;
	return 0;
}

/* Drop consumed bytes, then read so that at least `need` bytes from pos
 * are buffered if the file has them. */
static int refill(chronik_wal_reader *r, size_t need)
{
	size_t want;

	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->buf_off += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	want = need > READ_CHUNK ? need : READ_CHUNK;
	if (want > r->cap) {
		uint8_t *b = realloc(r->buf, want);

		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = want;
	}
	r->eof = 0;
	while (r->len < r->cap) {
		ssize_t k = pread(r->fd, r->buf + r->len, r->cap - r->len,
				  (off_t)(r->buf_off + r->len));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0) {
			r->eof = 1;
			break;
		}
		r->len += (size_t)k;
		if (r->len >= need)
			break;
	}
	return 0;
}

/* Discard buffered bytes at and after pos: they may have been read before
 * the writer wrote them. */
static void drop_unparsed(chronik_wal_reader *r)
{
	r->buf_off += r->pos;
	r->len = r->pos = 0;
}

CHRONIK_WAL_API int chronik_wal_reader_open(chronik_wal_reader **out,
					    chronik_wal *w,
					    uint64_t from_lsn)
{
	chronik_wal_reader *r;
	uint64_t first, base;
	int e;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!w)
		return CHRONIK_EARG;
	first = chronik_wal_first_lsn(w);
	if (from_lsn == 0)
		from_lsn = first;
	if (from_lsn < first) {
		chronik_wal__set_error(w, "reader: LSN %llu is below the first "
				       "stored LSN %llu",
				       (unsigned long long)from_lsn,
				       (unsigned long long)first);
		return CHRONIK_ENOTFOUND;
	}
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->w = w;
	r->fd = -1;
	r->from_lsn = from_lsn;
	r->expect = from_lsn;
	/* Counted before the segment lookup: from here on checkpoints
	 * delete segments instead of recycling them (spare_put() in wal.c),
	 * so the files this reader opens keep their records. */
	atomic_fetch_add(&w->nreaders, 1);
	if (chronik_wal__seg_find(w, from_lsn, &base) == 0) {
		e = reader_open_seg(r, base);
		if (e < 0) {
			atomic_fetch_sub(&w->nreaders, 1);
			free(r);
			return e;
		}
	}
	*out = r;
	return 0;
}

CHRONIK_WAL_API int chronik_wal_reader_next(chronik_wal_record *rec,
					    chronik_wal_reader *r)
{
	int fresh = 0;

	if (!rec || !r)
		return CHRONIK_EARG;
	for (;;) {
		uint64_t durable = atomic_load_explicit(&r->w->durable_lsn,
							memory_order_acquire);
		const uint8_t *p;
		size_t avail, f;
		uint32_t len;
		int e;

		if (r->expect > durable)
			return 0;
		if (r->fd < 0) {
			uint64_t base;

			/* Opened on an empty WAL: find the segment now. */
			if (chronik_wal__seg_find(r->w, r->expect, &base) < 0)
				return 0;
			e = reader_open_seg(r, base);
			if (e < 0)
				return e;
			continue;
		}
		avail = r->len - r->pos;
		if (avail < WAL_REC_HDR_SIZE && !r->eof) {
			e = refill(r, WAL_REC_HDR_SIZE);
			if (e < 0)
				return e;
			fresh = 1;
			continue;
		}
		p = r->buf + r->pos;
		if (avail >= WAL_REC_HDR_SIZE &&
		    wal__get64(p + 8) == r->expect) {
			len = wal__get32(p + 4);
			if (len <= CHRONIK_WAL_MAX_RECORD &&
			    avail < WAL_REC_HDR_SIZE + (size_t)len && !r->eof) {
				e = refill(r, WAL_REC_HDR_SIZE + (size_t)len);
				if (e < 0)
					return e;
				fresh = 1;
				continue;
			}
			f = chronik_wal__rec_check(p, avail, r->expect);
			if (f) {
				r->pos += f;
				r->expect++;
				fresh = 0;
				if (r->expect - 1 < r->from_lsn)
					continue;
				rec->lsn = r->expect - 1;
				rec->data = p + WAL_REC_HDR_SIZE;
				rec->len = len;
				rec->type = p[16];
				return 1;
			}
		}
		/* No valid record here. The buffer may predate the write of
		 * this durable record: read it again once before deciding. */
		if (!fresh) {
			drop_unparsed(r);
			e = refill(r, WAL_REC_HDR_SIZE);
			if (e < 0)
				return e;
			fresh = 1;
			continue;
		}
		/* The segment ends here; the next one starts at expect. */
		{
			uint64_t base;

			if (chronik_wal__seg_find(r->w, r->expect, &base) == 0 &&
			    base > r->seg_base) {
				e = reader_open_seg(r, base);
				if (e < 0)
					return e;
				fresh = 0;
				continue;
			}
		}
		chronik_wal__set_error(r->w, "reader: segment %020llu.wal: bad "
				       "record at offset %llu (expected LSN "
				       "%llu)",
				       (unsigned long long)r->seg_base,
				       (unsigned long long)(r->buf_off + r->pos),
				       (unsigned long long)r->expect);
		return CHRONIK_ECORRUPT;
	}
}

CHRONIK_WAL_API void chronik_wal_reader_close(chronik_wal_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	atomic_fetch_sub(&r->w->nreaders, 1);
	free(r->buf);
	free(r);
}
