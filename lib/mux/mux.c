#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "mux/mux.h"

/* What makes a DIP the same DIP on every mux: address, port and host.
 * Maglev permutations hash these bytes, so the order of the DIPs does not
 * matter. */
struct dip_identity {
	union sl_addr addr;
	union sl_addr host;
	uint16_t port;
	uint8_t pad[6];
};

static bool same_dip(const struct sl_mux_dip *a, const struct sl_spec_backend *d)
{
	return sl_addr_eq(&a->addr, &d->addr) && sl_addr_eq(&a->host, &d->host) && a->port == d->port &&
	       a->weight == d->weight;
}

/* prev's Maglev table for this VIP when everything it was built from is
 * the same (DIPs in the same order, weights, size, seed), else NULL. */
static const struct sl_maglev *reusable_maglev(const struct sl_mux_tables *prev,
					       const struct sl_spec_service *vc, uint32_t size, uint64_t seed)
{
	if (prev == NULL || prev->seed != seed)
		return NULL;
	uint32_t v = sl_vip_find(prev->index, vc->family, vc->proto, &vc->addr, htons(vc->port));
	if (v == SL_VIP_NONE)
		return NULL;
	const struct sl_mux_vip *pv = &prev->vip[v];
	if (pv->maglev->size != size || pv->nb_dips != vc->nb_backends)
		return NULL;
	for (uint32_t i = 0; i < vc->nb_backends; i++)
		if (!same_dip(&pv->dips[i], &vc->backends[i]))
			return NULL;
	return pv->maglev;
}

static struct sl_maglev *populate(const struct sl_spec_service *vc, uint32_t size, uint64_t seed)
{
	uint32_t n = vc->nb_backends;
	struct dip_identity *ids = calloc(n ? n : 1, sizeof(*ids));
	struct sl_maglev_backend *b = calloc(n ? n : 1, sizeof(*b));
	struct sl_maglev *m = NULL;
	if (ids != NULL && b != NULL) {
		for (uint32_t i = 0; i < n; i++) {
			const struct sl_spec_backend *d = &vc->backends[i];
			ids[i] = (struct dip_identity){ .addr = d->addr, .host = d->host, .port = d->port };
			b[i] = (struct sl_maglev_backend){ .key = &ids[i], .key_len = sizeof(ids[i]),
							   .weight = d->weight };
		}
		m = sl_maglev_build(b, n, size, seed);
	}
	free(ids);
	free(b);
	return m;
}

static int build_vip(struct sl_mux_vip *mv, const struct sl_spec_service *vc, uint32_t size,
		     uint64_t seed, const struct sl_mux_tables *prev)
{
	uint32_t n = vc->nb_backends;
	mv->nb_dips = n;
	mv->dips = calloc(n ? n : 1, sizeof(*mv->dips));
	if (mv->dips == NULL)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const struct sl_spec_backend *d = &vc->backends[i];
		mv->dips[i] = (struct sl_mux_dip){ .addr = d->addr, .host = d->host, .port = d->port,
						   .weight = d->weight };
	}
	const struct sl_maglev *same = reusable_maglev(prev, vc, size, seed);
	mv->maglev = same != NULL ? sl_maglev_copy(same) : populate(vc, size, seed);
	return mv->maglev == NULL ? -1 : 0;
}

/* Why the Maglev table of svc could not be built, naming the VIP: a spec
 * has no file lines to point at. */
static void vip_failed(const struct sl_spec_service *svc, char *err, size_t errlen)
{
	char addr[64];
	snprintf(err, errlen, "VIP %s port %u: cannot build its Maglev table: %s",
		 sl_addr_format(svc->family, &svc->addr, addr, sizeof(addr)), svc->port,
		 strerror(errno));
}

struct sl_mux_tables *sl_mux_tables_build(const struct sl_spec *spec, const struct sl_mux_tables *prev,
					  char *err, size_t errlen)
{
	const struct sl_spec_mux *ms = &spec->mux;
	struct sl_mux_tables *t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto nomem;
	t->seed = ms->hash_seed;
	t->tunnel_src4 = ms->tunnel_src4;
	t->tunnel_src6 = ms->tunnel_src6;
	t->index = sl_vip_index_build(spec);
	t->vip = calloc(spec->nb_services ? spec->nb_services : 1, sizeof(*t->vip));
	if (t->index == NULL || t->vip == NULL)
		goto nomem;
	for (uint32_t v = 0; v < spec->nb_services; v++) {
		t->nb_vips = v + 1;
		if (build_vip(&t->vip[v], &spec->services[v], ms->maglev_size, ms->hash_seed, prev) < 0) {
			vip_failed(&spec->services[v], err, errlen);
			sl_mux_tables_free(t);
			return NULL;
		}
	}
	return t;
nomem:
	snprintf(err, errlen, "out of memory building mux tables");
	sl_mux_tables_free(t);
	return NULL;
}

