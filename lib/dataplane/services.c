#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dataplane/services.h"

static bool same_backend(const struct sl_spec_backend *a, const struct sl_spec_backend *b)
{
	return sl_addr_eq(&a->addr, &b->addr) && sl_addr_eq(&a->host, &b->host) && a->port == b->port &&
	       a->weight == b->weight;
}

/* Everything a stage may build a service's part from, in the same order
 * (Maglev tables do not depend on it, but a part's arrays follow it). */
static bool same_service(const struct sl_spec_service *a, const struct sl_spec_service *b)
{
	if (a->kind != b->kind || a->family != b->family || a->proto != b->proto || a->port != b->port ||
	    a->flags != b->flags || !sl_addr_eq(&a->addr, &b->addr) || a->nb_backends != b->nb_backends)
		return false;
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

static struct sl_service_tables *reusable(const struct sl_tables *prev, const struct sl_spec_service *svc)
{
	uint32_t v = sl_vip_find(prev->index, svc->family, svc->proto, &svc->addr, htons(svc->port));
	if (v == SL_VIP_NONE || !same_service(&prev->spec.services[v], svc))
		return NULL;
	return prev->service[v];
}

static void release(struct sl_service_tables *e)
{
	if (e == NULL || --e->refs > 0)
		return;
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
		snprintf(err, errlen, "out of memory building service tables");
		return NULL;
	}
	e->refs = 1;
	e->kind = svc->kind;
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++) {
		if (!wants_part(t, s, svc->kind))
			continue;
		e->part[s] = sl_stages[s]->service_build(&t->spec, svc, err, errlen);
		if (e->part[s] == NULL) {
			release(e);
			return NULL;
		}
	}
	return e;
}

int sl_services_begin(struct sl_tables *t, const struct sl_tables *prev, bool *reuse, char *err,
		      size_t errlen)
{
	const struct sl_spec *spec = &t->spec;
	t->index = sl_vip_index_build(spec);
	t->service = calloc(spec->nb_services ? spec->nb_services : 1, sizeof(*t->service));
	if (t->index == NULL || t->service == NULL) {
		snprintf(err, errlen, "out of memory building the service index");
		return -1;
	}
	*reuse = parts_reusable(t, prev);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sl_services_step(struct sl_tables *t, const struct sl_tables *prev, bool reuse, uint32_t *next,
		     uint64_t deadline_ns, char *err, size_t errlen)
{
	const struct sl_spec *spec = &t->spec;
	while (*next < spec->nb_services) {
		const struct sl_spec_service *svc = &spec->services[*next];
		struct sl_service_tables *e = reuse ? reusable(prev, svc) : NULL;
		bool built = e == NULL;
		if (e != NULL)
			e->refs++;
		else if ((e = build_entry(t, svc, err, errlen)) == NULL)
			return -1;
		t->service[(*next)++] = e;
		/* Only building costs: a reused entry is a look-up. */
		if (built && deadline_ns != 0 && *next < spec->nb_services && now_ns() >= deadline_ns)
			return 0;
	}
	return 1;
}

int sl_services_build(struct sl_tables *t, const struct sl_tables *prev, char *err, size_t errlen)
{
	bool reuse;
	uint32_t next = 0;
	if (sl_services_begin(t, prev, &reuse, err, errlen) < 0)
		return -1;
	return sl_services_step(t, prev, reuse, &next, 0, err, errlen) < 0 ? -1 : 0;
}

void sl_services_release(struct sl_tables *t)
{
	if (t->service != NULL)
		for (uint32_t v = 0; v < t->spec.nb_services; v++)
			release(t->service[v]);
	free(t->service);
	sl_vip_index_free(t->index);
	t->service = NULL;
	t->index = NULL;
}
