/* SPDX-License-Identifier: Apache-2.0 */
#include "admin_key.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chronik/common.h"
#include "fsio.h"

/* A key file is a few dozen bytes; anything much larger is not one. */
#define KEY_FILE_MAX 1024

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

bool chronik_admin_key_equal(const char *expected, const char *given)
{
	volatile unsigned int diff;
	size_t n, m;

	if (!expected || !given)
		return false;
	n = strlen(expected);
	m = strlen(given);
	/* Visit every byte of the expected key whatever the input, so the
	 * time taken tells nothing about the first differing position. */
	diff = n != m;
	for (size_t i = 0; i < n; i++) {
		unsigned char g = i < m ? (unsigned char)given[i] : 0;

		diff |= (unsigned char)expected[i] ^ g;
	}
	return n > 0 && diff == 0;
}

/* Printable ASCII without spaces: safe in an HTTP header. */
static bool key_valid(const char *k, size_t n)
{
	if (n == 0 || n > CHRONIK_ADMIN_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return false;
	return true;
}

/* mkdir -p, new levels mode 0700. */
static int make_dirs(const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof tmp)
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -errno;
		tmp[i] = path[i];
	}
	return 0;
}

static int read_key_file(char *out, size_t outlen, const char *path,
			 char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	size_t n = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno; /* ENOENT: the caller generates one */
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, rc, "cannot stat %s: %s", path,
			    chronik_strerror(rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, CHRONIK_EARG,
			    "%s is not a regular file", path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return fail(err, errlen, CHRONIK_EARG,
			    "%s is accessible by group or others "
			    "(mode %04o); run 'chmod 600 %s' or remove it "
			    "to generate a new key",
			    path, (unsigned)(st.st_mode & 07777), path);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return fail(err, errlen, CHRONIK_EARG,
			    "%s is owned by uid %u, not by this user (uid "
			    "%u); refusing to use it",
			    path, (unsigned)st.st_uid, (unsigned)geteuid());
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			close(fd);
			return fail(err, errlen, rc, "cannot read %s: %s",
				    path, chronik_strerror(rc));
		}
		if (r == 0 || (n += (size_t)r) == sizeof buf - 1)
			break;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			 buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	if (!key_valid(buf, n) || n + 1 > outlen) {
		memset(buf, 0, sizeof buf);
		return fail(err, errlen, CHRONIK_EARG,
			    "%s does not hold a key (1 to %d printable "
			    "characters without spaces); remove it to "
			    "generate a new key",
			    path, CHRONIK_ADMIN_KEY_MAX);
	}
	memcpy(out, buf, n + 1);
	memset(buf, 0, sizeof buf);
	return 0;
}

static int random_bytes(unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		got += (size_t)r;
	}
	return 0;
}

static int generate_key_file(char *out, size_t outlen, const char *dir,
			     const char *path, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[CHRONIK_ADMIN_KEY_RANDOM_BYTES];
	char key[2 * sizeof raw + 2];
	char tmp[PATH_MAX];
	int fd = -1, rc;

	if (outlen < 2 * sizeof raw + 1)
		return fail(err, errlen, CHRONIK_EARG, "key buffer too small");
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return fail(err, errlen, -ENAMETOOLONG, "%s: %s", path,
			    chronik_strerror(-ENAMETOOLONG));
	rc = make_dirs(dir);
	if (rc != 0)
		return fail(err, errlen, rc, "cannot create %s: %s", dir,
			    chronik_strerror(rc));
	rc = random_bytes(raw, sizeof raw);
	if (rc != 0)
		return fail(err, errlen, rc, "getrandom: %s",
			    chronik_strerror(rc));
	for (size_t i = 0; i < sizeof raw; i++) {
		key[2 * i] = hex[raw[i] >> 4];
		key[2 * i + 1] = hex[raw[i] & 15];
	}
	key[2 * sizeof raw] = '\n';
	key[2 * sizeof raw + 1] = '\0';
	memset(raw, 0, sizeof raw);

	/* O_EXCL: never write through a file or link someone else put
	 * there. A leftover temporary file from a crash is removed once. */
	for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd < 0 && errno == EEXIST && attempt == 0)
			unlink(tmp);
		else if (fd < 0)
			break;
	}
	if (fd < 0) {
		rc = -errno;
		goto bad;
	}
	rc = fchmod(fd, 0600) != 0 ? -errno : 0;
	if (rc == 0)
		rc = chronik_util_write_all(fd, key, strlen(key));
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		unlink(tmp);
		goto bad;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		rc = -errno;
		unlink(tmp);
		goto bad;
	}
	rc = chronik_util_fsync_dir(dir);
	if (rc != 0)
		goto bad;
	key[2 * sizeof raw] = '\0';
	memcpy(out, key, 2 * sizeof raw + 1);
	memset(key, 0, sizeof key);
	return 0;
bad:
	memset(key, 0, sizeof key);
	return fail(err, errlen, rc, "cannot create %s: %s", path,
		    chronik_strerror(rc));
}

int chronik_admin_key_load(char *out, size_t outlen,
			   chronik_admin_key_source *source_out,
			   const char *configured, const char *data_dir,
			   chronik_log *log, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	if (err && errlen > 0)
		err[0] = '\0';
	if (!out || outlen == 0)
		return fail(err, errlen, CHRONIK_EARG, "no key buffer");
	out[0] = '\0';
	if (configured && configured[0] != '\0') {
		size_t n = strlen(configured);

		if (!key_valid(configured, n) || n + 1 > outlen)
			return fail(err, errlen, CHRONIK_EARG,
				    "admin_api_key must be 1 to %d printable "
				    "characters without spaces",
				    CHRONIK_ADMIN_KEY_MAX);
		memcpy(out, configured, n + 1);
		if (source_out)
			*source_out = CHRONIK_ADMIN_KEY_CONFIGURED;
		if (log) {
			chronik_log_info(log, "admin",
					 "admin API key: from the "
					 "configuration");
			if (n < 16)
				chronik_log_warn(log, "admin",
						 "the admin API key is short "
						 "(%zu characters); use 32 or "
						 "more random characters",
						 n);
		}
		return 0;
	}
	if (!data_dir || data_dir[0] == '\0')
		return fail(err, errlen, CHRONIK_EARG, "no data directory");
	if (snprintf(path, sizeof path, "%s/%s", data_dir,
		     CHRONIK_ADMIN_KEY_FILE) >= (int)sizeof path)
		return fail(err, errlen, -ENAMETOOLONG, "%s: %s", data_dir,
			    chronik_strerror(-ENAMETOOLONG));
	rc = read_key_file(out, outlen, path, err, errlen);
	if (rc == 0) {
		if (source_out)
			*source_out = CHRONIK_ADMIN_KEY_FILE_READ;
		if (log)
			chronik_log_info(log, "admin",
					 "admin API key: read from %s", path);
		return 0;
	}
	if (rc != -ENOENT) {
		if (err && errlen > 0 && err[0] == '\0')
			fail(err, errlen, rc, "cannot open %s: %s", path,
			     chronik_strerror(rc));
		return rc;
	}
	rc = generate_key_file(out, outlen, data_dir, path, err, errlen);
	if (rc != 0)
		return rc;
	if (source_out)
		*source_out = CHRONIK_ADMIN_KEY_GENERATED;
	if (log)
		chronik_log_info(log, "admin",
				 "admin API key: generated and stored in %s "
				 "(mode 0600); send it in the X-API-Key header",
				 path);
	return 0;
}
