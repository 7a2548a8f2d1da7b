#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Only kinds some stage builds tables for: an unknown kind would be
 * silently ignored by every stage. */
static bool kinds_known(const struct sl_spec *spec, char *err, size_t errlen)
{
	for (uint32_t v = 0; v < spec->nb_services; v++)
		if (spec->services[v].kind != SL_SERVICE_VIP) {
			snprintf(err, errlen, "service %u: unknown kind %u", v, spec->services[v].kind);
			return false;
		}
	return true;
}

struct sl_tables *sl_tables_build(struct sl_spec *spec, const struct sl_port_hw *hw,
				  const struct sl_tables *prev, uint64_t generation, char *err,
				  size_t errlen)
{
	struct sl_tables *t = NULL;
	if (kinds_known(spec, err, errlen) && (t = calloc(1, sizeof(*t))) == NULL)
		snprintf(err, errlen, "out of memory");
	if (t == NULL) {
		sl_spec_free(spec);
		return NULL;
	}
	t->spec = *spec;
	memset(spec, 0, sizeof(*spec)); /* ownership moved into t */
	t->generation = generation;
	t->backend_port = -1;
	sl_local_from_spec(&t->spec, hw, &t->local);
	for (unsigned p = 0; p < t->spec.nb_ports; p++) {
		uint16_t dev = hw[p].mtu, want = t->spec.ports[p].mtu;
		t->mtu[p] = dev != 0 && dev < want ? dev : want;
	}
	if (t->spec.roles & SL_ROLE_MUX) {
		t->mux = sl_mux_tables_build(&t->spec, prev ? prev->mux : NULL, err, errlen);
		if (t->mux == NULL)
			goto fail;
	}
	if (t->spec.roles & SL_ROLE_HOST) {
		t->host = sl_host_tables_build(&t->spec, err, errlen);
		if (t->host == NULL)
			goto fail;
		t->backend_port = t->spec.host.backend_port;
	}
	return t;
fail:
	sl_tables_free(t);
	return NULL;
}

void sl_tables_free(struct sl_tables *t)
{
	if (t == NULL)
		return;
	sl_mux_tables_free(t->mux);
	sl_host_tables_free(t->host);
	sl_spec_free(&t->spec);
	free(t);
}
