/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata store core: open and recovery (snapshot + log replay), the
 * commit path shared by every mutation, snapshots, close. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "meta_internal.h"
#include "fsio.h"

#define DEFAULT_SNAP_BYTES ((uint64_t)8 * 1024 * 1024)
#define DEFAULT_SEGMENT ((uint64_t)4 * 1024 * 1024)
#define SNAP_PREFIX "snapshot-"
#define SNAP_SUFFIX ".meta"

void chronik_storage_meta__set_err(chronik_storage_meta *m, const char *fmt,
				   ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof m->err, fmt, ap);
	va_end(ap);
}

static void meta_log(chronik_storage_meta *m, int level, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

static void meta_log(chronik_storage_meta *m, int level, const char *fmt,
		     ...)
{
	char msg[9000];
	va_list ap;

	if (!m->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	m->log(level, msg, m->userdata);
}

CHRONIK_STORAGE_API int chronik_storage_meta_options_init(
	chronik_storage_meta_options *opts, unsigned int version)
{
	if (!opts)
		return CHRONIK_EARG;
	if (version != 1)
		return CHRONIK_EVERSION;
	memset(opts, 0, sizeof *opts);
	opts->version = version;
	return 0;
}

CHRONIK_STORAGE_API void chronik_storage_meta_free(void *p)
{
	free(p);
}

CHRONIK_STORAGE_API const char *chronik_storage_meta_last_error(
	const chronik_storage_meta *meta)
{
	return meta ? meta->err : "";
}

/* ---- file helpers ---- */

static int read_file(const char *path, uint8_t **out, size_t *len_out)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	*out = NULL;
	*len_out = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > SIZE_MAX - 1) {
		rc = CHRONIK_ETOOBIG;
		goto out;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			free(p);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*out = p;
	*len_out = got;
out:
	close(fd);
	return rc;
}

static int parse_snap_name(const char *name, uint64_t *lsn)
{
	size_t pl = strlen(SNAP_PREFIX), sl = strlen(SNAP_SUFFIX);
	size_t n = strlen(name);
	uint64_t v = 0;

	if (n != pl + 20 + sl || strncmp(name, SNAP_PREFIX, pl) ||
	    strcmp(name + pl + 20, SNAP_SUFFIX))
		return 0;
	for (size_t i = pl; i < pl + 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*lsn = v;
	return 1;
}

static int cmp_u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Snapshot LSNs present in dir, newest first; removes leftover temps. */
static int list_snapshots(const char *dir, uint64_t **out, size_t *n_out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*n_out = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t lsn;
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".tmp") &&
		    !strncmp(de->d_name, SNAP_PREFIX, strlen(SNAP_PREFIX))) {
			/* A snapshot interrupted before its rename. */
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (!parse_snap_name(de->d_name, &lsn))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			uint64_t *nv = realloc(v, nc * sizeof *nv);

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = lsn;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, cmp_u64_desc);
	*out = v;
	*n_out = n;
	return 0;
}

static void snap_path(char *buf, size_t n, const char *dir, uint64_t lsn,
		      const char *extra)
{
	snprintf(buf, n, "%s/" SNAP_PREFIX "%020" PRIu64 SNAP_SUFFIX "%s",
		 dir, lsn, extra);
}

/* ---- log records ---- */

/* Verify one log record's framing and CRC, and apply it if kv != NULL. */
static int apply_record(struct meta_kv *kv, const uint8_t *p, size_t len,
			const char **why, size_t *at)
{
	uint32_t count;

	if (len < META_REC_HDR) {
		*why = "record shorter than its header";
		*at = 0;
		return CHRONIK_ECORRUPT;
	}
	if (p[0] != META_REC_VERSION) {
		*why = "record format version not supported";
		*at = 0;
		return CHRONIK_EVERSION;
	}
	count = meta__get32(p + 4);
	if (meta__get32(p + 8) !=
	    chronik_util_crc32c(0, p + META_REC_HDR, len - META_REC_HDR)) {
		*why = "record checksum mismatch";
		*at = 8;
		return CHRONIK_ECRC;
	}
	if (chronik_storage_meta__ops_apply(kv, p + META_REC_HDR,
					    len - META_REC_HDR, count, why,
					    at)) {
		*at += META_REC_HDR;
		return CHRONIK_ECORRUPT;
	}
	return 0;
}

struct async_ctx {
	chronik_storage_meta_commit_cb cb;
	void *userdata;
};

static void async_done(uint64_t lsn, int status, void *userdata)
{
	struct async_ctx c = *(struct async_ctx *)userdata;

	(void)lsn;
	free(userdata);
	c.cb(status, c.userdata);
}

