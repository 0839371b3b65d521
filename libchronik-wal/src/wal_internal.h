/* SPDX-License-Identifier: Apache-2.0 */
/* Private to libchronik-wal: handle layout, on-disk format constants and
 * the I/O hooks used by failure-injection tests. Never installed. */
#ifndef CHRONIK_WAL_INTERNAL_H
#define CHRONIK_WAL_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "chronik/wal.h"

/* ---- On-disk format (docs/formats.md, "WAL segment files") ---- */

#define WAL_SEG_MAGIC "CHRNKWAL"
#define WAL_CKPT_MAGIC "CHRNKCKP"
/* Segment format 2 adds WAL_REC_OVERLAP; format 1 segments are still
 * read. The checkpoint file has its own version. */
#define WAL_FORMAT_VERSION 2u
#define WAL_FORMAT_VERSION_MIN 1u
#define WAL_CKPT_VERSION 1u
#define WAL_SEG_HDR_SIZE 64u
#define WAL_REC_HDR_SIZE 20u
#define WAL_CKPT_SIZE 32u
/* Record flags. */
#define WAL_REC_BATCH_END 0x01u
/* On the first record of a write issued while an earlier write was not
 * yet durable (the writer runs ahead of the sync thread). A write without
 * it proves that everything before it had been synced. */
#define WAL_REC_OVERLAP 0x02u
/* No single write is larger than this (a batch is closed before it would
 * grow past it; one record is at most CHRONIK_WAL_MAX_RECORD + header),
 * and written but not yet durable bytes never exceed it either (the
 * writer waits for the sync thread). Recovery relies on it to bound a
 * torn tail. */
#define WAL_MAX_WRITE ((uint64_t)16 * 1024 * 1024)
#define WAL_MIN_SEGMENT_SIZE ((uint64_t)64 * 1024)
/* Queues taken (by the writer, or by a chronik_wal_flush() writing
 * inline) before the sync thread completed them: while a sync is slow,
 * records gather in the appenders' queue instead of each becoming a queue
 * of their own.
 * Inline writes take one queue per flush, a few per sync, more while a
 * sync is slow (tens of ms happen on a busy disk); what they hold is
 * bounded anyway by WAL_MAX_WRITE (written, not durable) plus the
 * appenders' queue. */
#define WAL_MAX_TAKEN_QUEUES 64
/* And the bytes those queues hold: what the application's side keeps for
 * records acknowledged as written but not yet durable (chronik-server's
 * storage keeps a copy of each batch, 2 KiB at least) follows it. Without
 * it, 64 flushes of one-message acks=1 requests during slow syncs grew the
 * broker from 18 MB to 88 MB. */
#define WAL_MAX_TAKEN_BYTES ((uint64_t)1024 * 1024)
/* How long the sync thread may wait before syncing records that were all
 * acknowledged as written (written_delay() in wal.c). */
#define WAL_WRITTEN_SYNC_DELAY_NS ((uint64_t)200 * 1000)
/* Recycled queues that keep their buffer (the others give it back). */
#define WAL_FREE_KEEP_BUFFERS 8
/* A recycled queue keeps a buffer of up to this size for its next use. */
#define WAL_QUEUE_KEEP_BYTES ((size_t)4 * 1024 * 1024)
/* The next segment, prepared in the background (preallocated, zero-filled
 * and synced) and renamed to its real name when the writer rolls to it.
 * Not a segment name, so recovery ignores it (open removes a stale one). */
#define WAL_PREP_NAME "next-segment.tmp"
/* Checkpointed segments kept for reuse as next segments (see "Segment
 * recycling" in docs/wal.md): renamed to spare-<slot>.tmp, at most this
 * many. Not segment names either; open removes them. */
#define WAL_SPARE_MAX 4
#define WAL_SPARE_FMT "spare-%u.tmp"

