/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the WAL tests: temp dirs, file copies, payloads.
 * Include after <cmocka.h>: I/O failures fail the running test. */
#ifndef WAL_TEST_UTIL_H
#define WAL_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int wt_rm_cb(const char *path, const struct stat *sb, int flag,
			   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a directory tree. */
static inline void wt_rmrf(const char *dir)
{
	nftw(dir, wt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Make a fresh temp dir; returns a malloc'd path. */
static inline char *wt_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *p = malloc(4096);

	snprintf(p, 4096, "%s/chronik-wal-test.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(p)) {
		perror("mkdtemp");
		abort();
	}
	return p;
}

/* Deterministic payload for (lsn, len): recognisable and checkable. */
static inline void wt_fill(uint8_t *buf, size_t len, uint64_t lsn)
{
	uint64_t x = lsn * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static inline int wt_check(const uint8_t *buf, size_t len, uint64_t lsn)
{
	uint64_t x = lsn * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (buf[i] != (uint8_t)x)
			return 0;
	}
	return 1;
}

/* Payload length used for a given LSN by the tests (varies sizes). */
static inline size_t wt_len(uint64_t lsn)
{
	return (size_t)((lsn * 7919) % 3000);
}

/* Path of segment file number `idx` (sorted) in dir, or NULL. */
static inline char *wt_segment(const char *dir, int idx)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	char *res = NULL;
	int k = 0;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);

		if (l > 4 && strcmp(names[i]->d_name + l - 4, ".wal") == 0) {
			if (k++ == idx && !res) {
				res = malloc(4096);
				snprintf(res, 4096, "%s/%s", dir,
					 names[i]->d_name);
			}
		}
		free(names[i]);
	}
	free(names);
	return res;
}

static inline int wt_count_segments(const char *dir)
{
	int n = 0;
	char *p;

	while ((p = wt_segment(dir, n))) {
		free(p);
		n++;
	}
	return n;
}

/* Read/write bytes of a file at an offset. A failure fails the running
 * test (cmocka) with the path, offset and cause. */
static inline void wt_io_fail(const char *what, const char *path, off_t off,
			      size_t n, ssize_t got)
{
	fail_msg("%s %zu bytes at offset %lld of %s: %s", what, n,
		 (long long)off, path,
		 got < 0 ? strerror(errno) : "short transfer");
}

static inline void wt_poke(const char *path, off_t off, const void *b,
			   size_t n)
{
	int fd = open(path, O_WRONLY);
	ssize_t r = fd < 0 ? -1 : pwrite(fd, b, n, off);

	if (fd >= 0)
		close(fd);
	if (r != (ssize_t)n)
		wt_io_fail("write", path, off, n, r);
}

static inline void wt_peek(const char *path, off_t off, void *b, size_t n)
{
	int fd = open(path, O_RDONLY);
	ssize_t r = fd < 0 ? -1 : pread(fd, b, n, off);

	if (fd >= 0)
		close(fd);
	if (r != (ssize_t)n)
		wt_io_fail("read", path, off, n, r);
}

#endif
