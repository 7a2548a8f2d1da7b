/*
 * The host agent as a data-path stage: tunnels from muxes (and packets a
 * mux on this instance hands over) -> NAT VIP:port -> DIP:port, and DIP
 * replies on the backend port -> NAT back to VIP:port, straight to the
 * client (direct server return).
 */
#include <arpa/inet.h>

#include <rte_mbuf.h>

#include "host/host.h"
#include "stage/ops.h"

static const struct sl_host_tables *host_tables(const struct sl_burst *b)
{
	return b->s->tables->stage[SL_STAGE_HOST];
}

/* Translate, decrement TTL, route and queue an IP-only packet (both
 * directions); quote is non-NULL for an ICMP error. */
static void forward_translated(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
			       struct sl_pkt_info *pi, struct sl_icmp_quote *quote,
			       const struct sl_flow_value *to, bool to_dip)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
	enum sl_drop why = sl_pkt_dec_ttl(ip, pi);
	if (why != SL_DROP_NONE) {
		sl_stage_drop(w, m, why);
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
	const struct sl_egress *eg = sl_stage_route(w, s, pi->family, &pi->dst);
	if (eg == NULL) {
		sl_stage_drop(w, m, SL_DROP_NO_NEIGHBOUR);
		return;
	}
	if (quote != NULL)
		sl_stage_count(w, to_dip ? SL_C_HOST_ICMP_TO_DIP : SL_C_HOST_ICMP_TO_CLIENT);
	else
		sl_stage_count(w, to_dip ? SL_C_HOST_TO_DIP : SL_C_HOST_REPLY);
	sl_stage_send_ip(w, m, eg, pi->family);
}

/* New connection: pick a local DIP, remember both directions. */
static const struct sl_flow_value *new_conn(struct sl_worker *w, const struct sl_tables *t,
					    const struct sl_pkt_state *st, struct sl_flow_value *stateless,
					    enum sl_drop *why)
{
	const struct sl_pkt_info *pi = &st->pi;
	const struct sl_host_tables *h = t->stage[SL_STAGE_HOST];
	struct sl_flow_table *conns = w->flows[SL_STAGE_HOST];
	uint32_t vip = sl_vip_find(t->index, pi->family, pi->proto, &pi->dst, htons(pi->dport));
	const struct sl_host_vip *hv = vip == SL_VIP_NONE ? NULL : sl_service_part(t, vip, SL_STAGE_HOST);
	const struct sl_host_dip *dip = hv == NULL ? NULL : sl_host_pick(hv, h->seed, &st->key);
	if (dip == NULL) {
		*why = hv == NULL ? SL_DROP_UNKNOWN_VIP : SL_DROP_NO_BACKEND;
		return NULL;
	}
	*stateless = (struct sl_flow_value){ .addr = dip->addr, .port = dip->port, .id = vip };
	struct sl_flow_key rk;
	sl_host_reverse_key(&st->key, &dip->addr, dip->port, &rk);
	struct sl_flow_value back = { .addr = pi->dst, .port = pi->dport, .id = vip };
	const struct sl_flow_value *v = sl_flow_insert(conns, w->id, &st->key, st->hash, stateless, w->now_ms);
	if (v == NULL || sl_flow_insert(conns, w->id, &rk, sl_flow_hash(&rk), &back, w->now_ms) == NULL) {
		sl_stage_count(w, SL_C_HOST_CONN_FULL);
		return stateless;
	}
	sl_stage_count(w, SL_C_HOST_CONN_NEW);
	return v;
}

/*
 * An ICMP error about connection v, either way (m holds the IP packet
 * only): never opens one, and is checked in full before translation so
 * junk never reaches a DIP's or a client's stack looking like ours.
 */
static void icmp_error(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
		       struct sl_pkt_state *st, const struct sl_flow_value *v, bool to_dip)
{
	/* Towards a DIP the mux has already limited the rate. */
	enum sl_drop why = v == NULL ? SL_DROP_ICMP_NO_FLOW
		: sl_stage_icmp_error_refusal(w, rte_pktmbuf_mtod(m, const uint8_t *), &st->pi,
					      to_dip ? NULL : &w->icmp_relayed);
	if (why != SL_DROP_NONE) {
		sl_stage_drop(w, m, why);
		return;
	}
	forward_translated(w, s, m, &st->pi, &st->quote, v, to_dip);
}

/* The connection's entry: hit (the burst lookup in our own shard), else
 * another worker's shard. */
static const struct sl_flow_value *conn_of(struct sl_worker *w, const struct sl_pkt_state *st,
					   const struct sl_flow_value *hit)
{
	if (hit != NULL)
		return hit;
	return sl_flow_lookup_others(w->flows[SL_STAGE_HOST], w->id, &st->key, st->hash, w->now_ms);
}

