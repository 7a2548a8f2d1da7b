#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dataplane/classify.h"
#include "stage/ops.h"

/* ---- the claims of the built stages, as data ---- */

/* Only one built stage may hold a claim, or which one takes a packet
 * would depend on the registration order. */
static int take(uint8_t *holder, unsigned s, const char *what, char *err, size_t errlen)
{
	if (*holder != SL_STAGE_NONE) {
		snprintf(err, errlen, "stages %s and %s both claim %s", sl_stages[*holder]->name,
			 sl_stages[s]->name, what);
		return -1;
	}
	*holder = (uint8_t)s;
	return 0;
}

static void add_endpoint(struct sl_classifier *c, unsigned s, int family, const union sl_addr *a)
{
	if (sl_addr_is_zero(a))
		return;
	c->endpoint[c->nb_endpoints].addr = *a;
	c->endpoint[c->nb_endpoints].family = (uint8_t)family;
	c->endpoint[c->nb_endpoints++].stage = (uint8_t)s;
}

static int claim_addresses(struct sl_tables *t, unsigned s, char *err, size_t errlen)
{
	const struct sl_stage *st = sl_stages[s];
	struct sl_classifier *c = &t->cls;
	struct sl_stage_where where = { .port = -1 };
	if (st->where != NULL)
		st->where(t->stage[s], &where);
	if (st->claim.tunnels) {
		add_endpoint(c, s, SL_AF_INET, &where.endpoint4);
		add_endpoint(c, s, SL_AF_INET6, &where.endpoint6);
	}
	if (st->claim.from_port && where.port >= 0) {
		if (take(&c->from_port_stage, s, "a port's replies", err, errlen) < 0)
			return -1;
		c->from_port = where.port;
	}
	return 0;
}

static int claim_services(struct sl_classifier *c, unsigned s, char *err, size_t errlen)
{
	for (unsigned kind = 0; kind <= SL_SERVICE_KIND_MAX; kind++) {
		if (!(sl_stages[s]->claim.service_kinds & (1u << kind)))
			continue;
		if (take(&c->service_stage[kind], s, "a service kind", err, errlen) < 0)
			return -1;
		c->any_service_stage = true;
	}
	return 0;
}

int sl_classifier_build(struct sl_tables *t, char *err, size_t errlen)
{
	struct sl_classifier *c = &t->cls;
	memset(c, 0, sizeof(*c));
	memset(c->service_stage, SL_STAGE_NONE, sizeof(c->service_stage));
	c->own_stage = c->from_port_stage = SL_STAGE_NONE;
	c->from_port = -1;
	for (unsigned s = 0; s < SL_STAGE_COUNT; s++) {
		const struct sl_stage *st = sl_stages[s];
		if (!t->built[s])
			continue;
		c->forwards[s] = st->claim.forwards;
		if (claim_services(c, s, err, errlen) < 0 || claim_addresses(t, s, err, errlen) < 0 ||
		    (st->claim.own && take(&c->own_stage, s, "our own addresses", err, errlen) < 0))
			return -1;
	}
	return 0;
}

/* ---- per packet ---- */

static bool is_l2_group(const struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const uint8_t *)[0] & 1; /* broadcast or multicast */
}