void sl_mux_tables_free(struct sl_mux_tables *t)
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

_Static_assert(offsetof(struct sl_flow_key, sport) == 32 && sizeof(struct sl_flow_key) == 40,
	       "sl_flow_key_of writes the key's last 8 bytes at once");

void sl_flow_key_of(const struct sl_pkt_info *pi, struct sl_flow_key *k)
{
	k->src = pi->src;
	k->dst = pi->dst;
	/* Ports, protocol, family and padding as one 8-byte store: the key is
	 * hashed and compared in 8-byte words, and a load spanning several small
	 * stores stalls (no store forwarding). Byte layout as in the struct. */
	uint16_t sport = htons(pi->sport), dport = htons(pi->dport);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t tail = (uint64_t)sport | (uint64_t)dport << 16 | (uint64_t)pi->proto << 32 |
			(uint64_t)pi->family << 40;
#else
	uint64_t tail = (uint64_t)sport << 48 | (uint64_t)dport << 32 | (uint64_t)pi->proto << 24 |
			(uint64_t)pi->family << 16;
#endif
	memcpy(&k->sport, &tail, sizeof(tail));
}

void sl_flow_key_of_quote(const struct sl_icmp_quote *q, int family, struct sl_flow_key *k)
{
	const struct sl_pkt_info opposite = { .family = (uint8_t)family, .proto = q->proto,
					      .src = q->dst, .dst = q->src,
					      .sport = q->dport, .dport = q->sport };
	sl_flow_key_of(&opposite, k);
}

const struct sl_mux_dip *sl_mux_pick(const struct sl_mux_tables *t, uint32_t vip,
				     const struct sl_flow_key *k)
{
	const struct sl_mux_vip *mv = &t->vip[vip];
	if (mv->nb_dips == 0)
		return NULL;
	uint32_t slot = sl_maglev_lookup(mv->maglev, (uint32_t)sl_hash64(k, sizeof(*k), t->seed));
	return slot == SL_MAGLEV_NO_BACKEND ? NULL : &mv->dips[slot];
}

enum sl_drop sl_mux_encap(struct rte_mbuf *m, const struct sl_pkt_info *pi, const union sl_addr *src,
			  const union sl_addr *dst, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			  uint16_t mtu, uint32_t flow_hash)
{
	const bool v4 = pi->family == SL_AF_INET;
	const uint16_t outer_len = v4 ? SL_IPV4_HLEN : SL_IPV6_HLEN;
	const uint16_t inner_len = pi->l3_len;

	if ((uint32_t)inner_len + outer_len > mtu)
		return SL_DROP_TOO_BIG;
	if (rte_pktmbuf_headroom(m) + pi->l3_off < SL_ETH_HLEN + outer_len)
		return SL_DROP_NO_HEADROOM; /* not with the default 128-byte headroom */
	/* Drop the old L2 header and any Ethernet padding: the new frame is
	 * Ethernet + outer IP + the inner IP packet exactly. */
	rte_pktmbuf_adj(m, pi->l3_off);
	if (rte_pktmbuf_pkt_len(m) > inner_len)
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - inner_len);
	uint8_t *inner = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t tos = v4 ? inner[1] : (uint8_t)((inner[0] << 4) | (inner[1] >> 4));
	uint8_t *frame = (uint8_t *)rte_pktmbuf_prepend(m, SL_ETH_HLEN + outer_len);
	if (__builtin_expect(frame == NULL, 0))
		return SL_DROP_NO_HEADROOM; /* never: the headroom was checked above */
	uint8_t *outer = frame + SL_ETH_HLEN;
	if (v4) {
		sl_pkt_write_eth(frame, dst_mac, src_mac, SL_ETHERTYPE_IPV4);
		sl_pkt_write_outer_ipv4(outer, src->v4, dst->v4, inner_len, tos, 64, SL_PROTO_IPIP);
	} else {
		sl_pkt_write_eth(frame, dst_mac, src_mac, SL_ETHERTYPE_IPV6);
		sl_pkt_write_outer_ipv6(outer, src->v6, dst->v6, inner_len, tos,
					flow_hash, 64, SL_PROTO_IPV6);
	}
	m->l2_len = SL_ETH_HLEN;
	m->l3_len = outer_len;
	return SL_DROP_NONE;
}