/* A client packet for a VIP whose DIP is on this host (m holds the IP packet only). */
static void deliver(struct sl_burst *b, uint16_t i, const struct sl_flow_value *hit)
{
	struct sl_worker *w = b->w;
	struct rte_mbuf *m = b->pkts[i];
	struct sl_pkt_state *st = &b->st[i];
	const struct sl_flow_value *v = conn_of(w, st, hit);
	struct sl_flow_value stateless;
	enum sl_drop why = SL_DROP_NONE;
	if (st->icmp) {
		icmp_error(w, b->s, m, st, v, true);
		return;
	}
	/* Only a packet that would create state is checksummed here (it costs a
	 * pass over the payload): junk never opens a connection or reaches a
	 * backend as a new flow; established traffic is checked by the
	 * backend's own stack, as with other balancers. */
	if (v == NULL && !sl_pkt_l4_checksum_ok(rte_pktmbuf_mtod(m, const uint8_t *), &st->pi))
		why = SL_DROP_BAD_L4_CHECKSUM;
	else if (v == NULL)
		v = new_conn(w, b->s->tables, st, &stateless, &why);
	if (v == NULL) {
		sl_stage_drop(w, m, why);
		return;
	}
	forward_translated(w, b->s, m, &st->pi, NULL, v, true);
}

/* A DIP's packet back to a client (or an ICMP error about its connection). */
static void reply(struct sl_burst *b, uint16_t i, const struct sl_flow_value *hit)
{
	struct sl_worker *w = b->w;
	struct rte_mbuf *m = b->pkts[i];
	struct sl_pkt_state *st = &b->st[i];
	const struct sl_flow_value *v = conn_of(w, st, hit);
	if (v == NULL && !st->icmp) {
		sl_stage_drop(w, m, SL_DROP_NO_CONNECTION);
		return;
	}
	sl_stage_strip_to_ip(m, &st->pi);
	if (st->icmp)
		icmp_error(w, b->s, m, st, v, false);
	else
		forward_translated(w, b->s, m, &st->pi, NULL, v, false);
}

/* The last outer source allowed in this burst: muxes are few, so most of
 * a burst's tunnels share it, and the prefix scan runs once per source
 * instead of once per packet. */
struct source_memo {
	union sl_addr addr;
	uint8_t family; /* SL_AF_NONE: none yet */
};

static bool source_ok(const struct sl_host_tables *h, struct source_memo *memo, const struct sl_pkt_info *outer)
{
	if (memo->family == outer->family && sl_addr_eq(&memo->addr, &outer->src))
		return true;
	if (!sl_host_tunnel_source_ok(h, outer->family, &outer->src))
		return false;
	*memo = (struct source_memo){ .addr = outer->src, .family = outer->family };
	return true;
}

/* Check and strip the outer header of a tunnelled frame so that m and st
 * describe the inner packet. Returns the drop reason or NONE. */
static enum sl_drop decap(struct sl_worker *w, const struct sl_host_tables *h, struct source_memo *memo,
			  struct rte_mbuf *m, struct sl_pkt_state *st)
{
	const struct sl_pkt_info *outer = &st->pi;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t inner_len = (uint32_t)outer->l3_off + outer->l3_len - outer->l4_off;
	uint16_t outer_len = outer->l4_off;
	int family = outer->proto == SL_PROTO_IPIP ? SL_AF_INET : SL_AF_INET6;
	struct sl_pkt_info *inner = &st->pi; /* parsed in place of the outer: no copy */

	/* Only muxes may tunnel to a DIP: anything else on the fabric would
	 * reach backends past them. */
	if (!source_ok(h, memo, outer))
		return SL_DROP_BAD_TUNNEL_SOURCE;
	if (outer->flags & SL_PKT_FRAGMENT)
		return SL_DROP_FRAGMENT;
	/* Muxes tunnel 4in4 and 6in6 only: IPv6 in IPv4 or IPv4 in IPv6 is
	 * nobody's traffic of ours, however well formed its inner packet. */
	if (family != outer->family)
		return SL_DROP_BAD_TUNNEL;
	/* From here on st->pi describes the inner packet (outer is gone). */
	if (sl_pkt_parse_ip(frame + outer_len, inner_len, family, inner) != SL_DROP_NONE ||
	    (inner->flags & SL_PKT_FRAGMENT) || !((inner->flags & SL_PKT_HAS_PORTS) || sl_pkt_is_icmp(inner)))
		return SL_DROP_BAD_TUNNEL;
	sl_stage_count(w, SL_C_HOST_DECAP);
	sl_stage_keep(m, outer_len, inner->l3_len);
	return SL_DROP_NONE;
}