static inline void wal__put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void wal__put64(uint8_t *p, uint64_t v)
{
	wal__put32(p, (uint32_t)v);
	wal__put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t wal__get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t wal__get64(const uint8_t *p)
{
	return (uint64_t)wal__get32(p) | (uint64_t)wal__get32(p + 4) << 32;
}

/* Record header: crc32 | len32 | lsn64 | type8 | flags8 | reserved16.
 * The CRC covers the payload, then header bytes 4..19, so appenders can
 * checksum the payload before an LSN is assigned. */
uint32_t chronik_wal__rec_crc(uint32_t payload_crc, const uint8_t *hdr);

/* Check the record at p (avail bytes readable) against an expected LSN.
 * Returns the frame size if valid, 0 if not. */
size_t chronik_wal__rec_check(const uint8_t *p, size_t avail,
			      uint64_t expect_lsn);

/* ---- I/O hooks (failure injection) ---- */

/* Each hook returns >= 0 on success or -errno. NULL members use the real
 * system call. */
struct chronik_wal__io {
	ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n,
			  off_t off);
	int (*sync)(void *ctx, int fd, int full);
	int (*fallocate)(void *ctx, int fd, off_t len);
	void *ctx;
};

/* chronik_wal_open() with I/O hooks (copied). For tests. */
int chronik_wal__open_io(chronik_wal **out, const chronik_wal_options *opts,
			 const struct chronik_wal__io *io);

/* ---- Handle ---- */

struct wal_profile_params {
	size_t max_batch;
	size_t target;
	uint64_t linger_ns;
};

/* One queued record waiting for the writer. */
struct wal_entry {
	uint64_t lsn;
	size_t off;  /* frame offset in the queue buffer */
	size_t flen; /* frame length */
	uint32_t pcrc;
	int written_cb; /* CHRONIK_WAL_APPEND_WRITTEN */
	chronik_wal_append_cb cb;
	void *ud;
};

/* A group buffer. Appenders reserve space (an LSN, an offset and an entry)
 * under the handle's lock, then frame and copy their record outside it;
 * `copying` counts reservations whose copy has not finished. The buffer is
 * never moved or handed to the writer while copying > 0: whoever needs
 * that (the writer taking the batch, an appender growing the buffer) sets
 * `draining` and sleeps on cv_copied until the last copier wakes it. */
struct wal_queue {
	uint8_t *buf;
	size_t len, cap;
	struct wal_entry *ent;
	size_t n, ncap;
	_Atomic size_t copying;
	_Atomic int draining;
	int want_written; /* a record asked for CHRONIK_WAL_APPEND_WRITTEN */
	/* Once taken by the writer (under the handle's lock): the next
	 * taken queue, oldest first; entries whose final callback ran (sync
	 * thread); whether the writer is done with it. */
	struct wal_queue *next;
	size_t done;
	int writer_done;
};

struct wal_seg {
	uint64_t base_lsn;
};

struct chronik_wal {
	char *dir;
	int dir_fd;
	int lock_fd;
	int event_fd;
	chronik_wal_options opts;
	struct chronik_wal__io io;
	struct wal_profile_params prof;
	uint64_t segment_size; /* for new segments */

	pthread_mutex_t lock;
	pthread_cond_t cv_work;    /* writer waits for records */
	pthread_cond_t cv_space;   /* appenders wait for queue room */
	pthread_cond_t cv_copied;  /* a queue's copying dropped to 0 */
	pthread_cond_t cv_sync;    /* sync thread waits for written data */
	pthread_cond_t cv_synced;  /* writer waits for a sync to end */
	pthread_t thread;
	int thread_started;
	pthread_t sync_thread;
	int sync_started;
	/* Under lock. */
	struct wal_queue *q;     /* filled by appenders */
	struct wal_queue *free_q; /* recycled queues (linked by next) */
	size_t nfree_buf;         /* of which keep a buffer */
	/* Queues taken by the writer whose records are not all completed
	 * yet, oldest first: the writer appends, the sync thread completes
	 * and recycles. */
	struct wal_queue *fifo_head, *fifo_tail;
	size_t nfifo;
	uint64_t taken_bytes;     /* bytes held by the FIFO's queues */
	_Atomic uint64_t next_lsn; /* written under lock, read lock-free */
	int writer_waiting;      /* 1 idle */
	int syncer_waiting;      /* 1 idle, 2 lingering */
	int writer_stopped;      /* the writer thread will write no more */
	int writer_blocked;      /* the writer waits for a sync to end */
	/* The writer thread writes a batch it took (from taking it until
	 * write_batch() returns), or a thread in chronik_wal_flush() writes
	 * one itself: at most one of the two, and the writer-thread-only
	 * fields below belong to whichever it is. */
	int writer_active;
	int inline_writing;
	uint64_t inline_writes;  /* batches written by flushes */
	int syncing;             /* a sync_round() is running */
	uint64_t written_lsn;    /* every LSN <= this is written */
	uint64_t unsynced;       /* bytes written, not yet durable */
	uint64_t unsynced_plain; /* of their records, those without a
				  * written acknowledgement */
	int sync_fd;             /* the segment those bytes are in */
	uint64_t sync_base;      /* and its base LSN */
	size_t last_sync_len;    /* bytes made durable by the last sync */
	_Atomic int closing;
	int failed;              /* 0 or the error */
	size_t max_queued;
	struct wal_seg *segs;
	size_t nsegs, segs_cap;
	uint64_t checkpoint_lsn;
	chronik_wal_stats st;
	_Atomic uint64_t durable_lsn;
	_Atomic int status;
	/* chronik_wal_wait() sleeps on a futex on durable_seq, which the
	 * writer bumps after each durable advance, failure or close; it only
	 * makes the wake-up call when nwaiters says someone sleeps. */
	_Atomic uint32_t durable_seq;
	_Atomic uint32_t nwaiters;

