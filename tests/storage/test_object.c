/* SPDX-License-Identifier: Apache-2.0 */
/* Object store: local-directory backend through the generic interface:
 * put/get/range/head/list/delete, pagination, path safety, concurrent and
 * asynchronous requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "chronik/storage.h"
#include "test_meta_util.h"

struct fx {
	char *root;
	chronik_storage_object_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	chronik_storage_object_local_options o =
		CHRONIK_STORAGE_OBJECT_LOCAL_OPTIONS_INIT;

	f->root = tm_tmpdir("object");
	o.root = f->root;
	assert_int_equal(chronik_storage_object_local_open(&f->s, &o), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	chronik_storage_object_close(f->s);
	tm_rmrf(f->root);
	free(f->root);
	free(f);
	return 0;
}

static void test_object_put_get_head_delete(void **state)
{
	struct fx *f = *state;
	chronik_storage_object_info info;
	void *data = NULL;
	size_t len = 0;

	assert_string_equal(chronik_storage_object_backend_name(f->s),
			    "local");
	assert_int_equal(chronik_storage_object_put(f->s, "a/b/seg-1.log",
						    "hello world", 11, 0),
			 0);
	assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
						    "a/b/seg-1.log"),
			 0);
	assert_int_equal(len, 11);
	assert_memory_equal(data, "hello world", 11);
	chronik_storage_object_free(data);
	assert_int_equal(chronik_storage_object_get_range(
				 &data, &len, f->s, "a/b/seg-1.log", 6, 3),
			 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "wor", 3);
	chronik_storage_object_free(data);
	assert_int_equal(chronik_storage_object_get_range(
				 &data, &len, f->s, "a/b/seg-1.log", 6, 100),
			 0);
	assert_int_equal(len, 5);
	chronik_storage_object_free(data);
	assert_int_equal(chronik_storage_object_get_range(
				 &data, &len, f->s, "a/b/seg-1.log", 11, 1),
			 0);
	assert_int_equal(len, 0);
	chronik_storage_object_free(data);
	assert_int_equal(chronik_storage_object_get_range(
				 &data, &len, f->s, "a/b/seg-1.log", 12, 1),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_object_head(&info, f->s,
						     "a/b/seg-1.log"),
			 0);
	assert_int_equal(info.size, 11);
	assert_true(info.mtime_ms > 0);

	/* Replace, then refuse to replace. */
	assert_int_equal(chronik_storage_object_put(f->s, "a/b/seg-1.log",
						    "x", 1, 0),
			 0);
	assert_int_equal(chronik_storage_object_put(
				 f->s, "a/b/seg-1.log", "y", 1,
				 CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE),
			 CHRONIK_EEXIST);
	assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
						    "a/b/seg-1.log"),
			 0);
	assert_memory_equal(data, "x", 1);
	chronik_storage_object_free(data);
	assert_int_equal(chronik_storage_object_put(
				 f->s, "a/b/new", "", 0,
				 CHRONIK_STORAGE_OBJECT_PUT_NO_OVERWRITE),
			 0);

	/* Missing objects. */
	assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
						    "a/b/missing"),
			 CHRONIK_ENOTFOUND);
	assert_null(data);
	assert_non_null(strstr(chronik_storage_object_last_error(f->s),
			       "a/b/missing"));
	assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
						    "a/b/new/deeper"),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_object_head(&info, f->s, "a/b"),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_object_head(&info, f->s, "zz"),
			 CHRONIK_ENOTFOUND);

	/* Delete is idempotent and removes emptied directories. */
	assert_int_equal(chronik_storage_object_delete(f->s, "a/b/seg-1.log"),
			 0);
	assert_int_equal(chronik_storage_object_delete(f->s, "a/b/seg-1.log"),
			 0);
	assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
						    "a/b/seg-1.log"),
			 CHRONIK_ENOTFOUND);
	assert_int_equal(chronik_storage_object_delete(f->s, "a/b/new"), 0);
	{
		char p[4200];
		struct stat st;

		snprintf(p, sizeof p, "%s/a", f->root);
		assert_int_not_equal(stat(p, &st), 0);
	}
}

