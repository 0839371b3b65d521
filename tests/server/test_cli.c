/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chronik/common.h"
#include "cli.h"
#include "log.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])) - 1)

static void test_cli_commands(void **state)
{
	chronik_cli cli;
	char err[256];
	char *help[] = { "chronik-server", "--help", NULL };
	char *h[] = { "chronik-server", "-h", NULL };
	char *version[] = { "chronik-server", "version", NULL };
	char *version_extra[] = { "chronik-server", "version", "x", NULL };
	char *none[] = { "chronik-server", NULL };
	char *unknown[] = { "chronik-server", "stop", NULL };
	char *flag_first[] = { "chronik-server", "--data-dir", "x", NULL };
	(void)state;

	assert_int_equal(chronik_cli_parse(&cli, ARGC(help), help, err,
					   sizeof err), 0);
	assert_int_equal(cli.command, CHRONIK_CLI_HELP);
	assert_int_equal(chronik_cli_parse(&cli, ARGC(h), h, err, sizeof err),
			 0);
	assert_int_equal(cli.command, CHRONIK_CLI_HELP);
	assert_int_equal(chronik_cli_parse(&cli, ARGC(version), version, err,
					   sizeof err), 0);
	assert_int_equal(cli.command, CHRONIK_CLI_VERSION);
	assert_int_equal(chronik_cli_parse(&cli, ARGC(version_extra),
					   version_extra, err, sizeof err),
			 CHRONIK_EARG);
	assert_int_equal(chronik_cli_parse(&cli, ARGC(none), none, err,
					   sizeof err), CHRONIK_EARG);
	assert_string_equal(err, "missing command");
	assert_int_equal(chronik_cli_parse(&cli, ARGC(unknown), unknown, err,
					   sizeof err), CHRONIK_EARG);
	assert_string_equal(err, "unknown command 'stop'");
	assert_int_equal(chronik_cli_parse(&cli, ARGC(flag_first), flag_first,
					   err, sizeof err), CHRONIK_EARG);
	assert_non_null(strstr(err, "unknown option '--data-dir'"));
	assert_string_equal(chronik_cli_version(), "0.1.0");
}

static void test_cli_start_options(void **state)
{
	chronik_cli cli;
	char err[256];
	char *argv[] = { "chronik-server", "start", "--advertise", "h:1",
			 "--bind=0.0.0.0:9093", "--data-dir", "/d",
			 "--config", "c.toml", "--node-id", "3",
			 "--wal-profile", "ultra", "--http-port=8080",
			 "--log-level", "debug", "--print-config",
			 "--data-dir", "/last", NULL };
	static const char *const keys[] = {
		"advertise.kafka", "bind.kafka", "data_dir", "node_id",
		"wal_profile", "http_port", "log_level", "data_dir"
	};
	static const char *const vals[] = {
		"h:1", "0.0.0.0:9093", "/d", "3", "ultra", "8080", "debug",
		"/last"
	};
	(void)state;

	assert_int_equal(chronik_cli_parse(&cli, ARGC(argv), argv, err,
					   sizeof err), 0);
	assert_int_equal(cli.command, CHRONIK_CLI_START);
	assert_true(cli.print_config);
	assert_string_equal(cli.config_path, "c.toml");
	assert_int_equal(cli.nflags, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(cli.flags[i].key, keys[i]);
		assert_string_equal(cli.flags[i].value, vals[i]);
	}
	assert_string_equal(cli.flags[1].flag, "--bind");
}

