/* SPDX-License-Identifier: Apache-2.0 */
/* Private declarations of the partition-log half of libchronik-storage. */
#ifndef CHRONIK_STORAGE_LOG_INTERNAL_H
#define CHRONIK_STORAGE_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "chronik/storage.h"
#include "chronik/wal.h"

/* WAL record types written by the storage (the WAL's type byte). */
#define SLOG_WAL_BATCH 1    /* u16 topic len, topic, i32 partition, batch */
#define SLOG_WAL_TRUNCATE 2 /* u16 topic len, topic, i32 partition, i64 */

/* Index file formats (docs/formats.md). */
#define SLOG_IDX_MAGIC "CHRKOIDX"
#define SLOG_TIDX_MAGIC "CHRKTIDX"
#define SLOG_IDX_VERSION 1
#define SLOG_IDX_HDR 24
#define SLOG_OIDX_ESZ 8  /* u32 relative offset, u32 position */
#define SLOG_TIDX_ESZ 12 /* i64 timestamp, u32 relative offset */

#define SLOG_BATCH_HDR 61

/* The fields of a batch header that the log needs. */
struct slog_bhdr {
	int64_t base;
	int64_t last;
	int64_t max_ts;
	uint32_t size; /* whole batch: 12 + batchLength */
	int16_t attributes;
	int8_t magic;
};

/* One index file, memory-mapped. */
struct slog_index {
	int fd;
	uint8_t *map;
	size_t map_len;
	size_t cap;   /* entries that fit */
	size_t count; /* valid entries */
	size_t esz;
};

/* One segment: <base>.log plus its two indexes. */
struct slog_seg {
	atomic_int refs;
	int64_t base;
	int fd;
	uint64_t size;     /* bytes of whole, valid batches */
	int64_t next_off;  /* offset after the last batch (base if empty) */
	int64_t max_ts;    /* largest batch max timestamp, -1 if none */
	int64_t first_ms;  /* wall clock of the first append (segment.ms) */
	uint64_t last_oidx_pos; /* log position of the last index entry */
	struct slog_index oidx;
	struct slog_index tidx;
	int dirty;         /* written since the last sync (writer only) */
	char *path;        /* .../<base>.log */
};

/* A batch appended but not yet in a segment (the in-memory tail). */
struct slog_entry {
	struct slog_entry *tail_next;
	struct slog_entry *q_next;
	struct chronik_storage_partition *p;
	uint64_t lsn;
	int64_t base;
	int64_t last;
	int64_t max_ts;
	int status;
	chronik_storage_append_cb cb;
	void *ud;
	size_t hdr_len; /* WAL header before the batch */
	size_t len;     /* batch bytes */
	int cls;        /* 1 + its size class (poolable), or 0 (malloc'd) */
	uint8_t data[];
};

/* Entries of at most this many bytes (header included) are recycled
 * through a small pool instead of malloc/free: the event loop allocates
 * them and the segment writer frees them, and a cross-thread free is
 * among the costliest things on the produce path. */
#define SLOG_ENTRY_SMALL 2048u
/* A recovery point is synced once the log grew this far past the last
 * synced one (or the segment rolled): what open may have to check by CRC
 * after a crash stays bounded, without an fdatasync per partition per
 * flush. */
#define SLOG_RP_SYNC_BYTES ((uint64_t)64 << 20)
/* Two classes: one-message batches (~300-500 bytes with the header) take
 * a quarter of the memory; with acks=1 answered before durability tens of
 * thousands of them can be in flight (a slow sync, a segment sync). */
#define SLOG_ENTRY_TINY 512u
#define SLOG_ENTRY_CLASSES 2

/* The segment writer, once busy, takes queued entries every
 * SLOG_WQ_POLL_MS instead of being woken at each WAL commit (thousands of
 * wake-ups a second, each taking a core from the loop or the clients at
 * the moment responses go out); a commit still wakes it at once when it
 * is idle, when this much is queued, or when appenders wait for tail
 * space. */
#define SLOG_WQ_POLL_MS 2
#define SLOG_WQ_WAKE_ENTRIES 64u
#define SLOG_WQ_WAKE_BYTES ((size_t)256 << 10)
#define SLOG_ENTRY_POOL_MAX 512u

