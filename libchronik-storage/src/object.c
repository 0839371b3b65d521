/* SPDX-License-Identifier: Apache-2.0 */
/* Object store generic layer: key rules, error text, synchronous calls in
 * the caller's thread and asynchronous ones on a small worker pool. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object_internal.h"
#include "thread.h"

#define ERRLEN 512

enum req_op { OP_PUT, OP_PUT_FILE, OP_GET, OP_HEAD, OP_LIST, OP_DEL };

struct req {
	struct req *next;
	enum req_op op;
	char *key; /* key, or prefix for list */
	char *arg; /* path for put_file, start_after for list */
	const void *data;
	size_t len;
	uint64_t offset, range;
	unsigned int flags;
	void (*cb)(void);
	void *userdata;
};

struct chronik_storage_object_store {
	const chronik_storage_object_backend *be;
	void *self;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct req *head, *tail;
	unsigned int queued;
	unsigned int max_queued;
	unsigned int nthreads;
	unsigned int started;
	pthread_t *threads;
	int stopping;
	pthread_mutex_t err_mu;
	char err[ERRLEN];
};

/* ---- keys ---- */

static int component_ok(const char *c, size_t n, int last_may_be_partial)
{
	if (n == 0)
		return last_may_be_partial;
	if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
		return last_may_be_partial == 2;
	if (n >= 8 && !memcmp(c, ".chronik", 8))
		return 0;
	return 1;
}

/* mode 0: a key; mode 1: a list prefix (may be "", end with '/', or end
 * inside a component, e.g. "seg" or "." as the start of ".x"). */
int chronik_storage_object__name_check(const char *s, int mode)
{
	size_t n, start = 0;

	if (!s)
		return mode ? 0 : CHRONIK_EARG;
	n = strnlen(s, CHRONIK_STORAGE_OBJECT_MAX_KEY + 1);
	if (n > CHRONIK_STORAGE_OBJECT_MAX_KEY || (!mode && n == 0))
		return CHRONIK_EARG;
	if (n && s[0] == '/')
		return CHRONIK_EARG;
	for (size_t i = 0; i <= n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i < n && (ch < 0x20 || ch == 0x7f))
			return CHRONIK_EARG;
		if (i < n && ch != '/')
			continue;
		/* s[start..i) is a component; the last one of a prefix
		 * may be partial ("" or "." or ".." is then a start). */
		if (!component_ok(s + start, i - start,
				  (mode && i == n) ? 2 : 0))
			return CHRONIK_EARG;
		start = i + 1;
	}
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_object_key_check(const char *key)
{
	return chronik_storage_object__name_check(key, 0);
}

/* ---- handle ---- */

static void set_err(chronik_storage_object_store *s, int rc,
		    const char *what, const char *key, const char *detail)
{
	pthread_mutex_lock(&s->err_mu);
	snprintf(s->err, sizeof s->err, "%s %s '%s': %s%s%s",
		 s->be->name ? s->be->name : "backend", what, key ? key : "",
		 chronik_strerror(rc), detail && detail[0] ? ": " : "",
		 detail ? detail : "");
	pthread_mutex_unlock(&s->err_mu);
}

CHRONIK_STORAGE_API int chronik_storage_object_options_init(
	chronik_storage_object_options *opts, unsigned int version)
{
	if (!opts)
		return CHRONIK_EARG;
	if (version != 1)
		return CHRONIK_EVERSION;
	memset(opts, 0, sizeof *opts);
	opts->version = version;
	return 0;
}

CHRONIK_STORAGE_API int chronik_storage_object_store_new(
	chronik_storage_object_store **out,
	const chronik_storage_object_backend *backend, void *self,
	const chronik_storage_object_options *opts)
{
	chronik_storage_object_store *s;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (!backend || !backend->put || !backend->get || !backend->head ||
	    !backend->list || !backend->del)
		return CHRONIK_EARG;
	if (backend->version != CHRONIK_STORAGE_OBJECT_BACKEND_VERSION ||
	    (opts && (opts->version < 1 || opts->version > 1)))
		return CHRONIK_EVERSION;
	s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->be = backend;
	s->self = self;
	s->nthreads = opts && opts->threads ? opts->threads : 4;
	if (s->nthreads > 256)
		s->nthreads = 256;
	s->max_queued = opts && opts->max_queued ? opts->max_queued : 1024;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->err_mu, NULL);
	*out = s;
	return 0;
}

CHRONIK_STORAGE_API const char *chronik_storage_object_last_error(
	const chronik_storage_object_store *store)
{
	return store ? store->err : "";
}