static void test_object_put_file(void **state)
{
	struct fx *f = *state;
	char src[4200];
	FILE *fp;
	void *data;
	size_t len;
	uint8_t *big = malloc(3 << 20);

	for (size_t i = 0; i < (3u << 20); i++)
		big[i] = (uint8_t)(i * 7);
	snprintf(src, sizeof src, "%s/../chronik-object-src-%d", f->root,
		 (int)getpid());
	fp = fopen(src, "wb");
	assert_non_null(fp);
	fwrite(big, 1, 3 << 20, fp);
	fclose(fp);
	assert_int_equal(chronik_storage_object_put_file(f->s, "t/0/1.log",
							 src, 0),
			 0);
	assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
						    "t/0/1.log"),
			 0);
	assert_int_equal(len, 3 << 20);
	assert_memory_equal(data, big, 3 << 20);
	chronik_storage_object_free(data);
	unlink(src);
	assert_int_equal(chronik_storage_object_put_file(f->s, "t/0/2.log",
							 src, 0),
			 -ENOENT);
	free(big);
}

static void test_object_path_safety(void **state)
{
	struct fx *f = *state;
	static const char *bad[] = {
		"",        "/etc/passwd", "../x",      "a/../../x", "a/..",
		"..",      ".",           "a/./b",     "a//b",      "a/",
		"a\nb",    "a\tb",        "a\x7f",     ".chronik-tmp/x",
		"a/.chronik-x",
	};
	static const char *good[] = { "top", "a.b/c..d", "...", "a/.hidden",
				      "x y/z" };
	void *data;
	size_t len;
	char longkey[CHRONIK_STORAGE_OBJECT_MAX_KEY + 2];
	chronik_storage_object_list *l = NULL;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(chronik_storage_object_key_check(bad[i]),
				 CHRONIK_EARG);
		assert_int_equal(chronik_storage_object_put(f->s, bad[i], "x",
							    1, 0),
				 CHRONIK_EARG);
		assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
							    bad[i]),
				 CHRONIK_EARG);
		assert_int_equal(chronik_storage_object_delete(f->s, bad[i]),
				 CHRONIK_EARG);
	}
	assert_int_equal(chronik_storage_object_key_check(NULL), CHRONIK_EARG);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(chronik_storage_object_key_check(good[i]), 0);
		assert_int_equal(chronik_storage_object_put(f->s, good[i], "x",
							    1, 0),
				 0);
	}
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = 0;
	assert_int_equal(chronik_storage_object_key_check(longkey),
			 CHRONIK_EARG);
	longkey[CHRONIK_STORAGE_OBJECT_MAX_KEY] = 0;
	assert_int_equal(chronik_storage_object_key_check(longkey), 0);
	/* Prefixes: partial components are fine, traversal is not. */
	assert_int_equal(chronik_storage_object_list_page(&l, f->s, "../", NULL,
							  0),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_object_list_page(&l, f->s, "/", NULL,
							  0),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_object_list_page(&l, f->s, "a/.",
							  NULL, 0),
			 0);
	assert_int_equal(l->count, 1);
	assert_string_equal(l->entries[0].key, "a/.hidden");
	chronik_storage_object_list_free(l);
	/* The temp directory never shows up in listings. */
	assert_int_equal(chronik_storage_object_list_page(&l, f->s, NULL, NULL,
							  0),
			 0);
	for (size_t i = 0; i < l->count; i++)
		assert_null(strstr(l->entries[i].key, ".chronik"));
	assert_int_equal(l->count, sizeof good / sizeof good[0]);
	chronik_storage_object_list_free(l);
}

