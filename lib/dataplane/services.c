#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dataplane/services.h"
#include "dataplane/snapshot.h"

/*
 * The reference counts of the entries of a chain of tables (each built
 * over the one before and sharing its entries), by entry id: sharing or
 * letting go of 10,000 entries is then a pass over 40 KB, where a count in
 * each entry cost a cache miss per entry. Control thread only.
 */
struct service_pool {
	uint32_t users;     /* tables holding ids of it */
	uint32_t cap;       /* ids refs[] and free_ids[] have room for */
	uint32_t nb_ids;    /* ids handed out so far, some back in free_ids */
	uint32_t nb_free;
	uint32_t *refs;     /* by id: how many tables hold the entry */
	uint32_t *free_ids; /* ids whose entry was freed, for reuse */
};

/* What tables keep about their entries beside t->service; the data path
 * never reads it. */
struct sl_service_shares {
	struct service_pool *pool;
	uint32_t *id;        /* by service number: its entry's id in pool */
	uint32_t nb;         /* services with their entry: t->service[0, nb) */
	uint32_t *anew;      /* numbers of the services whose entry these tables built */
	uint32_t nb_anew, cap_anew;
};

static bool pool_grow(struct service_pool *p)
{
	uint32_t cap = p->cap != 0 ? 2 * p->cap : 1024;
	uint32_t *refs = realloc(p->refs, cap * sizeof(*refs));
	if (refs == NULL)
		return false;
	p->refs = refs;
	uint32_t *free_ids = realloc(p->free_ids, cap * sizeof(*free_ids));
	if (free_ids == NULL)
		return false; /* refs is merely larger than needed */
	p->free_ids = free_ids;
	p->cap = cap;
	return true;
}

/* An id for a new entry, held once. */
static bool pool_take(struct service_pool *p, uint32_t *id)
{
	if (p->nb_free > 0)
		*id = p->free_ids[--p->nb_free];
	else if (p->nb_ids < p->cap || pool_grow(p))
		*id = p->nb_ids++;
	else
		return false;
	p->refs[*id] = 1;
	return true;
}

static void pool_put(struct service_pool *p)
{
	if (p == NULL || --p->users > 0)
		return;
	free(p->refs);
	free(p->free_ids);
	free(p);
}

/* The key the VIP index finds a service by. */
static bool same_key(const struct sl_spec_service *a, const struct sl_spec_service *b)
{
	return a->family == b->family && a->proto == b->proto && a->port == b->port &&
	       sl_addr_eq(&a->addr, &b->addr);
}

static void oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory building service tables");
}

static bool same_backend(const struct sl_spec_backend *a, const struct sl_spec_backend *b)
{
	return sl_addr_eq(&a->addr, &b->addr) && sl_addr_eq(&a->host, &b->host) && a->port == b->port &&
	       a->weight == b->weight;
}

/* Everything a stage may build a service's part from, in the same order
 * (Maglev tables do not depend on it, but a part's arrays follow it). An
 * equal nonzero rev is the producer's word for the backends (spec.h), so
 * an unchanged service costs no look at them. */
static bool same_service(const struct sl_spec_service *a, const struct sl_spec_service *b)
{
	if (!same_key(a, b) || a->kind != b->kind || a->flags != b->flags || a->nb_backends != b->nb_backends)
		return false;
	if (a->rev != 0 && a->rev == b->rev)
		return true;
	for (uint32_t i = 0; i < a->nb_backends; i++)
		if (!same_backend(&a->backends[i], &b->backends[i]))
			return false;
	return true;
}

static bool wants_part(const struct sl_tables *t, enum sl_stage_id s, uint8_t kind)
{
	return t->built[s] && sl_stages[s]->service_build != NULL &&
	       (sl_stages[s]->service_parts & (1u << kind));
}

/* May parts built for prev serve t: the same stages, and for each one
 * with parts the same inputs beyond the service itself. */
static bool parts_reusable(const struct sl_tables *t, const struct sl_tables *prev)
{
	if (prev == NULL)
		return false;
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++) {
		if (t->built[s] != prev->built[s])
			return false;
		const struct sl_stage *st = sl_stages[s];
		if (t->built[s] && st->service_build != NULL && !st->service_inputs_same(&prev->spec, &t->spec))
			return false;
	}
	return true;
}

/* prev's number for svc's key: the service the walk expects next when it
 * has that key (a producer keeps its order, so it mostly has), else the
 * index's answer. The walk goes on after what was found. */
static uint32_t prev_with_key(const struct sl_tables *prev, const struct sl_spec_service *svc,
			      uint32_t *expected)
{
	uint32_t p = *expected;
	if (p >= prev->spec.nb_services || !same_key(&prev->spec.services[p], svc))
		p = sl_vip_find(prev->index, svc->family, svc->proto, &svc->addr, htons(svc->port));
	if (p != SL_VIP_NONE)
		*expected = p + 1;
	return p;
}

/* prev's number of an entry that may serve svc, or SL_VIP_NONE. */
static uint32_t reusable(const struct sl_tables *prev, const struct sl_spec_service *svc, uint32_t *expected)
{
	uint32_t p = prev_with_key(prev, svc, expected);
	if (p == SL_VIP_NONE || !same_service(&prev->spec.services[p], svc))
		return SL_VIP_NONE;
	return p;
}

static void free_entry(struct sl_service_tables *e)
{
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++)
		if (e->part[s] != NULL)
			sl_stages[s]->service_free(e->part[s]);
	free(e);
}

