#include <arpa/inet.h>

#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/worker.h"

/* What classification decided for one frame. */
enum verdict {
	V_DROP,
	V_MUX,        /* to a VIP: flow table / Maglev, then encap */
	V_TUNNEL,     /* IP-in-IP to our host address: decap, then to a DIP */
	V_REPLY,      /* from a local DIP: back to the client as the VIP */
	V_EXCEPTION,  /* ARP, ND, ICMP echo to us: the control thread answers */
	V_KERNEL,     /* the rest to our own addresses: the exception path (lib/exception) */
};

struct pkt_state {
	struct sl_pkt_info pi;
	struct sl_flow_key key;
	uint32_t hash;
	uint32_t vip;
	enum verdict verdict;
	enum sl_drop drop;
	bool icmp;                 /* an ICMP error: key and vip are the quoted flow's */
	struct sl_icmp_quote quote; /* valid when icmp */
};

static inline void count(struct sl_worker *w, enum sl_counter c)
{
	w->stats.c[c]++;
}

static inline void drop(struct sl_worker *w, struct rte_mbuf *m, enum sl_drop why)
{
	w->stats.drop[why]++;
	w->to_free[w->nb_free++] = m;
}

static inline void transmit(struct sl_worker *w, struct rte_mbuf *m, uint16_t port)
{
	w->tx[port][w->nb_tx[port]++] = m;
}

static void want_neighbour(struct sl_worker *w, int family, const union sl_addr *nh)
{
	struct sl_neigh_want want = { .family = (uint32_t)family, .addr = *nh };
	if (w->wants != NULL)
		rte_ring_enqueue_elem(w->wants, &want, sizeof(want)); /* full: control is already busy resolving */
}

/* Hand a frame to the control thread on ring, which says where it came in. */
static void pass_up(struct sl_worker *w, struct rte_ring *ring, struct rte_mbuf *m, uint16_t in_port,
		    enum sl_drop if_full, enum sl_counter if_queued)
{
	m->port = in_port;
	if (ring == NULL || rte_ring_enqueue(ring, m) != 0) {
		drop(w, m, if_full);
		return;
	}
	count(w, if_queued);
}

/* ICMP echo request or ICMPv6 echo request (what the control thread answers besides ARP and ND). */
static bool is_echo_request(const struct rte_mbuf *m, const struct sl_pkt_info *pi)
{
	if (pi->l4_off >= rte_pktmbuf_data_len(m))
		return false;
	uint8_t type = rte_pktmbuf_mtod(m, const uint8_t *)[pi->l4_off];
	return (pi->proto == SL_PROTO_ICMP && type == 8) || (pi->proto == SL_PROTO_ICMPV6 && type == 128);
}

#define ECHO_PER_S 1000 /* echo requests answered per worker */
#define ECHO_BURST 100

/* To the control thread; a ping flood is cut here so that ARP and ND,
 * which share its ring, never wait behind it. */
static void to_control(struct sl_worker *w, struct rte_mbuf *m, uint16_t in_port, const struct sl_pkt_info *pi)
{
	if (pi->family != SL_AF_NONE && is_echo_request(m, pi) &&
	    !sl_rate_take(&w->echo, ECHO_PER_S, ECHO_BURST, w->now_ms)) {
		drop(w, m, SL_DROP_ECHO_RATE_LIMITED);
		return;
	}
	pass_up(w, w->to_control, m, in_port, SL_DROP_EXCEPTION_FULL, SL_C_EXCEPTION);
}

/* Exception path: towards the in-port's kernel interface, within the
 * worker's rate limit, so a flood to our addresses costs a token check. */
static void to_kernel(struct sl_worker *w, struct rte_mbuf *m, uint16_t in_port)
{
	enum sl_drop why = sl_exc_gate_pass(&w->kernel_gate, in_port, w->now_ms);
	if (why != SL_DROP_NONE) {
		drop(w, m, why);
		return;
	}
	pass_up(w, w->to_kernel, m, in_port, SL_DROP_KERNEL_RING_FULL, SL_C_TO_KERNEL);
}

