/* SPDX-License-Identifier: Apache-2.0 */
/* Local-directory object-store backend: one file per object under a root
 * directory, atomic puts through a temporary file, rename/link and
 * directory fsyncs. Keys are validated by the generic layer (no "..", no
 * absolute paths, no control characters) before they reach this file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "object_internal.h"
#include "fsio.h"

#define TMP_DIR ".chronik-tmp"
#define PATHLEN (4096 + CHRONIK_STORAGE_OBJECT_MAX_KEY + 64)
#define PLACE_RETRIES 8

struct local {
	char *root;
	unsigned int flags;
	atomic_uint_fast64_t seq;
	uint64_t nonce;
};

static int err_out(char *err, size_t errlen, int rc, const char *what,
		   const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, chronik_strerror(rc));
	return rc;
}

static int parent_sync(const struct local *l, const char *path)
{
	char dir[PATHLEN];
	char *slash;

	if (l->flags & CHRONIK_STORAGE_OBJECT_LOCAL_NO_SYNC)
		return 0;
	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = 0;
	return chronik_util_fsync_dir(dir);
}

static void obj_path(char *buf, const struct local *l, const char *key)
{
	snprintf(buf, PATHLEN, "%s/%s", l->root, key);
}

/* Create the directories leading to key; new ones are made durable in
 * their parents. -ENOENT means a concurrent delete removed a parent:
 * the caller retries. */
static int make_parents(const struct local *l, const char *key, char *err,
			size_t errlen)
{
	char path[PATHLEN];
	size_t rl = strlen(l->root);

	obj_path(path, l, key);
	for (char *p = path + rl + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (mkdir(path, 0755) == 0) {
			int rc = parent_sync(l, path);

			if (rc) {
				*p = '/';
				return err_out(err, errlen, rc,
					       "sync parent of", path);
			}
		} else if (errno != EEXIST) {
			int rc = -errno;

			if (rc != -ENOENT)
				err_out(err, errlen, rc, "mkdir", path);
			*p = '/';
			return rc;
		}
		*p = '/';
	}
	return 0;
}

static int tmp_create(struct local *l, char *tmp, char *err, size_t errlen)
{
	uint64_t n = atomic_fetch_add(&l->seq, 1);
	int fd;

	snprintf(tmp, PATHLEN, "%s/" TMP_DIR "/%ld-%016llx-%llu", l->root,
		 (long)getpid(), (unsigned long long)l->nonce,
		 (unsigned long long)n);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_out(err, errlen, -errno, "create", tmp);
	return fd;
}

static int tmp_finish(const struct local *l, int fd, const char *tmp,
		      char *err, size_t errlen)
{
	int rc = 0;

	if (!(l->flags & CHRONIK_STORAGE_OBJECT_LOCAL_NO_SYNC) && fsync(fd))
		rc = err_out(err, errlen, -errno, "fsync", tmp);
	if (close(fd) && !rc)
		rc = err_out(err, errlen, -errno, "close", tmp);
	return rc;
}

/* Move a complete, synced temporary file to the object's path. */
static int place(const struct local *l, const char *tmp, const char *key,
		 unsigned int flags, char *err, size_t errlen)
{
	char path[PATHLEN];
	int rc = 0;

	obj_path(path, l, key);
	for (int attempt = 0; attempt < PLACE_RETRIES; attempt++) {
		rc = make_parents(l, key, err, errlen);
		if (rc == -ENOENT)
			continue;
		if (rc)
			break;
		if (flags & CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE)
			rc = link(tmp, path) ? -errno : 0;
		else
			rc = rename(tmp, path) ? -errno : 0;
		if (rc != -ENOENT)
			break;
	}
	if (rc == -EEXIST || rc == -EISDIR) {
		snprintf(err, errlen, "%s exists%s", path,
			 rc == -EISDIR ? " as a directory (a prefix of other "
					 "keys)"
				       : "");
		rc = CHRONIK_EEXIST;
	} else if (rc) {
		err_out(err, errlen, rc, "place", path);
	}
	if (flags & CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE || rc)
		unlink(tmp);
	if (!rc) {
		rc = parent_sync(l, path);
		/* ENOENT: a concurrent delete already removed the object
		 * and its directory; the put itself happened before it. */
		if (rc == -ENOENT)
			rc = 0;
		if (rc)
			err_out(err, errlen, rc, "sync parent of", path);
	}
	return rc;
}

static int local_put(void *self, char *err, size_t errlen, const char *key,
		     const void *data, size_t len, unsigned int flags)
{
	struct local *l = self;
	char tmp[PATHLEN];
	int fd, rc;

	if (flags & ~CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE)
		return CHRONIK_EARG;
	fd = tmp_create(l, tmp, err, errlen);
	if (fd < 0)
		return fd;
	rc = chronik_util_write_all(fd, data, len);
	if (rc) {
		close(fd);
		unlink(tmp);
		return err_out(err, errlen, rc, "write", tmp);
	}
	rc = tmp_finish(l, fd, tmp, err, errlen);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return place(l, tmp, key, flags, err, errlen);
}