static void test_object_list_pagination(void **state)
{
	struct fx *f = *state;
	chronik_storage_object_list *l = NULL;
	const char *after = NULL;
	char key[64], *last = NULL;
	int total = 0, pages = 0;

	for (int t = 0; t < 3; t++)
		for (int i = 0; i < 25; i++) {
			snprintf(key, sizeof key, "topic-%d/%d/%020d.log", t,
				 i % 3, i);
			assert_int_equal(chronik_storage_object_put(
						 f->s, key, key, strlen(key),
						 0),
					 0);
		}
	assert_int_equal(chronik_storage_object_put(f->s, "topic-10/x", "x",
						    1, 0),
			 0);
	/* Prefix ending inside a component matches "topic-1" and
	 * "topic-10". */
	assert_int_equal(chronik_storage_object_list_page(&l, f->s, "topic-1",
							  NULL, 1000),
			 0);
	assert_int_equal(l->count, 26);
	assert_null(l->next_start_after);
	chronik_storage_object_list_free(l);
	assert_int_equal(chronik_storage_object_list_page(&l, f->s,
							  "topic-1/", NULL, 0),
			 0);
	assert_int_equal(l->count, 25);
	chronik_storage_object_list_free(l);
	assert_int_equal(chronik_storage_object_list_page(&l, f->s,
							  "topic-2/1/", NULL,
							  0),
			 0);
	assert_int_equal(l->count, 8);
	chronik_storage_object_list_free(l);

	/* Pages of 7 over "topic-0/": ascending, no duplicates. */
	do {
		assert_int_equal(chronik_storage_object_list_page(
					 &l, f->s, "topic-0/", after, 7),
				 0);
		assert_true(l->count <= 7);
		for (size_t i = 0; i < l->count; i++) {
			if (last)
				assert_true(strcmp(last, l->entries[i].key) <
					    0);
			free(last);
			last = strdup(l->entries[i].key);
			assert_int_equal(l->entries[i].size,
					 strlen(l->entries[i].key));
			total++;
		}
		pages++;
		free((void *)after);
		after = l->next_start_after ? strdup(l->next_start_after)
					    : NULL;
		chronik_storage_object_list_free(l);
	} while (after);
	free(last);
	assert_int_equal(total, 25);
	assert_int_equal(pages, 4);
	assert_int_equal(chronik_storage_object_list_page(&l, f->s, "nothing",
							  NULL, 0),
			 0);
	assert_int_equal(l->count, 0);
	chronik_storage_object_list_free(l);
}

struct worker_arg {
	chronik_storage_object_store *s;
	int id;
	int failures;
};

static void *put_worker(void *p)
{
	struct worker_arg *a = p;
	char key[64], val[64];

	for (int i = 0; i < 50; i++) {
		/* Everyone writes the shared keys too: last writer wins,
		 * but every read sees a whole value. */
		snprintf(key, sizeof key, "w%d/%d", a->id, i);
		snprintf(val, sizeof val, "%d-%d", a->id, i);
		if (chronik_storage_object_put(a->s, key, val, strlen(val), 0))
			a->failures++;
		snprintf(key, sizeof key, "shared/%d", i % 5);
		snprintf(val, sizeof val, "writer-%d-value-%d", a->id, i);
		if (chronik_storage_object_put(a->s, key, val, strlen(val), 0))
			a->failures++;
		/* Deletes racing with puts in the same directories. */
		snprintf(key, sizeof key, "churn/d%d/k", i % 3);
		if (chronik_storage_object_put(a->s, key, "c", 1, 0)) {
			fprintf(stderr, "churn put: %s\n",
				chronik_storage_object_last_error(a->s));
			a->failures++;
		}
		if (chronik_storage_object_delete(a->s, key))
			a->failures++;
	}
	return NULL;
}