static bool is_l2_group(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const uint8_t *)[0] & 1; /* broadcast or multicast */
}

static bool mac_is_ours(const struct rte_mbuf *m, const uint8_t mac[6])
{
	return memcmp(rte_pktmbuf_mtod(m, const uint8_t *), mac, 6) == 0;
}

static bool forwards(enum verdict v)
{
	return v == V_MUX || v == V_TUNNEL || v == V_REPLY;
}

/*
 * What no router would forward is not forwarded by a stage either: a frame
 * sent to an L2 group (flooded to every station; ARP and ND still reach
 * the control thread), or a packet with martian addresses.
 */
static enum sl_drop forward_refusal(const struct pkt_state *st, bool l2_group)
{
	if (__builtin_expect(l2_group, 0))
		return SL_DROP_L2_MULTICAST;
	return sl_pkt_martian(&st->pi);
}

static bool is_tunnel_proto(uint8_t proto)
{
	return proto == SL_PROTO_IPIP || proto == SL_PROTO_IPV6;
}

static bool is_v6_multicast(const struct sl_pkt_info *pi)
{
	return pi->family == SL_AF_INET6 && pi->dst.v6[0] == 0xff;
}

/* Why a packet that matched nothing is dropped: the most specific reason. */
static enum sl_drop unmatched_reason(const struct sl_snapshot *s, const struct sl_pkt_info *pi)
{
	const struct sl_mux_tables *mux = s->tables->mux;
	if (mux == NULL)
		return SL_DROP_NOT_FOR_US;
	if (!sl_vip_addr_known(mux->index, pi->family, &pi->dst))
		return SL_DROP_UNKNOWN_VIP;
	if (pi->flags & SL_PKT_FRAGMENT)
		return SL_DROP_FRAGMENT;
	if (pi->proto != SL_PROTO_TCP && pi->proto != SL_PROTO_UDP)
		return SL_DROP_UNSUPPORTED_L4;
	if (!(pi->flags & SL_PKT_HAS_PORTS))
		return SL_DROP_TRUNCATED;
	return SL_DROP_UNKNOWN_PORT;
}

static bool find_vip(const struct sl_snapshot *s, struct pkt_state *st)
{
	const struct sl_pkt_info *pi = &st->pi;
	if (s->tables->mux == NULL || (pi->flags & (SL_PKT_FRAGMENT | SL_PKT_HAS_PORTS)) != SL_PKT_HAS_PORTS)
		return false;
	st->vip = sl_vip_find(s->tables->mux->index, pi->family, pi->proto, &pi->dst, htons(pi->dport));
	return st->vip != SL_VIP_NONE;
}

static bool is_icmp(const struct sl_pkt_info *pi)
{
	return pi->proto == SL_PROTO_ICMP || pi->proto == SL_PROTO_ICMPV6;
}

/*
 * An ICMP error stands for the flow it quotes (Katran and Maglev route
 * them so): parse the quote and take the flow's key. The quoted packet
 * must be about the address the error concerns: with to_vip, the VIP it
 * was sent to (its quote is the VIP's packet to the client), else the DIP
 * that sent it (its quote is the client's packet to the DIP).
 */
static enum verdict take_icmp_error(const uint8_t *ip, struct pkt_state *st, enum verdict v, bool to_vip)
{
	struct sl_icmp_quote *q = &st->quote;
	st->drop = sl_pkt_parse_icmp_error(ip, &st->pi, q);
	if (st->drop == SL_DROP_NONE &&
	    !sl_addr_eq(to_vip ? &q->src : &q->dst, to_vip ? &st->pi.dst : &st->pi.src))
		st->drop = SL_DROP_ICMP_BAD_QUOTE;
	if (st->drop != SL_DROP_NONE)
		return V_DROP;
	st->icmp = true;
	sl_flow_key_of_quote(q, st->pi.family, &st->key);
	st->hash = sl_flow_hash(&st->key);
	return v;
}

