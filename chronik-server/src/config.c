/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chronik/common.h"
#include "toml.h"

/* ---- the settings table ---------------------------------------------- */

enum kind {
	K_INT,     /* integer with a range */
	K_BOOL,
	K_STR,     /* free text */
	K_ADDR,    /* host:port something binds to (port 0 allowed) */
	K_ADV,     /* host:port others connect to */
	K_WAL,     /* WAL profile name */
	K_LOG,     /* log level name */
	K_CHOICE   /* one of `choices` */
};

struct setting {
	const char *key; /* TOML key, dotted for nested tables */
	enum kind kind;
	size_t off;
	size_t size; /* K_INT: 4 or 8; K_STR/K_CHOICE: buffer size */
	int64_t min, max;
	const char *const *choices;
	const char *env, *env_alias;
};

static const char *const cleanup_policies[] = {
	"delete", "compact", "delete,compact", "compact,delete", NULL
};
static const char *const compression_types[] = {
	"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd", NULL
};

#define OFF(f) offsetof(chronik_config, f)
#define SZ(f) sizeof(((chronik_config *)0)->f)
#define INT(k, f, lo, hi, env) \
	{ k, K_INT, OFF(f), SZ(f), lo, hi, NULL, env, NULL }
#define OF(k, kind, f, env) { k, kind, OFF(f), SZ(f), 0, 0, NULL, env, NULL }

static const struct setting settings[] = {
	INT("node_id", node_id, 0, INT32_MAX, "CHRONIK_NODE_ID"),
	INT("replication_factor", replication_factor, 1,
	    CHRONIK_CONFIG_MAX_PEERS, NULL),
	INT("min_insync_replicas", min_insync_replicas, 1,
	    CHRONIK_CONFIG_MAX_PEERS, NULL),
	OF("data_dir", K_STR, data_dir, "CHRONIK_DATA_DIR"),
	OF("wal_profile", K_WAL, wal_profile, "CHRONIK_WAL_PROFILE"),
	OF("log_level", K_LOG, log_level, "CHRONIK_LOG_LEVEL"),
	INT("http_port", http_port, 0, 65535, "CHRONIK_HTTP_PORT"),
	OF("admin_api_key", K_STR, admin_api_key, "CHRONIK_ADMIN_API_KEY"),
	OF("default_searchable", K_BOOL, default_searchable,
	   "CHRONIK_DEFAULT_SEARCHABLE"),
	INT("socket.request.max.bytes", socket_request_max_bytes, 1,
	    INT32_MAX, NULL),
	INT("connections.max.idle.ms", connections_max_idle_ms, 1,
	    INT64_MAX, NULL),
	OF("auto.create.topics.enable", K_BOOL, auto_create_topics_enable,
	   NULL),
	INT("num.partitions", num_partitions, 1, INT32_MAX, NULL),
	OF("bind.kafka", K_ADDR, bind_kafka, "CHRONIK_BIND"),
	OF("bind.wal", K_ADDR, bind_wal, NULL),
	OF("bind.raft", K_ADDR, bind_raft, NULL),
	{ "advertise.kafka", K_ADV, OFF(advertise_kafka),
	  SZ(advertise_kafka), 0, 0, NULL, "CHRONIK_ADVERTISED_ADDR",
	  "CHRONIK_ADVERTISE" },
	OF("advertise.wal", K_ADV, advertise_wal, NULL),
	OF("advertise.raft", K_ADV, advertise_raft, NULL),
	INT("topic_defaults.retention.ms", topic_defaults.retention_ms, -1,
	    INT64_MAX, NULL),
	INT("topic_defaults.retention.bytes", topic_defaults.retention_bytes,
	    -1, INT64_MAX, NULL),
	INT("topic_defaults.segment.bytes", topic_defaults.segment_bytes, 14,
	    INT32_MAX, NULL),
	INT("topic_defaults.segment.ms", topic_defaults.segment_ms, 1,
	    INT64_MAX, NULL),
	INT("topic_defaults.max.message.bytes",
	    topic_defaults.max_message_bytes, 0, INT32_MAX, NULL),
	INT("topic_defaults.min.compaction.lag.ms",
	    topic_defaults.min_compaction_lag_ms, 0, INT64_MAX, NULL),
	{ "topic_defaults.cleanup.policy", K_CHOICE,
	  OFF(topic_defaults.cleanup_policy),
	  SZ(topic_defaults.cleanup_policy), 0, 0, cleanup_policies, NULL,
	  NULL },
	{ "topic_defaults.compression.type", K_CHOICE,
	  OFF(topic_defaults.compression_type),
	  SZ(topic_defaults.compression_type), 0, 0, compression_types, NULL,
	  NULL },
	INT("group.initial.rebalance.delay.ms",
	    group_initial_rebalance_delay_ms, 0, INT32_MAX, NULL),
	INT("group.min.session.timeout.ms", group_min_session_timeout_ms, 1,
	    INT32_MAX, NULL),
	INT("group.max.session.timeout.ms", group_max_session_timeout_ms, 1,
	    INT32_MAX, NULL),
	INT("offsets.retention.minutes", offsets_retention_minutes, 1,
	    INT32_MAX, NULL),

	INT("producer.id.expiration.ms", producer_id_expiration_ms, 1,
	    INT64_MAX, NULL),
	OF("acks1.durable", K_BOOL, acks1_durable, "CHRONIK_ACKS1_DURABLE"),
};