static void test_object_concurrent_puts(void **state)
{
	struct fx *f = *state;
	pthread_t th[8];
	struct worker_arg a[8];
	chronik_storage_object_list *l;
	void *data;
	size_t len;

	for (int i = 0; i < 8; i++) {
		a[i].s = f->s;
		a[i].id = i;
		a[i].failures = 0;
		pthread_create(&th[i], NULL, put_worker, &a[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(a[i].failures, 0);
	assert_int_equal(chronik_storage_object_list_page(&l, f->s, "w", NULL,
							  0),
			 0);
	assert_int_equal(l->count, 400);
	chronik_storage_object_list_free(l);
	for (int i = 0; i < 5; i++) {
		char key[32];

		snprintf(key, sizeof key, "shared/%d", i);
		assert_int_equal(chronik_storage_object_get(&data, &len, f->s,
							    key),
				 0);
		assert_true(len > 10);
		assert_memory_equal(data, "writer-", 7);
		chronik_storage_object_free(data);
	}
}

struct async_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending;
	int errors;
	int notfound;
	size_t bytes;
	size_t listed;
};

static void aw_done(struct async_wait *w, int status)
{
	pthread_mutex_lock(&w->mu);
	if (status == CHRONIK_ENOTFOUND)
		w->notfound++;
	else if (status)
		w->errors++;
	w->pending--;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void done_cb(int status, void *ud)
{
	aw_done(ud, status);
}

static void get_cb(int status, void *data, size_t len, void *ud)
{
	struct async_wait *w = ud;

	pthread_mutex_lock(&w->mu);
	w->bytes += len;
	pthread_mutex_unlock(&w->mu);
	chronik_storage_object_free(data);
	aw_done(w, status);
}

static void head_cb(int status, const chronik_storage_object_info *info,
		    void *ud)
{
	assert_true(status ? info == NULL : info != NULL);
	aw_done(ud, status);
}

static void list_cb(int status, chronik_storage_object_list *l, void *ud)
{
	struct async_wait *w = ud;

	pthread_mutex_lock(&w->mu);
	w->listed += l ? l->count : 0;
	pthread_mutex_unlock(&w->mu);
	chronik_storage_object_list_free(l);
	aw_done(w, status);
}

/* Count requests about to be queued; under the lock because callbacks
 * already running decrement the same counter. */
static void aw_add(struct async_wait *w, int n)
{
	pthread_mutex_lock(&w->mu);
	w->pending += n;
	pthread_mutex_unlock(&w->mu);
}

static void aw_wait(struct async_wait *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->pending)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void test_object_async(void **state)
{
	struct fx *f = *state;
	struct async_wait w = { PTHREAD_MUTEX_INITIALIZER,
				PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0 };
	static const char payload[] = "0123456789";
	char key[32];

	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "async/%03d", i);
		aw_add(&w, 1);
		assert_int_equal(chronik_storage_object_put_async(
					 f->s, key, payload, 10, 0, done_cb,
					 &w),
				 0);
	}
	aw_wait(&w);
	assert_int_equal(w.errors, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "async/%03d", i);
		aw_add(&w, 2);
		assert_int_equal(chronik_storage_object_get_async(
					 f->s, key, 2, 5, get_cb, &w),
				 0);
		assert_int_equal(chronik_storage_object_head_async(
					 f->s, key, head_cb, &w),
				 0);
	}
	aw_add(&w, 2);
	assert_int_equal(chronik_storage_object_get_async(
				 f->s, "async/none", 0,
				 CHRONIK_STORAGE_OBJECT_TO_END, get_cb, &w),
			 0);
	assert_int_equal(chronik_storage_object_list_async(f->s, "async/",
							   NULL, 0, list_cb,
							   &w),
			 0);
	aw_wait(&w);
	assert_int_equal(w.errors, 0);
	assert_int_equal(w.notfound, 1);
	assert_int_equal(w.bytes, 500);
	assert_int_equal(w.listed, 100);
	/* A bad key fails at once and the callback never runs. */
	assert_int_equal(chronik_storage_object_delete_async(f->s, "../x",
							     done_cb, &w),
			 CHRONIK_EARG);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "async/%03d", i);
		aw_add(&w, 1);
		assert_int_equal(chronik_storage_object_delete_async(
					 f->s, key, done_cb, &w),
				 0);
	}
	/* Close waits for queued requests (teardown), but wait here to
	 * check the results. */
	aw_wait(&w);
	assert_int_equal(w.errors, 0);
}

