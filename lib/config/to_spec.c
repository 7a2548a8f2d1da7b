/*
 * The file's data-plane settings as a spec (spec/spec.h): what the tables
 * are built from, so nothing file-shaped (paths, source lines, device
 * names, the manager group) reaches snapshots or workers.
 */
#include <string.h>

#include "config/config.h"

_Static_assert(sizeof(((struct sl_port_cfg *)0)->name) == sizeof(((struct sl_spec_port *)0)->name),
	       "port names are copied whole");

static void port_to_spec(const struct sl_port_cfg *pc, struct sl_spec_port *sp)
{
	memcpy(sp->name, pc->name, sizeof(sp->name));
	sp->mtu = pc->mtu;
	sp->vlan = pc->vlan;
	memcpy(sp->addrs, pc->addrs, pc->nb_addrs * sizeof(pc->addrs[0]));
	sp->nb_addrs = pc->nb_addrs;
	sp->gateway4 = pc->gateway4;
	sp->gateway6 = pc->gateway6;
	memcpy(sp->neigh, pc->neigh, pc->nb_neigh * sizeof(pc->neigh[0]));
	sp->nb_neigh = pc->nb_neigh;
}

static int vip_to_spec(const struct sl_vip_cfg *vc, struct sl_spec_service *svc)
{
	*svc = (struct sl_spec_service){ .kind = SL_SERVICE_VIP, .family = vc->family,
					 .proto = vc->proto, .port = vc->port, .addr = vc->addr };
	if (sl_spec_alloc_backends(svc, vc->nb_dips) != 0)
		return -1;
	for (unsigned d = 0; d < vc->nb_dips; d++) {
		const struct sl_dip_cfg *dc = &vc->dips[d];
		svc->backends[d] = (struct sl_spec_backend){ .addr = dc->addr, .host = dc->host,
							     .port = dc->port, .weight = dc->weight };
	}
	return 0;
}

static void tunables_to_spec(const struct sl_config *c, struct sl_spec *out)
{
	out->mux = (struct sl_spec_mux){ .maglev_size = c->maglev_size, .hash_seed = c->hash_seed,
					 .flow_capacity = c->flow_capacity,
					 .flow_idle_ms = c->flow_idle_ms,
					 .tunnel_src4 = c->tunnel_src4, .tunnel_src6 = c->tunnel_src6 };
	out->host = (struct sl_spec_host){ .addr4 = c->host_addr4, .addr6 = c->host_addr6,
					   .uplink_port = c->uplink_port,
					   .backend_port = c->backend_port,
					   .conn_capacity = c->conn_capacity,
					   .conn_idle_ms = c->conn_idle_ms,
					   .nb_tunnel_sources = c->nb_tunnel_sources };
	memcpy(out->host.tunnel_sources, c->tunnel_sources,
	       c->nb_tunnel_sources * sizeof(c->tunnel_sources[0]));
	out->workers = (struct sl_spec_workers){ .burst = c->burst,
						 .idle_sleep_us = c->idle_sleep_us };
}

void sl_spec_local_from_config(const struct sl_config *c, struct sl_spec *out)
{
	memset(out, 0, sizeof(*out));
	out->roles = c->roles;
	for (unsigned p = 0; p < c->nb_ports; p++)
		port_to_spec(&c->ports[p], &out->ports[p]);
	out->nb_ports = c->nb_ports;
	tunables_to_spec(c, out);
}

int sl_spec_from_config(const struct sl_config *c, struct sl_spec *out)
{
	sl_spec_local_from_config(c, out);
	if (sl_spec_alloc_services(out, c->nb_vips) != 0)
		return -1;
	for (unsigned v = 0; v < c->nb_vips; v++)
		if (vip_to_spec(&c->vips[v], &out->services[v]) != 0) {
			sl_spec_free(out);
			return -1;
		}
	return 0;
}