/* An ICMP error to a VIP address: the VIP its quote's source port names. */
static enum verdict classify_icmp_to_vip(const struct sl_snapshot *s, const uint8_t *frame, struct pkt_state *st)
{
	if (take_icmp_error(frame + st->pi.l3_off, st, V_MUX, true) == V_DROP)
		return V_DROP;
	st->vip = sl_vip_find(s->tables->mux->index, st->pi.family, st->quote.proto, &st->quote.src,
			      htons(st->quote.sport));
	if (st->vip != SL_VIP_NONE)
		return V_MUX;
	st->drop = SL_DROP_ICMP_NO_FLOW;
	return V_DROP;
}

static bool icmp_to_vip_addr(const struct sl_snapshot *s, const struct sl_pkt_info *pi)
{
	const struct sl_mux_tables *mux = s->tables->mux;
	return is_icmp(pi) && mux != NULL && sl_vip_addr_known(mux->index, pi->family, &pi->dst);
}

/* Our own addresses after every stage passed: lib/exception decides. */
static enum verdict own_address(const uint8_t *frame, struct pkt_state *st, bool unicast, bool l2_group)
{
	switch (sl_exc_classify(frame, &st->pi, unicast, l2_group, &st->drop)) {
	case SL_EXC_CONTROL:
		return V_EXCEPTION;
	case SL_EXC_KERNEL:
		return V_KERNEL;
	default:
		return V_DROP;
	}
}

static enum verdict classify(const struct sl_snapshot *s, uint16_t in_port, const uint8_t *frame,
			     struct pkt_state *st, bool l2_group)
{
	const struct sl_tables *t = s->tables;
	const struct sl_pkt_info *pi = &st->pi;
	uint16_t owner;

	if (pi->family == SL_AF_NONE)
		return V_EXCEPTION; /* ARP: the parser lets nothing else through */
	if (t->host != NULL && is_tunnel_proto(pi->proto) && sl_host_is_endpoint(t->host, pi->family, &pi->dst))
		return V_TUNNEL;
	if (find_vip(s, st))
		return V_MUX;
	if (icmp_to_vip_addr(s, pi)) /* echo and fragments are dropped as unsupported / fragment */
		return classify_icmp_to_vip(s, frame, st);
	bool own = sl_local_owns(&t->local, pi->family, &pi->dst, &owner);
	if (own || is_v6_multicast(pi))
		return own_address(frame, st, own, l2_group);
	if (t->host != NULL && in_port == t->backend_port)
		return V_REPLY;
	st->drop = unmatched_reason(s, pi);
	return V_DROP;
}

/* Prepend an Ethernet header for egress eg and queue the frame. */
static void send_ip(struct sl_worker *w, struct rte_mbuf *m, const struct sl_egress *eg, int family)
{
	uint8_t *eth = (uint8_t *)rte_pktmbuf_prepend(m, SL_ETH_HLEN);
	if (eth == NULL) {
		drop(w, m, SL_DROP_NO_HEADROOM);
		return;
	}
	sl_pkt_write_eth(eth, eg->dst_mac, eg->src_mac,
			 family == SL_AF_INET ? SL_ETHERTYPE_IPV4 : SL_ETHERTYPE_IPV6);
	transmit(w, m, eg->port);
}

static const struct sl_egress *route(struct sl_worker *w, const struct sl_snapshot *s, int family,
				     const union sl_addr *dst)
{
	union sl_addr nh;
	const struct sl_egress *eg = sl_route_lookup(s->neigh, family, dst, &nh);
	if (eg == NULL)
		want_neighbour(w, family, &nh);
	return eg;
}

/* Keep only the IP packet: drop the L2 header and any Ethernet padding,
 * and make pi's offsets relative to the IP header. */
static void strip_to_ip(struct rte_mbuf *m, struct sl_pkt_info *pi, uint16_t ip_off)
{
	rte_pktmbuf_adj(m, ip_off);
	if (rte_pktmbuf_pkt_len(m) > pi->l3_len)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - pi->l3_len));
	pi->l4_off = (uint16_t)(pi->l4_off - pi->l3_off);
	pi->l3_off = 0;
}