static int local_put_file(void *self, char *err, size_t errlen,
			  const char *key, const char *src, unsigned int flags)
{
	struct local *l = self;
	char tmp[PATHLEN];
	uint8_t *buf;
	int in, fd, rc = 0;

	if (flags & ~CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE)
		return CHRONIK_EARG;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_out(err, errlen, -errno, "open", src);
	buf = malloc(1 << 20);
	if (!buf) {
		close(in);
		return -ENOMEM;
	}
	fd = tmp_create(l, tmp, err, errlen);
	if (fd < 0) {
		free(buf);
		close(in);
		return fd;
	}
	for (;;) {
		ssize_t n = read(in, buf, 1 << 20);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_out(err, errlen, -errno, "read", src);
			break;
		}
		if (n == 0)
			break;
		rc = chronik_util_write_all(fd, buf, (size_t)n);
		if (rc) {
			err_out(err, errlen, rc, "write", tmp);
			break;
		}
	}
	free(buf);
	close(in);
	if (rc) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	rc = tmp_finish(l, fd, tmp, err, errlen);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return place(l, tmp, key, flags, err, errlen);
}

/* Open an object for reading; a missing file, a directory or a symlink
 * is "not found". */
static int open_obj(const struct local *l, const char *key, struct stat *st,
		    char *err, size_t errlen)
{
	char path[PATHLEN];
	int fd, rc;

	obj_path(path, l, key);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP)
			rc = CHRONIK_ENOTFOUND;
		return err_out(err, errlen, rc, "open", path);
	}
	if (fstat(fd, st)) {
		rc = -errno;
		close(fd);
		return err_out(err, errlen, rc, "stat", path);
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return err_out(err, errlen, CHRONIK_ENOTFOUND, "open", path);
	}
	return fd;
}

static int local_get(void *self, char *err, size_t errlen, const char *key,
		     uint64_t offset, uint64_t len, void **data_out,
		     size_t *len_out)
{
	struct local *l = self;
	struct stat st;
	uint64_t size, n;
	size_t got = 0;
	uint8_t *p;
	int fd = open_obj(l, key, &st, err, errlen);

	if (fd < 0)
		return fd;
	size = (uint64_t)st.st_size;
	if (offset > size) {
		close(fd);
		snprintf(err, errlen, "offset %llu beyond size %llu",
			 (unsigned long long)offset, (unsigned long long)size);
		return CHRONIK_EARG;
	}
	n = size - offset < len ? size - offset : len;
	if (n > SIZE_MAX - 1) {
		close(fd);
		return CHRONIK_ETOOBIG;
	}
	p = malloc(n ? (size_t)n : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (got < n) {
		ssize_t r = pread(fd, p + got, (size_t)n - got,
				  (off_t)(offset + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = -errno;

			free(p);
			close(fd);
			return err_out(err, errlen, rc, "read", key);
		}
		if (r == 0)
			break; /* shrunk under us: cannot happen for
				* immutable objects; return what exists */
		got += (size_t)r;
	}
	close(fd);
	*data_out = p;
	*len_out = got;
	return 0;
}

static int local_head(void *self, char *err, size_t errlen, const char *key,
		      chronik_storage_object_info *out)
{
	struct stat st;
	int fd = open_obj(self, key, &st, err, errlen);

	if (fd < 0)
		return fd;
	close(fd);
	out->size = (uint64_t)st.st_size;
	out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
			st.st_mtim.tv_nsec / 1000000;
	return 0;
}

static int local_del(void *self, char *err, size_t errlen, const char *key)
{
	struct local *l = self;
	char path[PATHLEN];
	size_t rl = strlen(l->root);
	char *slash;
	int rc;

	obj_path(path, l, key);
	if (unlink(path)) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENOTDIR || rc == -EISDIR)
			return 0; /* deleting a missing object succeeds */
		return err_out(err, errlen, rc, "unlink", path);
	}
	rc = parent_sync(l, path);
	if (rc && rc != -ENOENT)
		return err_out(err, errlen, rc, "sync parent of", path);
	/* Remove directories left empty, up to the root; a concurrent put
	 * that loses its directory retries (see place()). */
	while ((slash = strrchr(path, '/')) && (size_t)(slash - path) > rl) {
		*slash = 0;
		if (rmdir(path))
			break;
	}
	return 0;
}

/* ---- listing ---- */

struct collect {
	chronik_storage_object_entry *v;
	size_t n, cap;
	const char *prefix;
	size_t plen;
	const char *after;
};

static int collect_add(struct collect *c, const char *key,
		       const struct stat *st)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		chronik_storage_object_entry *nv =
			realloc(c->v, cap * sizeof *nv);

		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n].key = strdup(key);
	if (!c->v[c->n].key)
		return -ENOMEM;
	c->v[c->n].size = (uint64_t)st->st_size;
	c->v[c->n].mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 +
			      st->st_mtim.tv_nsec / 1000000;
	c->n++;
	return 0;
}

