/* SPDX-License-Identifier: Apache-2.0 */
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
#include "config.h"

struct fixture {
	char path[64]; /* a temporary config file */
	chronik_config cfg;
	char err[CHRONIK_CONFIG_ERR_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	int fd;

	if (!f)
		return -1;
	strcpy(f->path, "/tmp/chronik-config-XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	chronik_config_free(&f->cfg);
	unlink(f->path);
	free(f);
	return 0;
}

static void write_file(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Load with the file (when text is non-NULL), env and flags. */
static int load(struct fixture *f, const char *text, char *const *env,
		const chronik_config_flag *flags, size_t nflags)
{
	chronik_config_free(&f->cfg);
	if (text)
		write_file(f, text);
	return chronik_config_load(&f->cfg, text ? f->path : NULL, env,
				   flags, nflags, f->err, sizeof f->err);
}

/* err must be "<file>:line:col: <msg...>" */
static void assert_file_error(struct fixture *f, int line, int col,
			      const char *msg)
{
	char want[128];

	snprintf(want, sizeof want, "%s:%d:%d: ", f->path, line, col);
	if (strncmp(f->err, want, strlen(want)) != 0 ||
	    !strstr(f->err, msg))
		fail_msg("got '%s', want '%s...%s'", f->err, want, msg);
}

static void test_config_defaults(void **state)
{
	struct fixture *f = *state;
	char *env[] = { NULL };

	assert_int_equal(load(f, NULL, env, NULL, 0), 0);
	assert_int_equal(f->cfg.node_id, 1);
	assert_string_equal(f->cfg.data_dir, "./data");
	assert_string_equal(f->cfg.bind_kafka.host, "0.0.0.0");
	assert_int_equal(f->cfg.bind_kafka.port, 9092);
	/* Wildcard bind: advertise localhost with the bind port. */
	assert_string_equal(f->cfg.advertise_kafka.host, "localhost");
	assert_int_equal(f->cfg.advertise_kafka.port, 9092);
	assert_int_equal(chronik_config_origin_of(&f->cfg, "advertise.kafka")
				 ->source, CHRONIK_CONFIG_DERIVED);
	assert_int_equal(f->cfg.wal_profile, CHRONIK_WAL_PROFILE_MEDIUM);
	assert_int_equal(f->cfg.log_level, CHRONIK_LOG_INFO);
	assert_int_equal(f->cfg.http_port, 6092);
	assert_int_equal(f->cfg.socket_request_max_bytes, 104857600);
	assert_int_equal(f->cfg.connections_max_idle_ms, 600000);
	assert_true(f->cfg.auto_create_topics_enable);
	assert_false(f->cfg.acks1_durable);
	assert_int_equal(f->cfg.num_partitions, 1);
	assert_int_equal(f->cfg.topic_defaults.retention_ms, 604800000);
	assert_string_equal(f->cfg.topic_defaults.cleanup_policy, "delete");
	assert_int_equal(f->cfg.npeers, 0);
	assert_int_equal(f->cfg.nwarnings, 0);
	assert_string_equal(f->cfg.admin_api_key, "");
}

/* flags > env > file > defaults, one setting at a time. */
static void test_config_precedence(void **state)
{
	struct fixture *f = *state;
	const char *file = "data_dir = '/file'\nwal_profile = 'low'\n"
			   "http_port = 7001\nnode_id = 5\n";
	char *env[] = { "CHRONIK_DATA_DIR=/env", "CHRONIK_WAL_PROFILE=high",
			"HOME=/root", NULL };
	char *noenv[] = { NULL };
	chronik_config_flag flags[] = {
		{ "data_dir", "--data-dir", "/flag" },
	};
	const chronik_config_origin *o;

	/* file only */
	assert_int_equal(load(f, file, noenv, NULL, 0), 0);
	assert_string_equal(f->cfg.data_dir, "/file");
	assert_int_equal(f->cfg.wal_profile, CHRONIK_WAL_PROFILE_LOW);
	o = chronik_config_origin_of(&f->cfg, "data_dir");
	assert_int_equal(o->source, CHRONIK_CONFIG_FILE);
	assert_int_equal(o->line, 1);
	assert_int_equal(o->column, 1);
	/* env beats the file */
	assert_int_equal(load(f, file, env, NULL, 0), 0);
	assert_string_equal(f->cfg.data_dir, "/env");
	assert_int_equal(f->cfg.wal_profile, CHRONIK_WAL_PROFILE_HIGH);
	assert_int_equal(f->cfg.http_port, 7001); /* untouched by env */
	o = chronik_config_origin_of(&f->cfg, "data_dir");
	assert_int_equal(o->source, CHRONIK_CONFIG_ENV);
	assert_string_equal(o->name, "CHRONIK_DATA_DIR");
	/* flags beat both */
	assert_int_equal(load(f, file, env, flags, 1), 0);
	assert_string_equal(f->cfg.data_dir, "/flag");
	assert_int_equal(f->cfg.wal_profile, CHRONIK_WAL_PROFILE_HIGH);
	assert_int_equal(f->cfg.node_id, 5);
	assert_int_equal(chronik_config_origin_of(&f->cfg, "data_dir")->source,
			 CHRONIK_CONFIG_FLAG);
	assert_int_equal(chronik_config_origin_of(&f->cfg, "http_port")
				 ->source, CHRONIK_CONFIG_FILE);
	assert_int_equal(chronik_config_origin_of(&f->cfg, "log_level")
				 ->source, CHRONIK_CONFIG_DEFAULT);
	assert_null(chronik_config_origin_of(&f->cfg, "nope"));
}

static void test_config_env_file_path_and_aliases(void **state)
{
	struct fixture *f = *state;
	char cfgvar[96];
	char *env[] = { cfgvar, "CHRONIK_ADVERTISE=alias.example:1",
			"CHRONIK_LOG_LEVEL=", NULL };
	char *both[] = { "CHRONIK_ADVERTISED_ADDR=canon.example:2",
			 "CHRONIK_ADVERTISE=alias.example:1",
			 "CHRONIK_DATADIR=/typo", NULL };

	write_file(f, "log_level = 'debug'\n");
	snprintf(cfgvar, sizeof cfgvar, "CHRONIK_CONFIG=%s", f->path);
	chronik_config_free(&f->cfg);
	assert_int_equal(chronik_config_load(&f->cfg, NULL, env, NULL, 0,
					     f->err, sizeof f->err), 0);
	assert_string_equal(f->cfg.config_file, f->path);
	/* An empty variable counts as unset. */
	assert_int_equal(f->cfg.log_level, CHRONIK_LOG_DEBUG);
	assert_string_equal(f->cfg.advertise_kafka.host, "alias.example");
	/* The canonical name wins over the alias, with a warning; unknown
	 * CHRONIK_ variables are reported. */
	assert_int_equal(load(f, NULL, both, NULL, 0), 0);
	assert_string_equal(f->cfg.advertise_kafka.host, "canon.example");
	assert_int_equal(f->cfg.advertise_kafka.port, 2);
	assert_int_equal(f->cfg.nwarnings, 2);
	assert_non_null(strstr(f->cfg.warnings[0], "CHRONIK_DATADIR"));
	assert_non_null(strstr(f->cfg.warnings[1], "overrides"));
}

static void test_config_advertise_derivation(void **state)
{
	struct fixture *f = *state;
	char *env[] = { "CHRONIK_BIND=10.1.2.3:19092", NULL };
	char *env6[] = { "CHRONIK_BIND=[::]:0", NULL };
	char buf[300];

	assert_int_equal(load(f, NULL, env, NULL, 0), 0);
	assert_string_equal(f->cfg.advertise_kafka.host, "10.1.2.3");
	assert_int_equal(f->cfg.advertise_kafka.port, 19092);
	/* Port 0 binds any free port; advertise follows what is bound. */
	assert_int_equal(load(f, NULL, env6, NULL, 0), 0);
	assert_string_equal(f->cfg.bind_kafka.host, "::");
	assert_string_equal(chronik_config_addr_format(&f->cfg.bind_kafka,
						       buf, sizeof buf),
			    "[::]:0");
	assert_string_equal(f->cfg.advertise_kafka.host, "localhost");
	assert_int_equal(f->cfg.advertise_kafka.port, 0);
}

static void test_config_cluster_file(void **state)
{
	struct fixture *f = *state;
	char *env[] = { NULL };
	static const char cluster[] =
		"# cluster.toml\n"
		"node_id = 2\n"
		"replication_factor = 3\n"
		"min_insync_replicas = 2\n"
		"\"socket.request.max.bytes\" = 2048\n"
		"connections.max.idle.ms = 1000\n"
		"auto.create.topics.enable = false\n"
		"acks1.durable = true\n"
		"num.partitions = 6\n"
		"[bind]\n"
		"kafka = '0.0.0.0:9092'\nwal = '0.0.0.0:9291'\n"
		"raft = '0.0.0.0:5001'\n"
		"[advertise]\n"
		"kafka = 'node2:9092'\nwal = 'node2:9291'\n"
		"raft = 'node2:5001'\n"
		"[topic_defaults]\n"
		"retention.ms = -1\n\"cleanup.policy\" = 'compact'\n"
		"[[peers]]\nid = 1\nkafka = 'node1:9092'\nwal = 'node1:9291'\n"
		"raft = 'node1:5001'\n"
		"[[peers]]\nid = 2\nkafka = 'node2:9092'\nwal = 'node2:9291'\n"
		"raft = 'node2:5001'\n"
		"[[peers]]\nid = 3\nkafka = '[fd00::3]:9092'\n"
		"wal = 'node3:9291'\nraft = 'node3:5001'\n";

	assert_int_equal(load(f, cluster, env, NULL, 0), 0);
	assert_int_equal(f->cfg.node_id, 2);
	assert_int_equal(f->cfg.replication_factor, 3);
	assert_int_equal(f->cfg.min_insync_replicas, 2);
	assert_int_equal(f->cfg.socket_request_max_bytes, 2048);
	assert_int_equal(f->cfg.connections_max_idle_ms, 1000);
	assert_false(f->cfg.auto_create_topics_enable);
	assert_true(f->cfg.acks1_durable);
	assert_int_equal(f->cfg.num_partitions, 6);
	assert_string_equal(f->cfg.advertise_raft.host, "node2");
	assert_int_equal(f->cfg.topic_defaults.retention_ms, -1);
	assert_string_equal(f->cfg.topic_defaults.cleanup_policy, "compact");
	assert_int_equal(f->cfg.npeers, 3);
	assert_int_equal(f->cfg.peers[2].id, 3);
	assert_string_equal(f->cfg.peers[2].kafka.host, "fd00::3");
	assert_int_equal(f->cfg.peers[2].raft.port, 5001);
	assert_int_equal(f->cfg.peers[1].line, 26);
}

/* Invalid files: the error names the file, line and column. */
static void test_config_file_errors(void **state)
{
	struct fixture *f = *state;
	char *env[] = { NULL };
	static const struct {
		const char *text;
		int line, col;
		const char *msg;
	} cases[] = {
		{ "node_id = 1\nnod_id = 2\n", 2, 1,
		  "unknown key 'nod_id' (did you mean 'node_id'?)" },
		{ "[bind]\nkafak = 'a:1'\n", 2, 1,
		  "unknown key 'bind.kafak' (did you mean 'bind.kafka'?)" },
		{ "[server]\n", 1, 2, "unknown key 'server'" },
		{ "bind = 'x:1'\n", 1, 1, "'bind' must be a table, not a "
		  "string" },
		{ "node_id = '1'\n", 1, 11, "'node_id' must be an integer, "
		  "not a string" },
		{ "auto.create.topics.enable = 1\n", 1, 29,
		  "must be a boolean, not an integer" },
		{ "node_id 1\n", 1, 9, "expected '=' after key 'node_id'" },
		{ "wal_profile = 'fast'\n", 1, 15,
		  "unknown WAL profile 'fast' (expected low, medium, high "
		  "or ultra)" },
		{ "log_level = 'loud'\n", 1, 13, "unknown log level 'loud'" },
		{ "http_port = 70000\n", 1, 13,
		  "'http_port' must be between 0 and 65535, got 70000" },
		{ "num.partitions = 0\n", 1, 18, "between 1 and" },
		{ "[bind]\nkafka = 'localhost:99999'\n", 2, 9,
		  "bad port '99999'" },
		{ "[bind]\nkafka = 'localhost'\n", 2, 9, "missing port" },
		{ "[bind]\nkafka = '::1:9092'\n", 2, 9, "must be in brackets" },
		{ "[advertise]\nkafka = 'h:0'\n", 2, 9, "bad port '0'" },
		{ "[topic_defaults]\n\"compression.type\" = 'brotli'\n", 2, 22,
		  "must be one of producer, uncompressed" },
		{ "num.partitions = 2\n\"num.partitions\" = 3\n", 2, 1,
		  "'num.partitions' is already set at 1:1" },
		{ "[[peers]]\nid = 1\nkafka = 'a:1'\nwal = 'a:2'\n", 1, 1,
		  "peer has no 'raft'" },
		{ "[[peers]]\nid = 1\nhost = 'a'\n", 3, 1,
		  "unknown key 'peers.host'" },
		{ "[[peers]]\nid = 1\nkafka = 'a:1'\nwal = 'a:2'\n"
		  "raft = 'a:3'\n[[peers]]\nid = 1\nkafka = 'b:1'\n"
		  "wal = 'b:2'\nraft = 'b:3'\n", 6, 1,
		  "duplicate peer id 1 (also at 1:1)" },
		{ "[[peers]]\nid = 1\nkafka = '0.0.0.0:1'\n", 3, 9,
		  "nodes cannot connect to 0.0.0.0" },
		{ "peers = 3\n", 1, 1, "'peers' must be an array of tables" },
		{ "[advertise]\nkafka = '0.0.0.0:9092'\n", 2, 1,
		  "clients cannot connect to 0.0.0.0; set --advertise or "
		  "CHRONIK_ADVERTISED_ADDR to a reachable host:port" },
		{ "[advertise]\nraft = '[::]:5001'\n", 2, 1,
		  "other nodes cannot connect to ::" },
		{ "replication_factor = 3\n", 1, 1,
		  "replication_factor 3 needs a cluster" },
		{ "min_insync_replicas = 2\n", 1, 1,
		  "min_insync_replicas 2 is more than replication_factor 1" },
		{ "http_port = 9092\n", 1, 1, "http_port 9092 is also the "
		  "Kafka port" },
		{ "data_dir = ''\n", 1, 1, "'data_dir' must not be empty" },
		{ "data_dir = \"a\\u0000b\"\n", 1, 12, "NUL character" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = load(f, cases[i].text, env, NULL, 0);
		if (rc == 0)
			fail_msg("case %zu: loaded", i);
		assert_true(rc == CHRONIK_EARG || rc == CHRONIK_EMALFORMED);
		assert_file_error(f, cases[i].line, cases[i].col,
				  cases[i].msg);
	}
}

static void test_config_cluster_validation(void **state)
{
	struct fixture *f = *state;
	char *env[] = { NULL };
	char *env_id[] = { "CHRONIK_NODE_ID=9", NULL };
	static const char peers[] =
		"replication_factor = 2\n"
		"[[peers]]\nid = 1\nkafka = 'a:1'\nwal = 'a:2'\nraft = 'a:3'\n"
		"[[peers]]\nid = 2\nkafka = 'b:1'\nwal = 'b:2'\nraft = 'b:3'\n";

	assert_int_equal(load(f, peers, env, NULL, 0), 0);
	assert_int_equal(load(f, peers, env_id, NULL, 0), CHRONIK_EARG);
	assert_string_equal(f->err, "environment CHRONIK_NODE_ID: node_id 9 "
			    "is not the id of any [[peers]] entry");
	assert_int_equal(load(f, "replication_factor = 3\n"
			      "[[peers]]\nid = 1\nkafka = 'a:1'\n"
			      "wal = 'a:2'\nraft = 'a:3'\n", env, NULL, 0),
			 CHRONIK_EARG);
	assert_non_null(strstr(f->err, "more than the 1 nodes"));
	assert_int_equal(load(f, "[bind]\nwal = '0.0.0.0:9092'\n"
			      "[[peers]]\nid = 1\nkafka = 'a:1'\n"
			      "wal = 'a:2'\nraft = 'a:3'\n", env, NULL, 0),
			 CHRONIK_EARG);
	assert_non_null(strstr(f->err, "'bind.wal' uses port 9092"));
}

static void test_config_env_and_flag_errors(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *env;
		const char *msg;
	} cases[] = {
		{ "CHRONIK_ADVERTISED_ADDR=0.0.0.0:9092",
		  "environment CHRONIK_ADVERTISED_ADDR: clients cannot "
		  "connect to 0.0.0.0; set --advertise or "
		  "CHRONIK_ADVERTISED_ADDR to a reachable host:port" },
		{ "CHRONIK_ADVERTISE=[::]:9092",
		  "clients cannot connect to ::" },
		{ "CHRONIK_WAL_PROFILE=fast",
		  "environment CHRONIK_WAL_PROFILE: unknown WAL profile "
		  "'fast'" },
		{ "CHRONIK_NODE_ID=x1", "environment CHRONIK_NODE_ID: "
		  "'node_id' must be an integer, got 'x1'" },
		{ "CHRONIK_NODE_ID=-1", "between 0 and 2147483647" },
		{ "CHRONIK_HTTP_PORT=65536", "between 0 and 65535" },
		{ "CHRONIK_BIND=host:port", "bad port 'port'" },
		{ "CHRONIK_BIND=ho st:1", "invalid character ' '" },
		{ "CHRONIK_BIND=:9092", "missing host" },
		{ "CHRONIK_DEFAULT_SEARCHABLE=yes", "must be true or false" },
		{ "CHRONIK_ACKS1_DURABLE=maybe", "must be true or false" },
		{ "CHRONIK_CONFIG=/nonexistent/chronik.toml",
		  "/nonexistent/chronik.toml: cannot read" },
	};
	chronik_config_flag bad_flag[] = {
		{ "advertise.kafka", "--advertise", "0.0.0.0:9092" },
	};
	char *env[2] = { NULL, NULL };

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		env[0] = (char *)cases[i].env;
		if (load(f, NULL, env, NULL, 0) == 0)
			fail_msg("case %zu: loaded", i);
		if (!strstr(f->err, cases[i].msg))
			fail_msg("case %zu: got '%s'", i, f->err);
	}
	env[0] = NULL;
	assert_int_equal(load(f, NULL, env, bad_flag, 1), CHRONIK_EARG);
	assert_string_equal(f->err, "--advertise: clients cannot connect to "
			    "0.0.0.0; set --advertise or "
			    "CHRONIK_ADVERTISED_ADDR to a reachable "
			    "host:port");
	/* A flag fixes a bad environment value. */
	env[0] = "CHRONIK_ADVERTISED_ADDR=0.0.0.0:9092";
	bad_flag[0].value = "broker.example:9092";
	assert_int_equal(load(f, NULL, env, bad_flag, 1), 0);
}

static void test_config_addr_parse(void **state)
{
	chronik_config_addr a;
	char err[256], buf[300];
	(void)state;

	assert_int_equal(chronik_config_parse_addr(&a, "[fe80::1%eth0]:1",
						   false, err, sizeof err), 0);
	assert_string_equal(a.host, "fe80::1%eth0");
	assert_string_equal(chronik_config_addr_format(&a, buf, sizeof buf),
			    "[fe80::1%eth0]:1");
	assert_int_equal(chronik_config_parse_addr(&a, "kafka-0.svc:65535",
						   false, err, sizeof err), 0);
	assert_int_equal(a.port, 65535);
	assert_int_equal(chronik_config_parse_addr(&a, "h:0", true, err,
						   sizeof err), 0);
	assert_int_equal(chronik_config_parse_addr(&a, "h:+1", false, err,
						   sizeof err), CHRONIK_EARG);
	assert_int_equal(chronik_config_parse_addr(&a, "[::1]9092", false,
						   err, sizeof err),
			 CHRONIK_EARG);
	assert_int_equal(chronik_config_parse_addr(&a, "", false, err,
						   sizeof err), CHRONIK_EARG);
	assert_int_equal(chronik_config_parse_addr(&a, "[::1", false, err,
						   sizeof err), CHRONIK_EARG);
}

/* The printed config is TOML that loads back to the same settings. */
static void test_config_print_round_trip(void **state)
{
	struct fixture *f = *state;
	char *env[] = { "CHRONIK_DATA_DIR=/d \"q\"",
			"CHRONIK_ADMIN_API_KEY=s3cret", NULL };
	char *noenv[] = { NULL };
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	chronik_config first;

	assert_int_equal(load(f, "[[peers]]\nid = 1\nkafka = 'a:1'\n"
			      "wal = 'a:2'\nraft = 'a:3'\n", env, NULL, 0), 0);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	chronik_config_print(&f->cfg, out);
	fclose(out);
	assert_null(strstr(text, "s3cret"));
	assert_non_null(strstr(text, "# admin_api_key is set (not shown)"));
	assert_non_null(strstr(text, "data_dir = \"/d \\\"q\\\"\"  # "
			       "environment CHRONIK_DATA_DIR\n"));
	first = f->cfg;
	f->cfg.peers = NULL; /* keep first's peers */
	f->cfg.npeers = 0;
	assert_int_equal(load(f, text, noenv, NULL, 0), 0);
	assert_string_equal(f->cfg.data_dir, first.data_dir);
	assert_string_equal(f->cfg.advertise_kafka.host,
			    first.advertise_kafka.host);
	assert_int_equal(f->cfg.npeers, 1);
	assert_int_equal(f->cfg.peers[0].raft.port, 3);
	assert_int_equal(f->cfg.topic_defaults.segment_bytes,
			 first.topic_defaults.segment_bytes);
	chronik_config_free(&first);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_defaults, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_config_precedence, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_config_env_file_path_and_aliases, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_config_advertise_derivation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_cluster_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_config_file_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_config_cluster_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_config_env_and_flag_errors, setup, teardown),
		cmocka_unit_test(test_config_addr_parse),
		cmocka_unit_test_setup_teardown(test_config_print_round_trip,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
