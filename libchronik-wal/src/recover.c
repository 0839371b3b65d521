/* SPDX-License-Identifier: Apache-2.0 */
/* Recovery on open: list the segments, verify every record, find the
 * durable end, clear a torn tail and refuse (or salvage) mid-log
 * corruption. The rules are described in docs/wal.md ("Recovery"). */
#include "wal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"

/* One segment file mapped for scanning. */
struct scan_seg {
	uint64_t base;
	int fd;
	uint8_t *map;
	size_t size;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One past the last non-zero byte in p[from, to), or `from`. */
static size_t end_nonzero(const uint8_t *p, size_t from, size_t to)
{
	while (to > from && (to & 7)) {
		if (p[to - 1])
			return to;
		to--;
	}
	while (to >= from + 8) {
		uint64_t v;

		memcpy(&v, p + to - 8, 8);
		if (v)
			break;
		to -= 8;
	}
	while (to > from && !p[to - 1])
		to--;
	return to;
}

static int read_checkpoint(chronik_wal *w)
{
	uint8_t b[WAL_CKPT_SIZE + 1];
	ssize_t n;
	int fd;

	unlinkat(w->dir_fd, "checkpoint.tmp", 0);
	fd = openat(w->dir_fd, "checkpoint", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		chronik_wal__set_error(w, "open %s/checkpoint: %s", w->dir,
				       strerror(errno));
		return -errno;
	}
	n = pread(fd, b, sizeof b, 0);
	close(fd);
	if (n != WAL_CKPT_SIZE || memcmp(b, WAL_CKPT_MAGIC, 8) != 0 ||
	    wal__get32(b + 28) != chronik_util_crc32c(0, b, 28)) {
		chronik_wal__set_error(w, "%s/checkpoint: corrupt", w->dir);
		return CHRONIK_ECORRUPT;
	}
	if (wal__get32(b + 8) != WAL_CKPT_VERSION) {
		chronik_wal__set_error(w, "%s/checkpoint: format version %u "
				       "not supported", w->dir,
				       wal__get32(b + 8));
		return CHRONIK_EVERSION;
	}
	w->checkpoint_lsn = wal__get64(b + 16);
	return 0;
}

static int list_segments(chronik_wal *w, uint64_t **out, size_t *n_out)
{
	uint64_t *v = NULL, base;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd = dup(w->dir_fd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		int r = -errno;

		if (fd >= 0)
			close(fd);
		return r;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!chronik_wal__seg_parse_name(de->d_name, &base))
			continue;
		if (n == cap) {
			uint64_t *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = base;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, cmp_u64);
	*out = v;
	*n_out = n;
	return 0;
}

static int seg_map(chronik_wal *w, struct scan_seg *s)
{
	char name[32];
	struct stat st;

	chronik_wal__seg_name(name, sizeof name, s->base);
	s->fd = openat(w->dir_fd, name, O_RDWR | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) != 0) {
		int r = -errno;

		chronik_wal__set_error(w, "open %s/%s: %s", w->dir, name,
				       strerror(-r));
		return r;
	}
	s->size = (size_t)st.st_size;
	s->map = NULL;
	if (s->size == 0)
		return 0;
	s->map = mmap(NULL, s->size, PROT_READ, MAP_SHARED | MAP_POPULATE,
		      s->fd, 0);
	if (s->map == MAP_FAILED) {
		int r = -errno;

		s->map = NULL;
		chronik_wal__set_error(w, "mmap %s/%s: %s", w->dir, name,
				       strerror(-r));
		return r;
	}
	return 0;
}

