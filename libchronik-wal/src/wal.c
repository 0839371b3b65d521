/* SPDX-License-Identifier: Apache-2.0 */
/* Handle lifetime, appends, the group-commit writer thread, waiting,
 * checkpoints and stats. Recovery is in recover.c, readers in reader.c. */
#include "wal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "thread.h"

/* ---- small helpers ---- */

uint64_t chronik_wal__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void chronik_wal__set_error(chronik_wal *w, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&w->err_lock);
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof w->err, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&w->err_lock);
}

void chronik_wal__log(chronik_wal *w, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!w->opts.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	w->opts.log(level, msg, w->opts.userdata);
}

void chronik_wal__seg_name(char *buf, size_t n, uint64_t base)
{
	snprintf(buf, n, "%020llu.wal", (unsigned long long)base);
}

int chronik_wal__seg_parse_name(const char *name, uint64_t *base)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (strcmp(name + 20, ".wal") != 0)
		return 0;
	*base = v;
	return 1;
}

char *chronik_wal__seg_path(const chronik_wal *w, uint64_t base)
{
	size_t n = strlen(w->dir) + 32;
	char *p = malloc(n);
	char name[32];

	if (!p)
		return NULL;
	chronik_wal__seg_name(name, sizeof name, base);
	snprintf(p, n, "%s/%s", w->dir, name);
	return p;
}

void chronik_wal__seg_header(uint8_t *hdr, uint64_t base, uint64_t size)
{
	memset(hdr, 0, WAL_SEG_HDR_SIZE);
	memcpy(hdr, WAL_SEG_MAGIC, 8);
	wal__put32(hdr + 8, WAL_FORMAT_VERSION);
	wal__put32(hdr + 12, WAL_SEG_HDR_SIZE);
	wal__put64(hdr + 16, base);
	wal__put64(hdr + 24, size);
	wal__put32(hdr + 60, chronik_util_crc32c(0, hdr, 60));
}

uint32_t chronik_wal__rec_crc(uint32_t payload_crc, const uint8_t *hdr)
{
	return chronik_util_crc32c(payload_crc, hdr + 4, WAL_REC_HDR_SIZE - 4);
}

size_t chronik_wal__rec_check(const uint8_t *p, size_t avail,
			      uint64_t expect_lsn)
{
	uint32_t len;
	uint32_t crc;

	if (avail < WAL_REC_HDR_SIZE)
		return 0;
	if (wal__get64(p + 8) != expect_lsn)
		return 0;
	len = wal__get32(p + 4);
	if (len > CHRONIK_WAL_MAX_RECORD ||
	    (size_t)len > avail - WAL_REC_HDR_SIZE)
		return 0;
	if (p[18] != 0 || p[19] != 0)
		return 0;
	crc = chronik_util_crc32c(0, p + WAL_REC_HDR_SIZE, len);
	if (chronik_wal__rec_crc(crc, p) != wal__get32(p))
		return 0;
	return WAL_REC_HDR_SIZE + (size_t)len;
}

static unsigned int log2_bucket(uint64_t v)
{
	unsigned int b = 0;

	while (v > 1 && b < CHRONIK_WAL_HIST_BUCKETS - 1) {
		v >>= 1;
		b++;
	}
	return b;
}

/* ---- default I/O ---- */

