/* SPDX-License-Identifier: Apache-2.0 */
/* The storage handle: open and recovery, partitions, the produce path
 * (validate, assign offsets, WAL append, commit), the segment writer
 * thread (segments, syncs, WAL checkpoints), DeleteRecords, truncation. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chronik/protocol_records.h"
#include "log_internal.h"
#include "fsio.h"
#include "thread.h"

#define LSO_MAGIC "CHRKLSTO"
#define LSO_FILE "log-start-offset"
#define RP_MAGIC "CHRKRCVP"
#define RP_FILE "recovery-point"
#define RP_VERSION 1
#define RP_SLOT 64
#define BIRTH_MAGIC "CHRKBLSN"
#define BIRTH_FILE "created-lsn"
#define DELETE_SUFFIX "-delete"
#define NEW_SUFFIX ".new"

static int mark_dirty(chronik_storage *s, struct slog_seg *g);

int64_t slog_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void slog_deadline_ms(struct timespec *dl, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, dl);
	dl->tv_sec += ms / 1000;
	dl->tv_nsec += (long)(ms % 1000) * 1000000;
	if (dl->tv_nsec >= 1000000000) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000;
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void slog_log(chronik_storage *s, int level, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (!s->opts.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	s->opts.log(level, buf, s->opts.userdata);
}

int slog_err(chronik_storage *s, int code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->lock);
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&s->lock);
	if (code == CHRONIK_ECORRUPT || code == CHRONIK_EFAILED ||
	    (code < 0 && code > -1000 && code != -ENOENT))
		slog_log(s, 0, "%s", s->err);
	return code;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ------------------------------------------------------------ configs */

CHRONIK_STORAGE_API int chronik_storage_topic_config_init(
	chronik_storage_topic_config *cfg, unsigned int version)
{
	if (!cfg)
		return CHRONIK_EARG;
	if (version != CHRONIK_STORAGE_TOPIC_CONFIG_VERSION)
		return CHRONIK_EVERSION;
	memset(cfg, 0, sizeof *cfg);
	cfg->version = version;
	cfg->retention_ms = 7LL * 24 * 3600 * 1000;
	cfg->retention_bytes = -1;
	cfg->segment_bytes = (uint64_t)1 << 30;
	cfg->segment_ms = 7LL * 24 * 3600 * 1000;
	cfg->cleanup_policy = CHRONIK_STORAGE_CLEANUP_DELETE;
	cfg->delete_retention_ms = 24LL * 3600 * 1000;
	cfg->max_message_bytes = 1024 * 1024;
	cfg->message_timestamp_type = CHRONIK_STORAGE_TIMESTAMP_CREATE_TIME;
	cfg->index_interval_bytes = 4096;
	return 0;
}

static int config_copy(chronik_storage_topic_config *dst,
		       const chronik_storage_topic_config *src)
{
	chronik_storage_topic_config c;

	chronik_storage_topic_config_init(&c,
					  CHRONIK_STORAGE_TOPIC_CONFIG_VERSION);
	if (src) {
		if (src->version != CHRONIK_STORAGE_TOPIC_CONFIG_VERSION)
			return CHRONIK_EVERSION;
		c = *src;
	}
	if (c.segment_bytes < 4096 || c.segment_bytes > INT32_MAX ||
	    c.max_message_bytes < SLOG_BATCH_HDR ||
	    c.max_message_bytes > CHRONIK_WAL_MAX_RECORD - 512 ||
	    c.index_interval_bytes == 0 ||
	    (c.cleanup_policy & ~3u) != 0 || c.cleanup_policy == 0 ||
	    (c.message_timestamp_type != 0 && c.message_timestamp_type != 1))
		return CHRONIK_EARG;
	*dst = c;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_options_init(
	chronik_storage_options *opts, unsigned int version)
{
	if (!opts)
		return CHRONIK_EARG;
	if (version != CHRONIK_STORAGE_OPTIONS_VERSION && version != 1)
		return CHRONIK_EVERSION;
	memset(opts, 0, version == 1 ? offsetof(chronik_storage_options,
						 tail_max_bytes) :
				       sizeof *opts);
	opts->version = version;
	opts->wal_profile = CHRONIK_WAL_PROFILE_MEDIUM;
	opts->wal_sync_mode = CHRONIK_WAL_SYNC_DATA;
	opts->sync_segments = 1;
	return 0;
}

/* --------------------------------------------------------- partitions */

static int valid_topic(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > 249 || !strcmp(t, ".") || !strcmp(t, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

static chronik_storage_partition *find_part(chronik_storage *s,
					    const char *topic, size_t tlen,
					    int32_t partition)
{
	for (size_t i = 0; i < s->nparts; i++) {
		chronik_storage_partition *p = s->parts[i];

		if (p->partition == partition && strlen(p->topic) == tlen &&
		    !memcmp(p->topic, topic, tlen))
			return p;
	}
	return NULL;
}

static void part_free(chronik_storage_partition *p)
{
	struct slog_entry *e, *n;

	if (!p)
		return;
	for (size_t i = 0; i < p->nsegs; i++)
		slog_seg_put(p->segs[i]);
	for (e = p->tail_head; e; e = n) {
		n = e->tail_next;
		free(e);
	}
	if (p->rp_fd >= 0)
		close(p->rp_fd);
	free(p->segs);
	free(p->topic);
	free(p->dir);
	free(p->name);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->applied_cv);
	pthread_mutex_destroy(&p->clean_mu);
	free(p);
}

static int push_seg(chronik_storage_partition *p, struct slog_seg *g)
{
	if (p->nsegs == p->capsegs) {
		size_t nc = p->capsegs ? p->capsegs * 2 : 8;
		struct slog_seg **a = realloc(p->segs, nc * sizeof *a);

		if (!a)
			return -ENOMEM;
		p->segs = a;
		p->capsegs = nc;
	}
	p->segs[p->nsegs++] = g;
	return 0;
}

/* Drop the first n segments (retention, DeleteRecords); p->lock held. */
int slog_part_remove_front(chronik_storage_partition *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		slog_seg_unlink(p->segs[i]);
		slog_seg_put(p->segs[i]);
	}
	memmove(p->segs, p->segs + n, (p->nsegs - n) * sizeof *p->segs);
	p->nsegs -= n;
	if (p->nsegs && p->segs[0]->base > p->log_start)
		p->log_start = p->segs[0]->base;
	p->dir_dirty = 1;
	return 0;
}

/* log-start-offset file (docs/formats.md): magic "CHRKLSTO", u32 version
 * 1, u32 zero, i64 offset, u32 CRC-32C of bytes 0..23, u32 zero; all
 * little-endian; replaced atomically with rename. */
static int read_lso(chronik_storage_partition *p, int64_t *out)
{
	char path[4200];
	uint8_t b[32];
	int fd;
	ssize_t n;

	*out = 0;
	snprintf(path, sizeof path, "%s/%s", p->dir, LSO_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, b, sizeof b);
	close(fd);
	if (n != (ssize_t)sizeof b || memcmp(b, LSO_MAGIC, 8) ||
	    (uint32_t)get_le64(b + 24) != chronik_protocol_crc32c(0, b, 24))
		return slog_err(p->s, CHRONIK_ECORRUPT,
				"%s: corrupt (bad magic, size or CRC)", path);
	if ((uint32_t)get_le64(b + 8) != 1)
		return slog_err(p->s, CHRONIK_EVERSION,
				"%s: unknown format version %u", path,
				(unsigned)(uint32_t)get_le64(b + 8));
	*out = (int64_t)get_le64(b + 16);
	return 0;
}

static int write_lso(chronik_storage_partition *p, int64_t off)
{
	char path[4200], tmp[4210];
	uint8_t b[32];
	int fd, r = 0;

	memset(b, 0, sizeof b);
	memcpy(b, LSO_MAGIC, 8);
	put_le64(b + 8, 1);
	put_le64(b + 16, (uint64_t)off);
	put_le64(b + 24, chronik_protocol_crc32c(0, b, 24));
	snprintf(path, sizeof path, "%s/%s", p->dir, LSO_FILE);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, b, sizeof b) != (ssize_t)sizeof b || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0)
		r = chronik_util_fsync_dir(p->dir);
	if (r < 0)
		return slog_err(p->s, r, "write %s: %s", path, strerror(-r));
	return 0;
}

/* created-lsn file (docs/formats.md): magic "CHRKBLSN", u32 version 1,
 * u32 zero, u64 LSN, u32 CRC-32C of bytes 0..23, u32 zero; little-endian.
 * Written once, in a new partition directory before it gets its name:
 * WAL records with a lower LSN belong to an earlier partition of that
 * name. Missing or damaged: 0 (every record applies, the old rule). */
