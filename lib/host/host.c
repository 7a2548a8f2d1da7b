#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/prefix_rules.h"
#include "host/host.h"

struct local_identity {
	union sl_addr addr;
	uint16_t port;
	uint8_t pad[6];
};

static bool is_local(const struct sl_config *cfg, const struct sl_dip_cfg *d)
{
	const union sl_addr *mine = &cfg->host_addr4;
	if (!sl_addr_eq(&d->host, &cfg->host_addr4))
		mine = &cfg->host_addr6;
	return !sl_addr_is_zero(mine) && sl_addr_eq(&d->host, mine);
}

static int build_vip(struct sl_host_vip *hv, const struct sl_config *cfg, const struct sl_vip_cfg *vc)
{
	hv->dips = calloc(vc->nb_dips ? vc->nb_dips : 1, sizeof(*hv->dips));
	struct local_identity *ids = calloc(vc->nb_dips ? vc->nb_dips : 1, sizeof(*ids));
	struct sl_maglev_backend *b = calloc(vc->nb_dips ? vc->nb_dips : 1, sizeof(*b));
	int rc = -1;
	if (hv->dips == NULL || ids == NULL || b == NULL)
		goto out;
	uint32_t n = 0;
	for (uint32_t i = 0; i < vc->nb_dips; i++) {
		const struct sl_dip_cfg *d = &vc->dips[i];
		if (!is_local(cfg, d))
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
		hv->maglev = sl_maglev_build(b, n, SL_HOST_MAGLEV_SIZE, cfg->hash_seed);
		rc = hv->maglev == NULL ? -1 : 0;
	}
out:
	free(ids);
	free(b);
	return rc;
}

/* Masks are computed once here, so the per-packet check only ANDs. */
static void build_sources(struct sl_host_tables *t, const struct sl_config *cfg)
{
	for (unsigned i = 0; i < cfg->nb_tunnel_sources; i++) {
		const struct sl_prefix *p = &cfg->tunnel_sources[i];
		struct sl_host_sources *s = p->family == SL_AF_INET ? &t->src4 : &t->src6;
		union sl_addr mask, net = p->addr;
		memset(&mask, 0xff, sizeof(mask));
		sl_prefix_rules_mask(mask.v6, p->len);
		sl_prefix_rules_mask(net.v6, p->len);
		s->p[s->n++] = (struct sl_host_source){
			.net = {net.u64[0], net.u64[1]}, .mask = {mask.u64[0], mask.u64[1]}};
	}
}

struct sl_host_tables *sl_host_tables_build(const struct sl_config *cfg, char *err, size_t errlen)
{
	struct sl_host_tables *t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto fail;
	t->seed = cfg->hash_seed;
	t->addr4 = cfg->host_addr4;
	t->addr6 = cfg->host_addr6;
	build_sources(t, cfg);
	t->index = sl_vip_index_build(cfg);
	t->vip = calloc(cfg->nb_vips ? cfg->nb_vips : 1, sizeof(*t->vip));
	if (t->index == NULL || t->vip == NULL)
		goto fail;
	for (uint32_t v = 0; v < cfg->nb_vips; v++) {
		t->nb_vips = v + 1;
		if (build_vip(&t->vip[v], cfg, &cfg->vips[v]) < 0)
			goto fail;
	}
	return t;
fail:
	snprintf(err, errlen, "cannot build host agent tables: %s", strerror(errno ? errno : ENOMEM));
	sl_host_tables_free(t);
	return NULL;
}

void sl_host_tables_free(struct sl_host_tables *t)
{
	if (t == NULL)
		return;
	for (uint32_t v = 0; v < t->nb_vips; v++) {
		free(t->vip[v].maglev);
		free(t->vip[v].dips);
	}
	free(t->vip);
	sl_vip_index_free(t->index);
	free(t);
}

const struct sl_host_dip *sl_host_pick(const struct sl_host_tables *t, uint32_t vip,
				       const struct sl_flow_key *k)
{
	const struct sl_host_vip *hv = &t->vip[vip];
	if (hv->maglev == NULL)
		return NULL;
	uint32_t slot = sl_maglev_lookup(hv->maglev, (uint32_t)sl_hash64(k, sizeof(*k), t->seed));
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
