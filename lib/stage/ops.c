#include <arpa/inet.h>
#include <string.h>

#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "stage/ops.h"

static void want_neighbour(struct sl_worker *w, int family, const union sl_addr *nh)
{
	struct sl_neigh_want want = { .family = (uint32_t)family, .addr = *nh };
	if (w->wants != NULL)
		rte_ring_enqueue_elem(w->wants, &want, sizeof(want)); /* full: control is already busy resolving */
}

const struct sl_egress *sl_stage_route_lookup(struct sl_worker *w, const struct sl_snapshot *s, int family,
					      const union sl_addr *dst, struct sl_route_memo *memo)
{
	union sl_addr nh;
	const struct sl_egress *eg = sl_route_lookup(s->neigh, family, dst, &nh);
	if (eg == NULL) {
		want_neighbour(w, family, &nh); /* not remembered: asked again until resolved */
		return NULL;
	}
	*memo = (struct sl_route_memo){ .dst = *dst, .eg = eg, .burst = w->burst, .family = (uint8_t)family };
	return eg;
}

void sl_stage_send_ip(struct sl_worker *w, struct rte_mbuf *m, const struct sl_egress *eg, int family)
{
	uint8_t *eth = (uint8_t *)rte_pktmbuf_prepend(m, SL_ETH_HLEN);
	if (eth == NULL) {
		sl_stage_drop(w, m, SL_DROP_NO_HEADROOM);
		return;
	}
	sl_pkt_write_eth(eth, eg->dst_mac, eg->src_mac,
			 family == SL_AF_INET ? SL_ETHERTYPE_IPV4 : SL_ETHERTYPE_IPV6);
	sl_stage_transmit(w, m, eg->port);
}

void sl_stage_pass_up(struct sl_worker *w, struct rte_ring *ring, struct rte_mbuf *m, uint16_t in_port,
		      enum sl_drop if_full, enum sl_counter if_queued)
{
	m->port = in_port;
	if (ring == NULL || rte_ring_enqueue(ring, m) != 0) {
		sl_stage_drop(w, m, if_full);
		return;
	}
	sl_stage_count(w, if_queued);
}

void sl_stage_strip_to_ip(struct rte_mbuf *m, struct sl_pkt_info *pi)
{
	sl_stage_keep(m, pi->l3_off, pi->l3_len);
	pi->l4_off = (uint16_t)(pi->l4_off - pi->l3_off);
	pi->l3_off = 0;
}

#define ICMP_PER_S 1000   /* sustained ICMP errors per worker and bucket */
#define ICMP_BURST 100

bool sl_stage_icmp_allowed(struct sl_worker *w, struct sl_token_bucket *b)
{
	return sl_rate_take(b, ICMP_PER_S, ICMP_BURST, w->now_ms);
}

enum sl_drop sl_stage_icmp_error_refusal(struct sl_worker *w, const uint8_t *ip, const struct sl_pkt_info *pi,
					 struct sl_token_bucket *b)
{
	if (b != NULL && !sl_stage_icmp_allowed(w, b))
		return SL_DROP_ICMP_RATE_LIMITED;
	if (!sl_pkt_icmp_checksum_ok(ip, pi))
		return SL_DROP_BAD_L4_CHECKSUM;
	return SL_DROP_NONE;
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

void sl_stage_set_key(struct sl_pkt_state *st)
{
	sl_flow_key_of(&st->pi, &st->key);
	st->hash = sl_flow_hash(&st->key);
}

bool sl_stage_take_icmp_error(const uint8_t *ip, struct sl_pkt_state *st, bool to_service)
{
	struct sl_icmp_quote *q = &st->quote;
	st->drop = sl_pkt_parse_icmp_error(ip, &st->pi, q);
	if (st->drop == SL_DROP_NONE &&
	    !sl_addr_eq(to_service ? &q->src : &q->dst, to_service ? &st->pi.dst : &st->pi.src))
		st->drop = SL_DROP_ICMP_BAD_QUOTE;
	if (st->drop != SL_DROP_NONE)
		return false;
	st->icmp = true;
	sl_flow_key_of_quote(q, st->pi.family, &st->key);
	st->hash = sl_flow_hash(&st->key);
	return true;
}

void sl_stage_lookup(struct sl_worker *w, struct sl_flow_table *t, const struct sl_burst *b,
		     const uint16_t *idx, uint16_t n, const struct sl_flow_value **hits)
{
	const struct sl_flow_key *keys[SL_BURST_MAX];
	uint32_t hashes[SL_BURST_MAX];
	if (n == 0)
		return;
	for (uint16_t j = 0; j < n; j++) {
		keys[j] = &b->st[idx[j]].key;
		hashes[j] = b->st[idx[j]].hash;
	}
	sl_flow_lookup_burst(t, w->id, keys, hashes, n, hits, w->now_ms);
	for (uint16_t j = 0; j < n; j++)
		if (hits[j] != NULL)
			rte_prefetch0(hits[j]);
}