static ssize_t sys_pwrite(void *ctx, int fd, const void *buf, size_t n,
			  off_t off)
{
	ssize_t r;

	(void)ctx;
	do
		r = pwrite(fd, buf, n, off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static int sys_sync(void *ctx, int fd, int full)
{
	(void)ctx;
	if ((full ? fsync(fd) : fdatasync(fd)) != 0)
		return -errno;
	return 0;
}

static int sys_fallocate(void *ctx, int fd, off_t len)
{
	int r;

	(void)ctx;
	if (fallocate(fd, 0, 0, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	r = posix_fallocate(fd, 0, len);
	return -r;
}

/* Write all of buf at off through the hooks. */
static int io_write_all(chronik_wal *w, int fd, const uint8_t *buf, size_t n,
			uint64_t off)
{
	while (n > 0) {
		ssize_t r = w->io.pwrite(w->io.ctx, fd, buf, n, (off_t)off);

		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		buf += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* ---- options and profiles ---- */

static const char *const profile_names[] = {"low", "medium", "high",
					    "ultra"};

CHRONIK_WAL_API int chronik_wal_options_init(chronik_wal_options *opts,
					     unsigned int version)
{
	static const chronik_wal_options defaults = CHRONIK_WAL_OPTIONS_INIT;

	if (!opts)
		return CHRONIK_EARG;
	if (version < 1 || version > CHRONIK_WAL_OPTIONS_VERSION)
		return CHRONIK_EVERSION;
	/* Only the fields of the caller's version: its struct may be an
	 * older, shorter one. */
	memcpy(opts, &defaults, version == 1 ? offsetof(chronik_wal_options,
							on_written)
					      : sizeof *opts);
	opts->version = version;
	return 0;
}

CHRONIK_WAL_API int chronik_wal_profile_parse(enum chronik_wal_profile *out,
					      const char *name)
{
	if (!out || !name)
		return CHRONIK_EARG;
	for (unsigned int i = 0; i < 4; i++) {
		if (strcasecmp(name, profile_names[i]) == 0) {
			*out = (enum chronik_wal_profile)i;
			return 0;
		}
	}
	return CHRONIK_EARG;
}

CHRONIK_WAL_API const char *chronik_wal_profile_name(
	enum chronik_wal_profile profile)
{
	if ((unsigned int)profile < 4)
		return profile_names[profile];
	return "unknown";
}

static struct wal_profile_params profile_params(enum chronik_wal_profile p)
{
	struct wal_profile_params r;

	switch (p) {
	case CHRONIK_WAL_PROFILE_LOW:
		/* A cap below what is queued only adds syncs: it never makes
		 * a queued record durable sooner. */
		r.max_batch = 1024 * 1024;
		r.target = 0;
		r.linger_ns = 0;
		break;
	case CHRONIK_WAL_PROFILE_HIGH:
		r.max_batch = 4 * 1024 * 1024;
		r.target = 256 * 1024;
		r.linger_ns = 500000;
		break;
	case CHRONIK_WAL_PROFILE_ULTRA:
		r.max_batch = 16 * 1024 * 1024;
		r.target = 1024 * 1024;
		r.linger_ns = 2000000;
		break;
	case CHRONIK_WAL_PROFILE_MEDIUM:
	default:
		r.max_batch = 1024 * 1024;
		r.target = 64 * 1024;
		r.linger_ns = 100000;
		break;
	}
	return r;
}

/* ---- queue ---- */

/* Make room for one more entry. Under lock; entries are only touched
 * under the lock, so they may move. */
static int queue_grow_ent(struct wal_queue *q)
{
	size_t ncap = q->ncap ? q->ncap * 2 : 1024;
	struct wal_entry *e = realloc(q->ent, ncap * sizeof *e);

	if (!e)
		return -ENOMEM;
	q->ent = e;
	q->ncap = ncap;
	return 0;
}

/* Make room for `bytes` more bytes. Under lock, with q->copying == 0: the
 * buffer moves. */
static int queue_grow_buf(struct wal_queue *q, size_t bytes)
{
	size_t cap = q->cap ? q->cap : 256 * 1024;
	uint8_t *b;

	while (cap < q->len + bytes)
		cap *= 2;
	b = realloc(q->buf, cap);
	if (!b)
		return -ENOMEM;
	q->buf = b;
	q->cap = cap;
	return 0;
}

/* Wait until every reservation in q has been copied. Under lock. */
static void queue_wait_copies(chronik_wal *w, struct wal_queue *q)
{
	while (atomic_load(&q->copying) > 0) {
		atomic_store(&q->draining, 1);
		if (atomic_load(&q->copying) > 0)
			pthread_cond_wait(&w->cv_copied, &w->lock);
	}
	atomic_store(&q->draining, 0);
}

/* An appender finished copying its record into q. No lock held. The
 * seq_cst pair (decrement, then load draining) against the drainer's
 * (store draining, then load copying) means one of the two always sees
 * the other, so no wake-up is lost. */
static void queue_copy_done(chronik_wal *w, struct wal_queue *q)
{
	if (atomic_fetch_sub(&q->copying, 1) == 1 &&
	    atomic_load(&q->draining)) {
		pthread_mutex_lock(&w->lock);
		pthread_cond_broadcast(&w->cv_copied);
		pthread_mutex_unlock(&w->lock);
	}
}

static void queue_free(struct wal_queue *q)
{
	free(q->buf);
	free(q->ent);
	memset(q, 0, sizeof *q);
}

/* Call the callbacks of entries [i, n) with status. No lock held. */
static void complete_entries(const struct wal_entry *e, size_t i, size_t n,
			     int status)
{
	for (; i < n; i++)
		if (e[i].cb)
			e[i].cb(e[i].lsn, status, e[i].ud);
}

static long futex_op(_Atomic uint32_t *addr, int op, uint32_t val,
		     const struct timespec *rel)
{
	return syscall(SYS_futex, (uint32_t *)addr, op, val, rel, NULL, 0);
}

/* Tell chronik_wal_wait() callers that the durable LSN, the status or
 * the closing flag changed: one futex wake for all of them, and none when
 * nobody waits. */
static void durable_wake(chronik_wal *w)
{
	atomic_fetch_add(&w->durable_seq, 1);
	if (atomic_load(&w->nwaiters) > 0)
		futex_op(&w->durable_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

static void signal_event(chronik_wal *w)
{
	uint64_t one = 1;
	ssize_t r;

	do
		r = write(w->event_fd, &one, sizeof one);
	while (r < 0 && errno == EINTR);
	/* EAGAIN means the counter is already huge, hence readable. */
}

/* ---- segments ---- */

static int seg_install(chronik_wal *w, int fd, uint64_t base);

/* Whether [from, to) of fd has extents that are allocated but unwritten
 * (fallocate's, on ext4 or XFS). 0 when it has none or the file system
 * cannot say (no FIEMAP, e.g. tmpfs). */
static int has_unwritten(int fd, uint64_t from, uint64_t to)
{
	enum { NEXT = 32 };
	uint64_t buf[(sizeof(struct fiemap) +
		      NEXT * sizeof(struct fiemap_extent)) / 8 + 1];
	struct fiemap *fm = (struct fiemap *)buf;

	while (from < to) {
		memset(buf, 0, sizeof buf);
		fm->fm_start = from;
		fm->fm_length = to - from;
		fm->fm_extent_count = NEXT;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0 ||
		    fm->fm_mapped_extents == 0)
			return 0;
		for (unsigned int i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &fm->fm_extents[i];

			if (e->fe_flags & FIEMAP_EXTENT_UNWRITTEN)
				return 1;
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				return 0;
			from = e->fe_logical + e->fe_length;
		}
	}
	return 0;
}

/* Called by the writer (or open) to make a new active segment starting at
 * base. Header and preallocation are synced, then the directory entry. */
static int seg_create(chronik_wal *w, uint64_t base)
{
	uint8_t hdr[WAL_SEG_HDR_SIZE];
	char name[32];
	int fd, r;
	int do_sync = w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE;

	chronik_wal__seg_name(name, sizeof name, base);
	fd = openat(w->dir_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
	if (fd < 0) {
		r = -errno;
		chronik_wal__set_error(w, "create segment %s/%s: %s", w->dir,
				       name, strerror(-r));
		return r;
	}
	r = w->io.fallocate(w->io.ctx, fd, (off_t)w->segment_size);
	if (r < 0) {
		chronik_wal__set_error(w, "preallocate %s/%s: %s", w->dir,
				       name, strerror(-r));
		goto fail;
	}
	chronik_wal__seg_header(hdr, base, w->segment_size);
	r = io_write_all(w, fd, hdr, sizeof hdr, 0);
	if (r < 0) {
		chronik_wal__set_error(w, "write header %s/%s: %s", w->dir,
				       name, strerror(-r));
		goto fail;
	}
	if (do_sync) {
		r = w->io.sync(w->io.ctx, fd, 1);
		if (r == 0 && fsync(w->dir_fd) != 0)
			r = -errno;
		if (r < 0) {
			chronik_wal__set_error(w, "sync new segment %s/%s: %s",
					       w->dir, name, strerror(-r));
			goto fail;
		}
	}
	r = seg_install(w, fd, base);
	if (r == 0)
		w->seg_unwritten = has_unwritten(
			fd, WAL_SEG_HDR_SIZE, w->segment_size);
	return r;
fail:
	close(fd);
	unlinkat(w->dir_fd, name, 0);
	return r;
}

/* ---- segment preparer ---- */

/* Create WAL_PREP_NAME: preallocated, zero-filled and synced, so that a
 * roll only writes a header and renames it, and so that later record
 * writes overwrite written blocks: fdatasync() then flushes data only,
 * with no extent conversion to persist. Only the fallocate goes through
 * the I/O hooks; any failure here just makes the roll create the segment
 * itself (seg_create(), where every hook applies). Preparer thread. */
static int prep_file(chronik_wal *w, int *fd_out)
{
	static const size_t chunk = 1024 * 1024;
	int do_sync = w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE;
	uint8_t *zero = NULL;
	uint64_t off;
	int fd, r;

	fd = openat(w->dir_fd, WAL_PREP_NAME,
		    O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = w->io.fallocate(w->io.ctx, fd, (off_t)w->segment_size);
	if (r < 0)
		goto fail;
	zero = calloc(1, chunk);
	if (!zero) {
		r = -ENOMEM;
		goto fail;
	}
	for (off = 0; off < w->segment_size; off += chunk) {
		size_t n = w->segment_size - off < chunk
				   ? (size_t)(w->segment_size - off)
				   : chunk;

		r = (int)sys_pwrite(NULL, fd, zero, n, (off_t)off);
		if (r >= 0 && (size_t)r != n)
			r = -EIO;
		if (r < 0)
			goto fail;
		if (atomic_load(&w->status) || w->closing) {
			r = CHRONIK_ECLOSED;
			goto fail;
		}
	}
	if (do_sync && fsync(fd) != 0) {
		r = -errno;
		goto fail;
	}
	free(zero);
	*fd_out = fd;
	return 0;
fail:
	free(zero);
	close(fd);
	unlinkat(w->dir_fd, WAL_PREP_NAME, 0);
	return r;
}

/* Delete the spare files of the slots in mask (open: all of them, a
 * previous run's; close: those held). */
static void spares_remove(chronik_wal *w, unsigned int mask)
{
	for (unsigned int k = 0; k < WAL_SPARE_MAX; k++) {
		char spare[32];

		if (!(mask & (1u << k)))
			continue;
		snprintf(spare, sizeof spare, WAL_SPARE_FMT, k);
		unlinkat(w->dir_fd, spare, 0);
	}
}

/* Make a spare (a recycled segment, see spare_put()) the next segment:
 * rename it to WAL_PREP_NAME. Its blocks are allocated and written, so
 * record writes overwrite written blocks as in a zero-filled one; what
 * follows the records written to it is stale data of its earlier use,
 * which the writer clears before leaving it (seg_clear_stale()). Returns
 * 0 and the file open, or -1 when there is no usable spare. Preparer
 * thread. */
static int prep_take_spare(chronik_wal *w, int *fd_out)
{
	char name[32];
	struct stat st;
	int fd = -1, slot = -1;

	pthread_mutex_lock(&w->prep_lock);
	for (unsigned int k = 0; k < WAL_SPARE_MAX; k++) {
		if (!(w->spares & (1u << k)))
			continue;
		w->spares &= ~(1u << k);
		snprintf(name, sizeof name, WAL_SPARE_FMT, k);
		if (renameat(w->dir_fd, name, w->dir_fd, WAL_PREP_NAME) == 0) {
			slot = (int)k;
			break;
		}
		unlinkat(w->dir_fd, name, 0);
	}
	pthread_mutex_unlock(&w->prep_lock);
	if (slot < 0)
		return -1;
	fd = openat(w->dir_fd, WAL_PREP_NAME, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 ||
	    (uint64_t)st.st_size != w->segment_size) {
		if (fd >= 0)
			close(fd);
		unlinkat(w->dir_fd, WAL_PREP_NAME, 0);
		return -1;
	}
	*fd_out = fd;
	return 0;
}

static void *prep_main(void *arg)
{
	chronik_wal *w = arg;

	chronik_util_thread_setup("wal-prep", 1);

	pthread_mutex_lock(&w->prep_lock);
	for (;;) {
		int fd = -1, r, stale;

		while (!w->prep_stop && !(w->prep_want && w->prep_fd < 0))
			pthread_cond_wait(&w->cv_prep, &w->prep_lock);
		if (w->prep_stop)
			break;
		w->prep_want = 0;
		pthread_mutex_unlock(&w->prep_lock);
		stale = prep_take_spare(w, &fd) == 0;
		r = stale ? 0 : prep_file(w, &fd);
		if (r < 0 && r != CHRONIK_ECLOSED)
			chronik_wal__log(w, 1, "wal %s: preparing the next "
					 "segment: %s (the roll will create "
					 "it)", w->dir, chronik_strerror(r));
		pthread_mutex_lock(&w->prep_lock);
		if (r == 0) {
			/* This file answers a request made meanwhile too:
			 * left set, prep_want would make prep_maybe_request()
			 * skip its signal for every later request (prep_fd
			 * is < 0 again after the roll), and no segment would
			 * be prepared again. */
			w->prep_want = 0;
			w->prep_fd = fd;
			w->prep_stale = stale;
			if (stale)
				w->segs_reused++;
		}
	}
	pthread_mutex_unlock(&w->prep_lock);
	return NULL;
}

/* Ask for the next segment once the active one is half full, or at once
 * if it has unwritten extents. Writer. */
static void prep_maybe_request(chronik_wal *w)
{
	if (!w->prep_started || w->seg_fd < 0 ||
	    w->prep_asked_base == w->seg_base ||
	    (w->seg_off < w->seg_cap / 2 && !w->seg_unwritten))
		return;
	w->prep_asked_base = w->seg_base;
	pthread_mutex_lock(&w->prep_lock);
	if (w->prep_fd < 0 && !w->prep_want) {
		w->prep_want = 1;
		pthread_cond_signal(&w->cv_prep);
	}
	pthread_mutex_unlock(&w->prep_lock);
}

/* Roll to a new active segment starting at base: the prepared file if
 * there is one (write its header, rename it into place, sync the
 * directory), else create one now. The header becomes durable with the
 * first batch's sync, which comes before any of its records is
 * acknowledged; until then a crash leaves a newest segment with no valid
 * header and no valid record, which recovery removes (the header shares
 * its first sector with the first record). Writer thread. */
static int seg_roll(chronik_wal *w, uint64_t base)
{
	uint8_t hdr[WAL_SEG_HDR_SIZE];
	char name[32];
	int fd, r, stale;

	pthread_mutex_lock(&w->prep_lock);
	fd = w->prep_fd;
	stale = w->prep_stale;
	w->prep_fd = -1;
	pthread_mutex_unlock(&w->prep_lock);
	if (fd < 0)
		return seg_create(w, base);
	chronik_wal__seg_name(name, sizeof name, base);
	chronik_wal__seg_header(hdr, base, w->segment_size);
	r = io_write_all(w, fd, hdr, sizeof hdr, 0);
	if (r < 0) {
		chronik_wal__set_error(w, "write header %s/%s: %s", w->dir,
				       name, strerror(-r));
		close(fd);
		return r;
	}
	if (renameat(w->dir_fd, WAL_PREP_NAME, w->dir_fd, name) != 0 ||
	    (w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE &&
	     fsync(w->dir_fd) != 0)) {
		r = -errno;
		chronik_wal__set_error(w, "rename %s/%s to %s: %s", w->dir,
				       WAL_PREP_NAME, name, strerror(-r));
		close(fd);
		return r;
	}
	r = seg_install(w, fd, base);
	if (r == 0) {
		w->seg_unwritten = 0;
		w->seg_stale_end = stale ? w->seg_cap : 0;
	}
	return r;
}

/* Before the writer leaves a recycled segment: overwrite what is left of
 * its earlier records past the last record written with zeros and sync
 * that, so that it ends in zeros like any older segment (recovery treats
 * anything else there as damage). What is left is less than the record
 * that did not fit. Writer thread, everything written is durable. */
static int seg_clear_stale(chronik_wal *w)
{
	int r = chronik_wal__write_zeros(w, w->seg_fd, w->seg_off,
					 w->seg_stale_end);

	if (r == 0 && w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE)
		r = w->io.sync(w->io.ctx, w->seg_fd,
			       w->opts.sync_mode == CHRONIK_WAL_SYNC_FULL);
	if (r < 0) {
		chronik_wal__set_error(w, "clear the end of recycled segment "
				       "%020llu.wal at offset %llu: %s",
				       (unsigned long long)w->seg_base,
				       (unsigned long long)w->seg_off,
				       strerror(-r));
		return r;
	}
	w->seg_stale_end = 0;
	return 0;
}

/* Whether the writer should leave an active segment with unwritten
 * extents now: it holds at least one record (a new segment never shares
 * its base LSN with another) and a prepared segment is ready. Writer. */
static int seg_roll_early(chronik_wal *w)
{
	int ready;

	if (!w->seg_unwritten || w->seg_off <= WAL_SEG_HDR_SIZE)
		return 0;
	pthread_mutex_lock(&w->prep_lock);
	ready = w->prep_fd >= 0;
	pthread_mutex_unlock(&w->prep_lock);
	return ready;
}

/* Make fd (segment base, header written) the active segment. */
static int seg_install(chronik_wal *w, int fd, uint64_t base)
{
	if (w->seg_fd >= 0)
		close(w->seg_fd);
	w->seg_fd = fd;
	w->seg_old_format = 0;
	w->seg_stale_end = 0;
	w->seg_off = WAL_SEG_HDR_SIZE;
	w->seg_cap = w->segment_size;
	w->seg_base = base;

	pthread_mutex_lock(&w->lock);
	if (w->nsegs == w->segs_cap) {
		size_t cap = w->segs_cap ? w->segs_cap * 2 : 16;
		struct wal_seg *s = realloc(w->segs, cap * sizeof *s);

		if (!s) {
			pthread_mutex_unlock(&w->lock);
			return -ENOMEM; /* fd kept as active; harmless */
		}
		w->segs = s;
		w->segs_cap = cap;
	}
	w->segs[w->nsegs++].base_lsn = base;
	w->st.segments_created++;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* ---- writer and sync threads ---- */

/* A queue for appenders: a recycled one, or a new one. Under lock. */
static struct wal_queue *queue_get(chronik_wal *w)
{
	struct wal_queue *q = w->free_q;

	if (q) {
		w->free_q = q->next;
		if (q->buf)
			w->nfree_buf--;
	} else {
		q = calloc(1, sizeof *q);
		if (!q)
			return NULL;
	}
	q->next = NULL;
	q->n = q->len = q->done = 0;
	q->writer_done = q->want_written = 0;
	return q;
}

/* Recycle a queue whose records are all completed. The struct is never
 * freed before the handle: an appender that has just finished copying
 * into it may still read its `draining` flag (queue_copy_done()), and
 * there are at most WAL_MAX_TAKEN_QUEUES + 1 of them. Its buffer is kept
 * for the next use unless it grew past WAL_QUEUE_KEEP_BYTES or
 * WAL_FREE_KEEP_BUFFERS recycled queues already keep theirs (appenders no
 * longer touch it). Under lock. */
static void queue_put(chronik_wal *w, struct wal_queue *q)
{
	if (q->cap > WAL_QUEUE_KEEP_BYTES ||
	    w->nfree_buf >= WAL_FREE_KEEP_BUFFERS) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
	if (q->buf)
		w->nfree_buf++;
	q->next = w->free_q;
	w->free_q = q;
}

/* Whether taking the appenders' queue now would exceed the bounds on
 * queues taken ahead of the sync thread's completions: their number, and
 * the bytes they hold (a queue alone is always allowed). Under lock. */
static int taken_full(const chronik_wal *w)
{
	return w->nfifo >= WAL_MAX_TAKEN_QUEUES ||
	       (w->nfifo > 0 &&
		w->taken_bytes + w->q->len > WAL_MAX_TAKEN_BYTES);
}

/* Take the appenders' queue for writing, leaving nq in its place: mark
 * the taker (*writing = 1) first, so that nobody else takes one until its
 * write ends, not even while the copies into it are awaited (writes and
 * the FIFO keep LSN order); then wait for those copies and append it to
 * the FIFO. Under lock (released while waiting). */
static struct wal_queue *queue_take(chronik_wal *w, struct wal_queue *nq,
				    int *writing)
{
	struct wal_queue *b = w->q;

	*writing = 1;
	w->q = nq;
	w->st.queued_bytes = 0;
	pthread_cond_broadcast(&w->cv_space);
	/* Appenders that reserved space in b may still be copying. */
	queue_wait_copies(w, b);
	if (w->fifo_tail)
		w->fifo_tail->next = b;
	else
		w->fifo_head = b;
	w->fifo_tail = b;
	w->nfifo++;
	w->taken_bytes += b->len;
	return b;
}

/* Enter the failed state (under lock): no append is accepted from now on,
 * the writer writes nothing more, the sync thread syncs nothing more and
 * fails every record not completed yet (sync_fail_all()). */
static void pipeline_fail(chronik_wal *w, int err)
{
	if (!w->failed) {
		w->failed = err;
		atomic_store(&w->status, err);
	}
	pthread_cond_broadcast(&w->cv_space);
	pthread_cond_broadcast(&w->cv_work);
	pthread_cond_broadcast(&w->cv_sync);
	pthread_cond_broadcast(&w->cv_synced);
}

/* Wait until written bytes are durable enough for a write of `bytes`
 * (0: until nothing written is waiting for a sync, before a roll).
 * Returns whether an earlier write is still not durable, or the failure.
 * Writer thread, lock not held. */
static int wait_unsynced(chronik_wal *w, uint64_t bytes)
{
	int r;

	pthread_mutex_lock(&w->lock);
	while (!w->failed && w->unsynced > 0 &&
	       (bytes == 0 || w->unsynced + bytes > WAL_MAX_WRITE)) {
		/* A lingering sync thread waits for more writes: none will
		 * come until this wait ends. */
		w->writer_blocked = 1;
		pthread_cond_signal(&w->cv_sync);
		pthread_cond_wait(&w->cv_synced, &w->lock);
	}
	w->writer_blocked = 0;
	r = w->failed ? w->failed : w->unsynced > 0;
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* Set a record's flags and its header CRC again. */
static void rec_set_flags(const struct wal_entry *e, uint8_t *buf,
			  uint8_t flags)
{
	uint8_t *h = buf + e->off;

	h[17] |= flags;
	wal__put32(h, chronik_wal__rec_crc(e->pcrc, h));
}

/* Write the records of b (taken by the writer; the sync thread completes
 * them). Each write is followed by the CHRONIK_WAL_WRITTEN callbacks of
 * its records and on_written, and handed to the sync thread. */
static int write_batch(chronik_wal *w, struct wal_queue *b)
{
	size_t i = 0;

	while (i < b->n) {
		size_t j = i, bytes = 0;
		uint64_t room;
		int r;

		if (w->seg_fd < 0 || w->seg_old_format ||
		    w->seg_off + b->ent[i].flen > w->seg_cap ||
		    seg_roll_early(w)) {
			/* A segment is left only once all of it is durable:
			 * recovery never finds a torn older segment. */
			r = wait_unsynced(w, 0);
			if (r < 0)
				return r;
			if (w->seg_fd >= 0 && w->seg_stale_end > w->seg_off &&
			    (r = seg_clear_stale(w)) < 0)
				return r;
			r = seg_roll(w, b->ent[i].lsn);
			if (r < 0)
				return r;
		}
		room = w->seg_cap - w->seg_off;
		while (j < b->n && bytes + b->ent[j].flen <= room &&
		       (j == i || bytes + b->ent[j].flen <= w->prof.max_batch))
			bytes += b->ent[j++].flen;
		r = wait_unsynced(w, bytes);
		if (r < 0)
			return r;
		/* Mark the write's end, and whether it overlaps an earlier
		 * write that is not durable yet, so recovery can tell a torn
		 * tail from damage to synced data. */
		if (r > 0 && j - 1 > i)
			rec_set_flags(&b->ent[i], b->buf, WAL_REC_OVERLAP);
		rec_set_flags(&b->ent[j - 1], b->buf,
			      WAL_REC_BATCH_END |
				      (r > 0 && j - 1 == i ? WAL_REC_OVERLAP
							   : 0));

		r = io_write_all(w, w->seg_fd, b->buf + b->ent[i].off, bytes,
				 w->seg_off);
		if (r < 0) {
			chronik_wal__set_error(w,
				"write %zu bytes at offset %llu of segment "
				"%020llu.wal: %s", bytes,
				(unsigned long long)w->seg_off,
				(unsigned long long)w->seg_base, strerror(-r));
			return r;
		}
		w->seg_off += bytes;
		prep_maybe_request(w);
		for (size_t k = i; k < j; k++)
			if (b->ent[k].written_cb && b->ent[k].cb)
				b->ent[k].cb(b->ent[k].lsn, CHRONIK_WAL_WRITTEN,
					     b->ent[k].ud);
		if (w->opts.on_written)
			w->opts.on_written(w, b->ent[j - 1].lsn, 0,
					   w->opts.userdata);

		pthread_mutex_lock(&w->lock);
		w->written_lsn = b->ent[j - 1].lsn;
		w->unsynced += bytes;
		for (size_t k = i; k < j; k++)
			if (!b->ent[k].written_cb)
				w->unsynced_plain++;
		w->sync_fd = w->seg_fd;
		w->sync_base = w->seg_base;
		w->st.batches++;
		w->st.bytes_written += bytes;
		if (j - i > w->st.batch_records_max)
			w->st.batch_records_max = j - i;
		w->st.batch_records_hist[log2_bucket(j - i)]++;
		pthread_mutex_unlock(&w->lock);
		i = j;
	}
	return 0;
}

/* The CLOCK_REALTIME time ns from now, for pthread_cond_timedwait(). */
static void realtime_in(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ns / 1000000000u);
	ts->tv_nsec += (long)(ns % 1000000000u);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

/* What a linger watches: the bytes gathered, a counter that moves with
 * every arrival, and whether to stop early. */
struct linger_ops {
	uint64_t (*level)(chronik_wal *w);
	uint64_t (*seen)(chronik_wal *w);
	int (*stop)(chronik_wal *w);
};

/* The profile's linger while busy: let what gathers grow to the target
 * (never above `last`, what the previous round carried: with a bounded
 * number of records in flight, e.g. 128 producers' requests, a larger
 * target may be out of reach and every round would wait the whole
 * linger), for at most linger_ns, and only while arrivals keep coming (a
 * quarter of the linger without one ends it). *waiting tells the
 * signalling side to signal cv. Under lock. */
static void linger(chronik_wal *w, const struct linger_ops *op,
		   pthread_cond_t *cv, int *waiting, uint64_t last)
{
	uint64_t target = w->prof.target < last ? w->prof.target : last;
	uint64_t end = chronik_wal__now_ns() + w->prof.linger_ns;
	uint64_t gap = w->prof.linger_ns / 4;

	while (op->level(w) < target && !w->closing && !w->failed &&
	       !op->stop(w)) {
		uint64_t now = chronik_wal__now_ns();
		uint64_t until = now + gap < end ? now + gap : end;
		uint64_t seen = op->seen(w);
		struct timespec ts;

		if (now >= end)
			break;
		realtime_in(&ts, until - now);
		*waiting = 2;
		while (op->seen(w) == seen && !w->closing && !w->failed &&
		       !op->stop(w) &&
		       pthread_cond_timedwait(cv, &w->lock, &ts) == 0)
			;
		*waiting = 0;
		if (op->seen(w) == seen)
			break; /* nothing new for a gap */
	}
}

/* The sync thread's linger: more writes for the next sync; ends when the
 * writer waits for this sync. */
static uint64_t sync_level(chronik_wal *w) { return w->unsynced; }
static uint64_t sync_seen(chronik_wal *w) { return w->written_lsn; }
static int sync_stop(chronik_wal *w) { return w->writer_blocked; }
static const struct linger_ops sync_linger_ops = {sync_level, sync_seen,
						  sync_stop};

/* The writer's linger before a write it will sync itself: more records;
 * ends when one asks for a write acknowledgement. */
static uint64_t queue_level(chronik_wal *w) { return w->q->len; }
static uint64_t queue_seen(chronik_wal *w) { return w->q->n; }
static int queue_stop(chronik_wal *w)
{
	return w->q->want_written || w->inline_writing;
}
static const struct linger_ops writer_linger_ops = {queue_level, queue_seen,
						    queue_stop};

static int sync_round(chronik_wal *w, int *busy);


/* Recycle the queues at the FIFO's head that are done: every record
 * completed (sync thread) and the writer finished with it; whichever of
 * the two comes last does it. Under lock. */
static void fifo_recycle(chronik_wal *w)
{
	struct wal_queue *b;

	while ((b = w->fifo_head) && b->done == b->n && b->writer_done) {
		w->fifo_head = b->next;
		if (!w->fifo_head)
			w->fifo_tail = NULL;
		w->nfifo--;
		w->taken_bytes -= b->len;
		queue_put(w, b);
		pthread_cond_signal(&w->cv_synced);
	}
}

static void *writer_main(void *arg)
{
	chronik_wal *w = arg;
	int do_sync = w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE;
	int busy = 0; /* records arrived during the writer's own sync */
	size_t last_len = 0;

	chronik_util_thread_setup("wal-writer", 0);

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct wal_queue *b, *nq;
		int r;

		/* A flush writing in its own thread is waited for even
		 * when closing or failed: it may still add written bytes. */
		while ((w->q->n == 0 && !w->closing && !w->failed) ||
		       w->inline_writing) {
			w->writer_waiting = 1;
			pthread_cond_wait(&w->cv_work, &w->lock);
		}
		w->writer_waiting = 0;
		while (taken_full(w) && !w->failed) {
			w->writer_blocked = 1;
			pthread_cond_signal(&w->cv_sync);
			pthread_cond_wait(&w->cv_synced, &w->lock);
		}
		w->writer_blocked = 0;
		if (!w->inline_writing &&
		    (w->failed || (w->q->n == 0 && w->closing)))
			break; /* failed, or closing and drained */
		/* A flush may have written the queue itself, or be
		 * writing, while the writer was blocked. */
		if (w->inline_writing || w->q->n == 0)
			continue;
		if (busy && w->prof.linger_ns && do_sync &&
		    !w->q->want_written) {
			linger(w, &writer_linger_ops, &w->cv_work,
			       &w->writer_waiting, last_len);
			/* A flush may have written the queue itself. */
			if (w->inline_writing || w->q->n == 0) {
				busy = 0;
				continue;
			}
		}
		busy = 0;
		nq = queue_get(w);
		if (!nq) {
			chronik_wal__set_error(w, "out of memory");
			pipeline_fail(w, -ENOMEM);
			break;
		}
		b = queue_take(w, nq, &w->writer_active);
		pthread_mutex_unlock(&w->lock);

		r = write_batch(w, b);

		pthread_mutex_lock(&w->lock);
		w->writer_active = 0;
		b->writer_done = 1;
		fifo_recycle(w);
		if (r < 0) {
			pipeline_fail(w, r);
			break;
		}
		/* Sync here when nobody waits for a write acknowledgement
		 * (see sync_round()), else hand the sync to the sync thread
		 * and go on writing. */
		if (w->unsynced > 0 && !w->syncing && !b->want_written &&
		    !w->q->want_written) {
			int more;

			last_len = b->len;
			if (sync_round(w, &more) < 0)
				break;
			busy = w->q->n > 0;
		} else if (w->unsynced > 0 && w->syncer_waiting) {
			pthread_cond_signal(&w->cv_sync);
		}
	}
	w->writer_stopped = 1;
	pthread_cond_broadcast(&w->cv_sync);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Run the final callbacks of every record <= lsn (or of every record left,
 * with status != 0) and recycle the queues that are done. Sync thread,
 * lock not held. */
static void complete_upto(chronik_wal *w, uint64_t lsn, int status)
{
	struct wal_queue *b;

	pthread_mutex_lock(&w->lock);
	b = w->fifo_head;
	while (b) {
		size_t from = b->done, k = from;

		while (k < b->n && (status != 0 || b->ent[k].lsn <= lsn))
			k++;
		pthread_mutex_unlock(&w->lock);
		complete_entries(b->ent, from, k, status);
		pthread_mutex_lock(&w->lock);
		/* Only now: with done == n the writer may recycle b. */
		b->done = k;
		if (k < b->n)
			break;
		b = b->next;
	}
	fifo_recycle(w);
	pthread_mutex_unlock(&w->lock);
}

/* Failed: once the writer has stopped, fail every record not completed,
 * the written ones and the queued ones. Sync thread, under lock (released
 * and taken again). */
static void sync_fail_all(chronik_wal *w)
{
	struct wal_queue *q;
	int err;

	while (!w->writer_stopped)
		pthread_cond_wait(&w->cv_sync, &w->lock);
	err = w->failed;
	pthread_mutex_unlock(&w->lock);
	durable_wake(w);
	complete_upto(w, 0, err);
	/* No append reserves anything once failed is set, so the queue's
	 * entries stay put; copies still in flight only touch the buffer,
	 * which lives until close. */
	pthread_mutex_lock(&w->lock);
	q = w->q;
	pthread_mutex_unlock(&w->lock);
	complete_entries(q->ent, 0, q->n, err);
	pthread_mutex_lock(&w->lock);
	q->n = 0;
	pthread_mutex_unlock(&w->lock);
	signal_event(w);
	chronik_wal__log(w, 0, "wal %s: failed: %s (%s)", w->dir,
			 chronik_strerror(err), w->err);
	if (w->opts.on_commit)
		w->opts.on_commit(w, atomic_load(&w->durable_lsn), err,
				  w->opts.userdata);
	pthread_mutex_lock(&w->lock);
}

/* One group-commit round: sync everything written so far, publish the
 * durable LSN, run the completions. Rounds never overlap (w->syncing), so
 * completions stay in LSN order whichever thread runs them: the sync
 * thread, or the writer itself when no record waits for its write to be
 * acknowledged (then there is nothing to gain from writing during the
 * sync, and the hand-off to the sync thread would cost a wake-up). Under
 * lock (released meanwhile). Returns 0 with *busy set when more was
 * written during the sync, or the failure. */
static int sync_round(chronik_wal *w, int *busy)
{
	int do_sync = w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE;
	int full = w->opts.sync_mode == CHRONIK_WAL_SYNC_FULL;
	uint64_t lsn = w->written_lsn, bytes = w->unsynced;
	uint64_t plain = w->unsynced_plain;
	uint64_t base = w->sync_base, t0, t1;
	int fd = w->sync_fd, r = 0;

	if (w->failed) {
		/* Failed meanwhile (the writer checks for a round to run
		 * after its write, while the sync thread's sync may just have
		 * failed): never sync again after a failure. */
		w->syncing = 0;
		pthread_cond_broadcast(&w->cv_sync);
		return w->failed;
	}
	w->syncing = 1;
	pthread_mutex_unlock(&w->lock);
	t0 = chronik_wal__now_ns();
	if (do_sync)
		r = w->io.sync(w->io.ctx, fd, full);
	t1 = chronik_wal__now_ns();
	pthread_mutex_lock(&w->lock);
	if (r < 0) {
		/* Never retried: after a failed fsync the kernel may have
		 * dropped the dirty pages, so a later success would prove
		 * nothing. */
		chronik_wal__set_error(w, "%s of segment %020llu.wal: %s",
				       full ? "fsync" : "fdatasync",
				       (unsigned long long)base, strerror(-r));
		pipeline_fail(w, r);
	}
	if (w->failed) {
		/* Also when the writer failed during this sync: nothing is
		 * acknowledged after a failure (the sync thread fails it
		 * all, sync_fail_all()). */
		w->syncing = 0;
		pthread_cond_broadcast(&w->cv_sync);
		return w->failed;
	}
	*busy = w->written_lsn > lsn;
	w->unsynced -= bytes;
	w->unsynced_plain -= plain;
	w->last_sync_len = (size_t)bytes;
	atomic_store_explicit(&w->durable_lsn, lsn, memory_order_release);
	if (do_sync) {
		uint64_t ns = t1 - t0;

		w->st.syncs++;
		w->st.sync_ns_total += ns;
		if (ns > w->st.sync_ns_max)
			w->st.sync_ns_max = ns;
		w->st.sync_us_hist[log2_bucket(ns / 1000)]++;
	}
	pthread_cond_broadcast(&w->cv_synced);
	pthread_mutex_unlock(&w->lock);
	/* Callbacks first: they answer producers; the event fd and the
	 * durable-LSN waiters come after. */
	complete_upto(w, lsn, 0);
	if (w->opts.on_commit)
		w->opts.on_commit(w, lsn, 0, w->opts.userdata);
	durable_wake(w);
	signal_event(w);
	pthread_mutex_lock(&w->lock);
	w->syncing = 0;
	/* Written during this round and not taken by anyone yet. */
	if (w->unsynced > 0 && w->syncer_waiting)
		pthread_cond_signal(&w->cv_sync);
	return 0;
}

/* Before a round that only records acknowledged as written wait for
 * (nobody waits for their durability but readers and the high
 * watermark), the sync thread waits up to WAL_WRITTEN_SYNC_DELAY_NS: each
 * fdatasync costs ~100 us of CPU on a small VM, and thousands of them a
 * second took that from the event loop and the clients. It syncs at once
 * when a record that waits for durability is written, when the writer
 * waits for this sync, or when the taken buffers reach their bounds, and
 * does not wait while someone is in chronik_wal_wait() (one who arrives
 * meanwhile waits out the rest). Under lock (released meanwhile). */
static void written_delay(chronik_wal *w)
{
	uint64_t end = chronik_wal__now_ns() + WAL_WRITTEN_SYNC_DELAY_NS;
	struct timespec ts;

	realtime_in(&ts, WAL_WRITTEN_SYNC_DELAY_NS);
	while (w->unsynced_plain == 0 && !w->writer_blocked &&
	       !taken_full(w) && atomic_load(&w->nwaiters) == 0 &&
	       !w->closing && !w->failed && !w->writer_stopped &&
	       chronik_wal__now_ns() < end) {
		w->syncer_waiting = 2;
		if (pthread_cond_timedwait(&w->cv_sync, &w->lock, &ts) != 0)
			break;
	}
	w->syncer_waiting = 0;
}

static void *sync_main(void *arg)
{
	chronik_wal *w = arg;
	int do_sync = w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE;
	int busy = 0;

	chronik_util_thread_setup("wal-sync", 1);

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->failed && !w->writer_stopped &&
		       (w->unsynced == 0 || w->syncing)) {
			busy = 0;
			w->syncer_waiting = 1;
			pthread_cond_wait(&w->cv_sync, &w->lock);
		}
		w->syncer_waiting = 0;
		if (w->failed) {
			sync_fail_all(w);
			break;
		}
		if (w->unsynced == 0)
			break; /* the writer stopped and all is durable */
		/* The round starts here: the linger releases the lock,
		 * and the writer must not start one of its own meanwhile. */
		w->syncing = 1;
		if (do_sync && w->unsynced_plain == 0)
			written_delay(w);
		else if (busy && w->prof.linger_ns && do_sync)
			linger(w, &sync_linger_ops, &w->cv_sync,
			       &w->syncer_waiting, w->last_sync_len);
		if (w->failed) {
			w->syncing = 0;
			sync_fail_all(w);
			break;
		}
		if (sync_round(w, &busy) < 0) {
			sync_fail_all(w);
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- open / close ---- */

static void wal_free(chronik_wal *w)
{
	if (!w)
		return;
	if (w->seg_fd >= 0)
		close(w->seg_fd);
	if (w->event_fd >= 0)
		close(w->event_fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	while (w->fifo_head) {
		struct wal_queue *q = w->fifo_head;

		w->fifo_head = q->next;
		queue_free(q);
		free(q);
	}
	while (w->free_q) {
		struct wal_queue *q = w->free_q;

		w->free_q = q->next;
		queue_free(q);
		free(q);
	}
	if (w->q) {
		queue_free(w->q);
		free(w->q);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->ckpt_lock);
	pthread_mutex_destroy(&w->prep_lock);
	pthread_cond_destroy(&w->cv_prep);
	pthread_mutex_destroy(&w->err_lock);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_space);
	pthread_cond_destroy(&w->cv_copied);
	pthread_cond_destroy(&w->cv_sync);
	pthread_cond_destroy(&w->cv_synced);
	free(w->segs);
	free(w->corrupt_file);
	free(w->dir);
	free(w);
}

static int open_dir(chronik_wal *w)
{
	int r;

	w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0 && errno == ENOENT) {
		if (w->opts.flags & CHRONIK_WAL_OPEN_NO_CREATE) {
			chronik_wal__set_error(w, "%s: no WAL here", w->dir);
			return CHRONIK_ENOTFOUND;
		}
		if (mkdir(w->dir, 0755) != 0 && errno != EEXIST) {
			r = -errno;
			chronik_wal__set_error(w, "mkdir %s: %s", w->dir,
					       strerror(-r));
			return r;
		}
		w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (w->dir_fd < 0) {
		r = -errno;
		chronik_wal__set_error(w, "open %s: %s", w->dir, strerror(-r));
		return r;
	}
	w->lock_fd = openat(w->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC,
			    0644);
	if (w->lock_fd < 0) {
		r = -errno;
		chronik_wal__set_error(w, "open %s/LOCK: %s", w->dir,
				       strerror(-r));
		return r;
	}
	if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		r = -errno;
		chronik_wal__set_error(w, "lock %s/LOCK: %s (in use?)",
				       w->dir, strerror(-r));
		return r;
	}
	return 0;
}

/* Start one of the handle's threads; *started says it must be joined. */
static int start_thread(chronik_wal *w, pthread_t *t, int *started,
			void *(*fn)(void *))
{
	int r = pthread_create(t, NULL, fn, w);

	if (r != 0) {
		chronik_wal__set_error(w, "pthread_create: %s", strerror(r));
		return -r;
	}
	*started = 1;
	return 0;
}

int chronik_wal__open_io(chronik_wal **out, const chronik_wal_options *opts,
			 const struct chronik_wal__io *io)
{
	chronik_wal *w;
	int r;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!opts)
		return CHRONIK_EARG;
	if (opts->version < 1 || opts->version > CHRONIK_WAL_OPTIONS_VERSION)
		return CHRONIK_EVERSION;
	if (!opts->dir || !opts->dir[0] ||
	    (unsigned int)opts->profile > CHRONIK_WAL_PROFILE_ULTRA ||
	    (unsigned int)opts->sync_mode > CHRONIK_WAL_SYNC_NONE ||
	    (opts->segment_size && opts->segment_size < WAL_MIN_SEGMENT_SIZE) ||
	    (opts->flags & ~(CHRONIK_WAL_OPEN_SALVAGE |
			     CHRONIK_WAL_OPEN_NO_CREATE)))
		return CHRONIK_EARG;

	w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->dir_fd = w->lock_fd = w->event_fd = w->seg_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->ckpt_lock, NULL);
	pthread_mutex_init(&w->prep_lock, NULL);
	pthread_cond_init(&w->cv_prep, NULL);
	w->prep_fd = -1;
	pthread_mutex_init(&w->err_lock, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_space, NULL);
	pthread_cond_init(&w->cv_copied, NULL);
	pthread_cond_init(&w->cv_sync, NULL);
	pthread_cond_init(&w->cv_synced, NULL);
	w->sync_fd = -1;
	/* A caller's older options struct is shorter: take its fields only. */
	if (opts->version == 1)
		memcpy(&w->opts, opts,
		       offsetof(chronik_wal_options, on_written));
	else
		w->opts = *opts;
	w->q = calloc(1, sizeof *w->q);
	if (!w->q) {
		wal_free(w);
		return -ENOMEM;
	}
	w->dir = strdup(opts->dir);
	if (!w->dir) {
		wal_free(w);
		return -ENOMEM;
	}
	w->opts.dir = w->dir;
	w->io.pwrite = io && io->pwrite ? io->pwrite : sys_pwrite;
	w->io.sync = io && io->sync ? io->sync : sys_sync;
	w->io.fallocate = io && io->fallocate ? io->fallocate : sys_fallocate;
	w->io.ctx = io ? io->ctx : NULL;
	w->prof = profile_params(opts->profile);
	w->segment_size = opts->segment_size ? opts->segment_size
					     : CHRONIK_WAL_DEFAULT_SEGMENT_SIZE;
	w->max_queued = opts->max_queued_bytes ? opts->max_queued_bytes
					       : (size_t)64 * 1024 * 1024;
	if (w->max_queued < 2 * w->prof.max_batch)
		w->max_queued = 2 * w->prof.max_batch;
	w->st.version = CHRONIK_WAL_STATS_VERSION;
	w->rec.version = CHRONIK_WAL_RECOVERY_VERSION;
	*out = w;

	r = open_dir(w);
	if (r < 0)
		goto failed;
	w->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->event_fd < 0) {
		r = -errno;
		chronik_wal__set_error(w, "eventfd: %s", strerror(-r));
		goto failed;
	}
	r = chronik_wal__recover(w);
	if (r < 0)
		goto failed;
	/* A last segment created by fallocate alone (by seg_create(), or by
	 * a version before the preparer) is left early, see seg_unwritten. */
	if (w->seg_fd >= 0) {
		struct stat st;

		/* Or one cut at its end by close (a recycled one, see
		 * chronik_wal_close()): writes past the end of the file
		 * change its size, which each sync commits. */
		w->seg_unwritten =
			has_unwritten(w->seg_fd, w->seg_off, w->seg_cap) ||
			(fstat(w->seg_fd, &st) == 0 &&
			 (uint64_t)st.st_size < w->seg_cap);
	}
	/* A next segment prepared before a crash or close, and spares:
	 * start over. */
	unlinkat(w->dir_fd, WAL_PREP_NAME, 0);
	spares_remove(w, ~0u);
	w->written_lsn = w->next_lsn - 1;
	r = start_thread(w, &w->prep_thread, &w->prep_started, prep_main);
	if (r == 0)
		r = start_thread(w, &w->sync_thread, &w->sync_started,
				 sync_main);
	if (r == 0)
		r = start_thread(w, &w->thread, &w->thread_started,
				 writer_main);
	if (r < 0)
		goto failed;
	return 0;
failed:
	w->failed = r;
	atomic_store(&w->status, r);
	w->closing = 1;
	return r;
}

CHRONIK_WAL_API int chronik_wal_open(chronik_wal **out,
				     const chronik_wal_options *opts)
{
	return chronik_wal__open_io(out, opts, NULL);
}

CHRONIK_WAL_API int chronik_wal_close(chronik_wal *w)
{
	int r;

	if (!w)
		return 0;
	/* The writer writes what is queued and stops; the sync thread syncs
	 * what was written, completes it and stops. */
	pthread_mutex_lock(&w->lock);
	w->closing = 1;
	if (!w->thread_started)
		w->writer_stopped = 1;
	pthread_cond_broadcast(&w->cv_work);
	pthread_cond_broadcast(&w->cv_space);
	pthread_cond_broadcast(&w->cv_sync);
	pthread_mutex_unlock(&w->lock);
	durable_wake(w);
	if (w->thread_started)
		pthread_join(w->thread, NULL);
	if (w->sync_started)
		pthread_join(w->sync_thread, NULL);
	if (w->prep_started) {
		pthread_mutex_lock(&w->prep_lock);
		w->prep_stop = 1;
		pthread_cond_signal(&w->cv_prep);
		pthread_mutex_unlock(&w->prep_lock);
		pthread_join(w->prep_thread, NULL);
		if (w->prep_fd >= 0) {
			close(w->prep_fd);
			unlinkat(w->dir_fd, WAL_PREP_NAME, 0);
		}
	}
	spares_remove(w, w->spares);
	w->spares = 0;
	/* A recycled active segment: cut off the stale records past the
	 * last one written, so that the next open finds the segment ending
	 * there (it would otherwise take them for a torn tail and overwrite
	 * them all). After a failure recovery sorts it out. */
	if (!w->failed && w->seg_fd >= 0 && w->seg_stale_end > w->seg_off) {
		if (ftruncate(w->seg_fd, (off_t)w->seg_off) != 0 ||
		    (w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE &&
		     w->io.sync(w->io.ctx, w->seg_fd, 0) < 0))
			chronik_wal__log(w, 1, "wal %s: cutting recycled "
					 "segment %020llu.wal at offset %llu: "
					 "%s", w->dir,
					 (unsigned long long)w->seg_base,
					 (unsigned long long)w->seg_off,
					 strerror(errno));
	}
	r = w->failed;
	/* Anything still queued (only possible after a failure raced with an
	 * append) is failed now so every callback runs exactly once. */
	complete_entries(w->q->ent, 0, w->q->n, r ? r : CHRONIK_ECLOSED);
	wal_free(w);
	return r;
}

/* ---- append ---- */

/* Set while this thread writes a WAL's queue itself (inline_write()):
 * appends from the callbacks it runs must not block. */
static _Thread_local const chronik_wal *tls_inline;

/* chronik_wal_flush(): write what is queued in the caller's own thread,
 * sparing the hand-off to the writer thread (two thread wake-ups per
 * acknowledgement for CHRONIK_WAL_APPEND_WRITTEN records). Only when a
 * queued record waits for its write acknowledgement (records that wait
 * for durability gain nothing: the writer writes and syncs them itself,
 * the sync thread would add a wake-up), neither the writer thread nor
 * another thread is writing, and the write needs no wait: room in the
 * active segment (no roll), written but unsynced bytes stay within
 * WAL_MAX_WRITE, the taken queues within bounds (taken_full()).
 * Otherwise the writer thread is woken as for any append. The sync is
 * always the sync thread's. Lock not held. */
static void inline_write(chronik_wal *w)
{
	struct wal_queue *b, *nq = NULL;
	int r;

	pthread_mutex_lock(&w->lock);
	if (w->failed || w->closing || w->writer_active ||
	    w->inline_writing || w->q->n == 0 || !w->q->want_written ||
	    taken_full(w) || w->seg_fd < 0 ||
	    w->seg_old_format || w->seg_unwritten ||
	    w->q->len > w->seg_cap - w->seg_off ||
	    w->unsynced + w->q->len > WAL_MAX_WRITE ||
	    !(nq = queue_get(w))) {
		if (w->writer_waiting && w->q->n > 0)
			pthread_cond_signal(&w->cv_work);
		pthread_mutex_unlock(&w->lock);
		return;
	}
	b = queue_take(w, nq, &w->inline_writing);
	w->inline_writes++;
	pthread_mutex_unlock(&w->lock);

	tls_inline = w;
	r = write_batch(w, b);
	tls_inline = NULL;

	pthread_mutex_lock(&w->lock);
	w->inline_writing = 0;
	b->writer_done = 1;
	fifo_recycle(w);
	if (r < 0)
		pipeline_fail(w, r);
	else if (w->unsynced > 0 && w->syncer_waiting)
		pthread_cond_signal(&w->cv_sync);
	/* The writer has records to take (appended meanwhile), or waits
	 * for this write before it stops; otherwise it sleeps on. */
	if (w->writer_waiting && (w->q->n > 0 || w->closing || w->failed))
		pthread_cond_signal(&w->cv_work);
	pthread_mutex_unlock(&w->lock);
}

CHRONIK_WAL_API int chronik_wal_appendv(uint64_t *lsn_out, chronik_wal *w,
					uint8_t type,
					const chronik_wal_buf *bufs,
					size_t nbufs, unsigned int flags,
					chronik_wal_append_cb cb,
					void *userdata)
{
	size_t len = 0, flen;
	uint32_t pcrc = 0;
	struct wal_queue *q;
	struct wal_entry *e;
	uint64_t lsn;
	uint8_t *p;
	int r, nonblock, defer;

	if (!w || (nbufs && !bufs) ||
	    (flags & ~(CHRONIK_WAL_APPEND_NONBLOCK |
		       CHRONIK_WAL_APPEND_WRITTEN |
		       CHRONIK_WAL_APPEND_DEFER)))
		return CHRONIK_EARG;
	for (size_t i = 0; i < nbufs; i++) {
		if (bufs[i].len && !bufs[i].base)
			return CHRONIK_EARG;
		if (bufs[i].len > CHRONIK_WAL_MAX_RECORD - len)
			return CHRONIK_ETOOBIG;
		len += bufs[i].len;
	}
	flen = WAL_REC_HDR_SIZE + len;
	if (flen > w->segment_size - WAL_SEG_HDR_SIZE)
		return CHRONIK_ETOOBIG;
	/* Checksum outside the lock; the header part is added once the LSN
	 * is known. */
	for (size_t i = 0; i < nbufs; i++)
		pcrc = chronik_util_crc32c(pcrc, bufs[i].base, bufs[i].len);
	/* From a callback (writer or sync thread) never block: those
	 * threads are the ones that make room. */
	nonblock = (flags & CHRONIK_WAL_APPEND_NONBLOCK) || tls_inline == w ||
		   (w->thread_started &&
		    pthread_equal(pthread_self(), w->thread)) ||
		   (w->sync_started &&
		    pthread_equal(pthread_self(), w->sync_thread));

	/* Under the lock only reserve: an LSN, an entry and room in the
	 * group buffer. The copy happens after unlocking. */
	pthread_mutex_lock(&w->lock);
	for (;;) {
		q = w->q;
		if (w->failed) {
			r = CHRONIK_EFAILED;
			goto out;
		}
		if (w->closing) {
			r = CHRONIK_ECLOSED;
			goto out;
		}
		if (q->len > 0 && q->len + flen > w->max_queued) {
			if (nonblock) {
				r = CHRONIK_EAGAIN;
				goto out;
			}
			pthread_cond_wait(&w->cv_space, &w->lock);
			continue;
		}
		if (q->len + flen > q->cap) {
			/* Growing moves the buffer: wait for the copies in
			 * flight, then look again (the writer may have taken
			 * this queue meanwhile). Rare: buffers keep their
			 * size. */
			if (atomic_load(&q->copying) > 0) {
				if (nonblock) {
					r = CHRONIK_EAGAIN;
					goto out;
				}
				atomic_store(&q->draining, 1);
				if (atomic_load(&q->copying) > 0)
					pthread_cond_wait(&w->cv_copied,
							  &w->lock);
				continue;
			}
			r = queue_grow_buf(q, flen);
			if (r < 0)
				goto out;
		}
		if (q->n == q->ncap) {
			r = queue_grow_ent(q);
			if (r < 0)
				goto out;
		}
		break;
	}
	lsn = atomic_load_explicit(&w->next_lsn, memory_order_relaxed);
	atomic_store_explicit(&w->next_lsn, lsn + 1, memory_order_relaxed);
	e = &q->ent[q->n++];
	e->lsn = lsn;
	e->off = q->len;
	e->flen = flen;
	e->pcrc = pcrc;
	e->written_cb = (flags & CHRONIK_WAL_APPEND_WRITTEN) != 0;
	if (e->written_cb)
		q->want_written = 1;
	e->cb = cb;
	e->ud = userdata;
	p = q->buf + q->len;
	q->len += flen;
	atomic_fetch_add(&q->copying, 1);
	w->st.records++;
	w->st.bytes += len;
	w->st.queued_bytes = q->len;
	/* A deferred append leaves the writer asleep: the caller's
	 * chronik_wal_flush() writes it, or wakes the writer. */
	defer = (flags & CHRONIK_WAL_APPEND_DEFER) != 0;
	if (w->writer_waiting && !defer)
		pthread_cond_signal(&w->cv_work);
	pthread_mutex_unlock(&w->lock);

	wal__put32(p + 4, (uint32_t)len);
	wal__put64(p + 8, lsn);
	p[16] = type;
	p[17] = 0;
	p[18] = p[19] = 0;
	wal__put32(p, chronik_wal__rec_crc(pcrc, p));
	p += WAL_REC_HDR_SIZE;
	for (size_t i = 0; i < nbufs; i++) {
		if (bufs[i].len)
			memcpy(p, bufs[i].base, bufs[i].len);
		p += bufs[i].len;
	}
	queue_copy_done(w, q);
	if (lsn_out)
		*lsn_out = lsn;
	return 0;
out:
	pthread_mutex_unlock(&w->lock);
	return r;
}

CHRONIK_WAL_API int chronik_wal_append(uint64_t *lsn_out, chronik_wal *w,
				       uint8_t type, const void *data,
				       size_t len)
{
	chronik_wal_buf b;

	b.base = data;
	b.len = len;
	return chronik_wal_appendv(lsn_out, w, type, &b, 1, 0, NULL, NULL);
}

CHRONIK_WAL_API int chronik_wal_flush(chronik_wal *w)
{
	if (!w)
		return CHRONIK_EARG;
	if (tls_inline == w) {
		/* From a callback of this thread's own inline write: the
		 * writer takes what is queued once this write ends. */
		pthread_mutex_lock(&w->lock);
		if (w->writer_waiting && w->q->n > 0)
			pthread_cond_signal(&w->cv_work);
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	inline_write(w);
	return 0;
}

/* ---- completion ---- */

CHRONIK_WAL_API int chronik_wal_wait(chronik_wal *w, uint64_t lsn,
				     int timeout_ms)
{
	uint64_t deadline = 0;
	int r;

	if (!w)
		return CHRONIK_EARG;
	if (atomic_load_explicit(&w->durable_lsn, memory_order_acquire) >= lsn)
		return 0;
	if (lsn >= atomic_load(&w->next_lsn))
		return CHRONIK_EARG;
	if (timeout_ms > 0)
		deadline = chronik_wal__now_ns() +
			   (uint64_t)timeout_ms * 1000000u;
	/* Sleep on durable_seq rather than on the handle's lock: one futex
	 * wake per durable advance reaches every waiter, and waiters never
	 * contend with appenders. Announce the waiter, read the sequence,
	 * then re-check the condition: a bump after that read makes the
	 * futex wait return at once (see durable_wake()). */
	for (;;) {
		struct timespec rel, *relp = NULL;
		uint32_t seq;

		atomic_fetch_add(&w->nwaiters, 1);
		seq = atomic_load(&w->durable_seq);
		if (atomic_load(&w->durable_lsn) >= lsn) {
			r = 0;
		} else if (atomic_load(&w->status)) {
			r = atomic_load(&w->status);
		} else if (w->closing) {
			r = CHRONIK_ECLOSED;
		} else if (timeout_ms == 0) {
			r = -ETIMEDOUT;
		} else {
			r = 1;
			if (timeout_ms > 0) {
				uint64_t now = chronik_wal__now_ns();

				if (now >= deadline) {
					r = -ETIMEDOUT;
				} else {
					rel.tv_sec = (time_t)((deadline - now) /
							      1000000000u);
					rel.tv_nsec = (long)((deadline - now) %
							     1000000000u);
					relp = &rel;
				}
			}
			if (r == 1)
				futex_op(&w->durable_seq, FUTEX_WAIT_PRIVATE,
					 seq, relp);
		}
		atomic_fetch_sub(&w->nwaiters, 1);
		if (r != 1)
			return r;
	}
}

CHRONIK_WAL_API uint64_t chronik_wal_durable_lsn(const chronik_wal *w)
{
	return w ? atomic_load_explicit(&((chronik_wal *)w)->durable_lsn,
					memory_order_acquire)
		 : 0;
}

CHRONIK_WAL_API uint64_t chronik_wal_next_lsn(chronik_wal *w)
{
	uint64_t v;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	v = w->next_lsn;
	pthread_mutex_unlock(&w->lock);
	return v;
}

CHRONIK_WAL_API int chronik_wal_event_fd(const chronik_wal *w)
{
	return w ? w->event_fd : CHRONIK_EARG;
}

CHRONIK_WAL_API int chronik_wal_status(const chronik_wal *w)
{
	return w ? atomic_load(&((chronik_wal *)w)->status) : CHRONIK_EARG;
}

CHRONIK_WAL_API const char *chronik_wal_last_error(const chronik_wal *w)
{
	return w ? w->err : "";
}

/* ---- checkpoints ---- */

static int write_checkpoint(chronik_wal *w, uint64_t lsn)
{
	uint8_t b[WAL_CKPT_SIZE];
	int fd, r = 0;
	int do_sync = w->opts.sync_mode != CHRONIK_WAL_SYNC_NONE;

	memset(b, 0, sizeof b);
	memcpy(b, WAL_CKPT_MAGIC, 8);
	wal__put32(b + 8, WAL_CKPT_VERSION);
	wal__put64(b + 16, lsn);
	wal__put32(b + 28, chronik_util_crc32c(0, b, 28));
	fd = openat(w->dir_fd, "checkpoint.tmp",
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = io_write_all(w, fd, b, sizeof b, 0);
	if (r == 0 && do_sync)
		r = w->io.sync(w->io.ctx, fd, 1);
	close(fd);
	if (r == 0 && renameat(w->dir_fd, "checkpoint.tmp", w->dir_fd,
			       "checkpoint") != 0)
		r = -errno;
	if (r == 0 && do_sync && fsync(w->dir_fd) != 0)
		r = -errno;
	return r;
}

/* Keep a checkpointed segment as a spare for a later roll instead of
 * deleting it (prep_take_spare()): when no reader is open (a reader may
 * be reading it), a spare slot is free, and it is a whole segment of the
 * current size with every block written (no unwritten extents left by a
 * segment created with fallocate alone). Returns 0 when kept, -1 when
 * the caller deletes it. The rename needs no sync: after a crash the
 * file is either a segment below the checkpoint, which recovery reads
 * as before, or a spare, which open removes. Checkpointing thread. */
static int spare_put(chronik_wal *w, const char *name)
{
	char spare[32];
	struct stat st;
	unsigned int k;
	int fd, ok;

	if (atomic_load(&w->nreaders) > 0)
		return -1;
	fd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = fstat(fd, &st) == 0 &&
	     (uint64_t)st.st_size == w->segment_size &&
	     !has_unwritten(fd, 0, (uint64_t)st.st_size);
	close(fd);
	if (!ok)
		return -1;
	pthread_mutex_lock(&w->prep_lock);
	for (k = 0; k < WAL_SPARE_MAX && (w->spares & (1u << k)); k++)
		;
	ok = 0;
	if (k < WAL_SPARE_MAX && !w->prep_stop) {
		snprintf(spare, sizeof spare, WAL_SPARE_FMT, k);
		if (renameat(w->dir_fd, name, w->dir_fd, spare) == 0) {
			w->spares |= 1u << k;
			w->segs_recycled++;
			ok = 1;
		}
	}
	pthread_mutex_unlock(&w->prep_lock);
	return ok ? 0 : -1;
}

CHRONIK_WAL_API int chronik_wal_checkpoint(chronik_wal *w, uint64_t lsn)
{
	uint64_t *doomed = NULL;
	size_t ndoomed = 0, k;
	int r;

	if (!w)
		return CHRONIK_EARG;
	if (lsn > chronik_wal_durable_lsn(w) + 1) {
		chronik_wal__set_error(w, "checkpoint %llu beyond durable end "
				       "%llu", (unsigned long long)lsn,
				       (unsigned long long)
					       chronik_wal_durable_lsn(w));
		return CHRONIK_EARG;
	}
	if (atomic_load(&w->status))
		return CHRONIK_EFAILED;
	pthread_mutex_lock(&w->ckpt_lock);
	pthread_mutex_lock(&w->lock);
	if (lsn <= w->checkpoint_lsn) {
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_unlock(&w->ckpt_lock);
		return 0;
	}
	pthread_mutex_unlock(&w->lock);
	r = write_checkpoint(w, lsn);
	if (r < 0) {
		chronik_wal__set_error(w, "write %s/checkpoint: %s", w->dir,
				       strerror(-r));
		pthread_mutex_unlock(&w->ckpt_lock);
		return r;
	}
	pthread_mutex_lock(&w->lock);
	w->checkpoint_lsn = lsn;
	/* Segment k is entirely below lsn when segment k+1 starts at or
	 * below it; the last (active) segment always stays. */
	for (k = 0; k + 1 < w->nsegs && w->segs[k + 1].base_lsn <= lsn; k++)
		;
	if (k > 0) {
		doomed = malloc(k * sizeof *doomed);
		if (doomed) {
			for (size_t i = 0; i < k; i++)
				doomed[i] = w->segs[i].base_lsn;
			ndoomed = k;
			memmove(w->segs, w->segs + k,
				(w->nsegs - k) * sizeof *w->segs);
			w->nsegs -= k;
			w->st.segments_deleted += k;
		}
	}
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < ndoomed; i++) {
		char name[32];

		chronik_wal__seg_name(name, sizeof name, doomed[i]);
		if (spare_put(w, name) == 0)
			continue;
		if (unlinkat(w->dir_fd, name, 0) != 0 && errno != ENOENT)
			chronik_wal__log(w, 1, "wal %s: unlink %s: %s", w->dir,
					 name, strerror(errno));
	}
	free(doomed);
	pthread_mutex_unlock(&w->ckpt_lock);
	return 0;
}

CHRONIK_WAL_API uint64_t chronik_wal_checkpoint_lsn(chronik_wal *w)
{
	uint64_t v;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	v = w->checkpoint_lsn;
	pthread_mutex_unlock(&w->lock);
	return v;
}

CHRONIK_WAL_API uint64_t chronik_wal_first_lsn(chronik_wal *w)
{
	uint64_t v;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	v = w->nsegs ? w->segs[0].base_lsn : w->next_lsn;
	if (v > w->next_lsn)
		v = w->next_lsn;
	pthread_mutex_unlock(&w->lock);
	return v;
}

int chronik_wal__seg_find(chronik_wal *w, uint64_t lsn, uint64_t *base)
{
	int r = CHRONIK_ENOTFOUND;

	pthread_mutex_lock(&w->lock);
	for (size_t k = w->nsegs; k-- > 0;) {
		if (w->segs[k].base_lsn <= lsn) {
			*base = w->segs[k].base_lsn;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* ---- stats ---- */

CHRONIK_WAL_API int chronik_wal_stats_get(chronik_wal_stats *out,
					  chronik_wal *w)
{
	if (!out || !w)
		return CHRONIK_EARG;
	if (out->version != CHRONIK_WAL_STATS_VERSION)
		return CHRONIK_EVERSION;
	pthread_mutex_lock(&w->lock);
	*out = w->st;
	out->segments = w->nsegs;
	out->next_lsn = w->next_lsn;
	pthread_mutex_unlock(&w->lock);
	out->version = CHRONIK_WAL_STATS_VERSION;
	out->durable_lsn = chronik_wal_durable_lsn(w);
	return 0;
}

CHRONIK_WAL_API int chronik_wal_recovery_get(chronik_wal_recovery *out,
					     const chronik_wal *w)
{
	if (!out || !w)
		return CHRONIK_EARG;
	if (out->version != CHRONIK_WAL_RECOVERY_VERSION)
		return CHRONIK_EVERSION;
	*out = w->rec;
	return 0;
}