static uint64_t read_birth(chronik_storage_partition *p)
{
	char path[4200];
	uint8_t b[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/%s", p->dir, BIRTH_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, b, sizeof b);
	close(fd);
	if (n != (ssize_t)sizeof b || memcmp(b, BIRTH_MAGIC, 8) ||
	    get_le32(b + 8) != 1 ||
	    get_le32(b + 24) != chronik_protocol_crc32c(0, b, 24)) {
		slog_log(p->s, 1, "%s: %s damaged; replaying every WAL "
			 "record of the partition", p->name, BIRTH_FILE);
		return 0;
	}
	return get_le64(b + 16);
}

static int write_birth(const char *dir, uint64_t lsn)
{
	char path[4400];
	uint8_t b[32];
	int fd, r = 0;

	memset(b, 0, sizeof b);
	memcpy(b, BIRTH_MAGIC, 8);
	put_le32(b + 8, 1);
	put_le64(b + 16, lsn);
	put_le32(b + 24, chronik_protocol_crc32c(0, b, 24));
	snprintf(path, sizeof path, "%s/%s", dir, BIRTH_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, b, sizeof b) != (ssize_t)sizeof b || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

/* Remove a directory and the files in it (partition directories hold
 * no subdirectories). */
static int remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4400];
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && errno != ENOENT && r == 0)
			r = -errno;
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

/* recovery-point file (docs/formats.md): two 64-byte slots, each magic
 * "CHRKRCVP", u32 version, u32 zero, u64 generation, i64 segment base,
 * u64 file position, i64 next offset, 12 zero bytes, u32 CRC-32C of bytes
 * 0..59; little-endian. The valid slot with the highest generation wins.
 * It says: the segment's bytes before the position are whole batches,
 * synced, ending at the next offset. */
struct rpoint {
	uint64_t gen;
	int64_t base;
	uint64_t pos;
	int64_t next;
};

/* 1 with a valid recovery point, 0 without (missing, damaged, unknown
 * version: then the caller checks everything). */
static int read_rp(chronik_storage_partition *p, struct rpoint *out)
{
	uint8_t b[2 * RP_SLOT];
	ssize_t n = pread(p->rp_fd, b, sizeof b, 0);
	int found = 0, other = 0;

	for (int i = 0; n == (ssize_t)sizeof b && i < 2; i++) {
		const uint8_t *x = b + i * RP_SLOT;

		if (memcmp(x, RP_MAGIC, 8) ||
		    get_le32(x + 60) != chronik_protocol_crc32c(0, x, 60)) {
			other = 1;
			continue;
		}
		if (get_le32(x + 8) != RP_VERSION) {
			other = 1;
			continue;
		}
		if (found && get_le64(x + 16) <= out->gen)
			continue;
		out->gen = get_le64(x + 16);
		out->base = (int64_t)get_le64(x + 24);
		out->pos = get_le64(x + 32);
		out->next = (int64_t)get_le64(x + 40);
		found = 1;
	}
	if (!found && n > 0)
		slog_log(p->s, 1, "%s: %s unreadable (damaged or unknown "
			 "version); checking the whole log", p->name, RP_FILE);
	(void)other;
	return found && out->base >= 0 && out->next >= out->base;
}

/* Store a recovery point for the last segment; p->lock held. With both,
 * both slots get it (after a truncation: no older slot may survive). The
 * caller syncs the file. */
static int write_rp(chronik_storage_partition *p, int both)
{
	struct slog_seg *g = p->segs[p->nsegs - 1];
	uint8_t b[2 * RP_SLOT];
	uint64_t gen = ++p->rp_gen;
	size_t slot = both ? 0 : (size_t)(gen & 1);
	size_t len = both ? 2 * RP_SLOT : RP_SLOT;

	memset(b, 0, RP_SLOT);
	memcpy(b, RP_MAGIC, 8);
	put_le32(b + 8, RP_VERSION);
	put_le64(b + 16, gen);
	put_le64(b + 24, (uint64_t)g->base);
	put_le64(b + 32, g->size);
	put_le64(b + 40, (uint64_t)(g->size ? g->next_off : g->base));
	put_le32(b + 60, chronik_protocol_crc32c(0, b, 60));
	memcpy(b + RP_SLOT, b, RP_SLOT);
	if (pwrite(p->rp_fd, b, len, (off_t)(slot * RP_SLOT)) !=
	    (ssize_t)len)
		return errno ? -errno : -EIO;
	p->rp_base = g->base;
	p->rp_dirty = 0;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Load a partition directory: every segment, the active one checked by
 * CRC, the log start offset. */
static int part_load(chronik_storage_partition *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	int64_t *bases = NULL;
	size_t n = 0, cap = 0;
	struct rpoint rp = {0};
	char rpath[4200];
	int have_rp, r = 0;

	if (!d)
		return slog_err(p->s, -errno, "open %s: %s", p->dir,
				strerror(errno));
	if ((r = slog_clean_recover(p)) < 0)
		goto out;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		size_t l = strlen(nm);
		char *end;

		if (l > 8 && (strstr(nm, ".cleaned") || strstr(nm, ".tmp"))) {
			/* A compaction or rename cut short by a crash. */
			char path[4400];

			snprintf(path, sizeof path, "%s/%s", p->dir, nm);
			unlink(path);
			continue;
		}
		if (l != 24 || strcmp(nm + 20, ".log"))
			continue;
		int64_t b = strtoll(nm, &end, 10);
		if (end != nm + 20 || b < 0)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			int64_t *a = realloc(bases, nc * sizeof *a);

			if (!a) {
				r = -ENOMEM;
				goto out;
			}
			bases = a;
			cap = nc;
		}
		bases[n++] = b;
	}
	if (n > 1)
		qsort(bases, n, sizeof *bases, cmp_i64);
	snprintf(rpath, sizeof rpath, "%s/%s", p->dir, RP_FILE);
	p->rp_fd = open(rpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (p->rp_fd < 0) {
		r = slog_err(p->s, -errno, "open %s: %s", rpath,
			     strerror(errno));
		goto out;
	}
	have_rp = read_rp(p, &rp);
	if (have_rp)
		p->rp_gen = rp.gen;
	p->birth_lsn = read_birth(p);
	for (size_t i = 0; i < n; i++) {
		struct slog_seg *g;
		int last = i + 1 == n, verify = last;
		uint64_t from = 0, cut = 0;
		int64_t from_off = 0;

		/* Segments below the recovery point were synced whole; the
		 * one it names is checked after its position, later ones
		 * (rolled since) all through. Without it, the last one. */
		if (have_rp) {
			verify = bases[i] >= rp.base;
			if (bases[i] == rp.base) {
				from = rp.pos;
				from_off = rp.next;
			}
		}
		r = slog_seg_load(&g, p, bases[i], verify, from, from_off,
				  &cut);
		if (r < 0)
			goto out;
		if (i > 0 && p->segs[i - 1]->next_off > g->base) {
			r = slog_err(p->s, CHRONIK_ECORRUPT,
				     "segment %s overlaps the previous one "
				     "(which ends at offset %" PRId64 ")",
				     g->path, p->segs[i - 1]->next_off);
			slog_seg_put(g);
			goto out;
		}
		if ((r = push_seg(p, g)) < 0) {
			slog_seg_put(g);
			goto out;
		}
		if (verify && !last)
			slog_seg_trim_indexes(g);
		/* Checked data is not known to be synced: sync it at the end
		 * of open (before the WAL checkpoint), then a new recovery
		 * point. Only while opening (the writer owns the list). */
		if (verify && g->size > from && !p->s->writer_started) {
			if ((r = mark_dirty(p->s, g)) < 0)
				goto out;
			p->rp_dirty = 1;
		}
		if (cut && !last) {
			/* A torn write in a segment rolled after the last
			 * recovery point: what follows it was never synced
			 * either, and the WAL still holds all of it. */
			for (size_t j = i + 1; j < n; j++) {
				struct slog_seg tmp = {0};
				char lp[4400];

				snprintf(lp, sizeof lp, "%s/%020" PRId64 ".log",
					 p->dir, bases[j]);
				tmp.path = lp;
				slog_log(p->s, 1, "%s: removing %s (after a "
					 "torn write)", p->name, lp);
				slog_seg_unlink(&tmp);
			}
			p->dir_dirty = 1;
			break;
		}
	}
	if (p->nsegs == 0) {
		struct slog_seg *g;

		if ((r = slog_seg_create(&g, p, 0, NULL)) < 0 ||
		    (r = push_seg(p, g)) < 0)
			goto out;
		/* An empty segment that a crash loses is created again:
		 * its directory entry is synced once it holds data. */
		p->dir_pending = 1;
	}
	r = read_lso(p, &p->log_start);
	if (r < 0)
		goto out;
	if (p->log_start < p->segs[0]->base)
		p->log_start = p->segs[0]->base;
	p->seg_end = p->segs[p->nsegs - 1]->next_off;
	if (p->log_start > p->seg_end)
		p->log_start = p->seg_end;
	p->next_offset = p->seg_end;
	atomic_store(&p->hw, p->seg_end);
	if (have_rp && !p->rp_dirty)
		p->rp_base = rp.base;
	else if (!have_rp && !p->s->writer_started)
		p->rp_dirty = 1; /* write one at the end of open */
out:
	closedir(d);
	free(bases);
	return r;
}

