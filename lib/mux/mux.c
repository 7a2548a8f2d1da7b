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

/* Why the Maglev table of svc could not be built, naming the VIP: a spec
 * has no file lines to point at. */
static void vip_failed(const struct sl_spec_service *svc, char *err, size_t errlen)
{
	char addr[64];
	snprintf(err, errlen, "VIP %s port %u: cannot build its Maglev table: %s",
		 sl_addr_format(svc->family, &svc->addr, addr, sizeof(addr)), svc->port,
		 strerror(errno));
}

struct sl_mux_vip *sl_mux_vip_build(const struct sl_spec *spec, const struct sl_spec_service *vc,
				    char *err, size_t errlen)
{
	uint32_t n = vc->nb_backends;
	struct sl_mux_vip *mv = calloc(1, sizeof(*mv));
	if (mv != NULL && (mv->dips = calloc(n ? n : 1, sizeof(*mv->dips))) == NULL)
		errno = ENOMEM;
	if (mv != NULL && mv->dips != NULL) {
		mv->nb_dips = n;
		for (uint32_t i = 0; i < n; i++) {
			const struct sl_spec_backend *d = &vc->backends[i];
			mv->dips[i] = (struct sl_mux_dip){ .addr = d->addr, .host = d->host, .port = d->port,
							   .weight = d->weight };
		}
		mv->maglev = populate(vc, sl_maglev_size_for(n, spec->mux.maglev_size), spec->mux.hash_seed);
	}
	if (mv == NULL || mv->maglev == NULL) {
		vip_failed(vc, err, errlen);
		sl_mux_vip_free(mv);
		return NULL;
	}
	return mv;
}

void sl_mux_vip_free(struct sl_mux_vip *mv)
{
	if (mv == NULL)
		return;
	free(mv->maglev);
	free(mv->dips);
	free(mv);
}

bool sl_mux_vip_inputs_same(const struct sl_spec *a, const struct sl_spec *b)
{
	return a->mux.maglev_size == b->mux.maglev_size && a->mux.hash_seed == b->mux.hash_seed;
}

/* Computed once per build, not per packet: the configured source, else
 * the port's first address of the family, else none (zero). */
static union sl_addr port_source(const struct sl_spec_port *sp, int family, const union sl_addr *configured)
{
	static const union sl_addr none;
	if (!sl_addr_is_zero(configured))
		return *configured;
	for (unsigned i = 0; i < sp->nb_addrs; i++)
		if (sp->addrs[i].family == family)
			return sp->addrs[i].addr;
	return none;
}

struct sl_mux_tables *sl_mux_tables_build(const struct sl_spec *spec, char *err, size_t errlen)
{
	struct sl_mux_tables *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory building mux tables");
		return NULL;
	}
	t->seed = spec->mux.hash_seed;
	for (unsigned p = 0; p < spec->nb_ports; p++) {
		t->tunnel_src[p][0] = port_source(&spec->ports[p], SL_AF_INET, &spec->mux.tunnel_src4);
		t->tunnel_src[p][1] = port_source(&spec->ports[p], SL_AF_INET6, &spec->mux.tunnel_src6);
	}
	return t;
}

void sl_mux_tables_free(struct sl_mux_tables *t)
{
	free(t);
}

const struct sl_mux_dip *sl_mux_pick(const struct sl_mux_vip *mv, uint64_t seed, const struct sl_flow_key *k)
{
	if (mv->nb_dips == 0)
		return NULL;
	uint32_t slot = sl_maglev_lookup(mv->maglev, (uint32_t)sl_hash64(k, sizeof(*k), seed));
	return slot == SL_MAGLEV_NO_BACKEND ? NULL : &mv->dips[slot];
}

/*
 * Drop the old L2 header and any Ethernet padding, and make room for
 * hdr_len bytes of new headers: the frame becomes those headers and the
 * inner IP packet (at ip_off, ip_len bytes) exactly. A received frame is
 * one segment, whose fields are set at once; a chain takes DPDK's calls.
 */
static uint8_t *reframe(struct rte_mbuf *m, uint16_t ip_off, uint16_t ip_len, uint16_t hdr_len)
{
	if (__builtin_expect(m->nb_segs == 1, 1)) {
		m->data_off = (uint16_t)(m->data_off + ip_off - hdr_len);
		m->data_len = (uint16_t)(hdr_len + ip_len);
		m->pkt_len = m->data_len;
		return rte_pktmbuf_mtod(m, uint8_t *);
	}
	rte_pktmbuf_adj(m, ip_off);
	if (rte_pktmbuf_pkt_len(m) > ip_len)
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - ip_len);
	return (uint8_t *)rte_pktmbuf_prepend(m, hdr_len);
}

/* One body for both families, made twice with v4 a constant: the family's
 * sizes and header writer are then fixed, with no selects between them. */
static inline __attribute__((always_inline)) enum sl_drop
encap(struct rte_mbuf *m, const struct sl_pkt_info *pi, const union sl_addr *src, const union sl_addr *dst,
      const uint8_t dst_mac[6], const uint8_t src_mac[6], uint16_t mtu, uint32_t flow_hash, const bool v4)
{
	const uint16_t outer_len = v4 ? SL_IPV4_HLEN : SL_IPV6_HLEN;
	const uint16_t inner_len = pi->l3_len;

	if ((uint32_t)inner_len + outer_len > mtu)
		return SL_DROP_TOO_BIG;
	if (rte_pktmbuf_headroom(m) + pi->l3_off < SL_ETH_HLEN + outer_len)
		return SL_DROP_NO_HEADROOM; /* not with the default 128-byte headroom */
	const uint8_t *inner = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	uint8_t tos = v4 ? inner[1] : (uint8_t)((inner[0] << 4) | (inner[1] >> 4));
	uint8_t *frame = reframe(m, pi->l3_off, inner_len, (uint16_t)(SL_ETH_HLEN + outer_len));
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

enum sl_drop sl_mux_encap(struct rte_mbuf *m, const struct sl_pkt_info *pi, const union sl_addr *src,
			  const union sl_addr *dst, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			  uint16_t mtu, uint32_t flow_hash)
{
	if (pi->family == SL_AF_INET)
		return encap(m, pi, src, dst, dst_mac, src_mac, mtu, flow_hash, true);
	return encap(m, pi, src, dst, dst_mac, src_mac, mtu, flow_hash, false);
}