#define NSET (sizeof settings / sizeof settings[0])
_Static_assert(NSET == CHRONIK_CONFIG_NSETTINGS,
	       "CHRONIK_CONFIG_NSETTINGS must match the settings table");

/* Indexes used by the derivation and validation steps. */
enum {
	S_NODE_ID = 0,
	S_REPLICATION_FACTOR = 1,
	S_MIN_ISR = 2,
	S_DATA_DIR = 3,
	S_HTTP_PORT = 6,
	S_ADMIN_KEY = 7,
	S_BIND_KAFKA = 13,
	S_ADV_KAFKA = 16
};

/* Variables read from the environment that are not settings. */
static const char *const other_env[] = { "CHRONIK_CONFIG", NULL };

static const char *const wal_profiles[] = {
	"low", "medium", "high", "ultra"
};

/* ---- small helpers --------------------------------------------------- */

static void *field(chronik_config *cfg, const struct setting *s)
{
	return (char *)cfg + s->off;
}

static const void *cfield(const chronik_config *cfg, const struct setting *s)
{
	return (const char *)cfg + s->off;
}

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return CHRONIK_EARG;
}

static void warnf(chronik_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warnf(chronik_config *cfg, const char *fmt, ...)
{
	va_list ap;

	if (cfg->nwarnings == CHRONIK_CONFIG_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(cfg->warnings[cfg->nwarnings++], sizeof cfg->warnings[0],
		  fmt, ap);
	va_end(ap);
}

/* "cluster.toml:3:7", "environment CHRONIK_BIND", "--bind", "default". */
static const char *origin_str(const chronik_config *cfg,
			      const chronik_config_origin *o, char *buf,
			      size_t cap)
{
	switch (o->source) {
	case CHRONIK_CONFIG_FILE:
		snprintf(buf, cap, "%s:%d:%d", cfg->config_file, o->line,
			 o->column);
		break;
	case CHRONIK_CONFIG_ENV:
		snprintf(buf, cap, "environment %s", o->name);
		break;
	case CHRONIK_CONFIG_FLAG:
		snprintf(buf, cap, "%s", o->name);
		break;
	case CHRONIK_CONFIG_DERIVED:
		snprintf(buf, cap, "derived from %s", o->name);
		break;
	default:
		snprintf(buf, cap, "default");
		break;
	}
	return buf;
}

static const struct setting *find_setting(const char *key, size_t *idx)
{
	for (size_t i = 0; i < NSET; i++) {
		if (strcmp(settings[i].key, key) == 0) {
			if (idx)
				*idx = i;
			return &settings[i];
		}
	}
	return NULL;
}

const chronik_config_origin *chronik_config_origin_of(
	const chronik_config *cfg, const char *key)
{
	size_t i;

	return find_setting(key, &i) ? &cfg->origin[i] : NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[128];

	if (la >= 127 || lb >= 127)
		return 1000;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* " (did you mean 'node_id'?)" or "". */
static const char *suggest(const char *key, char *buf, size_t cap)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, limit = strlen(key) / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < NSET; i++) {
		size_t d = edit_distance(key, settings[i].key);
		if (d < bestd) {
			bestd = d;
			best = settings[i].key;
		}
	}
	if (edit_distance(key, "peers") < bestd) {
		bestd = edit_distance(key, "peers");
		best = "peers";
	}
	buf[0] = '\0';
	if (best && bestd <= limit)
		snprintf(buf, cap, " (did you mean '%s'?)", best);
	return buf;
}

/* ---- addresses ------------------------------------------------------- */

static bool host_char_ok(int c, bool v6)
{
	if (isalnum(c) || c == '.' || c == '-')
		return true;
	if (c == '_') /* not in DNS, but common in container names */
		return true;
	return v6 && (c == ':' || c == '%');
}

int chronik_config_parse_addr(chronik_config_addr *out, const char *s,
			      bool allow_port0, char *err, size_t errlen)
{
	const char *host, *colon, *port;
	size_t hlen;
	bool v6 = false;
	char *end;
	long p;

	if (!s || !*s)
		return errf(err, errlen, "empty address (expected host:port, "
			    "e.g. localhost:9092)");
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb)
			return errf(err, errlen, "missing ']' in '%s'", s);
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
		if (*colon != ':')
			return errf(err, errlen, "expected ':port' after "
				    "']' in '%s'", s);
		v6 = true;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return errf(err, errlen, "missing port in '%s' "
				    "(expected host:port, e.g. "
				    "localhost:9092)", s);
		host = s;
		hlen = (size_t)(colon - s);
		if (memchr(host, ':', hlen))
			return errf(err, errlen, "IPv6 address must be in "
				    "brackets in '%s' (e.g. [::1]:9092)", s);
	}
	if (hlen == 0)
		return errf(err, errlen, "missing host in '%s' (expected "
			    "host:port)", s);
	if (hlen >= CHRONIK_CONFIG_HOST_MAX)
		return errf(err, errlen, "host name too long in '%.40s...'",
			    s);
	for (size_t i = 0; i < hlen; i++)
		if (!host_char_ok((unsigned char)host[i], v6))
			return errf(err, errlen, "invalid character '%c' in "
				    "host of '%s'", host[i], s);
	port = colon + 1;
	errno = 0;
	p = isdigit((unsigned char)*port) ? strtol(port, &end, 10) : -1;
	if (p < 0 || *end != '\0' || errno || p > 65535 ||
	    (p == 0 && !allow_port0))
		return errf(err, errlen, "bad port '%s' in '%s' (expected "
			    "%s-65535)", port, s, allow_port0 ? "0" : "1");
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (int)p;
	return 0;
}