static struct sl_service_tables *build_entry(const struct sl_tables *t, const struct sl_spec_service *svc,
					     char *err, size_t errlen)
{
	struct sl_service_tables *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		oom(err, errlen);
		return NULL;
	}
	e->kind = svc->kind;
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++) {
		if (!wants_part(t, s, svc->kind))
			continue;
		e->part[s] = sl_stages[s]->service_build(&t->spec, svc, err, errlen);
		if (e->part[s] == NULL) {
			free_entry(e);
			return NULL;
		}
	}
	return e;
}

/* Service v's entry is e, under id (held already). */
static void place(struct sl_tables *t, uint32_t v, struct sl_service_tables *e, uint32_t id)
{
	t->service[v] = e;
	t->shares->id[v] = id;
	t->shares->nb = v + 1;
}

/* Service v of t takes prev's entry p. */
static void share(struct sl_tables *t, const struct sl_tables *prev, uint32_t p, uint32_t v)
{
	uint32_t id = prev->shares->id[p];
	t->shares->pool->refs[id]++;
	place(t, v, prev->service[p], id);
}

static bool note_anew(struct sl_service_shares *sh, uint32_t v)
{
	if (sh->nb_anew == sh->cap_anew) {
		uint32_t cap = sh->cap_anew != 0 ? 2 * sh->cap_anew : 16;
		uint32_t *more = realloc(sh->anew, cap * sizeof(*more));
		if (more == NULL)
			return false;
		sh->anew = more;
		sh->cap_anew = cap;
	}
	sh->anew[sh->nb_anew++] = v;
	return true;
}

/* Service v of t gets an entry of its own. */
static int build_into(struct sl_tables *t, uint32_t v, char *err, size_t errlen)
{
	uint32_t id;
	struct sl_service_tables *e = build_entry(t, &t->spec.services[v], err, errlen);
	if (e == NULL)
		return -1;
	if (!pool_take(t->shares->pool, &id)) {
		free_entry(e);
		oom(err, errlen);
		return -1;
	}
	place(t, v, e, id); /* released with t from here on */
	if (!note_anew(t->shares, v)) {
		oom(err, errlen);
		return -1;
	}
	return 0;
}

static struct sl_service_shares *shares_new(const struct sl_tables *prev, bool reuse, uint32_t n)
{
	struct sl_service_shares *sh = calloc(1, sizeof(*sh));
	if (sh == NULL)
		return NULL;
	sh->id = malloc((n ? n : 1) * sizeof(*sh->id));
	sh->pool = reuse ? prev->shares->pool : calloc(1, sizeof(*sh->pool));
	if (sh->id == NULL || sh->pool == NULL) {
		if (!reuse)
			free(sh->pool);
		free(sh->id);
		free(sh);
		return NULL;
	}
	sh->pool->users++;
	return sh;
}

int sl_services_begin(struct sl_tables *t, const struct sl_tables *prev, struct sl_services_cursor *c,
		      char *err, size_t errlen)
{
	const struct sl_spec *spec = &t->spec;
	*c = (struct sl_services_cursor){ .reuse = parts_reusable(t, prev) };
	t->index = sl_vip_index_build(spec);
	/* not zeroed: entries are placed in order, and only those placed are
	 * released (shares->nb) */
	t->service = malloc((spec->nb_services ? spec->nb_services : 1) * sizeof(*t->service));
	t->shares = shares_new(prev, c->reuse, spec->nb_services);
	if (t->index == NULL || t->service == NULL || t->shares == NULL) {
		snprintf(err, errlen, "out of memory building the service index");
		return -1;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sl_services_step(struct sl_tables *t, const struct sl_tables *prev, struct sl_services_cursor *c,
		     uint64_t deadline_ns, char *err, size_t errlen)
{
	const struct sl_spec *spec = &t->spec;
	while (c->next < spec->nb_services) {
		uint32_t v = c->next;
		uint32_t p = c->reuse ? reusable(prev, &spec->services[v], &c->prev_next) : SL_VIP_NONE;
		if (p != SL_VIP_NONE)
			share(t, prev, p, v);
		else if (build_into(t, v, err, errlen) < 0)
			return -1;
		c->next++;
		/* Only building costs: a shared entry is a few array accesses. */
		if (p == SL_VIP_NONE && deadline_ns != 0 && c->next < spec->nb_services && now_ns() >= deadline_ns)
			return 0;
	}
	return 1;
}

const uint32_t *sl_tables_built_anew(const struct sl_tables *t, uint32_t *n)
{
	*n = t->shares != NULL ? t->shares->nb_anew : 0;
	return t->shares != NULL ? t->shares->anew : NULL;
}

/* Service v's reference to its entry is let go. */
static void drop(struct sl_tables *t, uint32_t v)
{
	struct service_pool *p = t->shares->pool;
	uint32_t id = t->shares->id[v];
	if (--p->refs[id] > 0)
		return;
	free_entry(t->service[v]);
	p->free_ids[p->nb_free++] = id;
}

void sl_services_release(struct sl_tables *t)
{
	struct sl_service_shares *sh = t->shares;
	if (sh != NULL) {
		for (uint32_t v = 0; v < sh->nb; v++)
			drop(t, v);
		pool_put(sh->pool);
		free(sh->id);
		free(sh->anew);
		free(sh);
	}
	free(t->service);
	sl_vip_index_free(t->index);
	t->shares = NULL;
	t->service = NULL;
	t->index = NULL;
}