#define ICMP_PER_S 1000   /* sustained ICMP errors per worker and bucket */
#define ICMP_BURST 100

/* Token bucket: ICMP must never become an amplifier, whether we originate
 * it or pass on what a router or a DIP sent. */
static bool icmp_allowed(struct sl_worker *w, struct sl_token_bucket *b)
{
	return sl_rate_take(b, ICMP_PER_S, ICMP_BURST, w->now_ms);
}

/* Why an ICMP error we would pass on may not go: over the limit of bucket b
 * (NULL: none here) or a wrong checksum; NONE when it may. */
static enum sl_drop icmp_error_refusal(struct sl_worker *w, const uint8_t *ip, const struct sl_pkt_info *pi,
				       struct sl_token_bucket *b)
{
	if (b != NULL && !icmp_allowed(w, b))
		return SL_DROP_ICMP_RATE_LIMITED;
	if (!sl_pkt_icmp_checksum_ok(ip, pi))
		return SL_DROP_BAD_L4_CHECKSUM;
	return SL_DROP_NONE;
}

/* Translate, decrement TTL, route and queue an IP-only packet (host
 * agent, both directions); quote is non-NULL for an ICMP error. */
static void forward_translated(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
			       struct sl_pkt_info *pi, struct sl_icmp_quote *quote,
			       const struct sl_flow_value *to, bool to_dip)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
	enum sl_drop why = sl_pkt_dec_ttl(ip, pi);
	if (why != SL_DROP_NONE) {
		drop(w, m, why);
		return;
	}
	if (quote != NULL && to_dip)
		sl_pkt_icmp_nat_to_dip(ip, pi, quote, &to->addr, to->port);
	else if (quote != NULL)
		sl_pkt_icmp_nat_to_client(ip, pi, quote, &to->addr, to->port);
	else if (to_dip)
		sl_pkt_nat_dst(ip, pi, &to->addr, to->port);
	else
		sl_pkt_nat_src(ip, pi, &to->addr, to->port);
	const struct sl_egress *eg = route(w, s, pi->family, &pi->dst);
	if (eg == NULL) {
		drop(w, m, SL_DROP_NO_NEIGHBOUR);
		return;
	}
	if (quote != NULL)
		count(w, to_dip ? SL_C_HOST_ICMP_TO_DIP : SL_C_HOST_ICMP_TO_CLIENT);
	else
		count(w, to_dip ? SL_C_HOST_TO_DIP : SL_C_HOST_REPLY);
	send_ip(w, m, eg, pi->family);
}

/* New connection on the host agent: pick a local DIP, remember both directions. */
static const struct sl_flow_value *host_new_conn(struct sl_worker *w, const struct sl_snapshot *s,
						 const struct sl_pkt_info *pi, const struct sl_flow_key *k,
						 uint32_t hash, struct sl_flow_value *stateless,
						 enum sl_drop *why)
{
	const struct sl_host_tables *h = s->tables->host;
	uint32_t vip = sl_vip_find(h->index, pi->family, pi->proto, &pi->dst, htons(pi->dport));
	const struct sl_host_dip *dip = vip == SL_VIP_NONE ? NULL : sl_host_pick(h, vip, k);
	if (dip == NULL) {
		*why = vip == SL_VIP_NONE ? SL_DROP_UNKNOWN_VIP : SL_DROP_NO_BACKEND;
		return NULL;
	}
	*stateless = (struct sl_flow_value){ .addr = dip->addr, .port = dip->port, .id = vip };
	struct sl_flow_key rk;
	sl_host_reverse_key(k, &dip->addr, dip->port, &rk);
	struct sl_flow_value back = { .addr = pi->dst, .port = pi->dport, .id = vip };
	const struct sl_flow_value *v = sl_flow_insert(w->host_conns, w->id, k, hash, stateless, w->now_ms);
	if (v == NULL || sl_flow_insert(w->host_conns, w->id, &rk, sl_flow_hash(&rk), &back, w->now_ms) == NULL) {
		count(w, SL_C_HOST_CONN_FULL);
		return stateless;
	}
	count(w, SL_C_HOST_CONN_NEW);
	return v;
}