bool chronik_config_addr_is_wildcard(const chronik_config_addr *a)
{
	static const char *const any[] = {
		"0.0.0.0", "::", "0:0:0:0:0:0:0:0", "::0", "*", NULL
	};

	for (size_t i = 0; any[i]; i++)
		if (strcmp(a->host, any[i]) == 0)
			return true;
	return a->host[0] == '\0';
}

const char *chronik_config_addr_format(const chronik_config_addr *a,
				       char *buf, size_t cap)
{
	snprintf(buf, cap, strchr(a->host, ':') ? "[%s]:%d" : "%s:%d",
		 a->host, a->port);
	return buf;
}

const char *chronik_wal_profile_name(chronik_wal_profile p)
{
	return (unsigned)p <= CHRONIK_WAL_PROFILE_ULTRA ? wal_profiles[p]
							: "unknown";
}

int chronik_wal_profile_parse(const char *s, chronik_wal_profile *out)
{
	for (int i = 0; i <= CHRONIK_WAL_PROFILE_ULTRA; i++) {
		if (strcasecmp(s, wal_profiles[i]) == 0) {
			*out = (chronik_wal_profile)i;
			return 0;
		}
	}
	return CHRONIK_EARG;
}

/* ---- setting values -------------------------------------------------- */

static int store_int(chronik_config *cfg, const struct setting *s,
		     int64_t v, const char *where, char *err, size_t errlen)
{
	if (v < s->min || v > s->max)
		return errf(err, errlen, "%s: '%s' must be between %" PRId64
			    " and %" PRId64 ", got %" PRId64, where, s->key,
			    s->min, s->max, v);
	if (s->size == sizeof(int32_t)) {
		int32_t x = (int32_t)v;
		memcpy(field(cfg, s), &x, sizeof x);
	} else {
		memcpy(field(cfg, s), &v, sizeof v);
	}
	return 0;
}

/* Store a textual value of any non-integer kind (all sources), or an
 * integer/boolean given as text (environment, flags). */
static int store_text(chronik_config *cfg, const struct setting *s,
		      const char *v, const char *where, char *err,
		      size_t errlen)
{
	char why[256];

	switch (s->kind) {
	case K_INT: {
		char *end;
		long long x;
		errno = 0;
		x = strtoll(v, &end, 10);
		if (!*v || *end || errno || isspace((unsigned char)*v))
			return errf(err, errlen, "%s: '%s' must be an "
				    "integer, got '%s'", where, s->key, v);
		return store_int(cfg, s, x, where, err, errlen);
	}
	case K_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(bool *)field(cfg, s) = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(bool *)field(cfg, s) = false;
		else
			return errf(err, errlen, "%s: '%s' must be true or "
				    "false, got '%s'", where, s->key, v);
		return 0;
	case K_STR:
		if (strlen(v) >= s->size)
			return errf(err, errlen, "%s: '%s' is longer than %zu "
				    "bytes", where, s->key, s->size - 1);
		strcpy(field(cfg, s), v);
		return 0;
	case K_ADDR:
	case K_ADV:
		if (chronik_config_parse_addr(field(cfg, s), v,
					      s->kind == K_ADDR, why,
					      sizeof why) != 0)
			return errf(err, errlen, "%s: '%s': %s", where,
				    s->key, why);
		return 0;
	case K_WAL:
		if (chronik_wal_profile_parse(v, field(cfg, s)) != 0)
			return errf(err, errlen, "%s: unknown WAL profile '%s' "
				    "(expected low, medium, high or ultra)",
				    where, v);
		return 0;
	case K_LOG:
		if (chronik_log_level_parse(v, field(cfg, s)) != 0)
			return errf(err, errlen, "%s: unknown log level '%s' "
				    "(expected error, warn, info, debug or "
				    "trace)", where, v);
		return 0;
	case K_CHOICE: {
		char list[128];
		size_t o = 0;
		for (size_t i = 0; s->choices[i]; i++) {
			if (strcmp(v, s->choices[i]) == 0) {
				strcpy(field(cfg, s), v);
				return 0;
			}
			o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
					      i ? ", " : "", s->choices[i]);
			if (o >= sizeof list)
				o = sizeof list - 1;
		}
		return errf(err, errlen, "%s: '%s' must be one of %s, got "
			    "'%s'", where, s->key, list, v);
	}
	}
	return CHRONIK_EARG;
}

