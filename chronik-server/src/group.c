/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group coordinator, classic protocol (see group.h and docs/groups.md).
 * Follows Kafka's GroupCoordinator: KIP-394 member ids, KIP-345 static
 * membership, KIP-814 skip_assignment for a static leader, the initial
 * rebalance delay and the pending-sync timeout.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <chronik/protocol.h>

#include "group.h"

#define E_NONE 0
#define E(x) CHRONIK_PROTOCOL_ERR_##x

/* Blob format version (docs/formats.md would list it with the store). */
#define GROUP_BLOB_V1 1

static const char *const state_names[] = {
	"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"
};

const char *chronik_group_state_name(chronik_group_state s)
{
	return (unsigned)s < 5 ? state_names[s] : "Unknown";
}

void chronik_group_config_defaults(chronik_group_config *cfg)
{
	cfg->min_session_timeout_ms = 6000;
	cfg->max_session_timeout_ms = 1800000;
	cfg->initial_rebalance_delay_ms = 3000;
	cfg->offsets_retention_ms = INT64_C(7) * 24 * 3600 * 1000;
	cfg->retention_check_ms = 600000;
	cfg->max_metadata_bytes = 4096;
}

static int64_t now(chronik_group_coord *c)
{
	return c->ops.now_ms(c->ops.ud);
}

static int64_t wall(chronik_group_coord *c)
{
	return c->ops.wall_ms(c->ops.ud);
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- members ---------------------------------------------------------- */

static void protocols_free(chronik_group_protocol *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].metadata);
	}
	free(p);
}

static int protocols_copy(chronik_group_protocol **out,
			  const chronik_group_protocol *p, size_t n)
{
	chronik_group_protocol *q = calloc(n ? n : 1, sizeof *q);

	if (!q)
		return CHRONIK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		q[i].name = strdup(p[i].name);
		q[i].metadata = malloc(p[i].len ? p[i].len : 1);
		if (!q[i].name || !q[i].metadata) {
			protocols_free(q, i + 1);
			return CHRONIK_ENOMEM;
		}
		if (p[i].len)
			memcpy(q[i].metadata, p[i].metadata, p[i].len);
		q[i].len = p[i].len;
	}
	*out = q;
	return 0;
}

static void member_free(chronik_group_member *m)
{
	if (!m)
		return;
	free(m->member_id);
	free(m->instance_id);
	free(m->client_id);
	free(m->client_host);
	protocols_free(m->protocols, m->nprotocols);
	free(m->assignment);
	free(m);
}

static const chronik_group_protocol *member_protocol(
	const chronik_group_member *m, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < m->nprotocols; i++)
		if (strcmp(m->protocols[i].name, name) == 0)
			return &m->protocols[i];
	return NULL;
}

static chronik_group_member *member_find(const chronik_group *g,
					 const char *id)
{
	for (size_t i = 0; i < g->nmembers; i++)
		if (strcmp(g->members[i]->member_id, id) == 0)
			return g->members[i];
	return NULL;
}

static chronik_group_member *static_find(const chronik_group *g,
					 const char *instance_id)
{
	if (!instance_id)
		return NULL;
	for (size_t i = 0; i < g->nmembers; i++)
		if (str_eq(g->members[i]->instance_id, instance_id))
			return g->members[i];
	return NULL;
}

static int member_add(chronik_group *g, chronik_group_member *m)
{
	if (g->nmembers == g->cap) {
		size_t n = g->cap ? g->cap * 2 : 4;
		chronik_group_member **v = realloc(g->members,
						   n * sizeof *v);
		if (!v)
			return CHRONIK_ENOMEM;
		g->members = v;
		g->cap = n;
	}
	g->members[g->nmembers++] = m;
	if (!g->leader_id)
		g->leader_id = xstrdup(m->member_id);
	return 0;
}

/* Detach m from g (not freed). A removed leader passes the role on. */
static void member_unlink(chronik_group *g, chronik_group_member *m)
{
	for (size_t i = 0; i < g->nmembers; i++) {
		if (g->members[i] != m)
			continue;
		memmove(&g->members[i], &g->members[i + 1],
			(g->nmembers - i - 1) * sizeof *g->members);
		g->nmembers--;
		break;
	}
	if (str_eq(g->leader_id, m->member_id)) {
		free(g->leader_id);
		g->leader_id = NULL;
		/* Prefer a member that is rejoining (it can assign). */
		for (size_t i = 0; i < g->nmembers && !g->leader_id; i++)
			if (g->members[i]->join_ctx)
				g->leader_id = xstrdup(
					g->members[i]->member_id);
		if (!g->leader_id && g->nmembers)
			g->leader_id = xstrdup(g->members[0]->member_id);
	}
}

static void new_member_id(chronik_group_coord *c, const char *prefix,
			  char *out, size_t cap)
{
	uint8_t r[16];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		uint64_t s = ++c->id_seq ^
			     (uint64_t)now(c) * 0x9e3779b97f4a7c15u;
		for (size_t i = 0; i < sizeof r; i++) {
			s = s * 6364136223846793005u + 1442695040888963407u;
			r[i] = (uint8_t)(s >> 56);
		}
	}
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
	snprintf(out, cap, "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", prefix ? prefix : "",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		 r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* ---- groups ----------------------------------------------------------- */

int chronik_group_coord_init(chronik_group_coord *c,
			     const chronik_group_config *cfg,
			     const chronik_group_ops *ops,
			     chronik_storage_meta *meta, chronik_log *log)
{
	memset(c, 0, sizeof *c);
	c->cfg = *cfg;
	c->ops = *ops;
	c->meta = meta;
	c->log = log;
	c->next_retention_check = now(c) + cfg->retention_check_ms;
	return 0;
}

static void group_free(chronik_group *g)
{
	for (size_t i = 0; i < g->nmembers; i++)
		member_free(g->members[i]);
	free(g->members);
	for (size_t i = 0; i < g->npending; i++)
		free(g->pending[i].member_id);
	free(g->pending);
	free(g->id);
	free(g->protocol_type);
	free(g->protocol_name);
	free(g->leader_id);
	free(g);
}

void chronik_group_coord_free(chronik_group_coord *c)
{
	while (c->groups) {
		chronik_group *g = c->groups;
		c->groups = g->next;
		group_free(g);
	}
	c->ngroups = 0;
}

chronik_group *chronik_group_find(chronik_group_coord *c, const char *id)
{
	for (chronik_group *g = c->groups; g; g = g->next)
		if (strcmp(g->id, id) == 0)
			return g;
	return NULL;
}

static chronik_group *group_new(chronik_group_coord *c, const char *id)
{
	chronik_group *g = calloc(1, sizeof *g);

	if (!g || !(g->id = strdup(id))) {
		free(g);
		return NULL;
	}
	g->state = CHRONIK_GROUP_EMPTY;
	g->empty_since_wall = wall(c);
	g->next = c->groups;
	c->groups = g;
	c->ngroups++;
	return g;
}

static void group_forget(chronik_group_coord *c, chronik_group *g)
{
	for (chronik_group **pp = &c->groups; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			c->ngroups--;
			break;
		}
	}
	group_free(g);
}