/* rel is the key prefix of the directory ("" or "a/b/"). */
static int walk(const struct local *l, struct collect *c, char *rel,
		size_t rlen, int depth)
{
	char path[PATHLEN];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth > 64)
		return 0;
	snprintf(path, sizeof path, "%s/%s", l->root, rel);
	d = opendir(path);
	if (!d)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 : -errno;
	while (!rc && (de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		struct stat st;
		size_t cmp;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rlen + nl + 2 > CHRONIK_STORAGE_OBJECT_MAX_KEY)
			continue;
		memcpy(rel + rlen, de->d_name, nl + 1);
		if (chronik_storage_object_key_check(rel))
			continue; /* not a key (temp dir, foreign file) */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISDIR(st.st_mode)) {
			rel[rlen + nl] = '/';
			rel[rlen + nl + 1] = 0;
			/* Descend only if the prefix and this directory can
			 * still match each other. */
			cmp = rlen + nl + 1 < c->plen ? rlen + nl + 1 : c->plen;
			if (!memcmp(rel, c->prefix, cmp))
				rc = walk(l, c, rel, rlen + nl + 1, depth + 1);
		} else if (S_ISREG(st.st_mode) &&
			   !strncmp(rel, c->prefix, c->plen) &&
			   (!c->after || strcmp(rel, c->after) > 0)) {
			rc = collect_add(c, rel, &st);
		}
	}
	closedir(d);
	rel[rlen] = 0;
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	const chronik_storage_object_entry *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static int local_list(void *self, char *err, size_t errlen,
		      const char *prefix, const char *start_after,
		      size_t max_keys, chronik_storage_object_list **out)
{
	struct local *l = self;
	struct collect c = { 0 };
	chronik_storage_object_list *res;
	char rel[CHRONIK_STORAGE_OBJECT_MAX_KEY + 2];
	const char *slash;
	size_t dl;
	int rc;

	c.prefix = prefix ? prefix : "";
	c.plen = strlen(c.prefix);
	c.after = start_after;
	/* Start at the deepest directory the prefix names. */
	slash = strrchr(c.prefix, '/');
	dl = slash ? (size_t)(slash - c.prefix) + 1 : 0;
	memcpy(rel, c.prefix, dl);
	rel[dl] = 0;
	rc = walk(l, &c, rel, dl, 0);
	res = calloc(1, sizeof *res);
	if (!rc && !res)
		rc = -ENOMEM;
	if (!rc) {
		if (c.n)
			qsort(c.v, c.n, sizeof *c.v, entry_cmp);
		if (c.n > max_keys) {
			res->next_start_after = strdup(c.v[max_keys - 1].key);
			if (!res->next_start_after)
				rc = -ENOMEM;
			for (size_t i = max_keys; i < c.n; i++)
				free((void *)c.v[i].key);
			c.n = max_keys;
		}
	}
	if (rc) {
		for (size_t i = 0; i < c.n; i++)
			free((void *)c.v[i].key);
		free(c.v);
		if (res)
			free((void *)res->next_start_after);
		free(res);
		return err_out(err, errlen, rc, "list", l->root);
	}
	res->entries = c.v;
	res->count = c.n;
	*out = res;
	return 0;
}

static void local_destroy(void *self)
{
	struct local *l = self;

	free(l->root);
	free(l);
}

static const chronik_storage_object_backend local_backend = {
	CHRONIK_STORAGE_OBJECT_BACKEND_VERSION,
	"local",
	local_put,
	local_put_file,
	local_get,
	local_head,
	local_list,
	local_del,
	local_destroy,
};

/* Remove temporary files left by a crash. Only old ones: another store
 * on the same root may be writing the young ones right now. */
static void clean_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    now - st.st_mtime < 3600)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

CHRONIK_STORAGE_API int chronik_storage_object_local_open(
	chronik_storage_object_store **out,
	const chronik_storage_object_local_options *opts)
{
	chronik_storage_object_options go = CHRONIK_STORAGE_OBJECT_OPTIONS_INIT;
	char tmp[PATHLEN];
	struct local *l;
	size_t rl;
	int rc;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!opts || !opts->root || !opts->root[0])
		return CHRONIK_EARG;
	if (opts->version < 1 || opts->version > 1)
		return CHRONIK_EVERSION;
	rl = strlen(opts->root);
	if (rl > 4000)
		return CHRONIK_EARG;
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->root = strdup(opts->root);
	if (!l->root) {
		free(l);
		return -ENOMEM;
	}
	while (rl > 1 && l->root[rl - 1] == '/')
		l->root[--rl] = 0;
	l->flags = opts->flags;
	atomic_init(&l->seq, 0);
	if (getrandom(&l->nonce, sizeof l->nonce, 0) != sizeof l->nonce)
		l->nonce = (uint64_t)(uintptr_t)l;
	snprintf(tmp, sizeof tmp, "%s/" TMP_DIR, l->root);
	if ((mkdir(l->root, 0755) && errno != EEXIST) ||
	    (mkdir(tmp, 0755) && errno != EEXIST)) {
		rc = -errno;
		local_destroy(l);
		return rc;
	}
	clean_tmp(tmp);
	go.threads = opts->threads;
	rc = chronik_storage_object_store_new(out, &local_backend, l, &go);
	if (rc)
		local_destroy(l);
	return rc;
}