/* ---- the TOML file ---------------------------------------------------- */

typedef struct file_ctx {
	chronik_config *cfg;
	char *err;
	size_t errlen;
} file_ctx;

static int apply_toml_value(file_ctx *fc, size_t idx,
			    const chronik_toml_value *v, int line, int col)
{
	const struct setting *s = &settings[idx];
	chronik_config *cfg = fc->cfg;
	chronik_config_origin *o = &cfg->origin[idx];
	char where[CHRONIK_CONFIG_PATH_MAX + 32];
	chronik_toml_type want;
	int vline = chronik_toml_line(v), vcol = chronik_toml_column(v);

	if (o->source == CHRONIK_CONFIG_FILE)
		return errf(fc->err, fc->errlen, "%s:%d:%d: '%s' is already "
			    "set at %d:%d", cfg->config_file, line, col,
			    s->key, o->line, o->column);
	snprintf(where, sizeof where, "%s:%d:%d", cfg->config_file, vline,
		 vcol);
	want = s->kind == K_INT ? CHRONIK_TOML_INTEGER
	       : s->kind == K_BOOL ? CHRONIK_TOML_BOOL : CHRONIK_TOML_STRING;
	if (chronik_toml_type_of(v) != want)
		return errf(fc->err, fc->errlen, "%s: '%s' must be %s %s, "
			    "not %s %s", where, s->key,
			    want == CHRONIK_TOML_INTEGER ? "an" : "a",
			    chronik_toml_type_name(want),
			    chronik_toml_type_of(v) == CHRONIK_TOML_INTEGER
			    || chronik_toml_type_of(v) == CHRONIK_TOML_ARRAY
			    ? "an" : "a",
			    chronik_toml_type_name(chronik_toml_type_of(v)));
	if (want == CHRONIK_TOML_INTEGER) {
		int64_t x = 0;
		int rc;
		chronik_toml_as_int(v, &x);
		if ((rc = store_int(cfg, s, x, where, fc->err, fc->errlen)))
			return rc;
	} else if (want == CHRONIK_TOML_BOOL) {
		bool b = false;
		chronik_toml_as_bool(v, &b);
		*(bool *)field(cfg, s) = b;
	} else {
		const char *str;
		size_t len;
		int rc;
		chronik_toml_as_string(v, &str, &len);
		if (strlen(str) != len)
			return errf(fc->err, fc->errlen, "%s: '%s' contains "
				    "a NUL character", where, s->key);
		if ((rc = store_text(cfg, s, str, where, fc->err,
				     fc->errlen)))
			return rc;
	}
	o->source = CHRONIK_CONFIG_FILE;
	o->line = line;
	o->column = col;
	o->name = NULL;
	return 0;
}

