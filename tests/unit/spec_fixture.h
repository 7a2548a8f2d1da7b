/*
 * Builders for data-plane specs in tests and fuzz targets: tables come
 * from a spec written in code, as the data plane sees it, with no
 * configuration text and no libconfig. Bad input in a test (an address
 * that does not parse, a full array) aborts with a message, so these work
 * without Check (the fuzz targets) as well as with it.
 */
#ifndef SLUICE_TESTS_SPEC_FIXTURE_H
#define SLUICE_TESTS_SPEC_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet/addr.h"
#include "spec/spec.h"

static inline void fx_fail(const char *what, const char *text)
{
	fprintf(stderr, "spec fixture: %s: %s\n", what, text);
	abort();
}

/* "192.0.2.1" or "2001:db8::1"; returns the family. */
static inline int fx_addr(const char *text, union sl_addr *out)
{
	int family = sl_addr_parse(text, out);
	if (family == SL_AF_NONE)
		fx_fail("not an address", text);
	return family;
}

/* "192.0.2.0/24", or an address alone for its host prefix (/32, /128). */
static inline struct sl_prefix fx_prefix(const char *text)
{
	struct sl_prefix p = { .len = 0 };
	if (strchr(text, '/') == NULL) {
		p.family = (uint8_t)fx_addr(text, &p.addr);
		p.len = p.family == SL_AF_INET ? 32 : 128;
		return p;
	}
	p.family = (uint8_t)sl_prefix_parse(text, &p.addr, &p.len);
	if (p.family == SL_AF_NONE)
		fx_fail("not a prefix", text);
	return p;
}

/* An empty spec with roles and the tunables a file gets by default,
 * except small flow tables (tests create their own anyway). */
static inline void fx_init(struct sl_spec *s, unsigned roles)
{
	memset(s, 0, sizeof(*s));
	s->roles = roles;
	s->workers = (struct sl_spec_workers){ .burst = 32 };
	s->mux = (struct sl_spec_mux){ .maglev_size = 65537, .hash_seed = SL_DEFAULT_HASH_SEED,
				       .flow_capacity = 1024, .flow_idle_ms = 300000 };
	s->host = (struct sl_spec_host){ .uplink_port = -1, .backend_port = -1,
					 .conn_capacity = 1024, .conn_idle_ms = 300000 };
}

/* A port with its addresses ("192.0.2.10/24", ...; NULL-terminated). */
static inline struct sl_spec_port *fx_port(struct sl_spec *s, const char *name,
					   const char *const addrs[])
{
	if (s->nb_ports == SL_MAX_PORTS)
		fx_fail("too many ports", name);
	struct sl_spec_port *p = &s->ports[s->nb_ports++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->mtu = 1500;
	for (; *addrs != NULL; addrs++) {
		if (p->nb_addrs == SL_MAX_PORT_ADDRS)
			fx_fail("too many addresses", *addrs);
		p->addrs[p->nb_addrs++] = fx_prefix(*addrs);
	}
	return p;
}

/* Gateways of each family; NULL for none. */
static inline void fx_gateways(struct sl_spec_port *p, const char *gw4, const char *gw6)
{
	if (gw4 != NULL)
		fx_addr(gw4, &p->gateway4);
	if (gw6 != NULL)
		fx_addr(gw6, &p->gateway6);
}

/* A static neighbour: addr is at "02:00:00:00:00:21". */
static inline void fx_neigh(struct sl_spec_port *p, const char *addr, const char *mac)
{
	if (p->nb_neigh == SL_MAX_STATIC_NEIGH)
		fx_fail("too many neighbours", addr);
	struct sl_static_neigh *n = &p->neigh[p->nb_neigh++];
	unsigned m[6];
	n->family = (uint8_t)fx_addr(addr, &n->addr);
	if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		fx_fail("not a MAC", mac);
	for (unsigned i = 0; i < 6; i++)
		n->mac[i] = (uint8_t)m[i];
}

/* The host agent's endpoints (NULL: none of that family) and ports. */
static inline void fx_host(struct sl_spec *s, const char *addr4, const char *addr6, int uplink,
			   int backend)
{
	if (addr4 != NULL)
		fx_addr(addr4, &s->host.addr4);
	if (addr6 != NULL)
		fx_addr(addr6, &s->host.addr6);
	s->host.uplink_port = uplink;
	s->host.backend_port = backend;
}

static inline void fx_tunnel_source(struct sl_spec *s, const char *prefix)
{
	if (s->host.nb_tunnel_sources == SL_MAX_TUNNEL_SOURCES)
		fx_fail("too many tunnel sources", prefix);
	s->host.tunnel_sources[s->host.nb_tunnel_sources++] = fx_prefix(prefix);
}

/* A VIP without backends; its number is the order of the calls. */
static inline struct sl_spec_service *fx_vip(struct sl_spec *s, const char *addr, uint8_t proto,
					     uint16_t port)
{
	struct sl_spec_service *more = realloc(s->services, (s->nb_services + 1) * sizeof(*more));
	if (more == NULL)
		fx_fail("out of memory", addr);
	s->services = more;
	struct sl_spec_service *v = &s->services[s->nb_services++];
	*v = (struct sl_spec_service){ .kind = SL_SERVICE_VIP, .proto = proto, .port = port };
	v->family = (uint8_t)fx_addr(addr, &v->addr);
	return v;
}

static inline void fx_backend(struct sl_spec_service *v, const char *addr, uint16_t port,
			      const char *host, uint32_t weight)
{
	struct sl_spec_backend *more = realloc(v->backends, (v->nb_backends + 1) * sizeof(*more));
	if (more == NULL)
		fx_fail("out of memory", addr);
	v->backends = more;
	struct sl_spec_backend *b = &v->backends[v->nb_backends++];
	*b = (struct sl_spec_backend){ .port = port, .weight = weight };
	fx_addr(addr, &b->addr);
	fx_addr(host, &b->host);
}

#endif