	/* Writer thread only (after open), or the appender writing in its
	 * own thread while inline_writing is set. */
	int seg_fd;
	uint64_t seg_off;  /* next write offset in the active segment */
	uint64_t seg_cap;  /* size of the active segment */
	uint64_t seg_base;
	/* The active segment still has preallocated but unwritten extents
	 * past seg_off: each sync there also commits an extent conversion
	 * (a journal commit on ext4), so the writer rolls to a prepared,
	 * zero-filled segment as soon as one is ready. */
	int seg_unwritten;
	/* The active segment (found at open) has an older format version. */
	int seg_old_format;
	/* [seg_off, seg_stale_end) of the active segment may hold records of
	 * the earlier segment it was recycled from: cleared before the
	 * writer leaves it (older segments end in zeros), cut off at close. */
	uint64_t seg_stale_end;

	pthread_mutex_t ckpt_lock;

	/* Segment preparer thread (segment roll without a stall). */
	pthread_mutex_t prep_lock;
	pthread_cond_t cv_prep;
	pthread_t prep_thread;
	int prep_started;
	/* Under prep_lock. */
	int prep_fd;    /* a prepared WAL_PREP_NAME, or -1 */
	int prep_stale; /* it is a recycled segment (stale records) */
	int prep_want;  /* the writer asked for one */
	int prep_stop;
	unsigned int spares; /* bit k: WAL_SPARE_FMT k holds a spare */
	uint64_t segs_recycled; /* segments kept as spares */
	uint64_t segs_reused;   /* spares prepared as next segments */
	/* Readers open: while there are any, checkpointed segments are
	 * deleted rather than recycled (a reader may still read them). */
	_Atomic int nreaders;
	/* Writer thread only: base of the segment a preparation was last
	 * requested for. */
	uint64_t prep_asked_base;

	chronik_wal_recovery rec;
	char *corrupt_file;

	pthread_mutex_t err_lock;
	char err[512];
};

void chronik_wal__set_error(chronik_wal *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void chronik_wal__log(chronik_wal *w, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t chronik_wal__now_ns(void);

/* Path of segment `base` inside w->dir (malloc'd; NULL on ENOMEM). */
char *chronik_wal__seg_path(const chronik_wal *w, uint64_t base);
/* File name of segment `base` into buf (>= 32 bytes). */
void chronik_wal__seg_name(char *buf, size_t n, uint64_t base);
/* Parse a segment file name; 1 on success. */
int chronik_wal__seg_parse_name(const char *name, uint64_t *base);
/* Encode a segment header. */
void chronik_wal__seg_header(uint8_t *hdr, uint64_t base, uint64_t size);

/* Recovery (recover.c): scans w->dir, fills w->segs, w->next_lsn, the
 * active segment state and w->rec. */
int chronik_wal__recover(chronik_wal *w);
/* Overwrite [from, to) of fd with zeros through the I/O hooks (no sync).
 * 0 or the write's error. */
int chronik_wal__write_zeros(chronik_wal *w, int fd, uint64_t from,
			     uint64_t to);

/* Reader support: find the segment holding lsn (index), under w->lock. */
int chronik_wal__seg_find(chronik_wal *w, uint64_t lsn, uint64_t *base);

#endif