/*
 * An ICMP error about connection v, either way (m holds the IP packet
 * only): never opens one, and is checked in full before translation so
 * junk never reaches a DIP's or a client's stack looking like ours.
 */
static void host_icmp_error(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
			    struct pkt_state *st, const struct sl_flow_value *v, bool to_dip)
{
	/* Towards a DIP the mux has already limited the rate. */
	enum sl_drop why = v == NULL ? SL_DROP_ICMP_NO_FLOW
		: icmp_error_refusal(w, rte_pktmbuf_mtod(m, const uint8_t *), &st->pi,
				     to_dip ? NULL : &w->icmp_relayed);
	if (why != SL_DROP_NONE) {
		drop(w, m, why);
		return;
	}
	forward_translated(w, s, m, &st->pi, &st->quote, v, to_dip);
}

/* A client packet for a VIP whose DIP is on this host (m holds the IP
 * packet only). hit is the own-shard lookup result, if one was made. */
static void host_deliver(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
			 struct pkt_state *st, const struct sl_flow_value *hit)
{
	struct sl_pkt_info *pi = &st->pi;
	const struct sl_flow_value *v = hit;
	if (v == NULL) /* the connection may live in another worker's shard */
		v = sl_flow_lookup_any(w->host_conns, w->id, &st->key, st->hash, w->now_ms);
	struct sl_flow_value stateless;
	enum sl_drop why = SL_DROP_NONE;
	if (st->icmp) {
		host_icmp_error(w, s, m, st, v, true);
		return;
	}
	/* Only a packet that would create state is checksummed here (it costs a
	 * pass over the payload): junk never opens a connection or reaches a
	 * backend as a new flow; established traffic is checked by the
	 * backend's own stack, as with other balancers. */
	if (v == NULL && !sl_pkt_l4_checksum_ok(rte_pktmbuf_mtod(m, const uint8_t *), pi))
		why = SL_DROP_BAD_L4_CHECKSUM;
	else if (v == NULL)
		v = host_new_conn(w, s, pi, &st->key, st->hash, &stateless, &why);
	if (v == NULL) {
		drop(w, m, why);
		return;
	}
	forward_translated(w, s, m, pi, NULL, v, true);
}

/* Phase 1 for a tunnelled frame: check and strip the outer header so that
 * m and st describe the inner packet. Returns the drop reason or NONE. */
static enum sl_drop host_decap(struct sl_worker *w, const struct sl_host_tables *h, struct rte_mbuf *m,
			       struct pkt_state *st)
{
	const struct sl_pkt_info *outer = &st->pi;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t inner_len = (uint32_t)outer->l3_off + outer->l3_len - outer->l4_off;
	int family = outer->proto == SL_PROTO_IPIP ? SL_AF_INET : SL_AF_INET6;
	struct sl_pkt_info inner;

	/* Only muxes may tunnel to a DIP: anything else on the fabric would
	 * reach backends past them. */
	if (!sl_host_tunnel_source_ok(h, outer->family, &outer->src))
		return SL_DROP_BAD_TUNNEL_SOURCE;
	if (outer->flags & SL_PKT_FRAGMENT)
		return SL_DROP_FRAGMENT;
	/* Muxes tunnel 4in4 and 6in6 only: IPv6 in IPv4 or IPv4 in IPv6 is
	 * nobody's traffic of ours, however well formed its inner packet. */
	if (family != outer->family)
		return SL_DROP_BAD_TUNNEL;
	if (sl_pkt_parse_ip(frame + outer->l4_off, inner_len, family, &inner) != SL_DROP_NONE ||
	    (inner.flags & SL_PKT_FRAGMENT) || !((inner.flags & SL_PKT_HAS_PORTS) || is_icmp(&inner)))
		return SL_DROP_BAD_TUNNEL;
	count(w, SL_C_HOST_DECAP);
	rte_pktmbuf_adj(m, outer->l4_off);
	if (rte_pktmbuf_pkt_len(m) > inner.l3_len)
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - inner.l3_len));
	st->pi = inner;
	return SL_DROP_NONE;
}