/* A tunnelled frame: decapsulated, its inner packet checked, keyed. */
static bool prepare_tunnel(struct sl_burst *b, struct source_memo *memo, struct rte_mbuf *m,
			   struct sl_pkt_state *st)
{
	st->drop = decap(b->w, host_tables(b), memo, m, st);
	if (st->drop == SL_DROP_NONE) /* the inner packet is what gets forwarded */
		st->drop = sl_pkt_martian(&st->pi);
	if (st->drop != SL_DROP_NONE)
		return false;
	if (sl_pkt_is_icmp(&st->pi)) /* an error the mux relayed */
		return sl_stage_take_icmp_error(rte_pktmbuf_mtod(m, const uint8_t *), st, true);
	sl_stage_set_key(st);
	return true;
}

/* A frame from the backend port: a reply, or an ICMP error about a connection. */
static bool prepare_reply(struct rte_mbuf *m, struct sl_pkt_state *st)
{
	bool ok = true;
	if (sl_pkt_is_icmp(&st->pi))
		ok = sl_stage_take_icmp_error(rte_pktmbuf_mtod(m, const uint8_t *) + st->pi.l3_off, st, false);
	else if (!(st->pi.flags & SL_PKT_FRAGMENT) && (st->pi.flags & SL_PKT_HAS_PORTS))
		sl_stage_set_key(st);
	else
		ok = false;
	/* What is no error about a connection (echo, fragments) is of none. */
	if (!ok && st->drop != SL_DROP_ICMP_BAD_QUOTE)
		st->drop = SL_DROP_NO_CONNECTION;
	return ok;
}

static bool prepare(struct sl_burst *b, struct source_memo *memo, uint16_t i)
{
	struct sl_pkt_state *st = &b->st[i];
	switch (st->claim) {
	case SL_CLAIM_TUNNEL:
		return prepare_tunnel(b, memo, b->pkts[i], st);
	case SL_CLAIM_FROM_PORT:
		return prepare_reply(b->pkts[i], st);
	default: /* SL_CLAIM_LOCAL: a mux here decapsulated and keyed it */
		return true;
	}
}

static void host_burst(struct sl_burst *b, const uint16_t *idx, uint16_t n)
{
	/* Zeroed: GCC cannot tell that the lookup reads only the nl set, and
	 * -Wmaybe-uninitialized breaks the non-LTO release build (a few stores
	 * per burst). */
	uint16_t live[SL_BURST_MAX] = { 0 };
	const struct sl_flow_value *hit[SL_BURST_MAX];
	struct source_memo memo = { .family = SL_AF_NONE };
	uint16_t nl = 0;
	for (uint16_t j = 0; j < n; j++) {
		if (prepare(b, &memo, idx[j])) {
			sl_flow_prefetch(b->w->flows[SL_STAGE_HOST], b->w->id, b->st[idx[j]].hash);
			live[nl++] = idx[j];
		} else
			sl_stage_drop(b->w, b->pkts[idx[j]], b->st[idx[j]].drop);
	}
	sl_stage_lookup(b->w, b->w->flows[SL_STAGE_HOST], b, live, nl, hit);
	for (uint16_t j = 0; j < nl; j++) {
		if (b->st[live[j]].claim == SL_CLAIM_FROM_PORT)
			reply(b, live[j], hit[j]);
		else
			deliver(b, live[j], hit[j]);
	}
}

static void *build(const struct sl_spec *spec, char *err, size_t errlen)
{
	return sl_host_tables_build(spec, err, errlen);
}

static void free_tables(void *t)
{
	sl_host_tables_free(t);
}

static void where(const void *tables, struct sl_stage_where *out)
{
	const struct sl_host_tables *h = tables;
	out->endpoint4 = h->addr4;
	out->endpoint6 = h->addr6;
	out->port = h->backend_port;
}

static void *service_build(const struct sl_spec *spec, const struct sl_spec_service *svc, char *err,
			   size_t errlen)
{
	return sl_host_vip_build(spec, svc, err, errlen);
}

static void service_free(void *part)
{
	sl_host_vip_free(part);
}

static uint32_t conn_capacity(const struct sl_spec *spec)
{
	return spec->host.conn_capacity;
}

static uint32_t conn_idle_ms(const struct sl_spec *spec)
{
	return spec->host.conn_idle_ms;
}

const struct sl_stage sl_host_stage = {
	.name = "host",
	.roles = SL_ROLE_HOST,
	.claim = { .tunnels = true, .from_port = true, .forwards = true },
	.flows = { .name = "host_conns", .capacity = conn_capacity, .idle_ms = conn_idle_ms },
	.build = build,
	.free = free_tables,
	.where = where,
	.service_parts = 1u << SL_SERVICE_VIP,
	.service_build = service_build,
	.service_free = service_free,
	.service_inputs_same = sl_host_vip_inputs_same,
	.burst = host_burst,
};