static int apply_peers(file_ctx *fc, const chronik_toml_value *arr, int line,
		       int col)
{
	chronik_config *cfg = fc->cfg;
	const char *file = cfg->config_file;
	size_t n;

	if (chronik_toml_type_of(arr) != CHRONIK_TOML_ARRAY)
		return errf(fc->err, fc->errlen, "%s:%d:%d: 'peers' must be "
			    "an array of tables ([[peers]])", file, line, col);
	n = chronik_toml_array_size(arr);
	if (n > CHRONIK_CONFIG_MAX_PEERS)
		return errf(fc->err, fc->errlen, "%s:%d:%d: more than %d "
			    "peers", file, line, col,
			    CHRONIK_CONFIG_MAX_PEERS);
	if (n == 0)
		return 0;
	cfg->peers = calloc(n, sizeof *cfg->peers);
	if (!cfg->peers)
		return CHRONIK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const chronik_toml_value *t = chronik_toml_array_at(arr, i);
		chronik_config_peer *p = &cfg->peers[i];
		bool have[4] = { false, false, false, false };
		static const char *const keys[] = {
			"id", "kafka", "wal", "raft"
		};

		p->line = chronik_toml_line(t);
		p->column = chronik_toml_column(t);
		if (chronik_toml_type_of(t) != CHRONIK_TOML_TABLE)
			return errf(fc->err, fc->errlen, "%s:%d:%d: each "
				    "peer must be a table with id, kafka, wal "
				    "and raft", file, p->line, p->column);
		cfg->npeers = i + 1;
		for (size_t j = 0; j < chronik_toml_table_size(t); j++) {
			const char *key;
			int kl, kc;
			const chronik_toml_value *v = chronik_toml_table_at(
				t, j, &key, &kl, &kc);
			int vl = chronik_toml_line(v);
			int vc = chronik_toml_column(v);
			size_t k;
			for (k = 0; k < 4; k++)
				if (strcmp(key, keys[k]) == 0)
					break;
			if (k == 4)
				return errf(fc->err, fc->errlen, "%s:%d:%d: "
					    "unknown key 'peers.%s' (a peer "
					    "has id, kafka, wal and raft)",
					    file, kl, kc, key);
			have[k] = true;
			if (k == 0) {
				int64_t id;
				if (chronik_toml_as_int(v, &id) != 0)
					return errf(fc->err, fc->errlen,
						    "%s:%d:%d: peer 'id' must "
						    "be an integer", file, vl,
						    vc);
				if (id < 0 || id > INT32_MAX)
					return errf(fc->err, fc->errlen,
						    "%s:%d:%d: peer id must be "
						    "between 0 and %d, got %"
						    PRId64, file, vl, vc,
						    INT32_MAX, id);
				p->id = (int32_t)id;
			} else {
				chronik_config_addr *a =
					k == 1 ? &p->kafka
					: k == 2 ? &p->wal : &p->raft;
				const char *str;
				char why[256];
				if (chronik_toml_as_string(v, &str, NULL) != 0)
					return errf(fc->err, fc->errlen,
						    "%s:%d:%d: peer '%s' must "
						    "be a string \"host:port\"",
						    file, vl, vc, key);
				if (chronik_config_parse_addr(
					    a, str, false, why,
					    sizeof why) != 0)
					return errf(fc->err, fc->errlen,
						    "%s:%d:%d: peer '%s': %s",
						    file, vl, vc, key, why);
				if (chronik_config_addr_is_wildcard(a))
					return errf(fc->err, fc->errlen,
						    "%s:%d:%d: peer '%s': "
						    "nodes cannot connect to "
						    "%s; use a reachable "
						    "host:port", file, vl, vc,
						    key, a->host);
			}
		}
		for (size_t k = 0; k < 4; k++)
			if (!have[k])
				return errf(fc->err, fc->errlen, "%s:%d:%d: "
					    "peer has no '%s' (each peer needs "
					    "id, kafka, wal and raft)", file,
					    p->line, p->column, keys[k]);
		for (size_t j = 0; j < i; j++)
			if (cfg->peers[j].id == p->id)
				return errf(fc->err, fc->errlen, "%s:%d:%d: "
					    "duplicate peer id %" PRId32
					    " (also at %d:%d)", file, p->line,
					    p->column, p->id,
					    cfg->peers[j].line,
					    cfg->peers[j].column);
	}
	return 0;
}

/* Is `prefix` (without the dot) the start of some setting's key? */
static bool known_prefix(const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < NSET; i++)
		if (strncmp(settings[i].key, prefix, n) == 0 &&
		    settings[i].key[n] == '.')
			return true;
	return false;
}

/* Walk a table; nested tables flatten to dotted names, so
 * `[topic_defaults] "retention.ms" = 1`, `retention.ms = 1` in that
 * table and `"topic_defaults.retention.ms" = 1` at the top are the same
 * setting (given twice, it is an error). */
static int apply_table(file_ctx *fc, const chronik_toml_value *t,
		       const char *prefix, int depth)
{
	for (size_t i = 0; i < chronik_toml_table_size(t); i++) {
		const char *key;
		int line, col, rc;
		const chronik_toml_value *v =
			chronik_toml_table_at(t, i, &key, &line, &col);
		char flat[512], hint[96];
		size_t idx;

		if (snprintf(flat, sizeof flat, "%s%s%s", prefix,
			     *prefix ? "." : "", key) >= (int)sizeof flat ||
		    depth > 8)
			return errf(fc->err, fc->errlen, "%s:%d:%d: unknown "
				    "key (too long)", fc->cfg->config_file,
				    line, col);
		if (depth == 0 && strcmp(flat, "peers") == 0) {
			if ((rc = apply_peers(fc, v, line, col)) != 0)
				return rc;
			continue;
		}
		if (find_setting(flat, &idx)) {
			if ((rc = apply_toml_value(fc, idx, v, line, col)))
				return rc;
			continue;
		}
		if (known_prefix(flat)) {
			if (chronik_toml_type_of(v) != CHRONIK_TOML_TABLE)
				return errf(fc->err, fc->errlen, "%s:%d:%d: "
					    "'%s' must be a table, not %s %s",
					    fc->cfg->config_file, line, col,
					    flat,
					    chronik_toml_type_of(v) ==
					    CHRONIK_TOML_INTEGER ||
					    chronik_toml_type_of(v) ==
					    CHRONIK_TOML_ARRAY ? "an" : "a",
					    chronik_toml_type_name(
						    chronik_toml_type_of(v)));
			if ((rc = apply_table(fc, v, flat, depth + 1)) != 0)
				return rc;
			continue;
		}
		return errf(fc->err, fc->errlen, "%s:%d:%d: unknown key "
			    "'%s'%s", fc->cfg->config_file, line, col, flat,
			    suggest(flat, hint, sizeof hint));
	}
	return 0;
}