static bool mac_is_ours(const struct rte_mbuf *m, const uint8_t mac[6])
{
	return memcmp(rte_pktmbuf_mtod(m, const uint8_t *), mac, 6) == 0;
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
static enum sl_drop unmatched_reason(const struct sl_tables *t, const struct sl_pkt_info *pi)
{
	if (!t->cls.any_service_stage)
		return SL_DROP_NOT_FOR_US;
	if (!sl_vip_addr_known(t->index, pi->family, &pi->dst))
		return SL_DROP_UNKNOWN_VIP;
	if (pi->flags & SL_PKT_FRAGMENT)
		return SL_DROP_FRAGMENT;
	if (pi->proto != SL_PROTO_TCP && pi->proto != SL_PROTO_UDP)
		return SL_DROP_UNSUPPORTED_L4;
	if (!(pi->flags & SL_PKT_HAS_PORTS))
		return SL_DROP_TRUNCATED;
	return SL_DROP_UNKNOWN_PORT;
}

/* The stage claiming service v's kind (SL_STAGE_NONE: none here). */
static enum sl_stage_id service_stage(const struct sl_tables *t, uint32_t v)
{
	return (enum sl_stage_id)t->cls.service_stage[t->service[v]->kind];
}

static enum sl_stage_id find_service(const struct sl_tables *t, struct sl_pkt_state *st)
{
	const struct sl_pkt_info *pi = &st->pi;
	if (!t->cls.any_service_stage || (pi->flags & (SL_PKT_FRAGMENT | SL_PKT_HAS_PORTS)) != SL_PKT_HAS_PORTS)
		return SL_STAGE_NONE;
	st->service = sl_vip_find(t->index, pi->family, pi->proto, &pi->dst, htons(pi->dport));
	return st->service == SL_VIP_NONE ? SL_STAGE_NONE : service_stage(t, st->service);
}

/* An ICMP error to a service address: the service its quote's source
 * port names (echo and fragments are dropped as unsupported / fragment). */
static enum sl_stage_id icmp_to_service(const struct sl_tables *t, const struct rte_mbuf *m,
					struct sl_pkt_state *st)
{
	if (!sl_stage_take_icmp_error(rte_pktmbuf_mtod_offset(m, const uint8_t *, st->pi.l3_off), st, true))
		return SL_STAGE_NONE;
	st->service = sl_vip_find(t->index, st->pi.family, st->quote.proto, &st->quote.src,
				  htons(st->quote.sport));
	enum sl_stage_id s = st->service == SL_VIP_NONE ? SL_STAGE_NONE : service_stage(t, st->service);
	if (s == SL_STAGE_NONE)
		st->drop = SL_DROP_ICMP_NO_FLOW;
	return s;
}

static bool icmp_to_service_addr(const struct sl_tables *t, const struct sl_pkt_info *pi)
{
	return sl_pkt_is_icmp(pi) && t->cls.any_service_stage && sl_vip_addr_known(t->index, pi->family, &pi->dst);
}

static enum sl_stage_id claimed(struct sl_pkt_state *st, enum sl_claim claim, uint8_t stage)
{
	st->claim = (uint8_t)claim;
	return (enum sl_stage_id)stage;
}

static enum sl_stage_id match_claims(const struct sl_tables *t, uint16_t in_port, const struct rte_mbuf *m,
				     struct sl_pkt_state *st)
{
	const struct sl_classifier *c = &t->cls;
	const struct sl_pkt_info *pi = &st->pi;
	uint16_t owner;

	if (pi->family == SL_AF_NONE) /* ARP: the parser lets nothing else through */
		return claimed(st, SL_CLAIM_OWN, c->own_stage);
	enum sl_stage_id s = is_tunnel_proto(pi->proto) ? sl_stage_endpoint_owner(t, pi->family, &pi->dst)
							: SL_STAGE_NONE;
	if (s != SL_STAGE_NONE)
		return claimed(st, SL_CLAIM_TUNNEL, s);
	if ((s = find_service(t, st)) != SL_STAGE_NONE)
		return claimed(st, SL_CLAIM_SERVICE, s);
	if (icmp_to_service_addr(t, pi))
		return claimed(st, SL_CLAIM_SERVICE, icmp_to_service(t, m, st));
	st->own = sl_local_owns(&t->local, pi->family, &pi->dst, &owner);
	if (st->own || is_v6_multicast(pi))
		return claimed(st, SL_CLAIM_OWN, c->own_stage);
	if (c->from_port_stage != SL_STAGE_NONE && in_port == c->from_port)
		return claimed(st, SL_CLAIM_FROM_PORT, c->from_port_stage);
	st->drop = unmatched_reason(t, pi);
	return SL_STAGE_NONE;
}

/*
 * What no router would forward is not forwarded by a stage either: a frame
 * sent to an L2 group (flooded to every station; ARP and ND still reach
 * the exception stage), or a packet with martian addresses.
 */
static enum sl_drop forward_refusal(const struct sl_pkt_state *st)
{
	if (__builtin_expect(st->l2_group, 0))
		return SL_DROP_L2_MULTICAST;
	return sl_pkt_martian(&st->pi);
}

enum sl_stage_id sl_classify(const struct sl_tables *t, uint16_t in_port, const struct rte_mbuf *m,
			     struct sl_pkt_state *st)
{
	const struct sl_local_port *lp = &t->local.port[in_port];
	st->l2_group = is_l2_group(m);
	st->icmp = false;
	st->own = false;
	if (!st->l2_group && !mac_is_ours(m, lp->mac)) {
		st->drop = SL_DROP_OTHER_MAC;
		return SL_STAGE_NONE;
	}
	st->drop = sl_pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), &st->pi);
	if (st->drop != SL_DROP_NONE)
		return SL_STAGE_NONE;
	if (!sl_pkt_vlan_ok(&st->pi, lp->vlan)) {
		st->drop = SL_DROP_WRONG_VLAN;
		return SL_STAGE_NONE;
	}
	enum sl_stage_id s = match_claims(t, in_port, m, st);
	if (s != SL_STAGE_NONE && t->cls.forwards[s] && (st->drop = forward_refusal(st)) != SL_DROP_NONE)
		return SL_STAGE_NONE;
	return s;
}