int chronik_storage_meta__submit_locked(chronik_storage_meta *m,
					struct meta_ops *ops,
					chronik_storage_meta_commit_cb cb,
					void *userdata, uint64_t *lsn_out)
{
	uint8_t hdr[META_REC_HDR];
	chronik_wal_buf bufs[2];
	struct async_ctx *ctx = NULL;
	const char *why;
	size_t at;
	uint64_t lsn = 0;
	int rc;

	if (lsn_out)
		*lsn_out = 0;
	if (m->closing) {
		chronik_storage_meta__set_err(m, "store is closing");
		return CHRONIK_ECLOSED;
	}
	if (ops->count == 0)
		return 0;
	if (ops->buf.len + META_REC_HDR > CHRONIK_WAL_MAX_RECORD) {
		chronik_storage_meta__set_err(
			m, "mutation list of %zu bytes exceeds one record",
			ops->buf.len);
		return CHRONIK_ETOOBIG;
	}
	hdr[0] = META_REC_VERSION;
	hdr[1] = 0;
	meta__put16(hdr + 2, 0);
	meta__put32(hdr + 4, ops->count);
	meta__put32(hdr + 8,
		    chronik_util_crc32c(0, ops->buf.p, ops->buf.len));
	bufs[0].base = hdr;
	bufs[0].len = sizeof hdr;
	bufs[1].base = ops->buf.p;
	bufs[1].len = ops->buf.len;
	if (cb) {
		ctx = malloc(sizeof *ctx);
		if (!ctx)
			return -ENOMEM;
		ctx->cb = cb;
		ctx->userdata = userdata;
	}
	/* Appending under the mutex keeps the log order equal to the order
	 * in which mutations are applied in memory. */
	rc = chronik_wal_appendv(&lsn, m->wal, META_WAL_TYPE, bufs, 2, 0,
				 cb ? async_done : NULL, ctx);
	if (rc) {
		free(ctx);
		chronik_storage_meta__set_err(m, "metadata log append: %s (%s)",
					      chronik_strerror(rc),
					      chronik_wal_last_error(m->wal));
		return rc;
	}
	rc = chronik_storage_meta__ops_apply(&m->kv, ops->buf.p, ops->buf.len,
					     ops->count, &why, &at);
	if (rc) {
		/* Only an allocation failure can get here (the list was
		 * built by us); memory no longer matches the log. */
		chronik_storage_meta__set_err(m, "applying mutation: %s", why);
		m->closing = 1;
		return CHRONIK_EFAILED;
	}
	m->last_lsn = lsn;
	m->log_bytes_total += ops->buf.len + META_REC_HDR;
	chronik_storage_meta__ops_reset(ops);
	if (lsn_out)
		*lsn_out = lsn;
	return 0;
}

int chronik_storage_meta__finish_sync(chronik_storage_meta *m, uint64_t lsn)
{
	int rc, due;

	if (!lsn)
		return 0;
	rc = chronik_wal_wait(m->wal, lsn, -1);
	if (rc) {
		pthread_mutex_lock(&m->mu);
		chronik_storage_meta__set_err(
			m, "metadata log LSN %" PRIu64 " not durable: %s (%s)",
			lsn, chronik_strerror(rc),
			chronik_wal_last_error(m->wal));
		pthread_mutex_unlock(&m->mu);
		return rc;
	}
	pthread_mutex_lock(&m->mu);
	due = m->log_bytes_total - m->log_bytes_at_snapshot >=
	      m->snap_threshold;
	pthread_mutex_unlock(&m->mu);
	if (due && pthread_mutex_trylock(&m->snap_mu) == 0) {
		pthread_mutex_unlock(&m->snap_mu);
		/* A failed automatic snapshot does not fail the mutation,
		 * which is durable in the log; it is logged and retried by
		 * the next one. */
		rc = chronik_storage_meta_snapshot(m);
		if (rc)
			meta_log(m, 1, "automatic snapshot failed: %s",
				 m->err);
	}
	return 0;
}

/* ---- snapshots ---- */

