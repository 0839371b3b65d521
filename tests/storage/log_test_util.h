/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the partition-log tests: temp dirs, batches, opening. */
#ifndef STORAGE_LOG_TEST_UTIL_H
#define STORAGE_LOG_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chronik/protocol_records.h"
#include "chronik/storage.h"

static inline int lt_rm_cb(const char *path, const struct stat *sb, int flag,
			   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void lt_rmrf(const char *dir)
{
	nftw(dir, lt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *lt_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *p = malloc(4096);

	snprintf(p, 4096, "%s/chronik-storage-test.XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(p))
		abort();
	return p;
}

static inline int64_t lt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void lt_sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&t, NULL);
}

/* Build a batch of n records: key "k<key0+i>" (or null with key0 < 0),
 * value `vlen` bytes derived from tag (or null with vlen < 0). Returns a
 * malloc'd copy. */
static inline uint8_t *lt_batch(size_t *len, int n, int key0, int vlen,
				uint32_t tag, int64_t ts)
{
	chronik_protocol_batch_builder *b = NULL;
	const uint8_t *out;
	uint8_t *copy;
	char key[32];
	uint8_t *val = malloc(vlen > 0 ? (size_t)vlen : 1);

	for (int i = 0; i < vlen; i++)
		val[i] = (uint8_t)(tag * 31 + (uint32_t)i);
	if (vlen >= 4)
		memcpy(val, &tag, 4);
	if (chronik_protocol_batch_builder_new(&b, NULL) != 0)
		abort();
	for (int i = 0; i < n; i++) {
		int kl = key0 >= 0 ? snprintf(key, sizeof key, "k%d",
					      key0 + i) : -1;

		if (chronik_protocol_batch_builder_append(
			    b, ts, key0 >= 0 ? key : NULL, kl,
			    vlen >= 0 ? val : NULL, vlen, NULL, 0) != 0)
			abort();
	}
	if (chronik_protocol_batch_builder_finish(&out, len, b) != 0)
		abort();
	copy = malloc(*len);
	memcpy(copy, out, *len);
	chronik_protocol_batch_builder_free(b);
	free(val);
	return copy;
}

static inline chronik_storage *lt_open(const char *dir, int sync)
{
	chronik_storage_options o;
	chronik_storage *s = NULL;
	int r;

	chronik_storage_options_init(&o, CHRONIK_STORAGE_OPTIONS_VERSION);
	o.wal_sync_mode = sync ? 0 : 2;
	o.sync_segments = sync;
	o.flush_interval_ms = 50;
	o.retention_check_ms = 3600 * 1000;
	o.wal_segment_size = 1 << 20;
	r = chronik_storage_open(&s, dir, &o);
	if (r != 0) {
		fprintf(stderr, "open %s: %s\n", dir, chronik_strerror(r));
		return NULL;
	}
	return s;
}

/* Read the whole partition from `from` into a malloc'd blob (file ranges
 * and copies alike). */
static inline uint8_t *lt_read_all(size_t *len_out, int64_t *end_out,
				   chronik_storage_partition *p, int64_t from)
{
	size_t cap = 1 << 16, len = 0;
	uint8_t *all = malloc(cap);
	uint8_t *buf = malloc(1 << 20);
	int64_t off = from;

	for (;;) {
		chronik_storage_slice sl;
		int r = chronik_storage_read(&sl, p, off, 1 << 16, buf,
					     1 << 20);

		if (r != 0 || sl.length == 0)
			break;
		if (len + sl.length > cap) {
			while (len + sl.length > cap)
				cap *= 2;
			all = realloc(all, cap);
		}
		if (sl.fd >= 0) {
			if (pread(sl.fd, all + len, sl.length,
				  (off_t)sl.file_position) !=
			    (ssize_t)sl.length)
				abort();
			close(sl.fd);
		} else {
			memcpy(all + len, buf, sl.length);
		}
		len += sl.length;
		off = sl.next_offset;
	}
	free(buf);
	*len_out = len;
	if (end_out)
		*end_out = off;
	return all;
}

#endif