CHRONIK_STORAGE_API const char *chronik_storage_object_backend_name(
	const chronik_storage_object_store *store)
{
	return store && store->be->name ? store->be->name : "unknown";
}

CHRONIK_STORAGE_API void chronik_storage_object_free(void *p)
{
	free(p);
}

CHRONIK_STORAGE_API void chronik_storage_object_list_free(
	chronik_storage_object_list *list)
{
	if (!list)
		return;
	/* Backends allocate the struct, the entry array, each key and the
	 * continuation string separately with malloc(). */
	for (size_t i = 0; list->entries && i < list->count; i++)
		free((void *)list->entries[i].key);
	free(list->entries);
	free((void *)list->next_start_after);
	free(list);
}

/* ---- running one request ---- */

static int read_whole_file(const char *path, void **out, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = CHRONIK_EARG;
	if (rc) {
		close(fd);
		return rc;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	*len = got;
	return 0;
}

struct result {
	void *data;
	size_t len;
	chronik_storage_object_info info;
	chronik_storage_object_list *list;
};

static int run(chronik_storage_object_store *s, const struct req *r,
	       struct result *res)
{
	static const char *names[] = { "put", "put_file", "get", "head",
				       "list", "delete" };
	char err[ERRLEN] = "";
	void *self = s->self;
	int rc;

	memset(res, 0, sizeof *res);
	switch (r->op) {
	case OP_PUT:
		rc = s->be->put(self, err, sizeof err, r->key, r->data, r->len,
				r->flags);
		break;
	case OP_PUT_FILE:
		if (s->be->put_file) {
			rc = s->be->put_file(self, err, sizeof err, r->key,
					     r->arg, r->flags);
			break;
		}
		rc = read_whole_file(r->arg, &res->data, &res->len);
		if (!rc)
			rc = s->be->put(self, err, sizeof err, r->key,
					res->data, res->len, r->flags);
		else
			snprintf(err, sizeof err, "read %s", r->arg);
		free(res->data);
		res->data = NULL;
		break;
	case OP_GET:
		rc = s->be->get(self, err, sizeof err, r->key, r->offset,
				r->range, &res->data, &res->len);
		break;
	case OP_HEAD:
		rc = s->be->head(self, err, sizeof err, r->key, &res->info);
		break;
	case OP_LIST:
		rc = s->be->list(self, err, sizeof err, r->key, r->arg,
				 r->len, &res->list);
		break;
	default:
		rc = s->be->del(self, err, sizeof err, r->key);
		break;
	}
	if (rc) {
		free(res->data);
		res->data = NULL;
		chronik_storage_object_list_free(res->list);
		res->list = NULL;
		res->len = 0;
		set_err(s, rc, names[r->op], r->key, err);
	}
	return rc;
}

static void complete(const struct req *r, int rc, struct result *res)
{
	switch (r->op) {
	case OP_GET:
		((chronik_storage_object_get_cb)r->cb)(rc, res->data, res->len,
						       r->userdata);
		break;
	case OP_HEAD:
		((chronik_storage_object_head_cb)r->cb)(
			rc, rc ? NULL : &res->info, r->userdata);
		break;
	case OP_LIST:
		((chronik_storage_object_list_cb)r->cb)(rc, res->list,
							r->userdata);
		break;
	default:
		((chronik_storage_object_done_cb)r->cb)(rc, r->userdata);
		break;
	}
}

static void req_free(struct req *r)
{
	free(r->key);
	free(r->arg);
	free(r);
}

static void *worker(void *arg)
{
	chronik_storage_object_store *s = arg;

	chronik_util_thread_setup("obj-store", 1);

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct req *r;
		struct result res;
		int rc;

		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->head)
			break;
		r = s->head;
		s->head = r->next;
		if (!s->head)
			s->tail = NULL;
		s->queued--;
		pthread_mutex_unlock(&s->mu);
		rc = run(s, r, &res);
		complete(r, rc, &res);
		req_free(r);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int submit(chronik_storage_object_store *s, struct req *r)
{
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		rc = CHRONIK_ECLOSED;
	} else if (s->queued >= s->max_queued) {
		rc = CHRONIK_EAGAIN;
	} else if (!s->threads) {
		/* Workers start on first use, so stores used only
		 * synchronously never start threads. */
		s->threads = calloc(s->nthreads, sizeof *s->threads);
		if (!s->threads)
			rc = -ENOMEM;
		for (unsigned int i = 0; !rc && i < s->nthreads; i++) {
			int e = pthread_create(&s->threads[i], NULL, worker, s);

			if (e) {
				if (!s->started)
					rc = -e;
				break;
			}
			s->started++;
		}
		if (rc) {
			free(s->threads);
			s->threads = NULL;
		}
	}
	if (!rc) {
		r->next = NULL;
		if (s->tail)
			s->tail->next = r;
		else
			s->head = r;
		s->tail = r;
		s->queued++;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

CHRONIK_STORAGE_API void chronik_storage_object_close(
	chronik_storage_object_store *store)
{
	if (!store)
		return;
	pthread_mutex_lock(&store->mu);
	store->stopping = 1;
	pthread_cond_broadcast(&store->cv);
	pthread_mutex_unlock(&store->mu);
	for (unsigned int i = 0; i < store->started; i++)
		pthread_join(store->threads[i], NULL);
	free(store->threads);
	if (store->be->destroy)
		store->be->destroy(store->self);
	pthread_mutex_destroy(&store->mu);
	pthread_cond_destroy(&store->cv);
	pthread_mutex_destroy(&store->err_mu);
	free(store);
}

/* Build a request; validates the key (or prefix) at once. */
static int make_req(struct req **out, chronik_storage_object_store *s,
		    enum req_op op, const char *key, const char *arg,
		    int copy)
{
	struct req *r;
	int rc = chronik_storage_object__name_check(key, op == OP_LIST);

	*out = NULL;
	if (!s)
		return CHRONIK_EARG;
	if (!rc && op == OP_LIST && arg)
		rc = chronik_storage_object__name_check(arg, 0);
	if (!rc && op == OP_PUT_FILE && !arg)
		rc = CHRONIK_EARG;
	if (rc) {
		set_err(s, rc, "request", key, "invalid key, prefix or path");
		return rc;
	}
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->op = op;
	if (copy) {
		r->key = strdup(key ? key : "");
		r->arg = arg ? strdup(arg) : NULL;
		if (!r->key || (arg && !r->arg)) {
			req_free(r);
			return -ENOMEM;
		}
	} else {
		r->key = (char *)(key ? key : "");
		r->arg = (char *)arg;
	}
	*out = r;
	return 0;
}

/* Synchronous path: run in this thread; the request borrows strings. */
static int run_sync(chronik_storage_object_store *s, struct req *r,
		    struct result *res)
{
	int rc = run(s, r, res);

	free(r);
	return rc;
}

static int queue(chronik_storage_object_store *s, struct req *r,
		 void (*cb)(void), void *userdata)
{
	int rc;

	if (!cb) {
		req_free(r);
		return CHRONIK_EARG;
	}
	r->cb = cb;
	r->userdata = userdata;
	rc = submit(s, r);
	if (rc)
		req_free(r);
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_object_put(
	chronik_storage_object_store *store, const char *key,
	const void *data, size_t len, unsigned int flags)
{
	struct result res;
	struct req *r;
	int rc;

	if (len && !data)
		return CHRONIK_EARG;
	rc = make_req(&r, store, OP_PUT, key, NULL, 0);
	if (rc)
		return rc;
	r->data = data;
	r->len = len;
	r->flags = flags;
	return run_sync(store, r, &res);
}

CHRONIK_STORAGE_API int chronik_storage_object_put_file(
	chronik_storage_object_store *store, const char *key,
	const char *path, unsigned int flags)
{
	struct result res;
	struct req *r;
	int rc = make_req(&r, store, OP_PUT_FILE, key, path, 0);

	if (rc)
		return rc;
	r->flags = flags;
	return run_sync(store, r, &res);
}

CHRONIK_STORAGE_API int chronik_storage_object_get_range(
	void **data_out, size_t *len_out, chronik_storage_object_store *store,
	const char *key, uint64_t offset, uint64_t len)
{
	struct result res;
	struct req *r;
	int rc;

	if (!data_out || !len_out)
		return CHRONIK_EARG;
	*data_out = NULL;
	*len_out = 0;
	rc = make_req(&r, store, OP_GET, key, NULL, 0);
	if (rc)
		return rc;
	r->offset = offset;
	r->range = len;
	rc = run_sync(store, r, &res);
	if (!rc) {
		*data_out = res.data;
		*len_out = res.len;
	}
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_object_get(
	void **data_out, size_t *len_out, chronik_storage_object_store *store,
	const char *key)
{
	return chronik_storage_object_get_range(data_out, len_out, store, key,
						0,
						CHRONIK_STORAGE_OBJECT_TO_END);
}

CHRONIK_STORAGE_API int chronik_storage_object_head(
	chronik_storage_object_info *out, chronik_storage_object_store *store,
	const char *key)
{
	struct result res;
	struct req *r;
	int rc;

	if (!out)
		return CHRONIK_EARG;
	rc = make_req(&r, store, OP_HEAD, key, NULL, 0);
	if (rc)
		return rc;
	rc = run_sync(store, r, &res);
	if (!rc)
		*out = res.info;
	return rc;
}

static int list_args(size_t *max_keys)
{
	if (*max_keys == 0)
		*max_keys = 1000;
	return *max_keys > 100000 ? CHRONIK_EARG : 0;
}

CHRONIK_STORAGE_API int chronik_storage_object_list_page(
	chronik_storage_object_list **out, chronik_storage_object_store *store,
	const char *prefix, const char *start_after, size_t max_keys)
{
	struct result res;
	struct req *r;
	int rc;

	if (!out)
		return CHRONIK_EARG;
	*out = NULL;
	if (list_args(&max_keys))
		return CHRONIK_EARG;
	rc = make_req(&r, store, OP_LIST, prefix, start_after, 0);
	if (rc)
		return rc;
	r->len = max_keys;
	rc = run_sync(store, r, &res);
	if (!rc)
		*out = res.list;
	return rc;
}

CHRONIK_STORAGE_API int chronik_storage_object_delete(
	chronik_storage_object_store *store, const char *key)
{
	struct result res;
	struct req *r;
	int rc = make_req(&r, store, OP_DEL, key, NULL, 0);

	if (rc)
		return rc;
	return run_sync(store, r, &res);
}

CHRONIK_STORAGE_API int chronik_storage_object_put_async(
	chronik_storage_object_store *store, const char *key,
	const void *data, size_t len, unsigned int flags,
	chronik_storage_object_done_cb cb, void *userdata)
{
	struct req *r;
	int rc;

	if (len && !data)
		return CHRONIK_EARG;
	rc = make_req(&r, store, OP_PUT, key, NULL, 1);
	if (rc)
		return rc;
	r->data = data;
	r->len = len;
	r->flags = flags;
	return queue(store, r, (void (*)(void))cb, userdata);
}

CHRONIK_STORAGE_API int chronik_storage_object_put_file_async(
	chronik_storage_object_store *store, const char *key,
	const char *path, unsigned int flags,
	chronik_storage_object_done_cb cb, void *userdata)
{
	struct req *r;
	int rc = make_req(&r, store, OP_PUT_FILE, key, path, 1);

	if (rc)
		return rc;
	r->flags = flags;
	return queue(store, r, (void (*)(void))cb, userdata);
}

CHRONIK_STORAGE_API int chronik_storage_object_get_async(
	chronik_storage_object_store *store, const char *key, uint64_t offset,
	uint64_t len, chronik_storage_object_get_cb cb, void *userdata)
{
	struct req *r;
	int rc = make_req(&r, store, OP_GET, key, NULL, 1);

	if (rc)
		return rc;
	r->offset = offset;
	r->range = len;
	return queue(store, r, (void (*)(void))cb, userdata);
}

CHRONIK_STORAGE_API int chronik_storage_object_head_async(
	chronik_storage_object_store *store, const char *key,
	chronik_storage_object_head_cb cb, void *userdata)
{
	struct req *r;
	int rc = make_req(&r, store, OP_HEAD, key, NULL, 1);

	if (rc)
		return rc;
	return queue(store, r, (void (*)(void))cb, userdata);
}

CHRONIK_STORAGE_API int chronik_storage_object_list_async(
	chronik_storage_object_store *store, const char *prefix,
	const char *start_after, size_t max_keys,
	chronik_storage_object_list_cb cb, void *userdata)
{
	struct req *r;
	int rc;

	if (list_args(&max_keys))
		return CHRONIK_EARG;
	rc = make_req(&r, store, OP_LIST, prefix, start_after, 1);
	if (rc)
		return rc;
	r->len = max_keys;
	return queue(store, r, (void (*)(void))cb, userdata);
}

CHRONIK_STORAGE_API int chronik_storage_object_delete_async(
	chronik_storage_object_store *store, const char *key,
	chronik_storage_object_done_cb cb, void *userdata)
{
	struct req *r;
	int rc = make_req(&r, store, OP_DEL, key, NULL, 1);

	if (rc)
		return rc;
	return queue(store, r, (void (*)(void))cb, userdata);
}
