/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chronik-server's configuration: the settings struct and its loader.
 *
 * Precedence, highest first: command-line flags > environment
 * (CHRONIK_*) > the TOML file given by --config (or CHRONIK_CONFIG) >
 * built-in defaults. Every setting remembers where its value came from,
 * so errors and `start --print-config` can say so. docs/configuration.md
 * lists every setting.
 *
 * Thread-safety: a loaded config is plain data; read it from any thread,
 * change it from none.
 */
#ifndef CHRONIK_SERVER_CONFIG_H
#define CHRONIK_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define CHRONIK_CONFIG_HOST_MAX 256
#define CHRONIK_CONFIG_PATH_MAX 4096
#define CHRONIK_CONFIG_ERR_MAX 512
#define CHRONIK_CONFIG_MAX_PEERS 128
#define CHRONIK_CONFIG_MAX_WARNINGS 8

/* host:port. host has no brackets ("::1"); port 0 means "any free port"
 * and is only allowed where something binds. */
typedef struct chronik_config_addr {
	char host[CHRONIK_CONFIG_HOST_MAX];
	int port;
} chronik_config_addr;

typedef enum chronik_wal_profile {
	CHRONIK_WAL_PROFILE_LOW,
	CHRONIK_WAL_PROFILE_MEDIUM,
	CHRONIK_WAL_PROFILE_HIGH,
	CHRONIK_WAL_PROFILE_ULTRA
} chronik_wal_profile;

typedef struct chronik_config_peer {
	int32_t id;
	chronik_config_addr kafka, wal, raft;
	int line, column; /* of its [[peers]] header, for messages */
} chronik_config_peer;

/* Defaults for topics created without explicit configs; Kafka's topic
 * config names and meanings. */
typedef struct chronik_config_topic_defaults {
	int64_t retention_ms;      /* -1: keep forever */
	int64_t retention_bytes;   /* -1: no size limit */
	int64_t segment_bytes;
	int64_t segment_ms;
	int64_t max_message_bytes;
	int64_t min_compaction_lag_ms;
	char cleanup_policy[32];   /* delete | compact | delete,compact */
	char compression_type[16]; /* producer|uncompressed|gzip|snappy|... */
} chronik_config_topic_defaults;

/* Where a setting's value came from. */
typedef enum chronik_config_source {
	CHRONIK_CONFIG_DEFAULT,
	CHRONIK_CONFIG_FILE,
	CHRONIK_CONFIG_ENV,
	CHRONIK_CONFIG_FLAG,
	CHRONIK_CONFIG_DERIVED /* computed from another setting */
} chronik_config_source;

typedef struct chronik_config_origin {
	chronik_config_source source;
	/* FILE: position of the key; ENV: variable; FLAG: flag name. */
	int line, column;
	const char *name;
} chronik_config_origin;

/* Number of entries of the settings table (see config.c). */
#define CHRONIK_CONFIG_NSETTINGS 33

typedef struct chronik_config {
	int32_t node_id;
	int32_t replication_factor;
	int32_t min_insync_replicas;
	char data_dir[CHRONIK_CONFIG_PATH_MAX];
	chronik_wal_profile wal_profile;
	chronik_log_level log_level;
	int http_port;
	char admin_api_key[256]; /* "" when unset */
	bool default_searchable;
	int64_t socket_request_max_bytes;
	int64_t connections_max_idle_ms;
	bool auto_create_topics_enable;
	/* acks=1 waits for the WAL sync (else: for the WAL write). */
	bool acks1_durable;
	int32_t num_partitions;
	/* Idle idempotent producer state is forgotten after this. */
	int64_t producer_id_expiration_ms;
	chronik_config_addr bind_kafka, bind_wal, bind_raft;
	chronik_config_addr advertise_kafka, advertise_wal, advertise_raft;
	chronik_config_topic_defaults topic_defaults;
	/* Group coordinator (Kafka's broker settings of the same names). */
	int64_t group_initial_rebalance_delay_ms;
	int64_t group_min_session_timeout_ms;
	int64_t group_max_session_timeout_ms;
	int64_t offsets_retention_minutes;
	chronik_config_peer *peers; /* malloc'd; npeers entries */
	size_t npeers;
	/* The file that was read, "" when none. */
	char config_file[CHRONIK_CONFIG_PATH_MAX];
	chronik_config_origin origin[CHRONIK_CONFIG_NSETTINGS];
	/* Non-fatal remarks (e.g. an unknown CHRONIK_ variable). */
	char warnings[CHRONIK_CONFIG_MAX_WARNINGS][200];
	size_t nwarnings;
} chronik_config;

/* One command-line override: `key` is a TOML key of the settings table
 * ("data_dir", "bind.kafka", ...) and `flag` the spelling the user typed,
 * for messages. */
typedef struct chronik_config_flag {
	const char *key;
	const char *flag;
	const char *value;
} chronik_config_flag;

/* Fill in the built-in defaults (no file, env or flags). */
void chronik_config_defaults(chronik_config *cfg);

/*
 * Build the effective configuration: defaults, then the TOML file at
 * `config_path` (NULL: CHRONIK_CONFIG from envp, if any), then envp (a
 * NULL-terminated "NAME=value" array, not necessarily the process's),
 * then `flags`; derive what was left unset and validate. On failure `err`
 * gets one line without a trailing newline, e.g.
 * "cluster.toml:12:17: unknown key 'nod_id' (did you mean 'node_id'?)".
 * Returns 0, CHRONIK_EARG (invalid configuration), CHRONIK_EMALFORMED
 * (bad TOML), CHRONIK_ENOMEM, or -errno when the file cannot be read.
 * Free with chronik_config_free() in every case.
 */
int chronik_config_load(chronik_config *cfg, const char *config_path,
			char *const *envp, const chronik_config_flag *flags,
			size_t nflags, char *err, size_t errlen);

/* Release what the config owns (the peer list); cfg stays valid as
 * defaults-free storage. NULL is fine. */
void chronik_config_free(chronik_config *cfg);

/* Write the effective configuration as TOML, each value followed by a
 * comment naming its source. The admin API key is never printed. */
void chronik_config_print(const chronik_config *cfg, FILE *out);

/* Parse "host:port" / "[v6]:port". Returns 0 or CHRONIK_EARG with a
 * reason in err. */
int chronik_config_parse_addr(chronik_config_addr *out, const char *s,
			      bool allow_port0, char *err, size_t errlen);

/* "0.0.0.0", "::" and friends: addresses nobody can connect to. */
bool chronik_config_addr_is_wildcard(const chronik_config_addr *a);

/* "host:port", with brackets for IPv6. */
const char *chronik_config_addr_format(const chronik_config_addr *a,
				       char *buf, size_t cap);

const char *chronik_wal_profile_name(chronik_wal_profile p);
/* 0 or CHRONIK_EARG. */
int chronik_wal_profile_parse(const char *s, chronik_wal_profile *out);

/* The origin of the setting with TOML key `key`; NULL if no such key. */
const chronik_config_origin *chronik_config_origin_of(
	const chronik_config *cfg, const char *key);

#endif /* CHRONIK_SERVER_CONFIG_H */