static int custom_put(void *self, char *err, size_t errlen, const char *key,
		      const void *data, size_t len, unsigned int flags)
{
	(void)self;
	(void)data;
	(void)len;
	(void)flags;
	snprintf(err, errlen, "custom backend refuses %s", key);
	return -EROFS;
}

static int custom_get(void *self, char *err, size_t errlen, const char *key,
		      uint64_t offset, uint64_t len, void **data_out,
		      size_t *len_out)
{
	(void)self;
	(void)err;
	(void)errlen;
	(void)key;
	(void)offset;
	(void)len;
	(void)data_out;
	(void)len_out;
	return CHRONIK_ENOTFOUND;
}

static int custom_head(void *self, char *err, size_t errlen,
		       const char *key, chronik_storage_object_info *out)
{
	(void)self;
	(void)err;
	(void)errlen;
	(void)key;
	(void)out;
	return CHRONIK_ENOTFOUND;
}

static int custom_list(void *self, char *err, size_t errlen,
		       const char *prefix, const char *start_after,
		       size_t max_keys, chronik_storage_object_list **out)
{
	(void)self;
	(void)err;
	(void)errlen;
	(void)prefix;
	(void)start_after;
	(void)max_keys;
	(void)out;
	return -EIO;
}

static int custom_del(void *self, char *err, size_t errlen, const char *key)
{
	(void)self;
	(void)err;
	(void)errlen;
	(void)key;
	return 0;
}

static void test_object_custom_backend(void **state)
{
	static const chronik_storage_object_backend partial = {
		CHRONIK_STORAGE_OBJECT_BACKEND_VERSION, "custom", custom_put,
		NULL, NULL, NULL, NULL, NULL, NULL
	};
	static const chronik_storage_object_backend full = {
		CHRONIK_STORAGE_OBJECT_BACKEND_VERSION, "custom", custom_put,
		NULL, custom_get, custom_head, custom_list, custom_del, NULL
	};
	chronik_storage_object_store *s = NULL;
	chronik_storage_object_options o;
	char src[4200];
	FILE *fp;

	(void)state;
	assert_int_equal(chronik_storage_object_store_new(&s, &partial, NULL,
							  NULL),
			 CHRONIK_EARG);
	assert_int_equal(chronik_storage_object_options_init(&o, 2),
			 CHRONIK_EVERSION);
	assert_int_equal(chronik_storage_object_options_init(&o, 1), 0);
	assert_int_equal(chronik_storage_object_store_new(&s, &full, NULL, &o),
			 0);
	assert_string_equal(chronik_storage_object_backend_name(s), "custom");
	assert_int_equal(chronik_storage_object_put(s, "k", "v", 1, 0),
			 -EROFS);
	assert_non_null(strstr(chronik_storage_object_last_error(s),
			       "custom backend refuses k"));
	/* No put_file in the vtable: the generic layer reads the file and
	 * calls put. */
	snprintf(src, sizeof src, "/tmp/chronik-object-custom-%d",
		 (int)getpid());
	fp = fopen(src, "wb");
	assert_non_null(fp);
	fputs("data", fp);
	fclose(fp);
	assert_int_equal(chronik_storage_object_put_file(s, "f", src, 0),
			 -EROFS);
	unlink(src);
	chronik_storage_object_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_object_put_get_head_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_put_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_object_path_safety,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_list_pagination,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_concurrent_puts,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_async, setup,
						teardown),
		cmocka_unit_test(test_object_custom_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
