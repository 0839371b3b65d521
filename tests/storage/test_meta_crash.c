/* SPDX-License-Identifier: Apache-2.0 */
/* Metadata store durability under kill -9: a child process mutates the
 * store (with real fsyncs, small snapshot threshold, small log segments so
 * snapshots, checkpoints and segment deletion all happen) and reports each
 * acknowledged mutation through a pipe; the parent kills it at a random
 * point, reopens the store and checks that every acknowledged mutation is
 * there. Repeated on the same directory, so recoveries stack up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "chronik/storage.h"
#include "test_meta_util.h"

#define CYCLES 32
#define KEYS 16

enum kind { K_OFFSET, K_GROUP, K_LOGSTART, K_PID, K_TOPIC, K_BATCH };

struct ack {
	int64_t value;
	int32_t kind;
	int32_t key;
};

static chronik_storage_meta *open_store(const char *dir, int *rc,
					char **err)
{
	chronik_storage_meta_options o = CHRONIK_STORAGE_META_OPTIONS_INIT;
	chronik_storage_meta *m = NULL;

	o.dir = dir;
	o.snapshot_log_bytes = 2048;
	o.log_segment_size = 64 * 1024;
	*rc = chronik_storage_meta_open(&m, &o, err);
	return m;
}

static void child(const char *dir, int fd, int64_t base, unsigned seed)
{
	chronik_storage_meta *m;
	chronik_storage_meta_batch *b = NULL;
	int rc;

	m = open_store(dir, &rc, NULL);
	if (rc)
		_exit(3);
	chronik_storage_meta_batch_new(&b, m);
	srand(seed);
	for (int64_t i = base;; i++) {
		struct ack a = { i, rand() % 6, rand() % KEYS };
		char name[64], val[64];
		chronik_storage_meta_offset o = { i, 1, "m", i, -1 };

		switch (a.kind) {
		case K_OFFSET:
			rc = chronik_storage_meta_offset_commit(m, "g", "t",
								a.key, &o);
			break;
		case K_GROUP:
			snprintf(name, sizeof name, "grp%d", a.key);
			snprintf(val, sizeof val, "%lld", (long long)i);
			rc = chronik_storage_meta_group_put(m, name, val,
							    strlen(val));
			break;
		case K_LOGSTART:
			rc = chronik_storage_meta_log_start_set(m, "t", a.key,
								i);
			break;
		case K_PID:
			rc = chronik_storage_meta_producer_id_alloc(&a.value,
								    m, 3);
			break;
		case K_TOPIC:
			snprintf(name, sizeof name, "topic%lld",
				 (long long)i);
			rc = chronik_storage_meta_topic_create(NULL, m, name,
							       1, NULL, 0, 0);
			break;
		default:
			/* Two offsets in one atomic batch. */
			chronik_storage_meta_batch_offset_commit(b, "g", "t",
								 a.key, &o);
			chronik_storage_meta_batch_offset_commit(
				b, "g", "t", (a.key + 1) % KEYS, &o);
			rc = chronik_storage_meta_batch_commit(b);
			break;
		}
		if (rc)
			_exit(4);
		if (write(fd, &a, sizeof a) != sizeof a)
			_exit(5);
	}
}

struct expect {
	int64_t offset[KEYS];
	int64_t group[KEYS];
	int64_t logstart[KEYS];
	int64_t max_pid;
	int64_t topics[4096];
	size_t ntopics;
};

static void record(struct expect *e, const struct ack *a)
{
	switch (a->kind) {
	case K_OFFSET:
		e->offset[a->key] = a->value;
		break;
	case K_GROUP:
		e->group[a->key] = a->value;
		break;
	case K_LOGSTART:
		e->logstart[a->key] = a->value;
		break;
	case K_PID:
		if (a->value + 3 > e->max_pid)
			e->max_pid = a->value + 3;
		break;
	case K_TOPIC:
		if (e->ntopics < 4096)
			e->topics[e->ntopics++] = a->value;
		break;
	default:
		e->offset[a->key] = a->value;
		e->offset[(a->key + 1) % KEYS] = a->value;
		break;
	}
}