static void seg_unmap(struct scan_seg *s)
{
	if (s->map)
		munmap(s->map, s->size);
	s->map = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Header check: 1 valid, 0 invalid (torn or damaged), or
 * CHRONIK_EVERSION for a valid header of an unknown format version. */
static int seg_header_ok(const struct scan_seg *s, uint64_t *seg_size)
{
	const uint8_t *h = s->map;

	if (s->size < WAL_SEG_HDR_SIZE || memcmp(h, WAL_SEG_MAGIC, 8) != 0)
		return 0;
	if (wal__get32(h + 60) != chronik_util_crc32c(0, h, 60))
		return 0;
	if (wal__get32(h + 8) < WAL_FORMAT_VERSION_MIN ||
	    wal__get32(h + 8) > WAL_FORMAT_VERSION)
		return CHRONIK_EVERSION;
	if (wal__get32(h + 12) != WAL_SEG_HDR_SIZE ||
	    wal__get64(h + 16) != s->base)
		return 0;
	*seg_size = wal__get64(h + 24);
	return 1;
}

int chronik_wal__write_zeros(chronik_wal *w, int fd, uint64_t from,
			     uint64_t to)
{
	static const uint8_t zeros[65536];

	while (from < to) {
		size_t n = to - from < sizeof zeros ? (size_t)(to - from)
						    : sizeof zeros;
		ssize_t k = w->io.pwrite(w->io.ctx, fd, zeros, n, (off_t)from);

		if (k <= 0)
			return k < 0 ? (int)k : -EIO;
		from += (uint64_t)k;
	}
	return 0;
}

/* Scan a segment's records from its header on. Returns the offset where
 * valid records end; *expect advances past them. *batch_start receives the
 * offset just after the last record flagged as the end of a write. */
static size_t scan_records(const struct scan_seg *s, uint64_t *expect,
			   size_t *batch_start, uint64_t *records,
			   uint64_t *bytes)
{
	size_t off = WAL_SEG_HDR_SIZE, f;

	*batch_start = off;
	while ((f = chronik_wal__rec_check(s->map + off, s->size - off,
					   *expect))) {
		if (s->map[off + 17] & WAL_REC_BATCH_END)
			*batch_start = off + f;
		off += f;
		(*expect)++;
		(*records)++;
		*bytes += f - WAL_REC_HDR_SIZE;
	}
	return off;
}

/* Decide whether non-zero bytes after the valid records of the last
 * segment are a torn tail (return 0) or damage to data that had been
 * synced (return 1). Written but not yet durable data never spans more
 * than WAL_MAX_WRITE bytes, and a write issued while an earlier one was
 * not durable carries WAL_REC_OVERLAP on its first record. So a valid
 * record beyond that reach from the write that began at batch_start, or a
 * valid record after a record that ended a write where the next write
 * does not overlap, proves the damaged region had been synced. *max_lsn
 * gets the highest valid LSN seen. */
static int tail_is_corrupt(const struct scan_seg *s, size_t end,
			   size_t batch_start, uint64_t expect,
			   uint64_t *max_lsn)
{
	uint64_t span = s->size / WAL_REC_HDR_SIZE + 1;
	int corrupt = 0;

	*max_lsn = 0;
	for (size_t y = end + 1; y + WAL_REC_HDR_SIZE <= s->size; y++) {
		uint64_t lsn = wal__get64(s->map + y + 8);
		size_t f;

		if (lsn <= expect || lsn - expect > span)
			continue;
		f = chronik_wal__rec_check(s->map + y, s->size - y, lsn);
		if (!f)
			continue;
		if (lsn > *max_lsn)
			*max_lsn = lsn;
		if ((uint64_t)y >= batch_start + WAL_MAX_WRITE)
			corrupt = 1;
		/* A write that followed this one without overlapping it
		 * (WAL_REC_OVERLAP clear) began after this one was synced. */
		if ((s->map[y + 17] & WAL_REC_BATCH_END) &&
		    chronik_wal__rec_check(s->map + y + f, s->size - y - f,
					   lsn + 1) &&
		    !(s->map[y + f + 17] & WAL_REC_OVERLAP))
			corrupt = 1;
	}
	return corrupt;
}

/* Highest LSN found by a sequential scan of a segment (for reporting what
 * salvage dropped), and one past its last non-zero byte. */
static uint64_t seg_last_lsn(chronik_wal *w, uint64_t base, uint64_t *used)
{
	struct scan_seg s = {base, -1, NULL, 0};
	uint64_t expect = base, rec = 0, bytes = 0;
	size_t bs;

	*used = 0;
	if (seg_map(w, &s) < 0 || !s.map) {
		seg_unmap(&s);
		return 0;
	}
	if (s.size >= WAL_SEG_HDR_SIZE)
		scan_records(&s, &expect, &bs, &rec, &bytes);
	*used = end_nonzero(s.map, 0, s.size);
	seg_unmap(&s);
	return rec ? expect - 1 : 0;
}

int chronik_wal__recover(chronik_wal *w)
{
	uint64_t t0 = chronik_wal__now_ns();
	uint64_t *bases = NULL, expect = 0, seg_cap = 0;
	size_t n = 0, k, kept = 0;
	struct scan_seg s = {0, -1, NULL, 0};
	int r;
	char name[32];

	r = read_checkpoint(w);
	if (r < 0)
		return r;
	r = list_segments(w, &bases, &n);
	if (r < 0) {
		chronik_wal__set_error(w, "list %s: %s", w->dir,
				       strerror(-r));
		return r;
	}
	w->segs = calloc(n ? n : 1, sizeof *w->segs);
	if (!w->segs) {
		free(bases);
		return -ENOMEM;
	}
	w->segs_cap = n ? n : 1;

	if (n > 0) {
		uint64_t sz;

		/* A crash while the newest segment was being created leaves
		 * it without a valid header and without records: drop it. */
		s.base = bases[n - 1];
		r = seg_map(w, &s);
		if (r < 0)
			goto out;
		if (seg_header_ok(&s, &sz) == 0 &&
		    !(s.size > WAL_SEG_HDR_SIZE &&
		      chronik_wal__rec_check(s.map + WAL_SEG_HDR_SIZE,
					     s.size - WAL_SEG_HDR_SIZE,
					     s.base))) {
			chronik_wal__seg_name(name, sizeof name, s.base);
			chronik_wal__log(w, 1, "wal %s: removing half-created "
					 "segment %s", w->dir, name);
			seg_unmap(&s);
			if (unlinkat(w->dir_fd, name, 0) != 0) {
				r = -errno;
				goto out;
			}
			fsync(w->dir_fd);
			n--;
		}
		seg_unmap(&s);
	}
	for (k = 0; k < n; k++) {
		size_t end, batch_start, tail_end;
		uint64_t hdr_size = 0, max_lsn = 0;
		int last = k + 1 == n, corrupt = 0, h;

		seg_unmap(&s);
		s.base = bases[k];
		r = seg_map(w, &s);
		if (r < 0)
			goto out;
		chronik_wal__seg_name(name, sizeof name, s.base);
		w->rec.segments++;
		h = seg_header_ok(&s, &hdr_size);
		if (h == CHRONIK_EVERSION) {
			chronik_wal__set_error(w, "%s/%s: format version %u not "
					       "supported", w->dir, name,
					       wal__get32(s.map + 8));
			r = CHRONIK_EVERSION;
			goto out;
		}
		if (!h) {
			w->rec.corrupt = 1;
			w->rec.corrupt_lsn = k ? expect : s.base;
			w->rec.corrupt_offset = 0;
			r = CHRONIK_ECORRUPT;
			chronik_wal__set_error(w, "%s/%s: corrupt segment header "
					       "(offset 0, LSN %llu)", w->dir,
					       name,
					       (unsigned long long)
						       w->rec.corrupt_lsn);
			goto out;
		}
		if (k == 0) {
			expect = s.base;
		} else if (s.base != expect &&
			   !(s.base > expect && s.base <= w->checkpoint_lsn)) {
			w->rec.corrupt = 1;
			w->rec.corrupt_lsn = expect;
			r = CHRONIK_ECORRUPT;
			chronik_wal__set_error(w, "%s/%s: starts at LSN %llu but "
					       "LSN %llu was expected (missing "
					       "or extra records)", w->dir,
					       name,
					       (unsigned long long)s.base,
					       (unsigned long long)expect);
			goto out;
		} else {
			expect = s.base;
		}
		if (!w->rec.first_lsn)
			w->rec.first_lsn = s.base;
		end = scan_records(&s, &expect, &batch_start, &w->rec.records,
				   &w->rec.bytes);
		tail_end = end_nonzero(s.map, end, s.size);
		if (tail_end > end) {
			if (!last)
				corrupt = 1;
			else
				corrupt = tail_is_corrupt(&s, end, batch_start,
							  expect, &max_lsn);
		}
		w->segs[kept++].base_lsn = s.base;
		seg_cap = hdr_size > s.size ? hdr_size : s.size;
		if (corrupt) {
			w->rec.corrupt = 1;
			w->rec.corrupt_lsn = expect;
			w->rec.corrupt_offset = end;
			free(w->corrupt_file);
			w->corrupt_file = chronik_wal__seg_path(w, s.base);
			w->rec.corrupt_file = w->corrupt_file;
			if (!(w->opts.flags & CHRONIK_WAL_OPEN_SALVAGE)) {
				r = CHRONIK_ECORRUPT;
				chronik_wal__set_error(w, "%s/%s: corrupt record "
					"at offset %zu (expected LSN %llu) "
					"followed by valid data; refusing to "
					"skip it (open with "
					"CHRONIK_WAL_OPEN_SALVAGE to truncate "
					"the log there)", w->dir, name, end,
					(unsigned long long)expect);
				goto out;
			}
			/* Salvage: drop everything from here on. */
			w->rec.lost_bytes += tail_end - end;
			w->rec.lost_last_lsn = max_lsn;
			for (size_t j = k + 1; j < n; j++) {
				uint64_t used, l;
				char nm[32];

				l = seg_last_lsn(w, bases[j], &used);
				if (l > w->rec.lost_last_lsn)
					w->rec.lost_last_lsn = l;
				w->rec.lost_bytes += used;
				w->rec.lost_segments++;
				chronik_wal__seg_name(nm, sizeof nm, bases[j]);
				if (unlinkat(w->dir_fd, nm, 0) != 0) {
					r = -errno;
					goto out;
				}
			}
			fsync(w->dir_fd);
			last = 1;
			n = k + 1;
			chronik_wal__log(w, 1, "wal %s: salvage: truncated %s "
					 "at offset %zu (LSN %llu); lost %llu "
					 "bytes, %llu segments, LSNs up to "
					 "%llu", w->dir, name, end,
					 (unsigned long long)expect,
					 (unsigned long long)w->rec.lost_bytes,
					 (unsigned long long)
						 w->rec.lost_segments,
					 (unsigned long long)
						 w->rec.lost_last_lsn);
		} else if (tail_end > end) {
			w->rec.torn_bytes += tail_end - end;
			chronik_wal__log(w, 2, "wal %s: cleared torn tail of "
					 "%s: %zu bytes at offset %zu", w->dir,
					 name, tail_end - end, end);
		}
		if (tail_end > end) {
			r = chronik_wal__write_zeros(w, s.fd, end, tail_end);
			if (r == 0)
				r = w->io.sync(w->io.ctx, s.fd, 0);
			if (r < 0) {
				chronik_wal__set_error(w, "clear tail of %s/%s: "
						       "%s", w->dir, name,
						       strerror(-r));
				goto out;
			}
		}
		if (last) {
			/* Everything recovered is reported durable, so make
			 * sure it is, whatever state the crash left. */
			if (w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE) {
				r = w->io.sync(w->io.ctx, s.fd, 0);
				if (r < 0) {
					chronik_wal__set_error(w, "sync %s/%s: "
						"%s", w->dir, name,
						strerror(-r));
					goto out;
				}
			}
			w->seg_fd = s.fd;
			s.fd = -1;
			/* Records of this version are not appended to an
			 * older format's segment: the writer rolls first. */
			w->seg_old_format =
				wal__get32(s.map + 8) < WAL_FORMAT_VERSION;
			w->seg_off = end;
			w->seg_cap = seg_cap;
			w->seg_base = s.base;
		}
	}
	w->nsegs = kept;
	w->next_lsn = kept ? expect : 1;
	if (w->checkpoint_lsn > w->next_lsn) {
		/* Only possible after salvage cut below the checkpoint: never
		 * reuse LSNs the user was told are stored elsewhere. The next
		 * record starts a new segment at the checkpoint. */
		w->next_lsn = w->checkpoint_lsn;
		if (w->seg_fd >= 0)
			close(w->seg_fd);
		w->seg_fd = -1;
	}
	if (w->rec.records)
		w->rec.last_lsn = expect - 1;
	else
		w->rec.first_lsn = 0;
	atomic_store(&w->durable_lsn, w->next_lsn - 1);
	r = 0;
out:
	seg_unmap(&s);
	free(bases);
	w->rec.elapsed_ns = chronik_wal__now_ns() - t0;
	return r;
}