static int load_file(chronik_config *cfg, const char *path, char *err,
		     size_t errlen)
{
	chronik_toml_value *root;
	chronik_toml_error terr;
	file_ctx fc = { cfg, err, errlen };
	int rc;

	if (strlen(path) >= sizeof cfg->config_file)
		return errf(err, errlen, "config file path is too long");
	strcpy(cfg->config_file, path);
	rc = chronik_toml_parse_file(&root, path, &terr);
	if (rc != 0) {
		if (rc == CHRONIK_ENOMEM)
			errf(err, errlen, "%s: out of memory", path);
		else
			errf(err, errlen, "%s", terr.text);
		return rc;
	}
	rc = apply_table(&fc, root, "", 0);
	chronik_toml_free(root);
	return rc;
}

/* ---- environment and flags ------------------------------------------- */

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

static bool env_known(const char *entry)
{
	size_t n = strcspn(entry, "=");

	for (size_t i = 0; i < NSET; i++) {
		const char *a = settings[i].env, *b = settings[i].env_alias;
		if ((a && strlen(a) == n && strncmp(a, entry, n) == 0) ||
		    (b && strlen(b) == n && strncmp(b, entry, n) == 0))
			return true;
	}
	for (size_t i = 0; other_env[i]; i++)
		if (strlen(other_env[i]) == n &&
		    strncmp(other_env[i], entry, n) == 0)
			return true;
	return false;
}

static int apply_env(chronik_config *cfg, char *const *envp, char *err,
		     size_t errlen)
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "CHRONIK_", 8) == 0 &&
		    !env_known(envp[i]))
			warnf(cfg, "ignoring unknown environment variable "
				   "%.*s", (int)strcspn(envp[i], "="),
			      envp[i]);
	for (size_t i = 0; i < NSET; i++) {
		const struct setting *s = &settings[i];
		/* The canonical name wins over its alias. */
		const char *names[2] = { s->env_alias, s->env };
		const char *vals[2];
		for (int k = 0; k < 2; k++)
			vals[k] = names[k] ? env_get(envp, names[k]) : NULL;
		if (vals[0] && *vals[0] && vals[1] && *vals[1] &&
		    strcmp(vals[0], vals[1]) != 0)
			warnf(cfg, "%s is set and overrides %s", names[1],
			      names[0]);
		for (int k = 0; k < 2; k++) {
			char where[64];
			int rc;
			/* Empty means unset: compose files often pass
			 * VAR= for "not configured". */
			if (!vals[k] || !*vals[k])
				continue;
			snprintf(where, sizeof where, "environment %s",
				 names[k]);
			rc = store_text(cfg, s, vals[k], where, err, errlen);
			if (rc != 0)
				return rc;
			cfg->origin[i].source = CHRONIK_CONFIG_ENV;
			cfg->origin[i].name = names[k];
		}
	}
	return 0;
}

static int apply_flags(chronik_config *cfg, const chronik_config_flag *flags,
		       size_t nflags, char *err, size_t errlen)
{
	for (size_t i = 0; i < nflags; i++) {
		size_t idx;
		const struct setting *s = find_setting(flags[i].key, &idx);
		const char *name = flags[i].flag ? flags[i].flag
						 : flags[i].key;
		int rc;

		if (!s)
			return errf(err, errlen, "%s: unknown setting '%s'",
				    name, flags[i].key);
		if ((rc = store_text(cfg, s, flags[i].value, name, err,
				     errlen)) != 0)
			return rc;
		cfg->origin[idx].source = CHRONIK_CONFIG_FLAG;
		cfg->origin[idx].name = name;
	}
	return 0;
}

/* ---- derive and validate --------------------------------------------- */

/* An unset advertised address follows its bind address, with
 * "localhost" in place of a wildcard host. */
static void derive(chronik_config *cfg)
{
	for (size_t k = 0; k < 3; k++) {
		size_t bi = S_BIND_KAFKA + k, ai = S_ADV_KAFKA + k;
		const chronik_config_addr *b = cfield(cfg, &settings[bi]);
		chronik_config_addr *a = field(cfg, &settings[ai]);
		if (cfg->origin[ai].source != CHRONIK_CONFIG_DEFAULT)
			continue;
		*a = *b;
		if (chronik_config_addr_is_wildcard(b))
			strcpy(a->host, "localhost");
		cfg->origin[ai].source = CHRONIK_CONFIG_DERIVED;
		cfg->origin[ai].name = settings[bi].key;
	}
}

