#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/snapshot.h"

static void add_static_neighbours(const struct sl_port_cfg *pc, struct sl_local_port *lp)
{
	for (unsigned i = 0; i < pc->nb_neigh && lp->nb_static < SL_NEIGH_MAX_STATIC; i++) {
		lp->static_addr[lp->nb_static] = pc->neigh[i].addr;
		lp->static_family[lp->nb_static] = pc->neigh[i].family;
		memcpy(lp->static_mac[lp->nb_static], pc->neigh[i].mac, 6);
		lp->nb_static++;
	}
}

void sl_local_from_config(const struct sl_config *cfg, const struct sl_port_hw *hw,
			  struct sl_local *out)
{
	memset(out, 0, sizeof(*out));
	out->nb_ports = cfg->nb_ports;
	for (unsigned p = 0; p < cfg->nb_ports; p++) {
		const struct sl_port_cfg *pc = &cfg->ports[p];
		struct sl_local_port *lp = &out->port[p];
		memcpy(lp->mac, hw[p].mac, 6);
		lp->vlan = pc->vlan;
		for (unsigned a = 0; a < pc->nb_addrs && a < SL_NEIGH_MAX_ADDRS; a++) {
			lp->addr[a] = pc->addrs[a].addr;
			lp->family[a] = pc->addrs[a].family;
			lp->plen[a] = pc->addrs[a].len;
			lp->nb_addrs++;
		}
		lp->gateway4 = pc->gateway4;
		lp->gateway6 = pc->gateway6;
		add_static_neighbours(pc, lp);
	}
}

struct sl_tables *sl_tables_build(struct sl_config *cfg, const struct sl_port_hw *hw,
				  const struct sl_tables *prev, uint64_t generation, char *err,
				  size_t errlen)
{
	struct sl_tables *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		sl_config_free(cfg);
		return NULL;
	}
	t->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg)); /* ownership moved into t */
	t->generation = generation;
	t->backend_port = -1;
	sl_local_from_config(&t->cfg, hw, &t->local);
	for (unsigned p = 0; p < t->cfg.nb_ports; p++) {
		uint16_t dev = hw[p].mtu;
		t->mtu[p] = dev != 0 && dev < t->cfg.ports[p].mtu ? dev : t->cfg.ports[p].mtu;
	}
	if (t->cfg.roles & SL_ROLE_MUX) {
		t->mux = sl_mux_tables_build(&t->cfg, prev ? prev->mux : NULL, err, errlen);
		if (t->mux == NULL)
			goto fail;
	}
	if (t->cfg.roles & SL_ROLE_HOST) {
		t->host = sl_host_tables_build(&t->cfg, err, errlen);
		if (t->host == NULL)
			goto fail;
		t->backend_port = t->cfg.backend_port;
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
	sl_config_free(&t->cfg);
	free(t);
}
