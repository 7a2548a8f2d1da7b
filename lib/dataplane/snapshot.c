#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/classify.h"
#include "dataplane/services.h"
#include "dataplane/snapshot.h"

/* sl_local_from_spec copies every port, address and static neighbour. */
_Static_assert(SL_NEIGH_MAX_PORTS >= SL_MAX_PORTS, "a local port per spec port");
_Static_assert(SL_NEIGH_MAX_ADDRS >= SL_MAX_PORT_ADDRS, "every address of a spec port");
_Static_assert(SL_NEIGH_MAX_STATIC >= SL_MAX_STATIC_NEIGH, "every static neighbour of a spec port");

static void add_static_neighbours(const struct sl_spec_port *sp, struct sl_local_port *lp)
{
	for (unsigned i = 0; i < sp->nb_neigh; i++) {
		lp->static_addr[lp->nb_static] = sp->neigh[i].addr;
		lp->static_family[lp->nb_static] = sp->neigh[i].family;
		memcpy(lp->static_mac[lp->nb_static], sp->neigh[i].mac, 6);
		lp->nb_static++;
	}
}

void sl_local_from_spec(const struct sl_spec *spec, const struct sl_port_hw *hw,
			struct sl_local *out)
{
	memset(out, 0, sizeof(*out));
	out->nb_ports = spec->nb_ports;
	for (unsigned p = 0; p < spec->nb_ports; p++) {
		const struct sl_spec_port *sp = &spec->ports[p];
		struct sl_local_port *lp = &out->port[p];
		memcpy(lp->mac, hw[p].mac, 6);
		lp->vlan = sp->vlan;
		for (unsigned a = 0; a < sp->nb_addrs; a++) {
			lp->addr[a] = sp->addrs[a].addr;
			lp->family[a] = sp->addrs[a].family;
			lp->plen[a] = sp->addrs[a].len;
			lp->nb_addrs++;
		}
		lp->gateway4 = sp->gateway4;
		lp->gateway6 = sp->gateway6;
		add_static_neighbours(sp, lp);
	}
}

/* Only kinds some stage claims or builds tables for: an unknown kind
 * would be silently ignored by every stage. */
static bool kinds_known(const struct sl_spec *spec, char *err, size_t errlen)
{
	uint32_t known = 0;
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++)
		known |= sl_stages[s]->claim.service_kinds | sl_stages[s]->service_parts;
	for (uint32_t v = 0; v < spec->nb_services; v++) {
		uint8_t kind = spec->services[v].kind;
		if (kind > SL_SERVICE_KIND_MAX || !(known & (1u << kind))) {
			snprintf(err, errlen, "service %u: unknown kind %u", v, kind);
			return false;
		}
	}
	return true;
}

/* Each stage the spec's roles ask for, with its own tables. */
static int build_stages(struct sl_tables *t, char *err, size_t errlen)
{
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++) {
		const struct sl_stage *st = sl_stages[s];
		t->built[s] = sl_stage_wanted(st, t->spec.roles);
		if (!t->built[s] || st->build == NULL)
			continue;
		if ((t->stage[s] = st->build(&t->spec, err, errlen)) == NULL)
			return -1;
	}
	return 0;
}

struct sl_tables_job {
	struct sl_tables *t;
	const struct sl_tables *prev;
	struct sl_services_cursor at;
};

struct sl_tables_job *sl_tables_job_start(struct sl_spec *spec, const struct sl_port_hw *hw,
					  const struct sl_tables *prev, uint64_t generation,
					  char *err, size_t errlen)
{
	struct sl_tables *t = NULL;
	struct sl_tables_job *j = NULL;
	if (kinds_known(spec, err, errlen) &&
	    ((t = calloc(1, sizeof(*t))) == NULL || (j = calloc(1, sizeof(*j))) == NULL))
		snprintf(err, errlen, "out of memory");
	if (j == NULL) {
		free(t);
		sl_spec_free(spec);
		return NULL;
	}
	t->spec = *spec;
	memset(spec, 0, sizeof(*spec)); /* ownership moved into t */
	t->generation = generation;
	sl_local_from_spec(&t->spec, hw, &t->local);
	for (unsigned p = 0; p < t->spec.nb_ports; p++) {
		uint16_t dev = hw[p].mtu, want = t->spec.ports[p].mtu;
		t->mtu[p] = dev != 0 && dev < want ? dev : want;
	}
	j->t = t;
	j->prev = prev;
	if (build_stages(t, err, errlen) < 0 || sl_services_begin(t, prev, &j->at, err, errlen) < 0) {
		sl_tables_job_cancel(j);
		return NULL;
	}
	return j;
}

int sl_tables_job_run(struct sl_tables_job *j, uint64_t deadline_ns, char *err, size_t errlen)
{
	int rc = sl_services_step(j->t, j->prev, &j->at, deadline_ns, err, errlen);
	if (rc == 1 && sl_classifier_build(j->t, err, errlen) < 0)
		rc = -1;
	return rc;
}

struct sl_tables *sl_tables_job_finish(struct sl_tables_job *j)
{
	struct sl_tables *t = j->t;
	free(j);
	return t;
}

void sl_tables_job_cancel(struct sl_tables_job *j)
{
	if (j == NULL)
		return;
	sl_tables_free(j->t);
	free(j);
}

struct sl_tables *sl_tables_build(struct sl_spec *spec, const struct sl_port_hw *hw,
				  const struct sl_tables *prev, uint64_t generation, char *err,
				  size_t errlen)
{
	struct sl_tables_job *j = sl_tables_job_start(spec, hw, prev, generation, err, errlen);
	if (j == NULL)
		return NULL;
	if (sl_tables_job_run(j, 0, err, errlen) != 1) {
		sl_tables_job_cancel(j);
		return NULL;
	}
	return sl_tables_job_finish(j);
}

void sl_tables_free(struct sl_tables *t)
{
	if (t == NULL)
		return;
	sl_services_release(t);
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++)
		if (t->stage[s] != NULL)
			sl_stages[s]->free(t->stage[s]);
	sl_spec_free(&t->spec);
	free(t);
}