static int part_new(chronik_storage_partition **out, chronik_storage *s,
		    const char *topic, size_t tlen, int32_t partition)
{
	chronik_storage_partition *p = calloc(1, sizeof *p);
	size_t dl;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->partition = partition;
	p->rp_fd = -1;
	p->rp_base = -1;
	p->rp_sync_base = -1;
	p->topic = strndup(topic, tlen);
	p->name = malloc(tlen + 16);
	dl = strlen(s->topics_dir) + tlen + 16;
	p->dir = malloc(dl);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->applied_cv, NULL);
	pthread_mutex_init(&p->clean_mu, NULL);
	config_copy(&p->cfg, NULL);
	if (!p->topic || !p->name || !p->dir) {
		part_free(p);
		return -ENOMEM;
	}
	snprintf(p->name, tlen + 16, "%s-%d", p->topic, (int)partition);
	snprintf(p->dir, dl, "%s/%s", s->topics_dir, p->name);
	*out = p;
	return 0;
}

static int add_part(chronik_storage *s, chronik_storage_partition *p)
{
	if (s->nparts == s->capparts) {
		size_t nc = s->capparts ? s->capparts * 2 : 16;
		chronik_storage_partition **a =
			realloc(s->parts, nc * sizeof *a);

		if (!a)
			return -ENOMEM;
		s->parts = a;
		s->capparts = nc;
	}
	s->parts[s->nparts++] = p;
	return 0;
}

/* Find or create (directory and first segment) a partition; s->lock
 * held. */