static int write_snapshot_file(chronik_storage_meta *m, uint64_t lsn,
			       const struct meta_buf *b)
{
	char tmp[4200], path[4200];
	int fd, rc;

	snap_path(tmp, sizeof tmp, m->dir, lsn, ".tmp");
	snap_path(path, sizeof path, m->dir, lsn, "");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		chronik_storage_meta__set_err(m, "create %s: %s", tmp,
					      strerror(-rc));
		return rc;
	}
	rc = chronik_util_write_all(fd, b->p, b->len);
	if (!rc && !(m->flags & CHRONIK_STORAGE_META_NO_SYNC) && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (!rc && !(m->flags & CHRONIK_STORAGE_META_NO_SYNC))
		rc = chronik_util_fsync_dir(m->dir);
	if (rc) {
		unlink(tmp);
		chronik_storage_meta__set_err(m, "write snapshot %s: %s", path,
					      strerror(-rc));
	}
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_snapshot(
	chronik_storage_meta *meta)
{
	struct meta_buf b = { 0 };
	uint64_t lsn, bytes_at, prev, *snaps = NULL;
	size_t nsnaps = 0;
	int rc;

	if (!meta)
		return CHRONIK_EARG;
	pthread_mutex_lock(&meta->snap_mu);
	pthread_mutex_lock(&meta->mu);
	lsn = meta->last_lsn;
	bytes_at = meta->log_bytes_total;
	if (lsn == meta->snapshot_lsn) {
		meta->log_bytes_at_snapshot = bytes_at;
		pthread_mutex_unlock(&meta->mu);
		pthread_mutex_unlock(&meta->snap_mu);
		return 0;
	}
	rc = chronik_storage_meta__snap_encode(&b, &meta->kv, lsn);
	pthread_mutex_unlock(&meta->mu);
	if (rc)
		goto out;
	/* The snapshot must never run ahead of the durable log: after a
	 * crash the log could restart below it and new records would be
	 * mistaken for ones the snapshot already holds. */
	rc = chronik_wal_wait(meta->wal, lsn, -1);
	if (rc) {
		pthread_mutex_lock(&meta->mu);
		chronik_storage_meta__set_err(meta, "snapshot: log not durable:"
					      " %s", chronik_strerror(rc));
		pthread_mutex_unlock(&meta->mu);
		goto out;
	}
	rc = write_snapshot_file(meta, lsn, &b);
	if (rc)
		goto out;
	pthread_mutex_lock(&meta->mu);
	prev = meta->snapshot_lsn;
	meta->prev_snapshot_lsn = prev;
	meta->snapshot_lsn = lsn;
	meta->log_bytes_at_snapshot = bytes_at;
	pthread_mutex_unlock(&meta->mu);
	/* Keep this snapshot and the previous one; the log is kept from
	 * the previous one on, so that falling back to it loses nothing. */
	if (list_snapshots(meta->dir, &snaps, &nsnaps) == 0) {
		for (size_t i = 0; i < nsnaps; i++) {
			char path[4200];

			if (snaps[i] >= prev)
				continue;
			snap_path(path, sizeof path, meta->dir, snaps[i], "");
			unlink(path);
		}
		free(snaps);
	}
	rc = chronik_wal_checkpoint(meta->wal, prev + 1);
	if (rc) {
		pthread_mutex_lock(&meta->mu);
		chronik_storage_meta__set_err(
			meta, "metadata log checkpoint: %s (%s)",
			chronik_strerror(rc),
			chronik_wal_last_error(meta->wal));
		pthread_mutex_unlock(&meta->mu);
	}
out:
	chronik_storage_meta__buf_free(&b);
	pthread_mutex_unlock(&meta->snap_mu);
	return rc;
}

/* ---- open / close ---- */

static void wal_log_fwd(int level, const char *msg, void *userdata)
{
	chronik_storage_meta *m = userdata;

	if (m->log)
		m->log(level, msg, m->userdata);
}

/* Try snapshots newest first; loads the first that verifies. A corrupt
 * one is renamed to *.corrupt so that it is kept for inspection but never
 * tried (or counted as "the previous snapshot") again. */
static int load_snapshots(chronik_storage_meta *m, int *found,
			  char *first_err, size_t first_err_len)
{
	uint64_t *snaps = NULL;
	size_t n = 0;
	int rc;

	*found = 0;
	first_err[0] = 0;
	rc = list_snapshots(m->dir, &snaps, &n);
	if (rc) {
		chronik_storage_meta__set_err(m, "list %s: %s", m->dir,
					      chronik_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4200], bad[4300], why[256];
		uint8_t *data;
		size_t len, at;
		uint64_t lsn = 0;

		snap_path(path, sizeof path, m->dir, snaps[i], "");
		rc = read_file(path, &data, &len);
		if (rc) {
			snprintf(why, sizeof why, "read failed: %s",
				 chronik_strerror(rc));
			at = 0;
		} else {
			rc = chronik_storage_meta__snap_decode(
				&m->kv, &lsn, data, len, why, sizeof why, &at);
			free(data);
			if (!rc && lsn != snaps[i]) {
				snprintf(why, sizeof why,
					 "header LSN %" PRIu64
					 " does not match the file name",
					 lsn);
				rc = CHRONIK_ECORRUPT;
				at = 16;
			}
		}
		if (!rc) {
			*found = 1;
			m->snapshot_lsn = lsn;
			m->prev_snapshot_lsn = i + 1 < n ? snaps[i + 1] : 0;
			break;
		}
		if (rc == -ENOMEM) {
			free(snaps);
			chronik_storage_meta__set_err(m, "out of memory");
			return rc;
		}
		chronik_storage_meta__kv_free(&m->kv);
		if (!first_err[0])
			snprintf(first_err, first_err_len,
				 "snapshot %s: %s at offset %zu", path, why,
				 at);
		meta_log(m, 1, "skipping snapshot %s: %s at offset %zu (%s)",
			 path, why, at, chronik_strerror(rc));
		m->snapshots_skipped++;
		snprintf(bad, sizeof bad, "%s.corrupt", path);
		rename(path, bad);
	}
	free(snaps);
	return 0;
}

static int replay(chronik_storage_meta *m)
{
	chronik_wal_reader *r = NULL;
	chronik_wal_record rec;
	uint64_t from = m->snapshot_lsn + 1;
	int rc;

	rc = chronik_wal_reader_open(&r, m->wal, from);
	if (rc) {
		chronik_storage_meta__set_err(
			m, "metadata log %s/wal: cannot read from LSN %" PRIu64
			   ": %s", m->dir, from, chronik_strerror(rc));
		return rc == CHRONIK_ENOTFOUND ? CHRONIK_ECORRUPT : rc;
	}
	while ((rc = chronik_wal_reader_next(&rec, r)) == 1) {
		const char *why = NULL;
		size_t at = 0;

		if (rec.type != META_WAL_TYPE) {
			chronik_storage_meta__set_err(
				m, "metadata log %s/wal: LSN %" PRIu64
				   ": unknown record type 0x%02x",
				m->dir, rec.lsn, rec.type);
			rc = CHRONIK_ECORRUPT;
			break;
		}
		rc = apply_record(&m->kv, rec.data, rec.len, &why, &at);
		if (rc) {
			chronik_storage_meta__set_err(
				m, "metadata log %s/wal: LSN %" PRIu64
				   ", byte %zu of the record: %s",
				m->dir, rec.lsn, at, why);
			break;
		}
		m->log_bytes_total += rec.len;
		m->records_replayed++;
	}
	if (rc < 0 && !m->err[0])
		chronik_storage_meta__set_err(
			m, "metadata log %s/wal: read failed: %s (%s)", m->dir,
			chronik_strerror(rc), chronik_wal_last_error(m->wal));
	chronik_wal_reader_close(r);
	return rc < 0 ? rc : 0;
}

static int meta_open(chronik_storage_meta *m,
		     const chronik_storage_meta_options *o)
{
	chronik_wal_options wo;
	char waldir[4200], snap_err[4600];
	struct stat st;
	uint64_t first, next;
	int rc, found;

	snprintf(waldir, sizeof waldir, "%s/wal", m->dir);
	if ((o->flags & CHRONIK_STORAGE_META_NO_CREATE) &&
	    stat(waldir, &st)) {
		chronik_storage_meta__set_err(m, "no metadata store in %s",
					      m->dir);
		return CHRONIK_ENOTFOUND;
	}
	if (mkdir(m->dir, 0755) && errno != EEXIST) {
		rc = -errno;
		chronik_storage_meta__set_err(m, "mkdir %s: %s", m->dir,
					      strerror(errno));
		return rc;
	}
	chronik_wal_options_init(&wo, CHRONIK_WAL_OPTIONS_VERSION);
	wo.dir = waldir;
	wo.segment_size = o->log_segment_size ? o->log_segment_size
					      : DEFAULT_SEGMENT;
	wo.profile = CHRONIK_WAL_PROFILE_LOW;
	wo.sync_mode = (o->flags & CHRONIK_STORAGE_META_NO_SYNC)
			       ? CHRONIK_WAL_SYNC_NONE
			       : CHRONIK_WAL_SYNC_DATA;
	if (o->flags & CHRONIK_STORAGE_META_SALVAGE)
		wo.flags |= CHRONIK_WAL_OPEN_SALVAGE;
	wo.log = wal_log_fwd;
	wo.userdata = m;
	rc = chronik_wal_open(&m->wal, &wo);
	if (rc) {
		chronik_storage_meta__set_err(
			m, "metadata log %s: %s (%s)", waldir,
			chronik_strerror(rc),
			m->wal ? chronik_wal_last_error(m->wal) : "");
		chronik_wal_close(m->wal);
		m->wal = NULL;
		return rc;
	}
	rc = load_snapshots(m, &found, snap_err, sizeof snap_err);
	if (rc)
		return rc;
	first = chronik_wal_first_lsn(m->wal);
	next = chronik_wal_next_lsn(m->wal);
	if (!found && first > 1) {
		if (snap_err[0])
			chronik_storage_meta__set_err(
				m, "no usable snapshot and the metadata log "
				   "starts at LSN %" PRIu64 ": %s",
				first, snap_err);
		else
			chronik_storage_meta__set_err(
				m, "no snapshot in %s and the metadata log "
				   "starts at LSN %" PRIu64 " (snapshots lost)",
				m->dir, first);
		return CHRONIK_ECORRUPT;
	}
	if (found && m->snapshot_lsn + 1 < first) {
		chronik_storage_meta__set_err(
			m, "snapshot LSN %" PRIu64 " in %s but the metadata "
			   "log only starts at LSN %" PRIu64 "%s%s",
			m->snapshot_lsn, m->dir, first,
			snap_err[0] ? "; newer " : "", snap_err);
		return CHRONIK_ECORRUPT;
	}
	if (found && m->snapshot_lsn >= next) {
		chronik_storage_meta__set_err(
			m, "snapshot LSN %" PRIu64 " in %s is beyond the end "
			   "of the metadata log (LSN %" PRIu64 ")",
			m->snapshot_lsn, m->dir, next - 1);
		return CHRONIK_ECORRUPT;
	}
	if (snap_err[0] && found)
		meta_log(m, 1, "fell back to snapshot LSN %" PRIu64 " (%s)",
			 m->snapshot_lsn, snap_err);
	rc = replay(m);
	if (rc)
		return rc;
	m->last_lsn = next - 1;
	m->log_bytes_at_snapshot = 0;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_meta_open(
	chronik_storage_meta **out, const chronik_storage_meta_options *opts,
	char **err_out)
{
	chronik_storage_meta *m;
	int rc;

	if (err_out)
		*err_out = NULL;
	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!opts || !opts->dir || !opts->dir[0] || strlen(opts->dir) > 4000)
		return CHRONIK_EARG;
	if (opts->version < 1 || opts->version > 1)
		return CHRONIK_EVERSION;
	if (opts->log_segment_size &&
	    opts->log_segment_size < (uint64_t)64 * 1024)
		return CHRONIK_EARG;
	m = calloc(1, sizeof *m);
	if (!m)
		return -ENOMEM;
	m->dir = strdup(opts->dir);
	if (!m->dir) {
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->snap_mu, NULL);
	m->flags = opts->flags;
	m->snap_threshold = opts->snapshot_log_bytes ? opts->snapshot_log_bytes
						     : DEFAULT_SNAP_BYTES;
	m->log = opts->log;
	m->userdata = opts->userdata;
	rc = meta_open(m, opts);
	if (rc) {
		if (err_out)
			*err_out = strdup(m->err);
		meta_log(m, 0, "%s", m->err);
		m->closing = 1;
		chronik_storage_meta_close(m);
		return rc;
	}
	*out = m;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_meta_close(chronik_storage_meta *meta)
{
	int rc = 0;

	if (!meta)
		return 0;
	pthread_mutex_lock(&meta->mu);
	meta->closing = 1;
	pthread_mutex_unlock(&meta->mu);
	if (meta->wal)
		rc = chronik_wal_close(meta->wal);
	chronik_storage_meta__kv_free(&meta->kv);
	pthread_mutex_destroy(&meta->mu);
	pthread_mutex_destroy(&meta->snap_mu);
	free(meta->dir);
	free(meta);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_meta_info_get(
	chronik_storage_meta_info *out, chronik_storage_meta *meta)
{
	if (!out || !meta)
		return CHRONIK_EARG;
	pthread_mutex_lock(&meta->mu);
	out->last_lsn = meta->last_lsn;
	out->snapshot_lsn = meta->snapshot_lsn;
	out->log_bytes_since_snapshot =
		meta->log_bytes_total - meta->log_bytes_at_snapshot;
	out->entries = meta->kv.n;
	out->snapshots_skipped = meta->snapshots_skipped;
	out->records_replayed = meta->records_replayed;
	pthread_mutex_unlock(&meta->mu);
	return 0;
}
