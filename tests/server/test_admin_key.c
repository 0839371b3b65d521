/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin_key.h"
#include "chronik/common.h"
#include "log.h"

struct fixture {
	char root[64];  /* mkdtemp'd */
	char dir[128];  /* root/data: not created, the loader makes it */
	char path[192]; /* dir/admin.key */
	char logpath[128];
	int logfd;
	chronik_log log;
	char key[CHRONIK_ADMIN_KEY_MAX + 1];
	char err[512];
	chronik_admin_key_source source;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	strcpy(f->root, "/tmp/chronik-adminkey-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/data", f->root);
	snprintf(f->path, sizeof f->path, "%s/admin.key", f->dir);
	snprintf(f->logpath, sizeof f->logpath, "%s/log", f->root);
	f->logfd = open(f->logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (f->logfd < 0)
		return -1;
	chronik_log_init(&f->log, f->logfd, CHRONIK_LOG_INFO);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->logfd);
	nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int load(struct fixture *f, const char *configured)
{
	return chronik_admin_key_load(f->key, sizeof f->key, &f->source,
				      configured, f->dir, &f->log, f->err,
				      sizeof f->err);
}

static char *read_log(struct fixture *f)
{
	static char buf[4096];
	int fd = open(f->logpath, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void write_key_file(struct fixture *f, const char *text,
			   mode_t mode)
{
	int fd;

	mkdir(f->dir, 0700);
	fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(f->path, mode), 0);
}

static void test_admin_key_configured(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(load(f, "configured-secret-key-0123456789"), 0);
	assert_string_equal(f->key, "configured-secret-key-0123456789");
	assert_int_equal(f->source, CHRONIK_ADMIN_KEY_CONFIGURED);
	/* Nothing written to disk, the key never logged. */
	assert_int_equal(stat(f->path, &st), -1);
	assert_null(strstr(read_log(f), "configured-secret"));
	assert_non_null(strstr(read_log(f), "from the configuration"));

	assert_int_equal(load(f, "has space"), CHRONIK_EARG);
	assert_int_equal(load(f, "short"), 0);
	assert_non_null(strstr(read_log(f), "is short"));
}

static void test_admin_key_generated_then_reused(void **state)
{
	struct fixture *f = *state;
	char first[sizeof f->key];
	char content[128] = { 0 };
	struct stat st;
	int fd;

	assert_int_equal(load(f, NULL), 0);
	assert_int_equal(f->source, CHRONIK_ADMIN_KEY_GENERATED);
	assert_int_equal(strlen(f->key), 2 * CHRONIK_ADMIN_KEY_RANDOM_BYTES);
	assert_int_equal(strspn(f->key, "0123456789abcdef"),
			 2 * CHRONIK_ADMIN_KEY_RANDOM_BYTES);
	strcpy(first, f->key);

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, content, sizeof content - 1) > 0);
	close(fd);
	assert_int_equal(strlen(content), strlen(first) + 1);
	assert_memory_equal(content, first, strlen(first));
	assert_int_equal(content[strlen(first)], '\n');
	/* No temporary file left behind. */
	{
		char tmp[256];

		snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
		assert_int_equal(stat(tmp, &st), -1);
	}

	/* Later starts reuse it; "" means unset like NULL. */
	memset(f->key, 0, sizeof f->key);
	assert_int_equal(load(f, ""), 0);
	assert_int_equal(f->source, CHRONIK_ADMIN_KEY_FILE_READ);
	assert_string_equal(f->key, first);

	/* The log names the file, never the key. */
	assert_non_null(strstr(read_log(f), f->path));
	assert_null(strstr(read_log(f), first));
}

static void test_admin_key_refuses_readable_file(void **state)
{
	struct fixture *f = *state;
	char want[300];

	write_key_file(f, "0123456789abcdef0123456789abcdef\n", 0644);
	assert_int_equal(load(f, NULL), CHRONIK_EARG);
	assert_string_equal(f->key, "");
	snprintf(want, sizeof want, "chmod 600 %s", f->path);
	assert_non_null(strstr(f->err, want));
	assert_non_null(strstr(f->err, "mode 0644"));
	assert_non_null(strstr(f->err, "group or others"));

	assert_int_equal(chmod(f->path, 0640), 0);
	assert_int_equal(load(f, NULL), CHRONIK_EARG);
	assert_int_equal(chmod(f->path, 0604), 0);
	assert_int_equal(load(f, NULL), CHRONIK_EARG);

	/* Fixed permissions: accepted as is. */
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(load(f, NULL), 0);
	assert_string_equal(f->key, "0123456789abcdef0123456789abcdef");
	assert_int_equal(f->source, CHRONIK_ADMIN_KEY_FILE_READ);
	/* A configured key wins over the file. */
	assert_int_equal(load(f, "another-key-from-the-environment"), 0);
	assert_int_equal(f->source, CHRONIK_ADMIN_KEY_CONFIGURED);
}

static void test_admin_key_refuses_bad_files(void **state)
{
	struct fixture *f = *state;
	char target[256];

	write_key_file(f, "\n", 0600);
	assert_int_equal(load(f, NULL), CHRONIK_EARG);
	assert_non_null(strstr(f->err, "does not hold a key"));
	write_key_file(f, "two words\n", 0600);
	assert_int_equal(load(f, NULL), CHRONIK_EARG);

	/* A symlink is not followed, even to a good file. */
	snprintf(target, sizeof target, "%s/elsewhere", f->root);
	assert_int_equal(rename(f->path, target), 0);
	assert_int_equal(symlink(target, f->path), 0);
	assert_true(load(f, NULL) < 0);

	/* A directory in its place. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(load(f, NULL), CHRONIK_EARG);
	assert_non_null(strstr(f->err, "not a regular file"));
}

static void test_admin_key_stale_temp_file(void **state)
{
	struct fixture *f = *state;
	char tmp[256];
	int fd;

	mkdir(f->dir, 0700);
	snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
	fd = open(tmp, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	assert_int_equal(load(f, NULL), 0);
	assert_int_equal(f->source, CHRONIK_ADMIN_KEY_GENERATED);
	assert_int_equal(strlen(f->key), 64);
}

static void test_admin_key_uncreatable_dir(void **state)
{
	struct fixture *f = *state;
	int fd;

	/* The data dir's parent is a file (the log): fails even for
	 * root. */
	fd = open(f->logpath, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	snprintf(f->dir, sizeof f->dir, "%s/log/data", f->root);
	assert_int_equal(load(f, NULL), -ENOTDIR);
	assert_non_null(strstr(f->err, "Not a directory"));
	assert_non_null(strstr(f->err, f->dir));
	assert_string_equal(f->key, "");
}

static void test_admin_key_equal(void **state)
{
	(void)state;
	assert_true(chronik_admin_key_equal("abc", "abc"));
	assert_false(chronik_admin_key_equal("abc", "abd"));
	assert_false(chronik_admin_key_equal("abc", "ab"));
	assert_false(chronik_admin_key_equal("abc", "abcd"));
	assert_false(chronik_admin_key_equal("abc", ""));
	assert_false(chronik_admin_key_equal("abc", NULL));
	assert_false(chronik_admin_key_equal("", ""));
	assert_false(chronik_admin_key_equal(NULL, "abc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admin_key_configured,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_admin_key_generated_then_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_admin_key_refuses_readable_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_admin_key_refuses_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_key_stale_temp_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_key_uncreatable_dir,
						setup, teardown),
		cmocka_unit_test(test_admin_key_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
