#include <stdlib.h>

#include <rte_common.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/retire.h"

struct retired {
	uint64_t token;         /* grace period that must pass */
	sl_retire_free_fn fn;
	void *obj;
};

struct sl_retire {
	struct rte_rcu_qsbr *v;
	uint32_t mask;
	uint32_t head, tail;    /* entries [tail, head) wait, oldest at tail */
	struct sl_retire_stats stats;
	struct retired ring[];
};

struct sl_retire *sl_retire_create(struct rte_rcu_qsbr *v, unsigned capacity)
{
	uint32_t n = rte_align32pow2(capacity < 2 ? 2 : capacity);
	struct sl_retire *r = calloc(1, sizeof(*r) + n * sizeof(r->ring[0]));
	if (r == NULL)
		return NULL;
	r->v = v;
	r->mask = n - 1;
	return r;
}

static unsigned queued(const struct sl_retire *r)
{
	return r->head - r->tail;
}

static void free_oldest(struct sl_retire *r)
{
	struct retired *e = &r->ring[r->tail & r->mask];
	e->fn(e->obj);
	r->tail++;
	r->stats.freed++;
}

/* Tokens grow with time, so the oldest entry's grace period ends first. */
unsigned sl_retire_reclaim(struct sl_retire *r)
{
	unsigned n = 0;
	while (queued(r) > 0 && rte_rcu_qsbr_check(r->v, r->ring[r->tail & r->mask].token, false) == 1) {
		free_oldest(r);
		n++;
	}
	return n;
}

static void free_all(struct sl_retire *r)
{
	rte_rcu_qsbr_synchronize(r->v, RTE_QSBR_THRID_INVALID);
	while (queued(r) > 0)
		free_oldest(r);
}

void sl_retire_defer(struct sl_retire *r, sl_retire_free_fn fn, void *obj)
{
	if (obj == NULL)
		return;
	if (queued(r) > r->mask && sl_retire_reclaim(r) == 0) {
		r->stats.waited++;
		free_all(r);
	}
	struct retired *e = &r->ring[r->head & r->mask];
	e->token = rte_rcu_qsbr_start(r->v);
	e->fn = fn;
	e->obj = obj;
	r->head++;
	r->stats.deferred++;
}

void sl_retire_get_stats(const struct sl_retire *r, struct sl_retire_stats *out)
{
	*out = r->stats;
	out->pending = queued(r);
}

void sl_retire_destroy(struct sl_retire *r)
{
	if (r == NULL)
		return;
	free_all(r);
	free(r);
}