static int validate(chronik_config *cfg, char *err, size_t errlen)
{
	char where[CHRONIK_CONFIG_PATH_MAX + 64];

#define WHERE(i) origin_str(cfg, &cfg->origin[i], where, sizeof where)
	if (cfg->data_dir[0] == '\0')
		return errf(err, errlen, "%s: 'data_dir' must not be empty",
			    WHERE(S_DATA_DIR));
	for (size_t k = 0; k < 3; k++) {
		size_t ai = S_ADV_KAFKA + k;
		const chronik_config_addr *a = cfield(cfg, &settings[ai]);
		if (!chronik_config_addr_is_wildcard(a))
			continue;
		if (k == 0)
			return errf(err, errlen, "%s: clients cannot connect "
				    "to %s; set --advertise or "
				    "CHRONIK_ADVERTISED_ADDR to a reachable "
				    "host:port", WHERE(ai), a->host);
		return errf(err, errlen, "%s: other nodes cannot connect to "
			    "%s; set '%s' in the config file to a reachable "
			    "host:port", WHERE(ai), a->host,
			    settings[ai].key);
	}
	if (cfg->http_port != 0 && cfg->http_port == cfg->bind_kafka.port)
		return errf(err, errlen, "%s: http_port %d is also the Kafka "
			    "port (bind.kafka)", WHERE(S_HTTP_PORT),
			    cfg->http_port);
	if (cfg->npeers == 0) {
		if (cfg->replication_factor > 1)
			return errf(err, errlen, "%s: replication_factor %d "
				    "needs a cluster: list the nodes in "
				    "[[peers]]", WHERE(S_REPLICATION_FACTOR),
				    (int)cfg->replication_factor);
	} else {
		bool self = false;
		for (size_t i = 0; i < cfg->npeers; i++)
			self |= cfg->peers[i].id == cfg->node_id;
		if (!self)
			return errf(err, errlen, "%s: node_id %d is not the "
				    "id of any [[peers]] entry",
				    WHERE(S_NODE_ID), (int)cfg->node_id);
		if ((size_t)cfg->replication_factor > cfg->npeers)
			return errf(err, errlen, "%s: replication_factor %d "
				    "is more than the %zu nodes listed in "
				    "[[peers]]", WHERE(S_REPLICATION_FACTOR),
				    (int)cfg->replication_factor,
				    cfg->npeers);
		for (size_t k = 1; k < 3; k++) {
			const chronik_config_addr *b =
				cfield(cfg, &settings[S_BIND_KAFKA + k]);
			if (b->port != 0 && b->port == cfg->bind_kafka.port)
				return errf(err, errlen, "%s: '%s' uses port "
					    "%d, the Kafka port",
					    WHERE(S_BIND_KAFKA + k),
					    settings[S_BIND_KAFKA + k].key,
					    b->port);
		}
	}
	if (cfg->min_insync_replicas > cfg->replication_factor)
		return errf(err, errlen, "%s: min_insync_replicas %d is more "
			    "than replication_factor %d", WHERE(S_MIN_ISR),
			    (int)cfg->min_insync_replicas,
			    (int)cfg->replication_factor);
#undef WHERE
	return 0;
}

/* ---- public ---------------------------------------------------------- */

void chronik_config_defaults(chronik_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->node_id = 1;
	cfg->replication_factor = 1;
	cfg->min_insync_replicas = 1;
	strcpy(cfg->data_dir, "./data");
	cfg->wal_profile = CHRONIK_WAL_PROFILE_MEDIUM;
	cfg->log_level = CHRONIK_LOG_INFO;
	cfg->http_port = 6092;
	cfg->socket_request_max_bytes = 104857600;
	cfg->connections_max_idle_ms = 600000;
	cfg->auto_create_topics_enable = true;
	cfg->num_partitions = 1;
	cfg->group_initial_rebalance_delay_ms = 3000;
	cfg->group_min_session_timeout_ms = 6000;
	cfg->group_max_session_timeout_ms = 1800000;
	cfg->offsets_retention_minutes = 10080;

	cfg->producer_id_expiration_ms = 86400000; /* 1 day, Kafka's */
	strcpy(cfg->bind_kafka.host, "0.0.0.0");
	cfg->bind_kafka.port = 9092;
	strcpy(cfg->bind_wal.host, "0.0.0.0");
	cfg->bind_wal.port = 9291;
	strcpy(cfg->bind_raft.host, "0.0.0.0");
	cfg->bind_raft.port = 5001;
	cfg->topic_defaults.retention_ms = 604800000;    /* 7 days */
	cfg->topic_defaults.retention_bytes = -1;
	cfg->topic_defaults.segment_bytes = 1073741824;  /* 1 GiB */
	cfg->topic_defaults.segment_ms = 604800000;
	cfg->topic_defaults.max_message_bytes = 1048588; /* Kafka's */
	cfg->topic_defaults.min_compaction_lag_ms = 0;
	strcpy(cfg->topic_defaults.cleanup_policy, "delete");
	strcpy(cfg->topic_defaults.compression_type, "producer");
	/* The advertised addresses are derived from bind in load(). */
}