static void host_reply(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
		       struct pkt_state *st, const struct sl_flow_value *hit)
{
	const struct sl_flow_value *v = hit;
	if (v == NULL)
		v = sl_flow_lookup_any(w->host_conns, w->id, &st->key, st->hash, w->now_ms);
	if (v == NULL && !st->icmp) {
		drop(w, m, SL_DROP_NO_CONNECTION);
		return;
	}
	strip_to_ip(m, &st->pi, st->pi.l3_off);
	if (st->icmp)
		host_icmp_error(w, s, m, st, v, false);
	else
		forward_translated(w, s, m, &st->pi, NULL, v, false);
}

static const union sl_addr *tunnel_source(const struct sl_snapshot *s, int family, uint16_t port)
{
	const struct sl_mux_tables *mux = s->tables->mux;
	const union sl_addr *cfg_src = family == SL_AF_INET ? &mux->tunnel_src4 : &mux->tunnel_src6;
	if (!sl_addr_is_zero(cfg_src))
		return cfg_src;
	const struct sl_local_port *lp = &s->tables->local.port[port];
	for (unsigned i = 0; i < lp->nb_addrs; i++)
		if (lp->family[i] == family)
			return &lp->addr[i];
	return NULL;
}

/* The mux's DIP host for this packet: the flow's, or a new Maglev choice. */
static const union sl_addr *mux_host(struct sl_worker *w, const struct sl_snapshot *s,
				     struct pkt_state *st, const struct sl_flow_value *hit)
{
	if (st->icmp && hit == NULL) /* the flow's packets may come in on another worker */
		hit = sl_flow_lookup_any(w->mux_flows, w->id, &st->key, st->hash, w->now_ms);
	if (hit != NULL) {
		if (!st->icmp)
			count(w, SL_C_MUX_FLOW_HIT);
		return &hit->addr;
	}
	const struct sl_mux_dip *dip = sl_mux_pick(s->tables->mux, st->vip, &st->key);
	if (dip == NULL)
		return NULL;
	if (st->icmp) /* an error opens no flow: Maglev names its DIP, as for the flow's next packet */
		return &dip->host;
	struct sl_flow_value v = { .addr = dip->host, .port = dip->port, .id = st->vip };
	const struct sl_flow_value *stored = sl_flow_insert(w->mux_flows, w->id, &st->key, st->hash, &v, w->now_ms);
	count(w, stored != NULL ? SL_C_MUX_FLOW_NEW : SL_C_MUX_FLOW_FULL);
	return &dip->host;
}

/*
 * A VIP packet too big to encapsulate: drop it (counted) and, within the
 * rate limit, tell the client the size that fits, from the VIP, so that
 * path-MTU discovery works through the tunnel.
 */
static void mux_too_big(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
			const struct pkt_state *st, uint16_t egress_mtu)
{
	const struct sl_pkt_info *pi = &st->pi;
	uint8_t icmp[SL_ICMP_TOO_BIG_MAX];
	uint16_t fits = (uint16_t)(egress_mtu - (pi->family == SL_AF_INET ? SL_IPV4_HLEN : SL_IPV6_HLEN));
	const struct sl_egress *back = icmp_allowed(w, &w->icmp_sent) ? route(w, s, pi->family, &pi->src) : NULL;
	uint32_t len = back == NULL ? 0
		: sl_pkt_icmp_too_big(icmp, rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off),
				      pi->l3_len, pi->family, &pi->src, &pi->dst, fits);
	if (len == 0) {
		drop(w, m, SL_DROP_TOO_BIG);
		return;
	}
	w->stats.drop[SL_DROP_TOO_BIG]++; /* the client's packet is still dropped */
	rte_pktmbuf_reset(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), icmp, len);
	count(w, SL_C_MUX_TOO_BIG_SENT);
	send_ip(w, m, back, pi->family);
}