static void test_cli_start_errors(void **state)
{
	static const struct {
		const char *args[4];
		const char *msg;
	} cases[] = {
		{ { "--bogus" }, "start: unknown option '--bogus'" },
		{ { "--bogus=1" }, "start: unknown option '--bogus'" },
		{ { "-d" }, "start: unexpected argument '-d'" },
		{ { "extra" }, "start: unexpected argument 'extra'" },
		{ { "--data-dir" }, "option '--data-dir' needs a value (DIR)" },
		{ { "--data-dir", "--bind", "a:1" },
		  "option '--data-dir' needs a value" },
		{ { "--node-id=" }, "option '--node-id' needs a non-empty" },
		{ { "--print-config=yes" },
		  "option '--print-config' takes no value" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[7] = { "chronik-server", "start" };
		int argc = 2;
		chronik_cli cli;
		char err[256];
		for (int k = 0; k < 4 && cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		argv[argc] = NULL;
		assert_int_equal(chronik_cli_parse(&cli, argc, argv, err,
						   sizeof err), CHRONIK_EARG);
		if (strcmp(err, cases[i].msg) != 0 &&
		    strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: got '%s'", i, err);
		/* main shows start's usage for these */
		assert_int_equal(cli.command, CHRONIK_CLI_START);
	}
}

static void test_cli_start_help(void **state)
{
	chronik_cli cli;
	char err[256];
	char *argv[] = { "chronik-server", "start", "--bogus", "-h", NULL };
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	(void)state;

	assert_int_equal(chronik_cli_parse(&cli, ARGC(argv), argv, err,
					   sizeof err), 0);
	assert_int_equal(cli.command, CHRONIK_CLI_START_HELP);
	out = open_memstream(&text, &len);
	chronik_cli_start_usage(out);
	fclose(out);
	/* Every option the parser knows is documented, and no line is
	 * wider than a terminal. */
	for (const char *o = "--advertise\0--bind\0--data-dir\0--config\0"
			     "--node-id\0--wal-profile\0--http-port\0"
			     "--log-level\0--print-config\0--help\0";
	     *o; o += strlen(o) + 1)
		assert_non_null(strstr(text, o));
	for (char *line = text; *line;) {
		size_t n = strcspn(line, "\n");
		assert_true(n <= 80);
		line += n + (line[n] != '\0');
	}
	free(text);
	out = open_memstream(&text, &len);
	chronik_cli_usage(out);
	fclose(out);
	assert_non_null(strstr(text, "start"));
	assert_non_null(strstr(text, "version"));
	free(text);
}

static void test_cli_config(void **state)
{
	chronik_config cfg;
	chronik_cli cli;
	char err[512];
	char *argv[] = { "chronik-server", "start", "--advertise",
			 "broker:9092", "--wal-profile", "low", NULL };
	char *env[] = { "CHRONIK_WAL_PROFILE=high", "CHRONIK_NODE_ID=7",
			NULL };
	char *bad[] = { "chronik-server", "start", "--wal-profile", "fast",
			NULL };
	char *ver[] = { "chronik-server", "version", NULL };
	(void)state;

	assert_int_equal(chronik_cli_config(&cfg, &cli, ARGC(argv), argv, env,
					    err, sizeof err), 0);
	assert_int_equal(cfg.wal_profile, CHRONIK_WAL_PROFILE_LOW);
	assert_int_equal(cfg.node_id, 7);
	assert_string_equal(cfg.advertise_kafka.host, "broker");
	chronik_config_free(&cfg);
	assert_int_equal(chronik_cli_config(&cfg, NULL, ARGC(bad), bad, env,
					    err, sizeof err), CHRONIK_EARG);
	assert_string_equal(err, "--wal-profile: unknown WAL profile 'fast' "
			    "(expected low, medium, high or ultra)");
	chronik_config_free(&cfg);
	assert_int_equal(chronik_cli_config(&cfg, NULL, ARGC(ver), ver, env,
					    err, sizeof err), CHRONIK_EARG);
	chronik_config_free(&cfg);
}

/* ---- logging ---------------------------------------------------------- */

struct log_thread {
	chronik_log *log;
	int id;
};

static void *log_worker(void *arg)
{
	struct log_thread *t = arg;

	for (int i = 0; i < 200; i++)
		chronik_log_info(t->log, "worker", "thread %d line %d %s",
				 t->id, i, "padding-padding-padding");
	return NULL;
}

static void test_log_format_levels_and_threads(void **state)
{
	int fds[2];
	chronik_log log;
	chronik_log_level lvl;
	char *buf = malloc(1 << 20);
	size_t n = 0;
	ssize_t r;
	pthread_t th[4];
	struct log_thread args[4];
	char big[3000];
	(void)state;

	assert_non_null(buf);
	assert_int_equal(pipe(fds), 0);
	chronik_log_init(&log, fds[1], CHRONIK_LOG_WARN);
	chronik_log_info(&log, "config", "dropped %d", 1);
	chronik_log_warn(&log, "config", "kept %s\n", "one");
	chronik_log_set_level(&log, CHRONIK_LOG_TRACE);
	assert_true(chronik_log_enabled(&log, CHRONIK_LOG_TRACE));
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	chronik_log_trace(&log, "big", "%s", big);
	r = read(fds[0], buf, (1 << 20) - 1);
	assert_true(r > 0);
	buf[r] = '\0';
	/* 2024-05-01T12:00:00.123Z WARN  [config] kept one */
	assert_int_equal(buf[4], '-');
	assert_int_equal(buf[10], 'T');
	assert_int_equal(buf[23], 'Z');
	assert_memory_equal(buf + 24, " WARN  [config] kept one\n", 25);
	assert_null(strstr(buf, "dropped"));
	{
		char *second = strchr(buf, '\n') + 1;
		size_t len = strcspn(second, "\n");
		assert_int_equal(len, CHRONIK_LOG_LINE_MAX - 1);
		assert_memory_equal(second + len - 3, "...", 3);
	}
	/* Lines written by many threads at once stay whole. */
	for (int i = 0; i < 4; i++) {
		args[i].log = &log;
		args[i].id = i;
		pthread_create(&th[i], NULL, log_worker, &args[i]);
	}
	/* Drain while they write so the pipe never fills up. */
	for (;;) {
		int done = 0;
		r = read(fds[0], buf + n, (1 << 20) - 1 - n);
		assert_true(r > 0);
		n += (size_t)r;
		for (size_t i = 0; i < n; i++)
			done += buf[i] == '\n';
		if (done == 800)
			break;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	buf[n] = '\0';
	for (char *line = buf; *line;) {
		size_t len = strcspn(line, "\n");
		assert_memory_equal(line + 24, " INFO  [worker] thread ", 23);
		assert_memory_equal(line + len - 23, "padding-padding-padding",
				    23);
		line += len + 1;
	}
	close(fds[0]);
	close(fds[1]);
	free(buf);
	assert_int_equal(chronik_log_level_parse("DEBUG", &lvl), 0);
	assert_int_equal(lvl, CHRONIK_LOG_DEBUG);
	assert_int_equal(chronik_log_level_parse("warning", &lvl), 0);
	assert_int_equal(lvl, CHRONIK_LOG_WARN);
	assert_int_equal(chronik_log_level_parse("loud", &lvl), CHRONIK_EARG);
	assert_string_equal(chronik_log_level_name(CHRONIK_LOG_TRACE),
			    "trace");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_commands),
		cmocka_unit_test(test_cli_start_options),
		cmocka_unit_test(test_cli_start_errors),
		cmocka_unit_test(test_cli_start_help),
		cmocka_unit_test(test_cli_config),
		cmocka_unit_test(test_log_format_levels_and_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