struct chronik_storage_partition {
	chronik_storage *s;
	char *topic;
	int32_t partition;
	char *dir;
	char *name;
	pthread_mutex_t lock;
	chronik_storage_topic_config cfg;
	struct slog_seg **segs;
	size_t nsegs;
	size_t capsegs;
	int64_t next_offset; /* assigned */
	_Atomic int64_t hw;
	int64_t seg_end;     /* offset after the last batch in segments */
	int64_t log_start;
	struct slog_entry *tail_head;
	struct slog_entry *tail_tail;
	pthread_cond_t applied_cv; /* with lock: the writer applied a batch */
	int apply_waiters;
	int dir_dirty;   /* under lock: the directory needs a sync */
	/* Segment writer only: its entries of the list being written
	 * (group_by_partition()). */
	struct slog_entry *grp_head, *grp_tail;
	struct chronik_storage_partition *grp_next;
	/* The active segment is a new, empty one whose directory entry is
	 * not synced: dir_dirty once a batch is written to it. */
	int dir_pending;
	int recovered_trunc;
	/* recovery point (docs/formats.md), under lock */
	int rp_fd;
	uint64_t rp_gen;
	int rp_dirty;       /* segments written since the last one */
	int64_t rp_base;    /* segment of the last one written (-1: none) */
	/* Segment writer only: the segment and position of the last one
	 * synced (flush_segments() syncs one once the log has grown past
	 * it by SLOG_RP_SYNC_BYTES or rolled; -1: none). */
	int64_t rp_sync_base;
	uint64_t rp_sync_pos;
	/* cleaner state, under clean_mu */
	pthread_mutex_t clean_mu;
	int64_t cleaned_upto;
	int64_t last_clean_ms;
	int kept_tombstones;
	int clean_loaded;   /* cleaner-offset read */
	/* Deletion (chronik_storage_partition_delete): deleting is set
	 * under s->lock and lock (appends refuse), deleted once the
	 * directory is gone (under lock); the struct then waits in
	 * s->graveyard until close, since other threads may still hold a
	 * pointer taken before (writer, cleaner). */
	int deleting;
	int deleted;
	/* WAL records with a lower LSN belong to an earlier partition of
	 * the same name (deleted since): replay skips them. 0 when the
	 * directory predates the created-lsn file. */
	uint64_t birth_lsn;
};

struct chronik_storage {
	char *dir;
	char *topics_dir;
	chronik_storage_options opts;
	chronik_wal *wal;
	int efd;
	pthread_mutex_t lock; /* partitions table, error text */
	/* Recycled entries per size class (SLOG_ENTRY_TINY, SLOG_ENTRY_SMALL),
	 * under pool_mu. */
	pthread_mutex_t pool_mu;
	struct slog_entry *pool[SLOG_ENTRY_CLASSES];
	size_t npool[SLOG_ENTRY_CLASSES];
	chronik_storage_partition **parts;
	size_t nparts;
	size_t capparts;
	char err[512];
	atomic_int failed;
	atomic_int closing;
	atomic_long inflight;
	pthread_mutex_t hw_mu;
	pthread_cond_t hw_cv;  /* hw moved, inflight hit 0, failure */
	/* in-memory tail cap */
	pthread_mutex_t tail_mu;
	pthread_cond_t tail_cv;
	size_t tail_bytes;
	size_t tail_max;
	atomic_int tail_waiters;
	/* WAL writer thread only: an early (CHRONIK_STORAGE_APPEND_WRITTEN)
	 * completion ran since the last write's on_written. */
	int written_answered;
	/* segment writer */
	pthread_t writer;
	int writer_started;
	pthread_mutex_t wq_mu;
	pthread_cond_t wq_cv;
	pthread_cond_t wq_done_cv;
	struct slog_entry *wq_head;
	struct slog_entry *wq_tail;
	size_t wq_n, wq_bytes;  /* entries and batch bytes queued */
	/* The writer had work at its last turn: it now sleeps a short
	 * interval at a time (SLOG_WQ_POLL_MS) and commits do not wake it
	 * until SLOG_WQ_WAKE_* is queued. Under wq_mu. */
	int wq_polling;
	int wq_stop;
	uint64_t flush_req;
	uint64_t flush_done;
	int flush_err;
	uint64_t applied_lsn;
	struct slog_seg **dirty;
	size_t ndirty;
	size_t capdirty;
	/* cleaner */
	pthread_t cleaner;
	int cleaner_started;
	pthread_mutex_t cl_mu;
	pthread_cond_t cl_cv;
	int cl_stop;
	/* Deleted partitions: structs kept until close; directories
	 * (<topic>-<p>.<id>-delete) the cleaner removes (under cl_mu). */
	chronik_storage_partition **graveyard;
	size_t ngraveyard, capgraveyard;
	char **del_dirs;
	size_t ndel_dirs, capdel_dirs;
};

