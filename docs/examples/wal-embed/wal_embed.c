/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wal_embed: embed libchronik-wal in a program.
 *
 *   cc wal_embed.c $(pkg-config --cflags --libs libchronik-wal) -pthread
 *   ./a.out [DIR]
 *
 * Four threads append records and wait for them to be durable (group
 * commit shares the syncs), the WAL is closed, reopened (recovery), and
 * every record is replayed with a reader and checked. Without DIR a
 * temporary directory is used and removed.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <chronik/wal.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define PER_THREAD 2000

struct worker {
	chronik_wal *w;
	int id;
	int err;
};

static void *append_worker(void *arg)
{
	struct worker *wk = arg;
	char msg[64];

	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t lsn;
		int n = snprintf(msg, sizeof msg, "thread %d record %d",
				 wk->id, i);
		int r = chronik_wal_append(&lsn, wk->w, (uint8_t)wk->id, msg,
					   (size_t)n);

		/* Wait for durability, as a server would before acking. */
		if (r == 0)
			r = chronik_wal_wait(wk->w, lsn, -1);
		if (r != 0) {
			wk->err = r;
			break;
		}
	}
	return NULL;
}

static int open_wal(chronik_wal **w, const char *dir)
{
	chronik_wal_options opts;
	int r = chronik_wal_options_init(&opts, CHRONIK_WAL_OPTIONS_VERSION);
	const char *profile = getenv("CHRONIK_WAL_PROFILE");

	if (r != 0)
		return r;
	opts.dir = dir;
	if (profile && chronik_wal_profile_parse(&opts.profile, profile)) {
		fprintf(stderr, "bad CHRONIK_WAL_PROFILE '%s'\n", profile);
		return CHRONIK_EARG;
	}
	r = chronik_wal_open(w, &opts);
	if (r != 0) {
		fprintf(stderr, "open %s: %s: %s\n", dir, chronik_strerror(r),
			chronik_wal_last_error(*w));
		chronik_wal_close(*w);
	}
	return r;
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/wal-embed.XXXXXX";
	const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
	struct worker wk[THREADS];
	pthread_t th[THREADS];
	chronik_wal_stats st = {.version = CHRONIK_WAL_STATS_VERSION};
	chronik_wal_reader *rd;
	chronik_wal_record rec;
	chronik_wal *w;
	uint64_t start, count = 0;
	int seen[THREADS] = {0};
	int r, ok = 1;

	if (!dir || open_wal(&w, dir) != 0)
		return 1;
	printf("libchronik-wal %s, dir %s\n", chronik_wal_version_string(),
	       dir);
	start = chronik_wal_next_lsn(w);
	for (int i = 0; i < THREADS; i++) {
		wk[i] = (struct worker){w, i, 0};
		pthread_create(&th[i], NULL, append_worker, &wk[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		if (wk[i].err) {
			fprintf(stderr, "append: %s\n",
				chronik_strerror(wk[i].err));
			ok = 0;
		}
	}
	chronik_wal_stats_get(&st, w);
	printf("appended %llu records in %llu syncs (max %llu per sync)\n",
	       (unsigned long long)st.records, (unsigned long long)st.syncs,
	       (unsigned long long)st.batch_records_max);
	if ((r = chronik_wal_close(w)) != 0) {
		fprintf(stderr, "close: %s\n", chronik_strerror(r));
		return 1;
	}

	/* Reopen: recovery verifies every record; then replay ours. */
	if (open_wal(&w, dir) != 0)
		return 1;
	r = chronik_wal_reader_open(&rd, w, start);
	while (r == 0 && (r = chronik_wal_reader_next(&rec, rd)) == 1) {
		char want[64];
		int n;

		if (rec.type >= THREADS) {
			ok = 0;
			break;
		}
		n = snprintf(want, sizeof want, "thread %d record %d",
			     rec.type, seen[rec.type]);
		if ((size_t)n != rec.len || memcmp(want, rec.data, rec.len)) {
			fprintf(stderr, "LSN %llu: unexpected payload\n",
				(unsigned long long)rec.lsn);
			ok = 0;
		}
		seen[rec.type]++;
		count++;
		r = 0;
	}
	if (r < 0) {
		fprintf(stderr, "replay: %s: %s\n", chronik_strerror(r),
			chronik_wal_last_error(w));
		ok = 0;
	}
	chronik_wal_reader_close(rd);
	chronik_wal_close(w);
	printf("replayed %llu records: %s\n", (unsigned long long)count,
	       ok && count == THREADS * PER_THREAD ? "ok" : "MISMATCH");
	if (argc <= 1) {
		char cmd[64];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			ok = 0;
	}
	return ok && count == THREADS * PER_THREAD ? 0 : 1;
}