/* ---- persistence ------------------------------------------------------ */

typedef struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
} wbuf;

static void w_raw(wbuf *w, const void *d, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (!p) {
			w->oom = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	if (n)
		memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void w_u64(wbuf *w, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	w_raw(w, b, (size_t)bytes);
}

static void w_bytes(wbuf *w, const void *d, size_t n, bool null)
{
	w_u64(w, null ? UINT32_MAX : (uint32_t)n, 4);
	if (!null)
		w_raw(w, d, n);
}

static void w_str(wbuf *w, const char *s)
{
	w_bytes(w, s, s ? strlen(s) : 0, !s);
}

int chronik_group_encode(const chronik_group *g, uint8_t **out,
			 size_t *len)
{
	wbuf w = { 0 };

	w_u64(&w, GROUP_BLOB_V1, 1);
	w_str(&w, g->protocol_type);
	w_str(&w, g->protocol_name);
	w_u64(&w, (uint32_t)g->generation, 4);
	w_str(&w, g->leader_id);
	w_u64(&w, (uint64_t)g->empty_since_wall, 8);
	w_u64(&w, (uint32_t)g->nmembers, 4);
	for (size_t i = 0; i < g->nmembers; i++) {
		const chronik_group_member *m = g->members[i];
		const chronik_group_protocol *p =
			member_protocol(m, g->protocol_name);

		w_str(&w, m->member_id);
		w_str(&w, m->instance_id);
		w_str(&w, m->client_id);
		w_str(&w, m->client_host);
		w_u64(&w, (uint32_t)m->session_timeout_ms, 4);
		w_u64(&w, (uint32_t)m->rebalance_timeout_ms, 4);
		w_bytes(&w, p ? p->metadata : NULL, p ? p->len : 0, false);
		w_bytes(&w, m->assignment, m->assignment_len, false);
	}
	if (w.oom) {
		free(w.p);
		return CHRONIK_ENOMEM;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

typedef struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
} rbuf;

static uint64_t r_u64(rbuf *r, int bytes)
{
	uint64_t v = 0;

	if (r->bad || r->len - r->off < (size_t)bytes) {
		r->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v = v << 8 | r->p[r->off++];
	return v;
}

/* malloc'd copy (NUL-terminated) or NULL for null; *n its length. */
static uint8_t *r_bytes(rbuf *r, size_t *n, bool *null)
{
	uint32_t l = (uint32_t)r_u64(r, 4);
	uint8_t *p;

	*n = 0;
	*null = false;
	if (r->bad)
		return NULL;
	if (l == UINT32_MAX) {
		*null = true;
		return NULL;
	}
	if (r->len - r->off < l) {
		r->bad = true;
		return NULL;
	}
	p = malloc((size_t)l + 1);
	if (!p) {
		r->bad = true;
		return NULL;
	}
	memcpy(p, r->p + r->off, l);
	p[l] = 0;
	r->off += l;
	*n = l;
	return p;
}

static char *r_str(rbuf *r)
{
	size_t n;
	bool null;

	return (char *)r_bytes(r, &n, &null);
}

int chronik_group_decode(chronik_group_coord *c, const char *id,
			 const uint8_t *blob, size_t len, chronik_group **out)
{
	rbuf r = { blob, len, 0, false };
	chronik_group *g = calloc(1, sizeof *g);
	uint32_t n;

	if (!g || !(g->id = strdup(id))) {
		free(g);
		return CHRONIK_ENOMEM;
	}
	if (r_u64(&r, 1) != GROUP_BLOB_V1) {
		group_free(g);
		return CHRONIK_EVERSION;
	}
	g->protocol_type = r_str(&r);
	g->protocol_name = r_str(&r);
	g->generation = (int32_t)(uint32_t)r_u64(&r, 4);
	g->leader_id = r_str(&r);
	g->empty_since_wall = (int64_t)r_u64(&r, 8);
	n = (uint32_t)r_u64(&r, 4);
	for (uint32_t i = 0; i < n && !r.bad; i++) {
		chronik_group_member *m = calloc(1, sizeof *m);
		size_t ml;
		bool null;

		if (!m) {
			r.bad = true;
			break;
		}
		m->member_id = r_str(&r);
		m->instance_id = r_str(&r);
		m->client_id = r_str(&r);
		m->client_host = r_str(&r);
		m->session_timeout_ms = (int32_t)(uint32_t)r_u64(&r, 4);
		m->rebalance_timeout_ms = (int32_t)(uint32_t)r_u64(&r, 4);
		m->protocols = calloc(1, sizeof *m->protocols);
		if (m->protocols) {
			m->nprotocols = 1;
			m->protocols[0].name = xstrdup(g->protocol_name ?
						       g->protocol_name : "");
			m->protocols[0].metadata = r_bytes(&r, &ml, &null);
			m->protocols[0].len = ml;
		}
		m->assignment = r_bytes(&r, &m->assignment_len, &null);
		m->hb_deadline = now(c) + m->session_timeout_ms;
		if (r.bad || !m->member_id || !m->protocols ||
		    member_add(g, m) != 0) {
			member_free(m);
			r.bad = true;
		}
	}
	if (r.bad) {
		group_free(g);
		return CHRONIK_ECORRUPT;
	}
	if (g->nmembers) {
		g->state = CHRONIK_GROUP_STABLE;
		for (size_t i = 0; i < g->nmembers; i++)
			g->members[i]->synced = true;
	} else {
		g->state = CHRONIK_GROUP_EMPTY;
	}
	*out = g;
	return 0;
}

static void persist(chronik_group_coord *c, chronik_group *g)
{
	uint8_t *blob;
	size_t len;
	int rc;

	if (!c->meta)
		return;
	rc = chronik_group_encode(g, &blob, &len);
	if (rc == 0) {
		rc = chronik_storage_meta_group_put(c->meta, g->id, blob, len);
		free(blob);
	}
	if (rc != 0 && c->log)
		chronik_log_error(c->log, "group", "cannot store group %s: "
				  "%s", g->id, chronik_strerror(rc));
}

typedef struct load_ctx {
	chronik_group_coord *c;
	int rc;
} load_ctx;

static int load_cb(const char *id, const void *blob, size_t len, void *ud)
{
	load_ctx *l = ud;
	chronik_group *g = NULL;
	int rc;

	if (blob) {
		rc = chronik_group_decode(l->c, id, blob, len, &g);
		if (rc == CHRONIK_ENOMEM) {
			l->rc = rc;
			return 1;
		}
		if (rc != 0 && l->c->log)
			chronik_log_warn(l->c->log, "group", "group %s: "
					 "unreadable state (%s); it restarts "
					 "Empty", id, chronik_strerror(rc));
	}
	if (!g) {
		g = calloc(1, sizeof *g);
		if (!g || !(g->id = strdup(id))) {
			free(g);
			l->rc = CHRONIK_ENOMEM;
			return 1;
		}
		g->state = CHRONIK_GROUP_EMPTY;
		g->empty_since_wall = wall(l->c);
	}
	g->next = l->c->groups;
	l->c->groups = g;
	l->c->ngroups++;
	return 0;
}

int chronik_group_load(chronik_group_coord *c)
{
	load_ctx l = { c, 0 };
	int rc;

	if (!c->meta)
		return 0;
	rc = chronik_storage_meta_group_foreach(c->meta, load_cb, &l);
	if (l.rc)
		return l.rc;
	if (rc < 0)
		return rc;
	if (c->log && c->ngroups)
		chronik_log_info(c->log, "group", "loaded %zu group(s)",
				 c->ngroups);
	return 0;
}

/* ---- answering parked requests ---------------------------------------- */

static void join_error(chronik_group_coord *c, void *ctx, int16_t err,
		       const char *member_id)
{
	chronik_group_join_result r = { 0 };

	r.error = err;
	r.generation = -1;
	r.member_id = member_id ? member_id : "";
	r.leader_id = "";
	c->ops.join_done(ctx, &r);
}

static void sync_answer(chronik_group_coord *c, void *ctx, int16_t err,
			const chronik_group *g, const chronik_group_member *m)
{
	chronik_group_sync_result r = { 0 };

	r.error = err;
	if (!err && g && m) {
		r.protocol_type = g->protocol_type;
		r.protocol_name = g->protocol_name;
		r.assignment = m->assignment;
		r.len = m->assignment_len;
	}
	c->ops.sync_done(ctx, &r);
}

/* The JoinGroup answer of member m for the current generation. */
/* skip: a static leader that rejoined with JoinGroup v9+ (KIP-814).
 * old_leader: a static leader that rejoined with an older version; it is
 * told the old member id leads, so it acts as a follower and keeps its
 * assignment. */
static int join_answer(chronik_group_coord *c, chronik_group *g,
		       chronik_group_member *m, void *ctx, bool skip,
		       const char *old_leader)
{
	chronik_group_join_result r = { 0 };
	chronik_group_member_view *v = NULL;
	bool leader = str_eq(g->leader_id, m->member_id) && !old_leader;

	r.error = E_NONE;
	r.generation = g->generation;
	r.protocol_type = g->protocol_type;
	r.protocol_name = g->protocol_name;
	r.leader_id = old_leader ? old_leader :
		      g->leader_id ? g->leader_id : "";
	r.member_id = m->member_id;
	r.skip_assignment = skip && leader;
	if (leader) {
		v = calloc(g->nmembers ? g->nmembers : 1, sizeof *v);
		if (!v)
			return CHRONIK_ENOMEM;
		for (size_t i = 0; i < g->nmembers; i++) {
			const chronik_group_member *o = g->members[i];
			const chronik_group_protocol *p =
				member_protocol(o, g->protocol_name);
			v[i].member_id = o->member_id;
			v[i].instance_id = o->instance_id;
			v[i].metadata = p ? p->metadata : NULL;
			v[i].len = p ? p->len : 0;
		}
		r.members = v;
		r.nmembers = g->nmembers;
	}
	c->ops.join_done(ctx, &r);
	free(v);
	return 0;
}

/* ---- the state machine ------------------------------------------------ */

static int32_t max_rebalance_timeout(const chronik_group *g)
{
	int32_t t = 0;

	for (size_t i = 0; i < g->nmembers; i++)
		if (g->members[i]->rebalance_timeout_ms > t)
			t = g->members[i]->rebalance_timeout_ms;
	return t;
}

static void prepare_rebalance(chronik_group_coord *c, chronik_group *g)
{
	int64_t t = now(c);

	if (g->state == CHRONIK_GROUP_COMPLETING_REBALANCE) {
		/* Followers waiting for the leader's assignment retry. */
		for (size_t i = 0; i < g->nmembers; i++) {
			chronik_group_member *m = g->members[i];
			free(m->assignment);
			m->assignment = NULL;
			m->assignment_len = 0;
			if (m->sync_ctx) {
				void *ctx = m->sync_ctx;
				m->sync_ctx = NULL;
				sync_answer(c, ctx,
					    E(REBALANCE_IN_PROGRESS), NULL,
					    NULL);
			}
		}
	}
	if (g->state == CHRONIK_GROUP_EMPTY &&
	    c->cfg.initial_rebalance_delay_ms > 0) {
		int32_t rt = max_rebalance_timeout(g);
		int32_t d = c->cfg.initial_rebalance_delay_ms;
		if (d > rt)
			d = rt;
		g->initial_delay = true;
		g->new_member_added = false;
		g->initial_delay_end = t + rt;
		g->rebalance_deadline = t + d;
	} else {
		g->initial_delay = false;
		g->rebalance_deadline = t + max_rebalance_timeout(g);
	}
	g->state = CHRONIK_GROUP_PREPARING_REBALANCE;
	if (c->log)
		chronik_log_info(c->log, "group", "group %s: preparing "
				 "rebalance (generation %" PRId32 ", %zu "
				 "member(s))", g->id, g->generation,
				 g->nmembers);
}

static void maybe_prepare_rebalance(chronik_group_coord *c, chronik_group *g)
{
	if (g->state == CHRONIK_GROUP_STABLE ||
	    g->state == CHRONIK_GROUP_COMPLETING_REBALANCE ||
	    g->state == CHRONIK_GROUP_EMPTY)
		prepare_rebalance(c, g);
}

/* The protocol every member supports, by the members' votes (each
 * member votes for its most preferred candidate); ties go to the first
 * member's preference. NULL if none is common. */
static const char *select_protocol(const chronik_group *g)
{
	const chronik_group_member *first;
	const char *best = NULL;
	size_t best_votes = 0;

	if (!g->nmembers)
		return NULL;
	first = g->members[0];
	for (size_t i = 0; i < first->nprotocols; i++) {
		const char *cand = first->protocols[i].name;
		size_t votes = 0;
		bool common = true;

		for (size_t j = 0; j < g->nmembers && common; j++)
			if (!member_protocol(g->members[j], cand))
				common = false;
		if (!common)
			continue;
		for (size_t j = 0; j < g->nmembers; j++) {
			const chronik_group_member *m = g->members[j];
			for (size_t k = 0; k < m->nprotocols; k++) {
				const char *n = m->protocols[k].name;
				bool ok = true;
				for (size_t x = 0; x < g->nmembers && ok; x++)
					if (!member_protocol(g->members[x], n))
						ok = false;
				if (ok) {
					if (strcmp(n, cand) == 0)
						votes++;
					break;
				}
			}
		}
		if (!best || votes > best_votes) {
			best = cand;
			best_votes = votes;
		}
	}
	return best;
}

/* Can a member with these protocols join? (type + a common protocol) */
static bool supports_protocols(const chronik_group *g, const char *type,
			       const chronik_group_protocol *p, size_t n)
{
	if (!type || !*type || n == 0)
		return false;
	if (g->nmembers == 0)
		return true;
	if (!str_eq(g->protocol_type, type))
		return false;
	for (size_t i = 0; i < n; i++) {
		bool all = true;
		for (size_t j = 0; j < g->nmembers && all; j++)
			if (!member_protocol(g->members[j], p[i].name))
				all = false;
		if (all)
			return true;
	}
	return false;
}

static void remove_member(chronik_group_coord *c, chronik_group *g,
			  chronik_group_member *m, int16_t answer);
static void try_complete_join(chronik_group_coord *c, chronik_group *g,
			      bool force);

/* End of the join phase: drop members that did not rejoin, start the
 * next generation and answer every parked JoinGroup. */
static void complete_join(chronik_group_coord *c, chronik_group *g)
{
	int64_t t = now(c);

	for (size_t i = 0; i < g->nmembers;) {
		chronik_group_member *m = g->members[i];
		if (!m->join_ctx) {
			if (c->log)
				chronik_log_info(c->log, "group", "group %s: "
						 "member %s did not rejoin; "
						 "removed", g->id,
						 m->member_id);
			member_unlink(g, m);
			member_free(m);
			continue;
		}
		i++;
	}
	g->generation++;
	g->initial_delay = false;
	free(g->protocol_name);
	g->protocol_name = NULL;
	if (g->nmembers == 0) {
		g->state = CHRONIK_GROUP_EMPTY;
		g->empty_since_wall = wall(c);
		free(g->leader_id);
		g->leader_id = NULL;
		if (c->log)
			chronik_log_info(c->log, "group", "group %s: Empty "
					 "(generation %" PRId32 ")", g->id,
					 g->generation);
		persist(c, g);
		return;
	}
	g->protocol_name = xstrdup(select_protocol(g));
	g->state = CHRONIK_GROUP_COMPLETING_REBALANCE;
	g->rebalance_deadline = t + max_rebalance_timeout(g);
	if (c->log)
		chronik_log_info(c->log, "group", "group %s: generation %"
				 PRId32 " with %zu member(s), protocol %s, "
				 "leader %s", g->id, g->generation,
				 g->nmembers, g->protocol_name,
				 g->leader_id);
	for (size_t i = 0; i < g->nmembers; i++) {
		chronik_group_member *m = g->members[i];
		void *ctx = m->join_ctx;

		m->join_ctx = NULL;
		m->synced = false;
		m->hb_deadline = t + m->session_timeout_ms;
		if (join_answer(c, g, m, ctx, false, NULL) != 0)
			join_error(c, ctx, E(UNKNOWN_SERVER_ERROR),
				   m->member_id);
	}
}

static bool all_joined(const chronik_group *g)
{
	if (g->npending)
		return false;
	for (size_t i = 0; i < g->nmembers; i++)
		if (!g->members[i]->join_ctx)
			return false;
	return true;
}

static void try_complete_join(chronik_group_coord *c, chronik_group *g,
			      bool force)
{
	if (g->state != CHRONIK_GROUP_PREPARING_REBALANCE)
		return;
	if (force || (!g->initial_delay && all_joined(g)))
		complete_join(c, g);
}

static void remove_member(chronik_group_coord *c, chronik_group *g,
			  chronik_group_member *m, int16_t answer)
{
	if (m->join_ctx) {
		void *ctx = m->join_ctx;
		m->join_ctx = NULL;
		join_error(c, ctx, answer, m->member_id);
	}
	if (m->sync_ctx) {
		void *ctx = m->sync_ctx;
		m->sync_ctx = NULL;
		sync_answer(c, ctx, answer, NULL, NULL);
	}
	member_unlink(g, m);
	member_free(m);
	switch (g->state) {
	case CHRONIK_GROUP_STABLE:
	case CHRONIK_GROUP_COMPLETING_REBALANCE:
		prepare_rebalance(c, g);
		/* Nobody left to rejoin: finish at once (→ Empty). */
		if (g->nmembers == 0)
			try_complete_join(c, g, true);
		break;
	case CHRONIK_GROUP_PREPARING_REBALANCE:
		try_complete_join(c, g, g->nmembers == 0);
		break;
	default:
		break;
	}
}

static bool pending_take(chronik_group *g, const char *id)
{
	for (size_t i = 0; i < g->npending; i++) {
		if (strcmp(g->pending[i].member_id, id) == 0) {
			free(g->pending[i].member_id);
			g->pending[i] = g->pending[--g->npending];
			return true;
		}
	}
	return false;
}

static int pending_add(chronik_group *g, const char *id, int64_t deadline)
{
	if (g->npending == g->pending_cap) {
		size_t n = g->pending_cap ? g->pending_cap * 2 : 4;
		chronik_group_pending *v = realloc(g->pending, n * sizeof *v);
		if (!v)
			return CHRONIK_ENOMEM;
		g->pending = v;
		g->pending_cap = n;
	}
	g->pending[g->npending].member_id = strdup(id);
	if (!g->pending[g->npending].member_id)
		return CHRONIK_ENOMEM;
	g->pending[g->npending++].deadline = deadline;
	return 0;
}

static int member_update(chronik_group_member *m,
			 const chronik_group_join_args *a)
{
	chronik_group_protocol *p;
	int rc = protocols_copy(&p, a->protocols, a->nprotocols);

	if (rc != 0)
		return rc;
	protocols_free(m->protocols, m->nprotocols);
	m->protocols = p;
	m->nprotocols = a->nprotocols;
	m->session_timeout_ms = a->session_timeout_ms;
	m->rebalance_timeout_ms = a->rebalance_timeout_ms;
	if (a->client_id && !str_eq(m->client_id, a->client_id)) {
		free(m->client_id);
		m->client_id = xstrdup(a->client_id);
	}
	if (a->client_host && !str_eq(m->client_host, a->client_host)) {
		free(m->client_host);
		m->client_host = xstrdup(a->client_host);
	}
	return 0;
}

/* Same protocols with the same metadata, in the same order? */
static bool same_protocols(const chronik_group_member *m,
			   const chronik_group_join_args *a)
{
	if (m->nprotocols != a->nprotocols)
		return false;
	for (size_t i = 0; i < a->nprotocols; i++) {
		const chronik_group_protocol *x = &m->protocols[i];
		const chronik_group_protocol *y = &a->protocols[i];
		if (strcmp(x->name, y->name) != 0 || x->len != y->len ||
		    (x->len && memcmp(x->metadata, y->metadata, x->len)))
			return false;
	}
	return true;
}

static int add_member_and_rebalance(chronik_group_coord *c,
				    chronik_group *g,
				    const chronik_group_join_args *a,
				    const char *member_id, void *ctx)
{
	chronik_group_member *m = calloc(1, sizeof *m);

	if (!m)
		return CHRONIK_ENOMEM;
	m->member_id = strdup(member_id);
	m->instance_id = xstrdup(a->instance_id);
	if (!m->member_id || (a->instance_id && !m->instance_id) ||
	    member_update(m, a) != 0) {
		member_free(m);
		return CHRONIK_ENOMEM;
	}
	if (g->nmembers == 0) {
		free(g->protocol_type);
		g->protocol_type = xstrdup(a->protocol_type);
	}
	m->join_ctx = ctx;
	m->hb_deadline = now(c) + m->session_timeout_ms;
	if (member_add(g, m) != 0) {
		member_free(m);
		return CHRONIK_ENOMEM;
	}
	if (g->state == CHRONIK_GROUP_PREPARING_REBALANCE)
		g->new_member_added = true;
	maybe_prepare_rebalance(c, g);
	try_complete_join(c, g, false);
	return 0;
}

static int update_member_and_rebalance(chronik_group_coord *c,
				       chronik_group *g,
				       chronik_group_member *m,
				       const chronik_group_join_args *a,
				       void *ctx)
{
	int rc = member_update(m, a);

	if (rc != 0)
		return rc;
	if (m->join_ctx && m->join_ctx != ctx) {
		/* A newer JoinGroup replaces a parked one. */
		void *old = m->join_ctx;
		m->join_ctx = NULL;
		join_error(c, old, E(UNKNOWN_MEMBER_ID), m->member_id);
	}
	m->join_ctx = ctx;
	maybe_prepare_rebalance(c, g);
	try_complete_join(c, g, false);
	return 0;
}

/* KIP-345: a known instance id joins with a new member id. */
static int static_rejoin(chronik_group_coord *c, chronik_group *g,
			 chronik_group_member *m,
			 const chronik_group_join_args *a,
			 const char *new_id, void *ctx)
{
	bool leader = str_eq(g->leader_id, m->member_id);
	const char *old_sel = g->protocol_name;
	char *id = strdup(new_id);
	char *old_id = m->member_id;
	int rc;

	if (!id)
		return CHRONIK_ENOMEM;
	/* The old incarnation is fenced. */
	if (m->join_ctx) {
		void *o = m->join_ctx;
		m->join_ctx = NULL;
		join_error(c, o, E(FENCED_INSTANCE_ID), m->member_id);
	}
	if (m->sync_ctx) {
		void *o = m->sync_ctx;
		m->sync_ctx = NULL;
		sync_answer(c, o, E(FENCED_INSTANCE_ID), NULL, NULL);
	}
	if (c->log)
		chronik_log_info(c->log, "group", "group %s: static member "
				 "%s rejoined as %s (was %s)", g->id,
				 a->instance_id, new_id, m->member_id);
	m->member_id = id;
	if (leader) {
		free(g->leader_id);
		g->leader_id = xstrdup(id);
	}
	rc = member_update(m, a);
	if (rc != 0) {
		free(old_id);
		return rc;
	}
	m->hb_deadline = now(c) + m->session_timeout_ms;
	if (g->state != CHRONIK_GROUP_STABLE)
		free(old_id);
	switch (g->state) {
	case CHRONIK_GROUP_STABLE: {
		const char *sel = select_protocol(g);
		if (sel && str_eq(sel, old_sel)) {
			/* Same protocol: no rebalance, the member keeps its
			 * assignment (SyncGroup returns it). */
			persist(c, g);
			rc = join_answer(c, g, m, ctx,
					 a->supports_skip_assignment,
					 leader && !a->supports_skip_assignment
					 ? old_id : NULL);
			free(old_id);
			return rc;
		}
		free(old_id);
		m->join_ctx = ctx;
		prepare_rebalance(c, g);
		try_complete_join(c, g, false);
		return 0;
	}
	case CHRONIK_GROUP_COMPLETING_REBALANCE:
		m->join_ctx = ctx;
		prepare_rebalance(c, g);
		try_complete_join(c, g, false);
		return 0;
	default:
		m->join_ctx = ctx;
		try_complete_join(c, g, false);
		return 0;
	}
}

int chronik_group_join(chronik_group_coord *c,
		       const chronik_group_join_args *a, void *ctx)
{
	chronik_group *g;
	chronik_group_member *m;
	chronik_group_join_args args = *a;
	char id[512];

	if (!a->group_id || !*a->group_id) {
		join_error(c, ctx, E(INVALID_GROUP_ID), a->member_id);
		return 0;
	}
	if (a->session_timeout_ms < c->cfg.min_session_timeout_ms ||
	    a->session_timeout_ms > c->cfg.max_session_timeout_ms) {
		join_error(c, ctx, E(INVALID_SESSION_TIMEOUT), a->member_id);
		return 0;
	}
	if (args.rebalance_timeout_ms < 0)
		args.rebalance_timeout_ms = args.session_timeout_ms;
	if (args.instance_id && !*args.instance_id)
		args.instance_id = NULL;
	a = &args;
	g = chronik_group_find(c, a->group_id);
	if (!g) {
		if (*a->member_id) {
			join_error(c, ctx, E(UNKNOWN_MEMBER_ID),
				   a->member_id);
			return 0;
		}
		g = group_new(c, a->group_id);
		if (!g)
			return CHRONIK_ENOMEM;
	}
	if (g->state == CHRONIK_GROUP_DEAD) {
		join_error(c, ctx, E(COORDINATOR_NOT_AVAILABLE), a->member_id);
		return 0;
	}

	if (!*a->member_id) {
		/* A new member. */
		if (!supports_protocols(g, a->protocol_type, a->protocols,
					a->nprotocols)) {
			join_error(c, ctx, E(INCONSISTENT_GROUP_PROTOCOL), "");
			return 0;
		}
		new_member_id(c, a->instance_id ? a->instance_id :
			      a->client_id, id, sizeof id);
		if (a->instance_id) {
			m = static_find(g, a->instance_id);
			if (m)
				return static_rejoin(c, g, m, a, id, ctx);
			return add_member_and_rebalance(c, g, a, id, ctx);
		}
		if (a->require_known_member_id) {
			if (pending_add(g, id, now(c) +
					a->session_timeout_ms) != 0)
				return CHRONIK_ENOMEM;
			join_error(c, ctx, E(MEMBER_ID_REQUIRED), id);
			return 0;
		}
		return add_member_and_rebalance(c, g, a, id, ctx);
	}

	/* A known (or pending) member id. */
	if (pending_take(g, a->member_id)) {
		if (!supports_protocols(g, a->protocol_type, a->protocols,
					a->nprotocols)) {
			join_error(c, ctx, E(INCONSISTENT_GROUP_PROTOCOL),
				   a->member_id);
			try_complete_join(c, g, false);
			return 0;
		}
		return add_member_and_rebalance(c, g, a, a->member_id, ctx);
	}
	if (a->instance_id) {
		chronik_group_member *s = static_find(g, a->instance_id);
		if (s && strcmp(s->member_id, a->member_id) != 0) {
			join_error(c, ctx, E(FENCED_INSTANCE_ID),
				   a->member_id);
			return 0;
		}
	}
	m = member_find(g, a->member_id);
	if (!m) {
		join_error(c, ctx, E(UNKNOWN_MEMBER_ID), a->member_id);
		return 0;
	}
	if (!supports_protocols(g, a->protocol_type, a->protocols,
				a->nprotocols)) {
		join_error(c, ctx, E(INCONSISTENT_GROUP_PROTOCOL),
			   a->member_id);
		return 0;
	}
	m->hb_deadline = now(c) + m->session_timeout_ms;
	switch (g->state) {
	case CHRONIK_GROUP_PREPARING_REBALANCE:
		return update_member_and_rebalance(c, g, m, a, ctx);
	case CHRONIK_GROUP_COMPLETING_REBALANCE:
		if (same_protocols(m, a))
			/* A retried JoinGroup: the same answer again. */
			return join_answer(c, g, m, ctx, false, NULL);
		return update_member_and_rebalance(c, g, m, a, ctx);
	case CHRONIK_GROUP_STABLE:
		if (str_eq(g->leader_id, m->member_id) ||
		    !same_protocols(m, a))
			return update_member_and_rebalance(c, g, m, a, ctx);
		return join_answer(c, g, m, ctx, false, NULL);
	default:
		join_error(c, ctx, E(UNKNOWN_MEMBER_ID), a->member_id);
		return 0;
	}
}

static int16_t check_member(chronik_group *g, const char *member_id,
			    const char *instance_id,
			    chronik_group_member **out)
{
	chronik_group_member *m;

	if (instance_id && *instance_id) {
		m = static_find(g, instance_id);
		if (m && strcmp(m->member_id, member_id) != 0)
			return E(FENCED_INSTANCE_ID);
	}
	m = member_find(g, member_id);
	if (!m)
		return E(UNKNOWN_MEMBER_ID);
	*out = m;
	return E_NONE;
}

int chronik_group_sync(chronik_group_coord *c,
		       const chronik_group_sync_args *a, void *ctx)
{
	chronik_group *g = chronik_group_find(c, a->group_id);
	chronik_group_member *m = NULL;
	int16_t err;

	if (!g) {
		sync_answer(c, ctx, E(UNKNOWN_MEMBER_ID), NULL, NULL);
		return 0;
	}
	if (g->state == CHRONIK_GROUP_DEAD) {
		sync_answer(c, ctx, E(COORDINATOR_NOT_AVAILABLE), NULL, NULL);
		return 0;
	}
	err = check_member(g, a->member_id, a->instance_id, &m);
	if (!err && a->generation != g->generation)
		err = E(ILLEGAL_GENERATION);
	if (!err && a->protocol_type &&
	    !str_eq(a->protocol_type, g->protocol_type))
		err = E(INCONSISTENT_GROUP_PROTOCOL);
	if (!err && a->protocol_name &&
	    !str_eq(a->protocol_name, g->protocol_name))
		err = E(INCONSISTENT_GROUP_PROTOCOL);
	if (!err && g->state == CHRONIK_GROUP_EMPTY)
		err = E(UNKNOWN_MEMBER_ID);
	if (!err && g->state == CHRONIK_GROUP_PREPARING_REBALANCE)
		err = E(REBALANCE_IN_PROGRESS);
	if (err) {
		sync_answer(c, ctx, err, NULL, NULL);
		return 0;
	}
	m->hb_deadline = now(c) + m->session_timeout_ms;
	m->synced = true;
	if (g->state == CHRONIK_GROUP_STABLE) {
		sync_answer(c, ctx, E_NONE, g, m);
		return 0;
	}
	/* CompletingRebalance. */
	if (m->sync_ctx) {
		void *o = m->sync_ctx;
		m->sync_ctx = NULL;
		sync_answer(c, o, E(REBALANCE_IN_PROGRESS), NULL, NULL);
	}
	m->sync_ctx = ctx;
	if (!str_eq(g->leader_id, m->member_id))
		return 0;
	/* The leader's assignment: members it does not mention get an
	 * empty one. */
	for (size_t i = 0; i < g->nmembers; i++) {
		chronik_group_member *x = g->members[i];
		free(x->assignment);
		x->assignment = NULL;
		x->assignment_len = 0;
	}
	for (size_t i = 0; i < a->nassignments; i++) {
		chronik_group_member *x =
			member_find(g, a->assignments[i].member_id);
		size_t n = a->assignments[i].len;
		if (!x)
			continue;
		free(x->assignment);
		x->assignment = malloc(n ? n : 1);
		if (!x->assignment)
			return CHRONIK_ENOMEM;
		if (n)
			memcpy(x->assignment, a->assignments[i].data, n);
		x->assignment_len = n;
	}
	g->state = CHRONIK_GROUP_STABLE;
	persist(c, g);
	if (c->log)
		chronik_log_info(c->log, "group", "group %s: Stable "
				 "(generation %" PRId32 ")", g->id,
				 g->generation);
	for (size_t i = 0; i < g->nmembers; i++) {
		chronik_group_member *x = g->members[i];
		if (x->sync_ctx) {
			void *o = x->sync_ctx;
			x->sync_ctx = NULL;
			x->hb_deadline = now(c) + x->session_timeout_ms;
			sync_answer(c, o, E_NONE, g, x);
		}
	}
	return 0;
}

int16_t chronik_group_heartbeat(chronik_group_coord *c, const char *group_id,
				int32_t generation, const char *member_id,
				const char *instance_id)
{
	chronik_group *g = chronik_group_find(c, group_id);
	chronik_group_member *m = NULL;
	int16_t err;

	if (!g)
		return E(UNKNOWN_MEMBER_ID);
	if (g->state == CHRONIK_GROUP_DEAD)
		return E(COORDINATOR_NOT_AVAILABLE);
	if (g->state == CHRONIK_GROUP_EMPTY)
		return E(UNKNOWN_MEMBER_ID);
	err = check_member(g, member_id, instance_id, &m);
	if (err)
		return err;
	if (generation != g->generation)
		return E(ILLEGAL_GENERATION);
	m->hb_deadline = now(c) + m->session_timeout_ms;
	if (g->state == CHRONIK_GROUP_PREPARING_REBALANCE)
		return E(REBALANCE_IN_PROGRESS);
	return E_NONE;
}

int16_t chronik_group_leave(chronik_group_coord *c, const char *group_id,
			    const char *member_id, const char *instance_id)
{
	chronik_group *g = chronik_group_find(c, group_id);
	chronik_group_member *m;

	if (!g)
		return E(UNKNOWN_MEMBER_ID);
	if (g->state == CHRONIK_GROUP_DEAD)
		return E(COORDINATOR_NOT_AVAILABLE);
	if (instance_id && *instance_id) {
		m = static_find(g, instance_id);
		if (!m)
			return E(UNKNOWN_MEMBER_ID);
		if (*member_id && strcmp(m->member_id, member_id) != 0)
			return E(FENCED_INSTANCE_ID);
	} else {
		if (pending_take(g, member_id)) {
			try_complete_join(c, g, false);
			return E_NONE;
		}
		m = member_find(g, member_id);
		if (!m)
			return E(UNKNOWN_MEMBER_ID);
	}
	if (c->log)
		chronik_log_info(c->log, "group", "group %s: member %s left",
				 g->id, m->member_id);
	remove_member(c, g, m, E(UNKNOWN_MEMBER_ID));
	return E_NONE;
}

bool chronik_group_cancel(chronik_group_coord *c, void *ctx)
{
	for (chronik_group *g = c->groups; g; g = g->next) {
		for (size_t i = 0; i < g->nmembers; i++) {
			chronik_group_member *m = g->members[i];
			if (m->join_ctx == ctx) {
				m->join_ctx = NULL;
				return true;
			}
			if (m->sync_ctx == ctx) {
				m->sync_ctx = NULL;
				return true;
			}
		}
	}
	return false;
}

int16_t chronik_group_commit_check(chronik_group_coord *c,
				   const char *group_id, int32_t generation,
				   const char *member_id,
				   const char *instance_id)
{
	chronik_group *g;
	chronik_group_member *m = NULL;
	int16_t err;

	if (!group_id || !*group_id)
		return E(INVALID_GROUP_ID);
	g = chronik_group_find(c, group_id);
	if (!g) {
		if (generation >= 0)
			return E(ILLEGAL_GENERATION);
		return group_new(c, group_id) ? E_NONE
					      : E(COORDINATOR_NOT_AVAILABLE);
	}
	if (g->state == CHRONIK_GROUP_DEAD)
		return E(COORDINATOR_NOT_AVAILABLE);
	if (instance_id && *instance_id) {
		m = static_find(g, instance_id);
		if (m && strcmp(m->member_id, member_id) != 0)
			return E(FENCED_INSTANCE_ID);
	}
	if (generation < 0 && g->state == CHRONIK_GROUP_EMPTY)
		return E_NONE;
	err = check_member(g, member_id, instance_id, &m);
	if (err)
		return err;
	if (generation != g->generation)
		return E(ILLEGAL_GENERATION);
	if (g->state == CHRONIK_GROUP_COMPLETING_REBALANCE)
		return E(REBALANCE_IN_PROGRESS);
	m->hb_deadline = now(c) + m->session_timeout_ms;
	return E_NONE;
}

int16_t chronik_group_offset_delete_check(chronik_group_coord *c,
					  const char *group_id)
{
	chronik_group *g = chronik_group_find(c, group_id);

	if (!g || g->state == CHRONIK_GROUP_DEAD)
		return E(GROUP_ID_NOT_FOUND);
	if (g->nmembers && !str_eq(g->protocol_type, "consumer"))
		return E(NON_EMPTY_GROUP);
	return E_NONE;
}

/* ConsumerProtocolSubscription starts with int16 version, then the topic
 * array (int32 count, int16-length strings) in every version. */
static bool subscription_has(const uint8_t *p, size_t n, const char *topic)
{
	size_t off = 2, tl = strlen(topic);
	int32_t cnt;

	if (n < 6)
		return false;
	cnt = (int32_t)((uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 |
			(uint32_t)p[4] << 8 | p[5]);
	off = 6;
	for (int32_t i = 0; i < cnt; i++) {
		size_t l;
		if (n - off < 2)
			return false;
		l = (size_t)(p[off] << 8 | p[off + 1]);
		off += 2;
		if (n - off < l)
			return false;
		if (l == tl && memcmp(p + off, topic, l) == 0)
			return true;
		off += l;
	}
	return false;
}

bool chronik_group_subscribed(const chronik_group *g, const char *topic)
{
	if (!str_eq(g->protocol_type, "consumer"))
		return false;
	for (size_t i = 0; i < g->nmembers; i++) {
		const chronik_group_member *m = g->members[i];
		const chronik_group_protocol *p =
			member_protocol(m, g->protocol_name);
		if (!p && m->nprotocols)
			p = &m->protocols[0];
		if (p && subscription_has(p->metadata, p->len, topic))
			return true;
	}
	return false;
}

static int has_offsets_cb(const char *group, const char *topic,
			  int32_t partition,
			  const chronik_storage_meta_offset *v, void *ud)
{
	(void)group;
	(void)topic;
	(void)partition;
	(void)v;
	(void)ud;
	return 1;
}

int16_t chronik_group_delete(chronik_group_coord *c, const char *group_id)
{
	chronik_group *g = chronik_group_find(c, group_id);
	bool stored = false;
	int rc;

	if (g && g->nmembers)
		return E(NON_EMPTY_GROUP);
	if (g && g->state != CHRONIK_GROUP_EMPTY &&
	    g->state != CHRONIK_GROUP_DEAD)
		return E(NON_EMPTY_GROUP);
	if (c->meta) {
		void *blob = NULL;
		size_t len;
		if (chronik_storage_meta_group_get(&blob, &len, c->meta,
						   group_id) == 0) {
			stored = true;
			chronik_storage_meta_free(blob);
		} else if (chronik_storage_meta_offset_foreach(c->meta,
				group_id, has_offsets_cb, NULL) == 1) {
			stored = true;
		}
	}
	if (!g && !stored)
		return E(GROUP_ID_NOT_FOUND);
	if (stored) {
		rc = chronik_storage_meta_group_delete(c->meta, group_id);
		if (rc != 0 && rc != CHRONIK_ENOTFOUND)
			return E(UNKNOWN_SERVER_ERROR);
	}
	if (g) {
		g->state = CHRONIK_GROUP_DEAD;
		group_forget(c, g);
	}
	if (c->log)
		chronik_log_info(c->log, "group", "group %s deleted",
				 group_id);
	return E_NONE;
}

/* ---- time ------------------------------------------------------------- */

typedef struct expired {
	char *group, *topic;
	int32_t partition;
} expired;

typedef struct expire_ctx {
	chronik_group_coord *c;
	int64_t wall;
	expired *v;
	size_t n, cap;
	bool oom;
} expire_ctx;

static int expire_cb(const char *group, const char *topic,
		     int32_t partition, const chronik_storage_meta_offset *o,
		     void *ud)
{
	expire_ctx *x = ud;
	chronik_group *g = chronik_group_find(x->c, group);
	int64_t base = o->commit_ms;

	if (g && g->state != CHRONIK_GROUP_EMPTY)
		return 0; /* a live group keeps its offsets */
	/* Consumer groups: from when the group became Empty (KIP-211);
	 * simple consumers (no protocol type): from the commit. */
	if (g && g->protocol_type && *g->protocol_type &&
	    g->empty_since_wall > base)
		base = g->empty_since_wall;
	if (o->expire_ms >= 0 && o->expire_ms < base +
	    x->c->cfg.offsets_retention_ms) {
		if (x->wall < o->expire_ms)
			return 0;
	} else if (x->wall - base < x->c->cfg.offsets_retention_ms) {
		return 0;
	}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		expired *v = realloc(x->v, cap * sizeof *v);
		if (!v) {
			x->oom = true;
			return 1;
		}
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n].group = strdup(group);
	x->v[x->n].topic = strdup(topic);
	x->v[x->n].partition = partition;
	if (!x->v[x->n].group || !x->v[x->n].topic) {
		free(x->v[x->n].group);
		free(x->v[x->n].topic);
		x->oom = true;
		return 1;
	}
	x->n++;
	return 0;
}

static int any_offset_cb(const char *group, const char *topic,
			 int32_t partition,
			 const chronik_storage_meta_offset *o, void *ud)
{
	(void)group;
	(void)topic;
	(void)partition;
	(void)o;
	(void)ud;
	return 1;
}

size_t chronik_group_expire_offsets(chronik_group_coord *c)
{
	expire_ctx x = { c, wall(c), NULL, 0, 0, false };

	if (!c->meta)
		return 0;
	chronik_storage_meta_offset_foreach(c->meta, NULL, expire_cb, &x);
	for (size_t i = 0; i < x.n; i++) {
		chronik_storage_meta_offset_delete(c->meta, x.v[i].group,
						   x.v[i].topic,
						   x.v[i].partition);
		/* The last offset of an Empty group gone: the group too. */
		if (i + 1 == x.n || strcmp(x.v[i].group,
					   x.v[i + 1].group) != 0) {
			chronik_group *g = chronik_group_find(c,
							      x.v[i].group);
			if ((!g || g->state == CHRONIK_GROUP_EMPTY) &&
			    chronik_storage_meta_offset_foreach(c->meta,
				x.v[i].group, any_offset_cb, NULL) == 0) {
				chronik_storage_meta_group_delete(c->meta,
					x.v[i].group);
				if (g)
					group_forget(c, g);
				if (c->log)
					chronik_log_info(c->log, "group",
						"group %s expired (offsets "
						"past retention)",
						x.v[i].group);
			}
		}
	}
	for (size_t i = 0; i < x.n; i++) {
		free(x.v[i].group);
		free(x.v[i].topic);
	}
	free(x.v);
	return x.n;
}

static void tick_group(chronik_group_coord *c, chronik_group *g, int64_t t)
{
	/* KIP-394 member ids never used. */
	for (size_t i = 0; i < g->npending;) {
		if (g->pending[i].deadline <= t) {
			free(g->pending[i].member_id);
			g->pending[i] = g->pending[--g->npending];
			try_complete_join(c, g, false);
			continue;
		}
		i++;
	}
	/* Session timeouts (members parked in a join/sync stay alive). */
	for (size_t i = 0; i < g->nmembers;) {
		chronik_group_member *m = g->members[i];
		if (!m->join_ctx && !m->sync_ctx && m->hb_deadline <= t &&
		    g->state != CHRONIK_GROUP_EMPTY) {
			if (c->log)
				chronik_log_info(c->log, "group", "group %s: "
						 "member %s session timed out",
						 g->id, m->member_id);
			remove_member(c, g, m, E(UNKNOWN_MEMBER_ID));
			i = 0;
			continue;
		}
		i++;
	}
	if (g->state == CHRONIK_GROUP_PREPARING_REBALANCE &&
	    g->rebalance_deadline <= t) {
		if (g->initial_delay && g->new_member_added &&
		    t < g->initial_delay_end) {
			int64_t d = c->cfg.initial_rebalance_delay_ms;
			g->new_member_added = false;
			g->rebalance_deadline = t + d < g->initial_delay_end ?
						t + d : g->initial_delay_end;
		} else {
			try_complete_join(c, g, true);
		}
	} else if (g->state == CHRONIK_GROUP_COMPLETING_REBALANCE &&
		   g->rebalance_deadline <= t) {
		/* Pending-sync timeout: the leader never synced (else the
		 * group would be Stable); drop every member that did not
		 * send SyncGroup and rebalance the others. */
		for (size_t i = 0; i < g->nmembers;) {
			chronik_group_member *m = g->members[i];
			if (!m->synced) {
				if (c->log)
					chronik_log_info(c->log, "group",
						"group %s: member %s did not "
						"sync; removed", g->id,
						m->member_id);
				member_unlink(g, m);
				member_free(m);
				continue;
			}
			i++;
		}
		prepare_rebalance(c, g);
		try_complete_join(c, g, g->nmembers == 0);
	}
}

void chronik_group_tick(chronik_group_coord *c)
{
	int64_t t = now(c);

	for (chronik_group *g = c->groups, *n; g; g = n) {
		n = g->next;
		tick_group(c, g, t);
	}
	if (t >= c->next_retention_check) {
		c->next_retention_check = t + c->cfg.retention_check_ms;
		chronik_group_expire_offsets(c);
	}
}

int64_t chronik_group_next_deadline(chronik_group_coord *c)
{
	int64_t d = c->next_retention_check;

	for (chronik_group *g = c->groups; g; g = g->next) {
		for (size_t i = 0; i < g->npending; i++)
			if (g->pending[i].deadline < d)
				d = g->pending[i].deadline;
		for (size_t i = 0; i < g->nmembers; i++)
			if (g->state != CHRONIK_GROUP_EMPTY &&
			    g->members[i]->hb_deadline < d)
				d = g->members[i]->hb_deadline;
		if ((g->state == CHRONIK_GROUP_PREPARING_REBALANCE ||
		     g->state == CHRONIK_GROUP_COMPLETING_REBALANCE) &&
		    g->rebalance_deadline < d)
			d = g->rebalance_deadline;
	}
	return d;
}
