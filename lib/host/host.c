#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"

struct local_identity {
	union sl_addr addr;
	uint16_t port;
	uint8_t pad[6];
};

static bool is_local(const struct sl_spec_host *me, const struct sl_spec_backend *d)
{
	const union sl_addr *mine = &me->addr4;
	if (!sl_addr_eq(&d->host, &me->addr4))
		mine = &me->addr6;
	return !sl_addr_is_zero(mine) && sl_addr_eq(&d->host, mine);
}

static int build_vip(struct sl_host_vip *hv, const struct sl_spec *spec,
		     const struct sl_spec_service *vc)
{
	uint32_t cap = vc->nb_backends ? vc->nb_backends : 1;
	hv->dips = calloc(cap, sizeof(*hv->dips));
	struct local_identity *ids = calloc(cap, sizeof(*ids));
	struct sl_maglev_backend *b = calloc(cap, sizeof(*b));
	int rc = -1;
	if (hv->dips == NULL || ids == NULL || b == NULL)
		goto out;
	uint32_t n = 0;
	for (uint32_t i = 0; i < vc->nb_backends; i++) {
		const struct sl_spec_backend *d = &vc->backends[i];
		if (!is_local(&spec->host, d))
			continue;
		hv->dips[n] = (struct sl_host_dip){ .addr = d->addr, .port = d->port };
		ids[n] = (struct local_identity){ .addr = d->addr, .port = d->port };
		b[n] = (struct sl_maglev_backend){ .key = &ids[n], .key_len = sizeof(ids[n]),
						   .weight = d->weight };
		n++;
	}
	hv->nb_dips = n;
	rc = 0;
	if (n > 0) {
		hv->maglev = sl_maglev_build(b, n, sl_maglev_size_for(n, SL_MAGLEV_AUTO),
					     spec->mux.hash_seed);
		rc = hv->maglev == NULL ? -1 : 0;
	}
out:
	free(ids);
	free(b);
	return rc;
}

struct sl_host_vip *sl_host_vip_build(const struct sl_spec *spec, const struct sl_spec_service *svc,
				      char *err, size_t errlen)
{
	struct sl_host_vip *hv = calloc(1, sizeof(*hv));
	if (hv == NULL || build_vip(hv, spec, svc) < 0) {
		snprintf(err, errlen, "cannot build host agent tables: %s", strerror(errno ? errno : ENOMEM));
		sl_host_vip_free(hv);
		return NULL;
	}
	return hv;
}

void sl_host_vip_free(struct sl_host_vip *hv)
{
	if (hv == NULL)
		return;
	free(hv->maglev);
	free(hv->dips);
	free(hv);
}

bool sl_host_vip_inputs_same(const struct sl_spec *a, const struct sl_spec *b)
{
	return a->mux.hash_seed == b->mux.hash_seed && sl_addr_eq(&a->host.addr4, &b->host.addr4) &&
	       sl_addr_eq(&a->host.addr6, &b->host.addr6);
}

/* Masks are computed once here, so the per-packet check only ANDs. */
static void build_sources(struct sl_host_tables *t, const struct sl_spec_host *hs)
{
	for (unsigned i = 0; i < hs->nb_tunnel_sources; i++) {
		const struct sl_prefix *p = &hs->tunnel_sources[i];
		struct sl_host_sources *s = p->family == SL_AF_INET ? &t->src4 : &t->src6;
		union sl_addr mask, net = p->addr;
		memset(&mask, 0xff, sizeof(mask));
		sl_addr_rules_mask(mask.v6, p->len);
		sl_addr_rules_mask(net.v6, p->len);
		s->p[s->n++] = (struct sl_host_source){
			.net = {net.u64[0], net.u64[1]}, .mask = {mask.u64[0], mask.u64[1]}};
	}
}

struct sl_host_tables *sl_host_tables_build(const struct sl_spec *spec, char *err, size_t errlen)
{
	struct sl_host_tables *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "cannot build host agent tables: %s", strerror(ENOMEM));
		return NULL;
	}
	t->seed = spec->mux.hash_seed;
	t->addr4 = spec->host.addr4;
	t->addr6 = spec->host.addr6;
	t->backend_port = spec->host.backend_port;
	build_sources(t, &spec->host);
	return t;
}

void sl_host_tables_free(struct sl_host_tables *t)
{
	free(t);
}

const struct sl_host_dip *sl_host_pick(const struct sl_host_vip *hv, uint64_t seed,
				       const struct sl_flow_key *k)
{
	if (hv->maglev == NULL)
		return NULL;
	uint32_t slot = sl_maglev_lookup(hv->maglev, (uint32_t)sl_hash64(k, sizeof(*k), seed));
	return slot == SL_MAGLEV_NO_BACKEND ? NULL : &hv->dips[slot];
}

void sl_host_reverse_key(const struct sl_flow_key *fwd, const union sl_addr *dip_addr,
			 uint16_t dip_port, struct sl_flow_key *rev)
{
	*rev = (struct sl_flow_key){
		.src = *dip_addr,
		.dst = fwd->src,
		.sport = htons(dip_port),
		.dport = fwd->sport,
		.proto = fwd->proto,
		.family = fwd->family,
	};
}