static void mux_forward(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
			struct pkt_state *st, const struct sl_flow_value *hit)
{
	/* Junk errors take no fabric bandwidth: checked before the tunnel. */
	enum sl_drop refused = st->icmp ? icmp_error_refusal(w, rte_pktmbuf_mtod_offset(m, const uint8_t *,
									st->pi.l3_off), &st->pi, &w->icmp_relayed)
				      : SL_DROP_NONE;
	if (refused != SL_DROP_NONE) {
		drop(w, m, refused);
		return;
	}
	const union sl_addr *host = mux_host(w, s, st, hit);
	if (host == NULL) {
		drop(w, m, st->icmp ? SL_DROP_ICMP_NO_FLOW : SL_DROP_NO_BACKEND);
		return;
	}
	const struct sl_host_tables *h = s->tables->host;
	if (h != NULL && sl_host_is_endpoint(h, st->pi.family, host)) {
		/* The DIP's host agent is this instance: skip the wire. */
		strip_to_ip(m, &st->pi, st->pi.l3_off);
		host_deliver(w, s, m, st, NULL);
		return;
	}
	const struct sl_egress *eg = route(w, s, st->pi.family, host);
	const union sl_addr *src = eg ? tunnel_source(s, st->pi.family, eg->port) : NULL;
	if (eg == NULL || src == NULL) {
		drop(w, m, SL_DROP_NO_NEIGHBOUR);
		return;
	}
	enum sl_drop why = sl_mux_encap(m, &st->pi, src, host, eg->dst_mac, eg->src_mac,
					s->tables->mtu[eg->port], st->hash);
	if (why == SL_DROP_TOO_BIG && !st->icmp) { /* never an error about an error (RFC 1812 4.3.2.7) */
		mux_too_big(w, s, m, st, s->tables->mtu[eg->port]);
		return;
	}
	if (why != SL_DROP_NONE) {
		drop(w, m, why);
		return;
	}
	count(w, st->icmp ? SL_C_MUX_ICMP_RELAYED : SL_C_MUX_ENCAP);
	transmit(w, m, eg->port);
}

static void set_key(struct pkt_state *st)
{
	sl_flow_key_of(&st->pi, &st->key);
	st->hash = sl_flow_hash(&st->key);
}

/* Phase 1: parse, classify, and prepare what the flow lookups need. */
static void prepare(struct sl_worker *w, const struct sl_snapshot *s, uint16_t in_port,
		    struct rte_mbuf *m, struct pkt_state *st)
{
	const struct sl_local_port *lp = &s->tables->local.port[in_port];
	bool l2_group = is_l2_group(m);
	st->verdict = V_DROP;
	st->icmp = false;
	if (!l2_group && !mac_is_ours(m, lp->mac)) {
		st->drop = SL_DROP_OTHER_MAC;
		return;
	}
	st->drop = sl_pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), &st->pi);
	if (st->drop != SL_DROP_NONE)
		return;
	if (!sl_pkt_vlan_ok(&st->pi, lp->vlan)) {
		st->drop = SL_DROP_WRONG_VLAN;
		return;
	}
	st->verdict = classify(s, in_port, rte_pktmbuf_mtod(m, const uint8_t *), st, l2_group);
	if (forwards(st->verdict) && (st->drop = forward_refusal(st, l2_group)) != SL_DROP_NONE)
		st->verdict = V_DROP;
	switch (st->verdict) {
	case V_MUX:
		/* encapsulation writes into the headroom line in front of the frame */
		rte_prefetch0(rte_pktmbuf_mtod(m, uint8_t *) - RTE_CACHE_LINE_SIZE);
		if (!st->icmp)
			set_key(st);
		break;
	case V_TUNNEL:
		st->drop = host_decap(w, s->tables->host, m, st);
		if (st->drop == SL_DROP_NONE) /* the inner packet is what gets forwarded */
			st->drop = sl_pkt_martian(&st->pi);
		if (st->drop != SL_DROP_NONE)
			st->verdict = V_DROP;
		else if (is_icmp(&st->pi)) /* an error the mux relayed */
			st->verdict = take_icmp_error(rte_pktmbuf_mtod(m, const uint8_t *), st, V_TUNNEL, true);
		else
			set_key(st);
		break;
	case V_REPLY:
		if (is_icmp(&st->pi))
			st->verdict = take_icmp_error(rte_pktmbuf_mtod(m, const uint8_t *) + st->pi.l3_off, st,
						      V_REPLY, false);
		else if (!(st->pi.flags & SL_PKT_FRAGMENT) && (st->pi.flags & SL_PKT_HAS_PORTS))
			set_key(st);
		else
			st->verdict = V_DROP;
		/* What is no error about a connection (echo, fragments) is of none. */
		if (st->verdict == V_DROP && st->drop != SL_DROP_ICMP_BAD_QUOTE)
			st->drop = SL_DROP_NO_CONNECTION;
		break;
	default:
		break;
	}
}