/* storage.c */
void slog_log(chronik_storage *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int slog_err(chronik_storage *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int64_t slog_now_ms(void);
/* *dl = now + ms on CLOCK_REALTIME (for pthread_cond_timedwait). */
void slog_deadline_ms(struct timespec *dl, int64_t ms);
/* Remove the directories of deleted partitions queued so far (cleaner
 * thread; takes cl_mu briefly). */
void slog_remove_deleted_dirs(chronik_storage *s);

/* segment.c */
void slog_parse_hdr(struct slog_bhdr *h, const uint8_t *b);
int slog_seg_create(struct slog_seg **out, chronik_storage_partition *p,
		    int64_t base, const char *suffix);
/* Load a segment. verify == 0: a closed, synced segment (indexes checked,
 * headers after the last index entry read). verify == 1: every batch from
 * file position `from` on is checked by CRC and a bad tail is cut (*cut
 * gets the bytes cut); the log before `from` must end at offset from_off
 * (a recovery point), else the whole segment is checked. */
int slog_seg_load(struct slog_seg **out, chronik_storage_partition *p,
		  int64_t base, int verify, uint64_t from, int64_t from_off,
		  uint64_t *cut);
void slog_seg_get(struct slog_seg *g);
void slog_seg_put(struct slog_seg *g);
void slog_seg_unlink(struct slog_seg *g);
int slog_seg_append(struct slog_seg *g, const chronik_storage_topic_config *c,
		    const uint8_t *batch, size_t len, const struct slog_bhdr *h);
/* Batches staged by the segment writer for one pwritev into the end of
 * one segment. Staged batches already count in the segment's size and
 * indexes, so they must be written (slog_wbuf_flush) before the
 * partition lock is released. */
#define SLOG_WBUF_IOV 64
/* And at most about this many bytes per run: the run is copied into the
 * page cache under the partition lock, which producers' appends need
 * too (a 64-batch run of ~9 KiB batches held it for hundreds of
 * microseconds). */
#define SLOG_RUN_MAX_BYTES ((size_t)64 << 10)
struct slog_wbuf {
	struct slog_seg *g;
	uint64_t pos;      /* file position of iov[0] */
	int64_t next_off;  /* g->next_off before the first staged batch */
	size_t len;
	int n;
	struct iovec iov[SLOG_WBUF_IOV];
};
/* Like slog_seg_append, but stage the bytes in wb (flushing it first
 * when it holds another segment's batches or is full); the caller keeps
 * `batch` valid until the flush. */
int slog_seg_append_staged(struct slog_seg *g,
			   const chronik_storage_topic_config *c,
			   const uint8_t *batch, size_t len,
			   const struct slog_bhdr *h, struct slog_wbuf *wb);
/* Write what wb holds. On failure the segment's size and next offset go
 * back to before the staged batches. 0 or -errno. */
int slog_wbuf_flush(struct slog_wbuf *wb);
void slog_seg_trim_indexes(struct slog_seg *g);
size_t slog_index_cap(const chronik_storage_topic_config *c);
int slog_seg_rebuild_indexes(chronik_storage *s, struct slog_seg *g,
			     const chronik_storage_topic_config *c);
/* Floor lookup: log position of the indexed batch at or before off. */
uint64_t slog_oidx_floor(const struct slog_seg *g, int64_t off);
/* Largest indexed position <= pos. */
uint64_t slog_oidx_floor_pos(const struct slog_seg *g, uint64_t pos);
/* Offset of the last time index entry with ts < target (or base). */
int64_t slog_tidx_start(const struct slog_seg *g, int64_t target);
int slog_seg_truncate(chronik_storage *s, struct slog_seg *g, uint64_t pos,
		      const chronik_storage_topic_config *c);

/* A small buffered header reader over a segment file. */
struct slog_cursor {
	int fd;
	uint64_t end;
	uint64_t wpos;
	size_t wlen;
	uint8_t win[8192];
};
void slog_cursor_init(struct slog_cursor *c, int fd, uint64_t end);
/* 1 with a header at pos, 0 at end, CHRONIK_ECORRUPT, -errno. */
int slog_cursor_hdr(struct slog_cursor *c, uint64_t pos, struct slog_bhdr *h);

/* storage.c: partitions */
int slog_part_remove_front(chronik_storage_partition *p, size_t n);

/* cleaner.c */
int slog_clean_partition(chronik_storage_partition *p, int64_t now_ms);
/* Finish compaction swaps a crash cut short (<base>.swap markers); before
 * the segments are listed. */
int slog_clean_recover(chronik_storage_partition *p);
/* The log was truncated to end: lower the persisted cleaned offset. */
int slog_clean_truncated(chronik_storage_partition *p, int64_t end);
/* Test hook: _exit(77) at step n of a compaction swap. */
extern int slog_crash_point;
void *slog_cleaner_main(void *arg);

#endif