static void verify(chronik_storage_meta *m, const struct expect *e)
{
	for (int k = 0; k < KEYS; k++) {
		chronik_storage_meta_offset *o = NULL;
		char name[64];
		void *blob;
		size_t len;
		int64_t ls;

		if (e->offset[k]) {
			assert_int_equal(chronik_storage_meta_offset_fetch(
						 &o, m, "g", "t", k),
					 0);
			/* A later, unacknowledged commit may also be there. */
			assert_true(o->offset >= e->offset[k]);
			chronik_storage_meta_free(o);
		}
		if (e->group[k]) {
			snprintf(name, sizeof name, "grp%d", k);
			assert_int_equal(chronik_storage_meta_group_get(
						 &blob, &len, m, name),
					 0);
			assert_true(len < 30);
			snprintf(name, sizeof name, "%.*s", (int)len,
				 (char *)blob);
			assert_true(atoll(name) >= e->group[k]);
			chronik_storage_meta_free(blob);
		}
		if (e->logstart[k]) {
			assert_int_equal(chronik_storage_meta_log_start_get(
						 &ls, m, "t", k),
					 0);
			assert_true(ls >= e->logstart[k]);
		}
	}
	for (size_t i = 0; i < e->ntopics; i++) {
		chronik_storage_meta_topic *t = NULL;
		char name[64];

		snprintf(name, sizeof name, "topic%lld",
			 (long long)e->topics[i]);
		assert_int_equal(chronik_storage_meta_topic_get(&t, m, name),
				 0);
		chronik_storage_meta_free(t);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_meta_crash_kill9(void **state)
{
	static struct expect e;
	char *root = tm_tmpdir("meta-crash"), dir[4200];
	double t0 = now_s();
	unsigned seed = (unsigned)time(NULL);
	long total_acks = 0;

	(void)state;
	snprintf(dir, sizeof dir, "%s/meta", root);
	printf("# seed %u\n", seed);
	srand(seed);
	memset(&e, 0, sizeof e);
	for (int cycle = 0; cycle < CYCLES; cycle++) {
		int p[2], status, rc, acks = 0;
		int target = rand() % 60;
		int early = rand() % 8 == 0; /* kill during open/recovery */
		chronik_storage_meta *m;
		struct ack a;
		char *err = NULL;
		pid_t pid;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child(dir, p[1], (int64_t)(cycle + 1) * 1000000,
			      seed + (unsigned)cycle);
			_exit(0);
		}
		close(p[1]);
		if (early) {
			usleep((useconds_t)(rand() % 3000));
		} else {
			while (acks < target &&
			       read(p[0], &a, sizeof a) == sizeof a) {
				record(&e, &a);
				acks++;
			}
		}
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		/* Acknowledgements written before the kill still count. */
		while (read(p[0], &a, sizeof a) == sizeof a) {
			record(&e, &a);
			acks++;
		}
		close(p[0]);
		assert_true(WIFSIGNALED(status));
		total_acks += acks;

		m = open_store(dir, &rc, &err);
		if (rc)
			fprintf(stderr, "cycle %d: %s\n", cycle, err);
		assert_int_equal(rc, 0);
		verify(m, &e);
		{
			int64_t id;

			/* Producer ids are never handed out twice. */
			assert_int_equal(chronik_storage_meta_producer_id_alloc(
						 &id, m, 1),
					 0);
			assert_true(id >= e.max_pid);
			e.max_pid = id + 1;
		}
		assert_int_equal(chronik_storage_meta_close(m), 0);
	}
	printf("# %d cycles, %ld acknowledged mutations, %.2f s\n", CYCLES,
	       total_acks, now_s() - t0);
	assert_true(now_s() - t0 < 30);
	tm_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_crash_kill9),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