static int get_part(chronik_storage_partition **out, chronik_storage *s,
		    const char *topic, size_t tlen, int32_t partition)
{
	chronik_storage_partition *p = find_part(s, topic, tlen, partition);
	int r;

	if (p) {
		*out = p;
		return 0;
	}
	if ((r = part_new(&p, s, topic, tlen, partition)) < 0)
		return r;
	if (access(p->dir, F_OK) < 0) {
		/* A new partition: its directory gets its name only once its
		 * created-lsn is synced in it, so no crash can leave it
		 * without one (replay would then give it the WAL records of
		 * a deleted partition of the same name). */
		char tmp[4200];

		if ((size_t)snprintf(tmp, sizeof tmp, "%s" NEW_SUFFIX,
				     p->dir) >= sizeof tmp) {
			part_free(p);
			return CHRONIK_EARG;
		}
		remove_dir(tmp);
		if (mkdir(tmp, 0755) < 0 ||
		    (r = write_birth(tmp, chronik_wal_next_lsn(s->wal))) < 0 ||
		    (r = chronik_util_fsync_dir(tmp)) < 0 || rename(tmp, p->dir) < 0) {
			if (r == 0)
				r = -errno;
			remove_dir(tmp);
			part_free(p);
			return slog_err(s, r, "create %s: %s", p->dir,
					strerror(-r));
		}
	}
	pthread_mutex_unlock(&s->lock);
	r = part_load(p);
	pthread_mutex_lock(&s->lock);
	if (r == 0)
		r = chronik_util_fsync_dir(s->topics_dir);
	if (r == 0)
		r = add_part(s, p);
	if (r < 0) {
		part_free(p);
		return r;
	}
	*out = p;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_partition_open(
	chronik_storage_partition **out, chronik_storage *s,
	const char *topic, int32_t partition,
	const chronik_storage_topic_config *cfg)
{
	chronik_storage_topic_config c;
	chronik_storage_partition *p;
	int r;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!s || !valid_topic(topic) || partition < 0)
		return CHRONIK_EARG;
	if ((r = config_copy(&c, cfg)) < 0)
		return r;
	if (atomic_load(&s->closing))
		return CHRONIK_ECLOSED;
	pthread_mutex_lock(&s->lock);
	r = get_part(&p, s, topic, strlen(topic), partition);
	if (r == 0 && p->deleting)
		r = CHRONIK_EAGAIN; /* being deleted right now */
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	p->cfg = c;
	pthread_mutex_unlock(&p->lock);
	*out = p;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_partition_set_config(
	chronik_storage_partition *p, const chronik_storage_topic_config *cfg)
{
	chronik_storage_topic_config c;
	int r;

	if (!p || !cfg)
		return CHRONIK_EARG;
	if ((r = config_copy(&c, cfg)) < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	p->cfg = c;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* -------------------------------------------------------- produce path */

/* Queue e for the segment writer. It is woken only when `wake` is set:
 * the WAL's per-record completions leave that to on_wal_commit(), which
 * calls wq_wake() after the loop's eventfd, so that the loop, which has
 * responses to send, gets the CPU first. */
static void wq_push(chronik_storage *s, struct slog_entry *e, int wake)
{
	pthread_mutex_lock(&s->wq_mu);
	e->q_next = NULL;
	if (s->wq_tail)
		s->wq_tail->q_next = e;
	else
		s->wq_head = e;
	s->wq_tail = e;
	s->wq_n++;
	s->wq_bytes += e->len;
	if (wake)
		pthread_cond_signal(&s->wq_cv);
	pthread_mutex_unlock(&s->wq_mu);
}

/* After a WAL commit (WAL thread): wake the segment writer if it has
 * queued entries and is idle, or enough is queued, or appenders wait
 * for tail space; a busy writer takes them at its next short sleep's
 * end (SLOG_WQ_POLL_MS). */
static void wq_wake(chronik_storage *s)
{
	pthread_mutex_lock(&s->wq_mu);
	if (s->wq_head &&
	    (!s->wq_polling || s->wq_n >= SLOG_WQ_WAKE_ENTRIES ||
	     s->wq_bytes >= SLOG_WQ_WAKE_BYTES ||
	     atomic_load(&s->tail_waiters) > 0))
		pthread_cond_signal(&s->wq_cv);
	pthread_mutex_unlock(&s->wq_mu);
}

/* Set while a completion callback runs: appends from it never wait for
 * tail space (the WAL thread must keep completing). */
static _Thread_local int in_completion;

static void wake_tail(chronik_storage *s)
{
	if (atomic_load(&s->tail_waiters) == 0)
		return;
	pthread_mutex_lock(&s->tail_mu);
	pthread_cond_broadcast(&s->tail_cv);
	pthread_mutex_unlock(&s->tail_mu);
}

/* The eventfd first: its reader (the server's loop) answers producers,
 * the condition variable's waiters are not on that path. */
static void wake_waiters(chronik_storage *s)
{
	uint64_t one = 1;

	(void)!write(s->efd, &one, sizeof one);
	pthread_mutex_lock(&s->hw_mu);
	pthread_cond_broadcast(&s->hw_cv);
	pthread_mutex_unlock(&s->hw_mu);
	if (atomic_load(&s->failed))
		wake_tail(s);
}

/* Take room for len bytes in the in-memory tail, waiting (unless in a
 * completion callback) while it is at the cap. */
static int tail_reserve(chronik_storage *s, size_t len)
{
	int r = 0;

	pthread_mutex_lock(&s->tail_mu);
	if (!in_completion) {
		atomic_fetch_add(&s->tail_waiters, 1);
		while (s->tail_bytes > 0 && s->tail_bytes + len > s->tail_max) {
			if (atomic_load(&s->failed)) {
				r = CHRONIK_EFAILED;
				break;
			}
			pthread_cond_wait(&s->tail_cv, &s->tail_mu);
		}
		atomic_fetch_sub(&s->tail_waiters, 1);
	}
	if (r == 0)
		s->tail_bytes += len;
	pthread_mutex_unlock(&s->tail_mu);
	return r;
}

static void tail_release(chronik_storage *s, size_t len)
{
	if (len == 0)
		return;
	pthread_mutex_lock(&s->tail_mu);
	s->tail_bytes -= len;
	if (atomic_load(&s->tail_waiters))
		pthread_cond_broadcast(&s->tail_cv);
	pthread_mutex_unlock(&s->tail_mu);
}

/* WAL completion of one batch (a WAL thread, in LSN order), and for
 * a CHRONIK_STORAGE_APPEND_WRITTEN batch first its write (WAL writer
 * thread), which runs the caller's callback early. */
static void on_wal_record(uint64_t lsn, int status, void *ud)
{
	struct slog_entry *e = ud;
	chronik_storage_partition *p = e->p;
	chronik_storage *s = p->s;

	if (status == CHRONIK_WAL_WRITTEN) {
		if (e->cb) {
			in_completion = 1;
			e->cb(p, e->base, 0, e->ud);
			in_completion = 0;
			e->cb = NULL; /* answered; durability follows */
			s->written_answered = 1;
		}
		return;
	}
	e->lsn = lsn;
	e->status = status;
	if (status == 0)
		atomic_store(&p->hw, e->last + 1);
	else
		atomic_store(&s->failed, status);
	if (e->cb) {
		in_completion = 1;
		e->cb(p, e->base, status, e->ud);
		in_completion = 0;
	}
	wq_push(s, e, status != 0);
	if (atomic_fetch_sub(&s->inflight, 1) == 1 || status != 0) {
		/* drain_inflight() waits for this. */
		pthread_mutex_lock(&s->hw_mu);
		pthread_cond_broadcast(&s->hw_cv);
		pthread_mutex_unlock(&s->hw_mu);
		if (status != 0)
			wake_tail(s);
	}
}

static void on_wal_commit(chronik_wal *w, uint64_t durable, int status,
			  void *ud)
{
	(void)w;
	(void)durable;
	(void)status;
	wake_waiters(ud);
	wq_wake(ud);
}

/* After a write with early completions (WAL writer thread): the loop
 * answers them on the eventfd. */
static void on_wal_written(chronik_wal *w, uint64_t lsn, int status,
			   void *ud)
{
	chronik_storage *s = ud;
	uint64_t one = 1;

	(void)w;
	(void)lsn;
	(void)status;
	if (s->written_answered) {
		s->written_answered = 0;
		(void)!write(s->efd, &one, sizeof one);
	}
}

static void on_wal_log(int level, const char *msg, void *ud)
{
	slog_log(ud, level, "wal: %s", msg);
}

/* Rewrite maxTimestamp and the LogAppendTime bit, then the CRC. */
static void stamp_log_append_time(uint8_t *b, size_t len, int64_t now)
{
	uint16_t attr = (uint16_t)(b[21] << 8 | b[22]);
	uint32_t crc;

	attr |= CHRONIK_PROTOCOL_ATTR_LOG_APPEND_TIME;
	b[21] = (uint8_t)(attr >> 8);
	b[22] = (uint8_t)attr;
	for (int i = 0; i < 8; i++)
		b[35 + i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
	crc = chronik_protocol_crc32c(0, b + CHRONIK_PROTOCOL_BATCH_CRC_START,
				      len - CHRONIK_PROTOCOL_BATCH_CRC_START);
	for (int i = 0; i < 4; i++)
		b[17 + i] = (uint8_t)(crc >> (24 - 8 * i));
}

/* Bytes wal_hdr() writes for p: topic length, topic, partition. */
#define WAL_HDR_LEN(p) (strlen((p)->topic) + 6)

static size_t wal_hdr(uint8_t *h, const chronik_storage_partition *p)
{
	size_t tl = strlen(p->topic);

	put_le16(h, (uint16_t)tl);
	memcpy(h + 2, p->topic, tl);
	for (int i = 0; i < 4; i++)
		h[2 + tl + i] = (uint8_t)((uint32_t)p->partition >> (8 * i));
	return tl + 6;
}

static const size_t entry_class_size[SLOG_ENTRY_CLASSES] = {
	SLOG_ENTRY_TINY, SLOG_ENTRY_SMALL
};

/* An entry with room for `need` bytes after its header: a pooled one of
 * the smallest class it fits, else its own allocation. Any thread. */
static struct slog_entry *entry_alloc(chronik_storage *s, size_t need)
{
	struct slog_entry *e = NULL;
	int c = 0;

	while (c < SLOG_ENTRY_CLASSES && sizeof *e + need > entry_class_size[c])
		c++;
	if (c == SLOG_ENTRY_CLASSES) {
		e = malloc(sizeof *e + need);
	} else {
		pthread_mutex_lock(&s->pool_mu);
		if (s->pool[c]) {
			e = s->pool[c];
			s->pool[c] = e->q_next;
			s->npool[c]--;
		}
		pthread_mutex_unlock(&s->pool_mu);
		if (!e)
			e = malloc(entry_class_size[c]);
	}
	if (!e)
		return NULL;
	memset(e, 0, sizeof *e);
	e->cls = c < SLOG_ENTRY_CLASSES ? c + 1 : 0;
	return e;
}

/* Give back an entry: pooled ones to their pool while it has room (not
 * under AddressSanitizer, so a use after free is still caught). */
static void entry_free(chronik_storage *s, struct slog_entry *e)
{
#if defined(__SANITIZE_ADDRESS__)
	e->cls = 0;
#endif
	if (e->cls) {
		int c = e->cls - 1;

		pthread_mutex_lock(&s->pool_mu);
		if (s->npool[c] < SLOG_ENTRY_POOL_MAX) {
			e->q_next = s->pool[c];
			s->pool[c] = e;
			s->npool[c]++;
			e = NULL;
		}
		pthread_mutex_unlock(&s->pool_mu);
	}
	free(e);
}

CHRONIK_STORAGE_API int chronik_storage_append(
	int64_t *base_offset_out, chronik_storage_partition *p,
	const void *batch, size_t len, unsigned int flags,
	chronik_storage_append_cb cb, void *userdata)
{
	chronik_protocol_batch_validate_options vo =
		CHRONIK_PROTOCOL_BATCH_VALIDATE_OPTIONS_INIT;
	chronik_storage *s;
	struct slog_entry *e;
	struct slog_bhdr h;
	chronik_wal_buf wb;
	unsigned int wflags;
	int problem = 0, r;
	uint8_t *b;

	if (!p || !batch || (flags & ~(CHRONIK_STORAGE_APPEND_CONTROL |
				       CHRONIK_STORAGE_APPEND_WRITTEN |
				       CHRONIK_STORAGE_APPEND_DEFER)))
		return CHRONIK_EARG;
	if (len < SLOG_BATCH_HDR)
		return CHRONIK_ETRUNCATED;
	s = p->s;
	if (atomic_load(&s->closing))
		return CHRONIK_ECLOSED;
	if ((r = atomic_load(&s->failed)) != 0)
		return CHRONIK_EFAILED;
	vo.max_batch_size = p->cfg.max_message_bytes;
	vo.allow_control = (flags & CHRONIK_STORAGE_APPEND_CONTROL) != 0;
	r = chronik_protocol_batch_validate(&problem, batch, len, &vo);
	if (r < 0)
		return slog_err(s, r, "%s: batch rejected: %s", p->name,
				chronik_protocol_batch_problem_name(problem));
	if ((r = tail_reserve(s, len)) < 0)
		return r;
	e = entry_alloc(s, len + WAL_HDR_LEN(p));
	if (!e) {
		tail_release(s, len);
		return -ENOMEM;
	}
	e->p = p;
	e->cb = cb;
	e->ud = userdata;
	e->hdr_len = wal_hdr(e->data, p);
	e->len = len;
	b = e->data + e->hdr_len;
	memcpy(b, batch, len);

	pthread_mutex_lock(&p->lock);
	if (p->deleting) {
		pthread_mutex_unlock(&p->lock);
		entry_free(s, e);
		tail_release(s, len);
		return CHRONIK_ECLOSED;
	}
	if (p->cfg.message_timestamp_type ==
	    CHRONIK_STORAGE_TIMESTAMP_LOG_APPEND_TIME)
		stamp_log_append_time(b, len, slog_now_ms());
	chronik_protocol_batch_set_base_offset(b, len, p->next_offset);
	slog_parse_hdr(&h, b);
	e->base = h.base;
	e->last = h.last;
	e->max_ts = h.max_ts;
	/* In the tail before the WAL sees it: the completion may run (and
	 * the segment writer consume the entry) before appendv returns. */
	if (p->tail_tail)
		p->tail_tail->tail_next = e;
	else
		p->tail_head = e;
	p->tail_tail = e;
	atomic_fetch_add(&s->inflight, 1);
	wb.base = e->data;
	wb.len = e->hdr_len + len;
	wflags = 0;
	if ((flags & CHRONIK_STORAGE_APPEND_WRITTEN) && cb)
		wflags = CHRONIK_WAL_APPEND_WRITTEN;
	if (flags & CHRONIK_STORAGE_APPEND_DEFER)
		wflags |= CHRONIK_WAL_APPEND_DEFER;
	r = chronik_wal_appendv(NULL, s->wal, SLOG_WAL_BATCH, &wb, 1, wflags,
				on_wal_record, e);
	if (r < 0) {
		struct slog_entry **pp = &p->tail_head;

		atomic_fetch_sub(&s->inflight, 1);
		while (*pp != e)
			pp = &(*pp)->tail_next;
		*pp = NULL;
		p->tail_tail = NULL;
		for (struct slog_entry *x = p->tail_head; x; x = x->tail_next)
			p->tail_tail = x;
		pthread_mutex_unlock(&p->lock);
		entry_free(s, e);
		tail_release(s, len);
		return slog_err(s, r, "%s: WAL append: %s (%s)", p->name,
				chronik_strerror(r),
				chronik_wal_last_error(s->wal));
	}
	p->next_offset = h.last + 1;
	pthread_mutex_unlock(&p->lock);
	if (base_offset_out)
		*base_offset_out = h.base;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_append_flush(chronik_storage *s)
{
	if (!s)
		return CHRONIK_EARG;
	return chronik_wal_flush(s->wal);
}

CHRONIK_STORAGE_API int chronik_storage_wait(chronik_storage_partition *p,
					     int64_t offset, int timeout_ms)
{
	chronik_storage *s;
	struct timespec dl;
	int r = 0;

	if (!p)
		return CHRONIK_EARG;
	s = p->s;
	if (atomic_load(&p->hw) >= offset)
		return 0;
	if (timeout_ms == 0)
		return -ETIMEDOUT;
	slog_deadline_ms(&dl, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&s->hw_mu);
	while (atomic_load(&p->hw) < offset) {
		if ((r = atomic_load(&s->failed)) != 0)
			break;
		if (timeout_ms < 0) {
			pthread_cond_wait(&s->hw_cv, &s->hw_mu);
		} else if (pthread_cond_timedwait(&s->hw_cv, &s->hw_mu, &dl) ==
			   ETIMEDOUT) {
			r = atomic_load(&p->hw) >= offset ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&s->hw_mu);
	return r;
}

CHRONIK_STORAGE_API int chronik_storage_partition_offsets(
	chronik_storage_offsets *out, chronik_storage_partition *p)
{
	if (!out || !p)
		return CHRONIK_EARG;
	pthread_mutex_lock(&p->lock);
	out->log_start_offset = p->log_start;
	out->high_watermark = atomic_load(&p->hw);
	out->last_stable_offset = out->high_watermark;
	out->log_end_offset = p->next_offset;
	out->size_bytes = 0;
	for (size_t i = 0; i < p->nsegs; i++)
		out->size_bytes += p->segs[i]->size;
	out->segments = (uint32_t)p->nsegs;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

CHRONIK_STORAGE_API int64_t chronik_storage_partition_high_watermark(
	const chronik_storage_partition *p)
{
	if (!p)
		return CHRONIK_EARG;
	return atomic_load(&((chronik_storage_partition *)p)->hw);
}

/* ------------------------------------------------------ segment writer */

static int mark_dirty(chronik_storage *s, struct slog_seg *g)
{
	if (g->dirty)
		return 0;
	if (s->ndirty == s->capdirty) {
		size_t nc = s->capdirty ? s->capdirty * 2 : 32;
		struct slog_seg **a = realloc(s->dirty, nc * sizeof *a);

		if (!a)
			return -ENOMEM;
		s->dirty = a;
		s->capdirty = nc;
	}
	g->dirty = 1;
	slog_seg_get(g);
	s->dirty[s->ndirty++] = g;
	return 0;
}

/* Copy one committed batch into its partition's active segment, rolling
 * first if needed. Writer thread; takes p->lock. With wb, the bytes are
 * staged there (written by the caller's slog_wbuf_flush before it
 * unlocks); without, written at once. */
static int apply_batch(chronik_storage *s, chronik_storage_partition *p,
		       const uint8_t *b, size_t len, int replay,
		       struct slog_wbuf *wb)
{
	struct slog_seg *g = p->segs[p->nsegs - 1];
	struct slog_bhdr h;
	int r;

	slog_parse_hdr(&h, b);
	if (h.last < p->seg_end)
		return 0; /* replay: already in the segment */
	if (h.base > p->seg_end)
		slog_log(s, 1, "%s: gap in offsets: segments end at %" PRId64
			 ", next batch starts at %" PRId64, p->name,
			 p->seg_end, h.base);
	if (g->size > 0 &&
	    (g->size + len > p->cfg.segment_bytes ||
	     slog_now_ms() - g->first_ms >= p->cfg.segment_ms ||
	     h.last - g->base > INT32_MAX)) {
		struct slog_seg *ng;

		if (wb && wb->n && (r = slog_wbuf_flush(wb)) < 0) {
			p->seg_end = g->next_off;
			return slog_err(s, r, "%s: write %s: %s", p->name,
					g->path, strerror(-r));
		}
		r = slog_seg_create(&ng, p, h.base, NULL);
		if (r < 0)
			return slog_err(s, r, "%s: roll segment at %" PRId64
					": %s", p->name, h.base,
					strerror(-r));
		if ((r = push_seg(p, ng)) < 0) {
			slog_seg_put(ng);
			return r;
		}
		slog_seg_trim_indexes(g);
		p->dir_dirty = 1;
		g = ng;
	}
	r = wb ? slog_seg_append_staged(g, &p->cfg, b, len, &h, wb)
	       : slog_seg_append(g, &p->cfg, b, len, &h);
	if (r < 0)
		return slog_err(s, r, "%s: write %s: %s", p->name, g->path,
				strerror(-r));
	p->seg_end = h.last + 1;
	p->rp_dirty = 1;
	if (p->dir_pending) {
		p->dir_pending = 0;
		p->dir_dirty = 1;
	}
	if (replay) {
		p->next_offset = p->seg_end;
		atomic_store(&p->hw, p->seg_end);
	}
	return mark_dirty(s, g);
}

/* Sync what the writer wrote, then checkpoint the WAL. Writer thread.
 * With sync_rp (open, close) every new recovery point is synced too;
 * otherwise only one whose partition grew SLOG_RP_SYNC_BYTES past its
 * last synced one or rolled, the others reach the disk with the page
 * cache's writeback: a recovery point only ever describes synced bytes,
 * so whichever version a crash leaves is true, an older one just makes
 * open check more (docs/storage.md). That saves an fdatasync per written
 * partition per flush. */
static int flush_segments(chronik_storage *s, int sync_rp)
{
	chronik_storage_partition **parts;
	size_t nparts;
	int r = 0;

	for (size_t i = 0; i < s->ndirty; i++) {
		struct slog_seg *g = s->dirty[i];

		if (r == 0 && s->opts.sync_segments && fdatasync(g->fd) < 0)
			r = slog_err(s, -errno, "fdatasync %s: %s", g->path,
				     strerror(errno));
		g->dirty = 0;
		slog_seg_put(g);
	}
	s->ndirty = 0;
	pthread_mutex_lock(&s->lock);
	nparts = s->nparts;
	parts = malloc((nparts ? nparts : 1) * sizeof *parts);
	if (parts && nparts)
		memcpy(parts, s->parts, nparts * sizeof *parts);
	pthread_mutex_unlock(&s->lock);
	if (!parts && r == 0) /* no checkpoint this time */
		r = slog_err(s, -ENOMEM, "flush: out of memory");
	/* Directory entries (segments created or removed), then new
	 * recovery points: everything written so far is synced. A
	 * recovery point that fails is not fatal (an older one stays
	 * valid, open just checks more). Partitions are never freed before
	 * close; a directory is synced under its partition's lock, which
	 * a deletion's rename takes. Without the storage's lock: appends
	 * to other partitions go on. */
	for (size_t i = 0; r == 0 && i < nparts; i++) {
		chronik_storage_partition *p = parts[i];
		int w = 0, k;
		int64_t sb = 0;
		uint64_t sp = 0;

		pthread_mutex_lock(&p->lock);
		if (p->dir_dirty && !p->deleted) {
			p->dir_dirty = 0;
			if (s->opts.sync_segments &&
			    (r = chronik_util_fsync_dir(p->dir)) < 0)
				slog_err(s, r, "fsync %s: %s", p->dir,
					 strerror(-r));
		}
		if (r == 0 && p->rp_dirty && p->rp_fd >= 0 && !p->deleted) {
			const struct slog_seg *g = p->segs[p->nsegs - 1];

			if ((k = write_rp(p, 0)) < 0)
				slog_log(s, 1, "%s: write %s: %s", p->name,
					 RP_FILE, strerror(-k));
			sb = g->base;
			sp = g->size;
			w = sync_rp || sb != p->rp_sync_base ||
			    sp < p->rp_sync_pos ||
			    sp - p->rp_sync_pos >= SLOG_RP_SYNC_BYTES;
		}
		pthread_mutex_unlock(&p->lock);
		if (w && s->opts.sync_segments && fdatasync(p->rp_fd) < 0) {
			slog_log(s, 1, "%s: sync %s: %s", p->name, RP_FILE,
				 strerror(errno));
		} else if (w) {
			p->rp_sync_base = sb;
			p->rp_sync_pos = sp;
		}
	}
	free(parts);
	if (r == 0 && s->applied_lsn > 0) {
		r = chronik_wal_checkpoint(s->wal, s->applied_lsn + 1);
		if (r < 0)
			slog_err(s, r, "WAL checkpoint: %s",
				 chronik_wal_last_error(s->wal));
	}
	return r;
}

/* Reorder the writer's list so that each partition's entries are
 * consecutive (their order kept): with many partitions produced to at
 * once, consecutive entries are of different partitions, and each would
 * be a pwritev and a lock hold of its own. Order across partitions does
 * not matter: each partition's log, tail and sizes are its own, and the
 * WAL checkpoint waits for the whole list. Writer thread. */
static struct slog_entry *group_by_partition(struct slog_entry *list)
{
	chronik_storage_partition *first = NULL, *last = NULL;
	struct slog_entry *out = NULL, **tail = &out;

	if (!list || !list->q_next)
		return list;
	while (list) {
		struct slog_entry *e = list;
		chronik_storage_partition *p = e->p;

		list = e->q_next;
		e->q_next = NULL;
		if (!p->grp_head) {
			p->grp_head = e;
			p->grp_next = NULL;
			if (last)
				last->grp_next = p;
			else
				first = p;
			last = p;
		} else {
			p->grp_tail->q_next = e;
		}
		p->grp_tail = e;
	}
	for (chronik_storage_partition *p = first; p; p = p->grp_next) {
		*tail = p->grp_head;
		tail = &p->grp_tail->q_next;
		p->grp_head = p->grp_tail = NULL;
	}
	return out;
}

static void *writer_main(void *arg)
{
	chronik_storage *s = arg;
	int64_t last_flush = mono_ms();
	unsigned iv = s->opts.flush_interval_ms ? s->opts.flush_interval_ms
						 : 1000;

	chronik_util_thread_setup("seg-writer", 1);

	for (;;) {
		struct slog_entry *list;
		uint64_t req;
		int stop;

		pthread_mutex_lock(&s->wq_mu);
		if (s->wq_polling && !s->wq_stop &&
		    s->flush_req == s->flush_done &&
		    s->wq_n < SLOG_WQ_WAKE_ENTRIES &&
		    s->wq_bytes < SLOG_WQ_WAKE_BYTES &&
		    atomic_load(&s->tail_waiters) == 0) {
			/* Busy: let a few commits' entries gather (one sleep;
			 * wq_wake() ends it early when enough is queued). */
			struct timespec dl;

			slog_deadline_ms(&dl, SLOG_WQ_POLL_MS);
			pthread_cond_timedwait(&s->wq_cv, &s->wq_mu, &dl);
		}
		/* Nothing came in a whole interval: idle, so the next
		 * commit wakes the writer at once. */
		if (!s->wq_head)
			s->wq_polling = 0;
		while (!s->wq_head && !s->wq_stop &&
		       s->flush_req == s->flush_done) {
			struct timespec dl;
			int64_t due = last_flush + iv - mono_ms();

			if (due <= 0 && s->ndirty)
				break;
			if (due <= 0)
				due = iv;
			slog_deadline_ms(&dl, due);
			pthread_cond_timedwait(&s->wq_cv, &s->wq_mu, &dl);
		}
		list = s->wq_head;
		s->wq_head = s->wq_tail = NULL;
		s->wq_n = s->wq_bytes = 0;
		if (list)
			s->wq_polling = 1;
		req = s->flush_req;
		stop = s->wq_stop;
		pthread_mutex_unlock(&s->wq_mu);

		size_t freed = 0;
		uint64_t applied = 0;

		list = group_by_partition(list);
		/* Runs of consecutive entries of one partition: their
		 * batches go out with one pwritev, under one hold of the
		 * partition lock (readers never see a size whose bytes are
		 * not written yet). */
		while (list) {
			chronik_storage_partition *p = list->p;
			struct slog_entry *run = list, *e;
			struct slog_wbuf wb;
			int n = 0, r = 0;

			wb.n = 0;
			wb.len = 0;
			wb.g = NULL;
			pthread_mutex_lock(&p->lock);
			for (e = run; e && e->p == p && n < SLOG_WBUF_IOV &&
				      (n == 0 || wb.len < SLOG_RUN_MAX_BYTES);
			     e = e->q_next, n++) {
				if (e->status == 0 && r == 0)
					r = apply_batch(s, p,
							e->data + e->hdr_len,
							e->len, 0, &wb);
			}
			list = e;
			if (r == 0 && wb.n && (r = slog_wbuf_flush(&wb)) < 0) {
				p->seg_end = p->segs[p->nsegs - 1]->next_off;
				slog_err(s, r, "%s: write: %s", p->name,
					 strerror(-r));
			}
			if (r < 0) {
				/* Durable in the WAL but not in the segment:
				 * keep the WAL and stop. */
				atomic_store(&s->failed, CHRONIK_EFAILED);
			}
			for (e = run; e != list; e = e->q_next) {
				/* Persisted (or never will be): out of the
				 * tail. */
				if (p->tail_head == e) {
					p->tail_head = e->tail_next;
					if (!p->tail_head)
						p->tail_tail = NULL;
				}
			}
			if (p->apply_waiters)
				pthread_cond_broadcast(&p->applied_cv);
			pthread_mutex_unlock(&p->lock);
			if (r < 0)
				wake_waiters(s);
			for (e = run; e != list;) {
				struct slog_entry *next = e->q_next;

				if (r == 0 && e->status == 0 &&
				    e->lsn > applied)
					applied = e->lsn;
				freed += e->len;
				entry_free(s, e);
				e = next;
			}
			if (freed >= ((size_t)1 << 20)) {
				tail_release(s, freed);
				freed = 0;
			}
		}
		tail_release(s, freed);
		/* Once the whole list is written (it is in LSN order no
		 * more): the WAL may be checkpointed up to it. */
		if (applied > s->applied_lsn && !atomic_load(&s->failed))
			s->applied_lsn = applied;
		if (stop || req != s->flush_done ||
		    mono_ms() - last_flush >= iv) {
			int r = 0;

			if (s->ndirty || req != s->flush_done || stop)
				if (!atomic_load(&s->failed))
					r = flush_segments(s, stop);
			last_flush = mono_ms();
			pthread_mutex_lock(&s->wq_mu);
			s->flush_err = r;
			s->flush_done = req;
			pthread_cond_broadcast(&s->wq_done_cv);
			if (stop && !s->wq_head) {
				pthread_mutex_unlock(&s->wq_mu);
				break;
			}
			pthread_mutex_unlock(&s->wq_mu);
		}
	}
	return NULL;
}

/* Wait for every append accepted so far to be completed by the WAL. */
static void drain_inflight(chronik_storage *s)
{
	pthread_mutex_lock(&s->hw_mu);
	while (atomic_load(&s->inflight) > 0)
		pthread_cond_wait(&s->hw_cv, &s->hw_mu);
	pthread_mutex_unlock(&s->hw_mu);
}

CHRONIK_STORAGE_API int chronik_storage_flush(chronik_storage *s)
{
	uint64_t want;
	int r;

	if (!s)
		return CHRONIK_EARG;
	drain_inflight(s);
	pthread_mutex_lock(&s->wq_mu);
	want = ++s->flush_req;
	pthread_cond_signal(&s->wq_cv);
	while (s->flush_done < want)
		pthread_cond_wait(&s->wq_done_cv, &s->wq_mu);
	r = s->flush_err;
	pthread_mutex_unlock(&s->wq_mu);
	if (r == 0 && atomic_load(&s->failed))
		r = CHRONIK_EFAILED;
	return r;
}

/* ---------------------------------------------------- truncate, delete */

static int part_truncate(chronik_storage_partition *p, int64_t offset)
{
	chronik_storage *s = p->s;
	size_t i;
	int r;

	int removed = 0;

	/* Segments wholly at or above the offset go (the first one stays,
	 * emptied, so the log keeps a segment). */
	while (p->nsegs > 1 && p->segs[p->nsegs - 1]->base >= offset) {
		struct slog_seg *g = p->segs[--p->nsegs];

		slog_seg_unlink(g);
		slog_seg_put(g);
		p->dir_dirty = 1;
		removed = 1;
	}
	i = p->nsegs - 1;
	struct slog_seg *g = p->segs[i];
	struct slog_cursor cur;
	struct slog_bhdr h;
	uint64_t pos = slog_oidx_floor(g, offset);

	slog_cursor_init(&cur, g->fd, g->size);
	while ((r = slog_cursor_hdr(&cur, pos, &h)) == 1 && h.last < offset)
		pos += h.size;
	if (r < 0)
		return slog_err(s, r, "%s: truncate: bad batch in %s at %"
				PRIu64, p->name, g->path, pos);
	if (pos < g->size) {
		r = slog_seg_truncate(s, g, pos, &p->cfg);
		if (r < 0)
			return r;
	} else if (s->opts.sync_segments && fdatasync(g->fd) < 0) {
		return slog_err(s, -errno, "fdatasync %s: %s", g->path,
				strerror(errno));
	}
	if (removed && s->opts.sync_segments &&
	    (r = chronik_util_fsync_dir(p->dir)) < 0)
		return slog_err(s, r, "fsync %s: %s", p->dir, strerror(-r));
	/* A new recovery point at once, in both slots: an older one may lie
	 * past the cut, where new batches will be written. If that fails,
	 * no recovery point at all (open then checks the whole log). */
	if (p->rp_fd >= 0 &&
	    ((r = write_rp(p, 1)) < 0 ||
	     (s->opts.sync_segments && fdatasync(p->rp_fd) < 0))) {
		char rpath[4200];

		snprintf(rpath, sizeof rpath, "%s/%s", p->dir, RP_FILE);
		if (unlink(rpath) < 0 || chronik_util_fsync_dir(p->dir) < 0)
			return slog_err(s, CHRONIK_EFAILED, "%s: truncate: "
					"cannot update or remove %s",
					p->name, rpath);
		close(p->rp_fd);
		p->rp_fd = -1;
		p->rp_base = -1;
	}
	p->seg_end = g->size ? g->next_off : g->base;
	if (g->size == 0 && g->base > offset)
		p->seg_end = g->base;
	if ((r = slog_clean_truncated(p, p->seg_end)) < 0)
		return r;
	p->next_offset = p->seg_end;
	atomic_store(&p->hw, p->seg_end);
	if (p->log_start > p->seg_end)
		p->log_start = p->seg_end;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_truncate(
	chronik_storage_partition *p, int64_t offset)
{
	chronik_storage *s;
	uint8_t rec[300];
	uint64_t lsn;
	size_t n;
	int r;

	if (!p || offset < 0)
		return CHRONIK_EARG;
	s = p->s;
	pthread_mutex_lock(&p->clean_mu);
	pthread_mutex_lock(&p->lock);
	if (p->deleting) {
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_unlock(&p->clean_mu);
		return CHRONIK_ECLOSED;
	}
	if (offset < p->log_start) {
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_unlock(&p->clean_mu);
		return CHRONIK_EARG;
	}
	/* Appends in flight must reach the segment first. */
	p->apply_waiters++;
	while (p->seg_end < p->next_offset && !atomic_load(&s->failed))
		pthread_cond_wait(&p->applied_cv, &p->lock);
	p->apply_waiters--;
	if (offset >= p->next_offset) {
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_unlock(&p->clean_mu);
		return 0;
	}
	n = wal_hdr(rec, p);
	put_le64(rec + n, (uint64_t)offset);
	r = chronik_wal_append(&lsn, s->wal, SLOG_WAL_TRUNCATE, rec, n + 8);
	if (r == 0)
		r = chronik_wal_wait(s->wal, lsn, -1);
	if (r == 0)
		r = part_truncate(p, offset);
	else
		slog_err(s, r, "%s: truncate: WAL: %s", p->name,
			 chronik_wal_last_error(s->wal));
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->clean_mu);
	return r;
}

CHRONIK_STORAGE_API int chronik_storage_delete_records(
	chronik_storage_partition *p, int64_t offset)
{
	int r = 0;

	if (!p || offset < 0)
		return CHRONIK_EARG;
	pthread_mutex_lock(&p->clean_mu);
	pthread_mutex_lock(&p->lock);
	if (p->deleting) {
		r = CHRONIK_ECLOSED;
	} else if (offset > atomic_load(&p->hw)) {
		r = CHRONIK_ENOTFOUND;
	} else if (offset > p->log_start) {
		r = write_lso(p, offset);
		if (r == 0)
			p->log_start = offset;
	}
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->clean_mu);
	return r;
}

/* ------------------------------------------------- partition deletion */

static int queue_del_dir(chronik_storage *s, const char *path)
{
	char *c = strdup(path);
	int r = 0;

	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&s->cl_mu);
	if (s->ndel_dirs == s->capdel_dirs) {
		size_t nc = s->capdel_dirs ? s->capdel_dirs * 2 : 8;
		char **a = realloc(s->del_dirs, nc * sizeof *a);

		if (!a)
			r = -ENOMEM;
		else {
			s->del_dirs = a;
			s->capdel_dirs = nc;
		}
	}
	if (r == 0) {
		s->del_dirs[s->ndel_dirs++] = c;
		pthread_cond_signal(&s->cl_cv);
	}
	pthread_mutex_unlock(&s->cl_mu);
	if (r < 0)
		free(c);
	return r;
}

void slog_remove_deleted_dirs(chronik_storage *s)
{
	for (;;) {
		char *dir = NULL;
		int r;

		pthread_mutex_lock(&s->cl_mu);
		if (s->ndel_dirs)
			dir = s->del_dirs[--s->ndel_dirs];
		pthread_mutex_unlock(&s->cl_mu);
		if (!dir)
			return;
		r = remove_dir(dir);
		if (r < 0)
			slog_log(s, 1, "removing %s: %s", dir, strerror(-r));
		else
			slog_log(s, 2, "removed %s", dir);
		free(dir);
	}
}

CHRONIK_STORAGE_API int chronik_storage_partition_delete(
	chronik_storage *s, const char *topic, int32_t partition)
{
	chronik_storage_partition *p;
	char dead[4400];
	uint8_t id[8];
	size_t i;
	int r = 0;

	if (!s || !valid_topic(topic) || partition < 0)
		return CHRONIK_EARG;
	if (atomic_load(&s->closing))
		return CHRONIK_ECLOSED;
	pthread_mutex_lock(&s->lock);
	p = find_part(s, topic, strlen(topic), partition);
	if (p && p->deleting)
		r = CHRONIK_EAGAIN;
	else if (p)
		p->deleting = 1; /* partition_open refuses it from now on */
	pthread_mutex_unlock(&s->lock);
	if (!p)
		return CHRONIK_ENOTFOUND;
	if (r < 0)
		return r;
	/* No cleaner pass on it from here on; appends refuse. Appends in
	 * flight reach the segment first (then nothing refers to the
	 * partition's segments but the writer's synced-later list). */
	pthread_mutex_lock(&p->clean_mu);
	pthread_mutex_lock(&p->lock);
	p->apply_waiters++;
	while (p->seg_end < p->next_offset && !atomic_load(&s->failed))
		pthread_cond_wait(&p->applied_cv, &p->lock);
	p->apply_waiters--;
	if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id) {
		uint64_t t = (uint64_t)mono_ms() ^ (uint64_t)(uintptr_t)p;
		put_le64(id, t);
	}
	snprintf(dead, sizeof dead, "%s.%016" PRIx64 DELETE_SUFFIX, p->dir,
		 get_le64(id));
	/* The rename and leaving the table happen together under s->lock,
	 * so the writer never fsyncs a directory that moved. */
	pthread_mutex_lock(&s->lock);
	if (rename(p->dir, dead) < 0) {
		r = -errno;
	} else {
		for (i = 0; i < s->nparts && s->parts[i] != p; i++)
			;
		if (i < s->nparts) {
			memmove(s->parts + i, s->parts + i + 1,
				(s->nparts - i - 1) * sizeof *s->parts);
			s->nparts--;
		}
		if (s->ngraveyard == s->capgraveyard) {
			size_t nc = s->capgraveyard ? s->capgraveyard * 2 : 8;
			void *a = realloc(s->graveyard, nc * sizeof *s->parts);

			if (a) {
				s->graveyard = a;
				s->capgraveyard = nc;
			}
		}
		/* Without room the struct leaks rather than be freed under
		 * another thread. */
		if (s->ngraveyard < s->capgraveyard)
			s->graveyard[s->ngraveyard++] = p;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		p->deleting = 0;
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_unlock(&p->clean_mu);
		pthread_mutex_lock(&s->lock);
		p->deleting = 0;
		pthread_mutex_unlock(&s->lock);
		return slog_err(s, r, "delete %s: rename to %s: %s", p->name,
				dead, strerror(-r));
	}
	/* Durable: from here on a restart neither finds the directory nor
	 * replays the partition's WAL records. */
	r = chronik_util_fsync_dir(s->topics_dir);
	for (i = 0; i < p->nsegs; i++)
		slog_seg_put(p->segs[i]);
	p->nsegs = 0;
	p->rp_dirty = 0;
	p->dir_dirty = 0;
	p->deleted = 1;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->clean_mu);
	if (r < 0)
		return slog_err(s, CHRONIK_EFAILED, "delete %s: fsync %s: %s",
				p->name, s->topics_dir, strerror(-r));
	slog_log(s, 2, "%s: deleted (files go in the background)", p->name);
	if (queue_del_dir(s, dead) < 0)
		slog_log(s, 1, "%s: left for the next open", dead);
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_wal_stats(
	struct chronik_wal_stats *out, chronik_storage *s)
{
	if (!out || !s)
		return CHRONIK_EARG;
	return chronik_wal_stats_get(out, s->wal);
}

/* --------------------------------------------------- open and recovery */

static int replay(chronik_storage *s)
{
	chronik_wal_reader *rd = NULL;
	chronik_wal_record rec;
	uint64_t from = chronik_wal_checkpoint_lsn(s->wal);
	uint64_t bytes = 0, nrec = 0, skipped = 0, next_report = 256u << 20;
	uint64_t last_lsn = chronik_wal_next_lsn(s->wal) - 1;
	int k, r = 0;

	if (from < chronik_wal_first_lsn(s->wal))
		from = chronik_wal_first_lsn(s->wal);
	if (from > last_lsn)
		return 0;
	slog_log(s, 2, "replaying WAL records %" PRIu64 "..%" PRIu64, from,
		 last_lsn);
	if ((r = chronik_wal_reader_open(&rd, s->wal, from)) < 0)
		return slog_err(s, r, "WAL reader: %s", chronik_strerror(r));
	while ((k = chronik_wal_reader_next(&rec, rd)) == 1) {
		const uint8_t *d = rec.data;
		chronik_storage_partition *p;
		size_t tl;
		int32_t part;

		if (rec.len < 6 || (tl = (size_t)(d[0] | d[1] << 8)) + 6 >
					   rec.len) {
			r = slog_err(s, CHRONIK_ECORRUPT, "WAL record %" PRIu64
				     ": malformed storage record", rec.lsn);
			break;
		}
		part = (int32_t)((uint32_t)d[2 + tl] |
				 (uint32_t)d[3 + tl] << 8 |
				 (uint32_t)d[4 + tl] << 16 |
				 (uint32_t)d[5 + tl] << 24);
		/* Only partitions whose directory exists: a record of a
		 * partition without one (deleted: the rename is durable
		 * before the deletion returns) or older than the
		 * partition's created-lsn (an earlier partition of that
		 * name) must not bring the old data back. */
		pthread_mutex_lock(&s->lock);
		p = find_part(s, (const char *)d + 2, tl, part);
		pthread_mutex_unlock(&s->lock);
		if (!p || rec.lsn < p->birth_lsn) {
			skipped++;
			continue;
		}
		d += tl + 6;
		if (rec.type == SLOG_WAL_BATCH &&
		    rec.len - tl - 6 >= SLOG_BATCH_HDR) {
			pthread_mutex_lock(&p->lock);
			r = apply_batch(s, p, d, rec.len - tl - 6, 1, NULL);
			pthread_mutex_unlock(&p->lock);
		} else if (rec.type == SLOG_WAL_TRUNCATE &&
			   rec.len - tl - 6 == 8) {
			int64_t off = (int64_t)get_le64(d);

			pthread_mutex_lock(&p->lock);
			if (off < p->seg_end)
				r = part_truncate(p, off);
			pthread_mutex_unlock(&p->lock);
		} else {
			slog_log(s, 1, "WAL record %" PRIu64 ": unknown type "
				 "%u ignored", rec.lsn, rec.type);
		}
		if (r < 0)
			break;
		nrec++;
		bytes += rec.len;
		if (bytes >= next_report) {
			slog_log(s, 2, "WAL replay: %" PRIu64 " records, %"
				 PRIu64 " MiB", nrec, bytes >> 20);
			next_report += 256u << 20;
		}
	}
	if (k < 0 && r == 0)
		r = slog_err(s, k, "WAL replay: %s", chronik_strerror(k));
	chronik_wal_reader_close(rd);
	s->applied_lsn = last_lsn;
	slog_log(s, 2, "WAL replay done: %" PRIu64 " records, %" PRIu64
		 " bytes; %" PRIu64 " records of deleted partitions skipped",
		 nrec, bytes, skipped);
	return r;
}

static int load_all(chronik_storage *s)
{
	DIR *d = opendir(s->topics_dir);
	struct dirent *de;
	size_t total = 0, done = 0;
	int r = 0;

	if (!d)
		return slog_err(s, -errno, "open %s: %s", s->topics_dir,
				strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			total++;
	rewinddir(d);
	while ((de = readdir(d))) {
		const char *dash = strrchr(de->d_name, '-');
		chronik_storage_partition *p;
		char *end;
		long part;

		if (de->d_name[0] == '.' || !dash)
			continue;
		size_t nl = strlen(de->d_name);
		if (!strcmp(dash, DELETE_SUFFIX) ||
		    (nl > 4 && !strcmp(de->d_name + nl - 4, NEW_SUFFIX))) {
			/* A deleted partition not yet removed, or a new one
			 * that never got its name: remove it (in the
			 * background: it may be large). */
			char path[4400];

			snprintf(path, sizeof path, "%s/%s", s->topics_dir,
				 de->d_name);
			if ((r = queue_del_dir(s, path)) < 0)
				break;
			continue;
		}
		part = strtol(dash + 1, &end, 10);
		if (*end || dash[1] == 0 || part < 0 || part > INT32_MAX) {
			slog_log(s, 1, "%s/%s: not a partition directory",
				 s->topics_dir, de->d_name);
			continue;
		}
		if ((r = part_new(&p, s, de->d_name,
				  (size_t)(dash - de->d_name),
				  (int32_t)part)) < 0)
			break;
		if ((r = part_load(p)) < 0 || (r = add_part(s, p)) < 0) {
			part_free(p);
			break;
		}
		done++;
		if (done % 100 == 0 || done == total)
			slog_log(s, 2, "recovered %zu/%zu partitions", done,
				 total);
	}
	closedir(d);
	return r;
}

CHRONIK_STORAGE_API int chronik_storage_open(
	chronik_storage **out, const char *dir,
	const chronik_storage_options *opts)
{
	chronik_wal_options wo = CHRONIK_WAL_OPTIONS_INIT;
	chronik_storage *s;
	size_t dl;
	char *wdir;
	int r;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!dir || !*dir)
		return CHRONIK_EARG;
	if (opts && opts->version != CHRONIK_STORAGE_OPTIONS_VERSION &&
	    opts->version != 1)
		return CHRONIK_EVERSION;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	chronik_storage_options_init(&s->opts,
				     CHRONIK_STORAGE_OPTIONS_VERSION);
	if (opts)
		memcpy(&s->opts, opts, opts->version == 1 ?
			       offsetof(chronik_storage_options,
					tail_max_bytes) : sizeof *opts);
	s->tail_max = s->opts.tail_max_bytes ? s->opts.tail_max_bytes :
					       (size_t)256 << 20;
	s->efd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_mutex_init(&s->hw_mu, NULL);
	pthread_cond_init(&s->hw_cv, NULL);
	pthread_mutex_init(&s->tail_mu, NULL);
	pthread_cond_init(&s->tail_cv, NULL);
	pthread_mutex_init(&s->wq_mu, NULL);
	pthread_cond_init(&s->wq_cv, NULL);
	pthread_cond_init(&s->wq_done_cv, NULL);
	pthread_mutex_init(&s->cl_mu, NULL);
	pthread_cond_init(&s->cl_cv, NULL);
	dl = strlen(dir) + 16;
	s->dir = strdup(dir);
	s->topics_dir = malloc(dl);
	wdir = malloc(dl);
	if (!s->dir || !s->topics_dir || !wdir) {
		free(wdir);
		chronik_storage_close(s);
		return -ENOMEM;
	}
	snprintf(s->topics_dir, dl, "%s/topics", dir);
	snprintf(wdir, dl, "%s/wal", dir);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(s->topics_dir, 0755) < 0 && errno != EEXIST)) {
		r = -errno;
		free(wdir);
		chronik_storage_close(s);
		return r;
	}
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		r = -errno;
		free(wdir);
		chronik_storage_close(s);
		return r;
	}
	wo.dir = wdir;
	wo.segment_size = s->opts.wal_segment_size;
	wo.profile = (enum chronik_wal_profile)s->opts.wal_profile;
	wo.sync_mode = (enum chronik_wal_sync_mode)s->opts.wal_sync_mode;
	wo.on_commit = on_wal_commit;
	wo.on_written = on_wal_written;
	wo.log = on_wal_log;
	wo.userdata = s;
	r = chronik_wal_open(&s->wal, &wo);
	free(wdir);
	if (r < 0) {
		slog_err(s, r, "WAL: %s",
			 s->wal ? chronik_wal_last_error(s->wal) :
				  chronik_strerror(r));
		*out = NULL;
		chronik_wal_close(s->wal);
		s->wal = NULL;
		chronik_storage_close(s);
		return r;
	}
	if ((r = load_all(s)) < 0 || (r = replay(s)) < 0 ||
	    (r = flush_segments(s, 1)) < 0)
		goto fail;
	if ((r = -pthread_create(&s->writer, NULL, writer_main, s)) < 0)
		goto fail;
	s->writer_started = 1;
	if ((r = -pthread_create(&s->cleaner, NULL, slog_cleaner_main, s)) <
	    0)
		goto fail;
	s->cleaner_started = 1;
	*out = s;
	return 0;
fail:
	chronik_storage_close(s);
	return r;
}

CHRONIK_STORAGE_API int chronik_storage_close(chronik_storage *s)
{
	int r = 0;

	if (!s)
		return 0;
	atomic_store(&s->closing, 1);
	if (s->cleaner_started) {
		pthread_mutex_lock(&s->cl_mu);
		s->cl_stop = 1;
		pthread_cond_signal(&s->cl_cv);
		pthread_mutex_unlock(&s->cl_mu);
		pthread_join(s->cleaner, NULL);
	}
	drain_inflight(s);
	if (s->writer_started) {
		pthread_mutex_lock(&s->wq_mu);
		s->wq_stop = 1;
		pthread_cond_signal(&s->wq_cv);
		pthread_mutex_unlock(&s->wq_mu);
		pthread_join(s->writer, NULL);
		r = s->flush_err;
	} else {
		for (size_t i = 0; i < s->ndirty; i++)
			slog_seg_put(s->dirty[i]);
	}
	if (s->wal) {
		int w = chronik_wal_close(s->wal);

		if (r == 0)
			r = w;
	}
	if (r == 0 && atomic_load(&s->failed))
		r = CHRONIK_EFAILED;
	for (size_t i = 0; i < s->nparts; i++)
		part_free(s->parts[i]);
	free(s->parts);
	for (size_t i = 0; i < s->ngraveyard; i++)
		part_free(s->graveyard[i]);
	free(s->graveyard);
	for (size_t i = 0; i < s->ndel_dirs; i++)
		free(s->del_dirs[i]); /* removed at the next open */
	free(s->del_dirs);
	free(s->dirty);
	if (s->efd >= 0)
		close(s->efd);
	for (int c = 0; c < SLOG_ENTRY_CLASSES; c++)
		while (s->pool[c]) {
			struct slog_entry *e = s->pool[c];

			s->pool[c] = e->q_next;
			free(e);
		}
	pthread_mutex_destroy(&s->pool_mu);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->hw_mu);
	pthread_cond_destroy(&s->hw_cv);
	pthread_mutex_destroy(&s->tail_mu);
	pthread_cond_destroy(&s->tail_cv);
	pthread_mutex_destroy(&s->wq_mu);
	pthread_cond_destroy(&s->wq_cv);
	pthread_cond_destroy(&s->wq_done_cv);
	pthread_mutex_destroy(&s->cl_mu);
	pthread_cond_destroy(&s->cl_cv);
	free(s->dir);
	free(s->topics_dir);
	free(s);
	return r;
}

CHRONIK_STORAGE_API const char *chronik_storage_last_error(
	const chronik_storage *s)
{
	return s ? s->err : "";
}

CHRONIK_STORAGE_API int chronik_storage_event_fd(const chronik_storage *s)
{
	return s ? s->efd : CHRONIK_EARG;
}