int chronik_config_load(chronik_config *cfg, const char *config_path,
			char *const *envp, const chronik_config_flag *flags,
			size_t nflags, char *err, size_t errlen)
{
	int rc;

	chronik_config_defaults(cfg);
	if (err && errlen)
		err[0] = '\0';
	if (!config_path || !*config_path)
		config_path = env_get(envp, "CHRONIK_CONFIG");
	if (config_path && *config_path &&
	    (rc = load_file(cfg, config_path, err, errlen)) != 0)
		return rc;
	if ((rc = apply_env(cfg, envp, err, errlen)) != 0)
		return rc;
	if ((rc = apply_flags(cfg, flags, nflags, err, errlen)) != 0)
		return rc;
	derive(cfg);
	return validate(cfg, err, errlen);
}

void chronik_config_free(chronik_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->peers);
	cfg->peers = NULL;
	cfg->npeers = 0;
}

/* ---- printing -------------------------------------------------------- */

static void print_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_key(FILE *out, const char *k)
{
	if (strchr(k, '.'))
		fprintf(out, "\"%s\"", k);
	else
		fputs(k, out);
}

static void print_setting(const chronik_config *cfg, size_t i, FILE *out,
			  const char *key)
{
	const struct setting *s = &settings[i];
	const void *p = cfield(cfg, s);
	char buf[CHRONIK_CONFIG_PATH_MAX + 64];

	if (i == S_ADMIN_KEY) { /* admin_api_key: never print the secret */
		fprintf(out, "# admin_api_key is %s\n",
			cfg->admin_api_key[0] ? "set (not shown)" : "not set");
		return;
	}
	/* Derived values print as comments, so the output loads back into
	 * the same configuration (derivation happens again). */
	if (cfg->origin[i].source == CHRONIK_CONFIG_DERIVED)
		fputs("# ", out);
	print_key(out, key);
	fputs(" = ", out);
	switch (s->kind) {
	case K_INT: {
		int64_t v;
		if (s->size == sizeof(int32_t)) {
			int32_t x;
			memcpy(&x, p, sizeof x);
			v = x;
		} else {
			memcpy(&v, p, sizeof v);
		}
		fprintf(out, "%" PRId64, v);
		break;
	}
	case K_BOOL:
		fputs(*(const bool *)p ? "true" : "false", out);
		break;
	case K_STR:
	case K_CHOICE:
		print_str(out, p);
		break;
	case K_ADDR:
	case K_ADV:
		print_str(out, chronik_config_addr_format(p, buf, sizeof buf));
		break;
	case K_WAL:
		print_str(out, chronik_wal_profile_name(
				       *(const chronik_wal_profile *)p));
		break;
	case K_LOG:
		print_str(out, chronik_log_level_name(
				       *(const chronik_log_level *)p));
		break;
	}
	fprintf(out, "  # %s\n", origin_str(cfg, &cfg->origin[i], buf,
					    sizeof buf));
}

void chronik_config_print(const chronik_config *cfg, FILE *out)
{
	static const char *const sections[] = {
		"bind", "advertise", "topic_defaults"
	};
	char buf[300];

	fprintf(out, "# chronik-server effective configuration; the comment "
		     "after each value\n# says where it came from.\n");
	if (cfg->config_file[0]) {
		fputs("# config file: ", out);
		print_str(out, cfg->config_file);
		fputc('\n', out);
	}
	for (size_t i = 0; i < NSET; i++) {
		bool in_section = false;
		for (size_t k = 0; k < 3; k++)
			if (strncmp(settings[i].key, sections[k],
				    strlen(sections[k])) == 0 &&
			    settings[i].key[strlen(sections[k])] == '.')
				in_section = true;
		if (!in_section)
			print_setting(cfg, i, out, settings[i].key);
	}
	for (size_t k = 0; k < 3; k++) {
		size_t n = strlen(sections[k]);
		fprintf(out, "\n[%s]\n", sections[k]);
		for (size_t i = 0; i < NSET; i++)
			if (strncmp(settings[i].key, sections[k], n) == 0 &&
			    settings[i].key[n] == '.')
				print_setting(cfg, i, out,
					      settings[i].key + n + 1);
	}
	for (size_t i = 0; i < cfg->npeers; i++) {
		const chronik_config_peer *p = &cfg->peers[i];
		fprintf(out, "\n[[peers]]  # %s:%d:%d\nid = %" PRId32 "\n",
			cfg->config_file, p->line, p->column, p->id);
		fputs("kafka = ", out);
		print_str(out, chronik_config_addr_format(&p->kafka, buf,
							  sizeof buf));
		fputs("\nwal = ", out);
		print_str(out, chronik_config_addr_format(&p->wal, buf,
							  sizeof buf));
		fputs("\nraft = ", out);
		print_str(out, chronik_config_addr_format(&p->raft, buf,
							  sizeof buf));
		fputc('\n', out);
	}
}
