/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the metadata-store and object-store tests. */
#ifndef TEST_META_UTIL_H
#define TEST_META_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int tm_rm_cb(const char *path, const struct stat *sb, int flag,
			   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void tm_rmrf(const char *dir)
{
	nftw(dir, tm_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temp dir; returns a malloc'd path. */
static inline char *tm_tmpdir(const char *what)
{
	const char *t = getenv("TMPDIR");
	char *p = malloc(4096);

	snprintf(p, 4096, "%s/chronik-%s-test.XXXXXX", t && *t ? t : "/tmp",
		 what);
	if (!mkdtemp(p)) {
		perror("mkdtemp");
		abort();
	}
	return p;
}

/* Flip one bit of a file at offset off (from the end if off < 0). */
static inline int tm_flip(const char *path, long off, int bit)
{
	int fd = open(path, O_RDWR);
	struct stat st;
	uint8_t b;

	if (fd < 0 || fstat(fd, &st))
		return -1;
	if (off < 0)
		off += (long)st.st_size;
	if (pread(fd, &b, 1, off) != 1) {
		close(fd);
		return -1;
	}
	b ^= (uint8_t)(1u << bit);
	if (pwrite(fd, &b, 1, off) != 1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static inline long tm_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

#endif
