/*
 * What a stage may do with a packet of its burst: count, drop, transmit,
 * route, hand it to the control thread or to another stage. Nothing here
 * locks, allocates or makes a system call.
 */
#ifndef SLUICE_STAGE_OPS_H
#define SLUICE_STAGE_OPS_H

#include <rte_mbuf.h>

#include "stage/tables.h"

static inline void sl_stage_count(struct sl_worker *w, enum sl_counter c)
{
	w->stats.c[c]++;
}

/* Free m at the end of the burst, counted under why. */
static inline void sl_stage_drop(struct sl_worker *w, struct rte_mbuf *m, enum sl_drop why)
{
	w->stats.drop[why]++;
	w->to_free[w->nb_free++] = m;
}

/* Queue a whole frame for port (sent by the lcore loop after the burst). */
static inline void sl_stage_transmit(struct sl_worker *w, struct rte_mbuf *m, uint16_t port)
{
	w->tx[port][w->nb_tx[port]++] = m;
}

/* Hand packet i of b to stage `to`, registered after the caller, as claim. */
static inline void sl_stage_handoff(struct sl_burst *b, enum sl_stage_id to, uint16_t i, enum sl_claim claim)
{
	b->st[i].claim = (uint8_t)claim;
	b->idx[to][b->nb[to]++] = i;
}

/* The stage whose tunnel endpoint dst is (SL_STAGE_NONE: not ours). */
static inline enum sl_stage_id sl_stage_endpoint_owner(const struct sl_tables *t, int family,
						       const union sl_addr *dst)
{
	for (unsigned i = 0; i < t->cls.nb_endpoints; i++)
		if (t->cls.endpoint[i].family == family && sl_addr_eq(&t->cls.endpoint[i].addr, dst))
			return (enum sl_stage_id)t->cls.endpoint[i].stage;
	return SL_STAGE_NONE;
}

/* Next hop for dst, or NULL after asking the control thread to resolve it. */
const struct sl_egress *sl_stage_route_lookup(struct sl_worker *w, const struct sl_snapshot *s, int family,
					      const union sl_addr *dst, struct sl_route_memo *memo);

static inline const struct sl_egress *sl_stage_route(struct sl_worker *w, const struct sl_snapshot *s,
						     int family, const union sl_addr *dst)
{
	uint64_t h = (dst->u64[0] ^ dst->u64[1]) * 0x9e3779b97f4a7c15ull; /* the top bits mix every byte */
	struct sl_route_memo *memo = &w->route_memo[h >> (64 - SL_ROUTE_MEMO_BITS)];
	if (memo->burst == w->burst && memo->family == family && sl_addr_eq(&memo->dst, dst))
		return memo->eg;
	return sl_stage_route_lookup(w, s, family, dst, memo);
}

/* Prepend an Ethernet header for egress eg to the IP packet in m and queue it. */
void sl_stage_send_ip(struct sl_worker *w, struct rte_mbuf *m, const struct sl_egress *eg, int family);

/* Hand a frame to the control thread on ring (NULL: none), saying where
 * it came in; counted as if_queued, or dropped as if_full. */
void sl_stage_pass_up(struct sl_worker *w, struct rte_ring *ring, struct rte_mbuf *m, uint16_t in_port,
		      enum sl_drop if_full, enum sl_counter if_queued);

/* Keep only the len bytes at off of frame m, which holds them (a parsed
 * packet's): a received frame is one segment, whose fields are set at
 * once; a chain takes DPDK's calls. */
static inline void sl_stage_keep(struct rte_mbuf *m, uint16_t off, uint16_t len)
{
	if (__builtin_expect(m->nb_segs == 1 && (uint32_t)off + len <= m->data_len, 1)) {
		m->data_off = (uint16_t)(m->data_off + off);
		m->data_len = len;
		m->pkt_len = len;
		return;
	}
	rte_pktmbuf_adj(m, off);
	if (rte_pktmbuf_pkt_len(m) > len)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - len));
}

/* Keep only the IP packet: drop the L2 header and any Ethernet padding,
 * and make pi's offsets relative to the IP header. */
void sl_stage_strip_to_ip(struct rte_mbuf *m, struct sl_pkt_info *pi);

/* ICMP must never become an amplifier: one token of bucket b (1000/s,
 * burst 100 per worker), whether we originate an error or pass one on. */
bool sl_stage_icmp_allowed(struct sl_worker *w, struct sl_token_bucket *b);

/* Why an ICMP error we would pass on may not go: over the limit of bucket
 * b (NULL: none here) or a wrong checksum; SL_DROP_NONE when it may. */
enum sl_drop sl_stage_icmp_error_refusal(struct sl_worker *w, const uint8_t *ip, const struct sl_pkt_info *pi,
					 struct sl_token_bucket *b);

/*
 * An ICMP error stands for the flow it quotes (Katran and Maglev route
 * them so): parse the quote of the error at ip into st and take the
 * flow's key. The quoted packet must be about the address the error
 * concerns: with to_service, the service address it was sent to (its
 * quote is the service's packet to the client), else the backend that
 * sent it (its quote is the client's packet to the backend). False with
 * st->drop set when it is no error about a flow of ours.
 */
bool sl_stage_take_icmp_error(const uint8_t *ip, struct sl_pkt_state *st, bool to_service);

/* Forward 5-tuple key of a parsed packet (client -> service direction). */
void sl_flow_key_of(const struct sl_pkt_info *pi, struct sl_flow_key *k);

/* Key of the flow an ICMP error is about, in the direction opposite to
 * the quoted packet: the quote of an error sent to a service is the
 * service's packet to the client, so this is the client -> service key;
 * the quote of an error from a backend is the client's packet to it, so
 * this is the key of the backend's replies. */
void sl_flow_key_of_quote(const struct sl_icmp_quote *q, int family, struct sl_flow_key *k);

/* st->key and st->hash from st->pi (the packet's own 5-tuple). */
void sl_stage_set_key(struct sl_pkt_state *st);

/*
 * One bulk lookup in flow table t (this worker's shard) for the packets
 * b->pkts[idx[j]], j < n, whose keys are set: hits[j] is the entry or
 * NULL, prefetched for the stage's next pass.
 */
void sl_stage_lookup(struct sl_worker *w, struct sl_flow_table *t, const struct sl_burst *b,
		     const uint16_t *idx, uint16_t n, const struct sl_flow_value **hits);

static inline bool sl_pkt_is_icmp(const struct sl_pkt_info *pi)
{
	return pi->proto == SL_PROTO_ICMP || pi->proto == SL_PROTO_ICMPV6;
}

#endif