/* Phase 2: one bulk lookup per table over the packets that need it. */
struct lookup_batch {
	unsigned n;
	uint16_t idx[SL_BURST_MAX];
	const struct sl_flow_key *keys[SL_BURST_MAX];
	uint32_t hashes[SL_BURST_MAX];
	const struct sl_flow_value *hits[SL_BURST_MAX];
};

static void batch_add(struct lookup_batch *b, struct pkt_state *st, uint16_t i)
{
	b->idx[b->n] = i;
	b->keys[b->n] = &st->key;
	b->hashes[b->n++] = st->hash;
}

static void batch_lookup(struct sl_worker *w, struct sl_flow_table *t, struct lookup_batch *b,
			 const struct sl_flow_value **hit_of)
{
	if (b->n == 0)
		return;
	sl_flow_lookup_burst(t, w->id, b->keys, b->hashes, b->n, b->hits, w->now_ms);
	for (unsigned j = 0; j < b->n; j++) {
		hit_of[b->idx[j]] = b->hits[j];
		if (b->hits[j] != NULL)
			rte_prefetch0(b->hits[j]);
	}
}

void sl_worker_burst(struct sl_worker *w, const struct sl_snapshot *s, uint16_t in_port,
		     struct rte_mbuf **pkts, uint16_t n)
{
	struct pkt_state st[SL_BURST_MAX];
	const struct sl_flow_value *hit[SL_BURST_MAX];
	struct lookup_batch mux, host;
	mux.n = host.n = 0;

	w->stats.c[SL_C_RX_PACKETS] += n;
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		prepare(w, s, in_port, pkts[i], &st[i]);
		hit[i] = NULL;
		if (st[i].verdict == V_MUX)
			batch_add(&mux, &st[i], i);
		else if (st[i].verdict == V_TUNNEL || st[i].verdict == V_REPLY)
			batch_add(&host, &st[i], i);
	}
	batch_lookup(w, w->mux_flows, &mux, hit);
	batch_lookup(w, w->host_conns, &host, hit);

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		switch (st[i].verdict) {
		case V_MUX:
			mux_forward(w, s, m, &st[i], hit[i]);
			break;
		case V_TUNNEL:
			host_deliver(w, s, m, &st[i], hit[i]);
			break;
		case V_REPLY:
			host_reply(w, s, m, &st[i], hit[i]);
			break;
		case V_EXCEPTION:
			to_control(w, m, in_port, &st[i].pi);
			break;
		case V_KERNEL:
			to_kernel(w, m, in_port);
			break;
		case V_DROP:
			drop(w, m, st[i].drop);
			break;
		}
	}
	if (w->nb_free > 0) {
		rte_pktmbuf_free_bulk(w->to_free, w->nb_free);
		w->nb_free = 0;
	}
}
