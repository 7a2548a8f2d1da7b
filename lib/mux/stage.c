/*
 * The mux as a data-path stage: VIP packets (and ICMP errors about their
 * flows) -> the flow's DIP host, or a new Maglev choice -> IP-in-IP.
 */
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "mux/mux.h"
#include "stage/ops.h"

/* The DIP host for this packet: the flow's, or a new Maglev choice. */
static const union sl_addr *mux_host(struct sl_worker *w, const struct sl_tables *t, struct sl_pkt_state *st,
				     const struct sl_flow_value *hit)
{
	struct sl_flow_table *flows = w->flows[SL_STAGE_MUX];
	if (st->icmp && hit == NULL) /* the flow's packets may come in on another worker */
		hit = sl_flow_lookup_others(flows, w->id, &st->key, st->hash, w->now_ms);
	if (hit != NULL) {
		if (!st->icmp)
			sl_stage_count(w, SL_C_MUX_FLOW_HIT);
		return &hit->addr;
	}
	const struct sl_mux_tables *mux = t->stage[SL_STAGE_MUX];
	const struct sl_mux_dip *dip = sl_mux_pick(sl_service_part(t, st->service, SL_STAGE_MUX), mux->seed,
						   &st->key);
	if (dip == NULL)
		return NULL;
	if (st->icmp) /* an error opens no flow: Maglev names its DIP, as for the flow's next packet */
		return &dip->host;
	struct sl_flow_value v = { .addr = dip->host, .port = dip->port, .id = st->service };
	const struct sl_flow_value *stored = sl_flow_insert(flows, w->id, &st->key, st->hash, &v, w->now_ms);
	sl_stage_count(w, stored != NULL ? SL_C_MUX_FLOW_NEW : SL_C_MUX_FLOW_FULL);
	return &dip->host;
}

/*
 * A VIP packet too big to encapsulate: drop it (counted) and, within the
 * rate limit, tell the client the size that fits, from the VIP, so that
 * path-MTU discovery works through the tunnel.
 */
static void too_big(struct sl_worker *w, const struct sl_snapshot *s, struct rte_mbuf *m,
		    const struct sl_pkt_state *st, uint16_t egress_mtu)
{
	const struct sl_pkt_info *pi = &st->pi;
	uint8_t icmp[SL_ICMP_TOO_BIG_MAX];
	uint16_t fits = (uint16_t)(egress_mtu - (pi->family == SL_AF_INET ? SL_IPV4_HLEN : SL_IPV6_HLEN));
	const struct sl_egress *back = sl_stage_icmp_allowed(w, &w->icmp_sent)
		? sl_stage_route(w, s, pi->family, &pi->src) : NULL;
	uint32_t len = back == NULL ? 0
		: sl_pkt_icmp_too_big(icmp, rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off),
				      pi->l3_len, pi->family, &pi->src, &pi->dst, fits);
	if (len == 0) {
		sl_stage_drop(w, m, SL_DROP_TOO_BIG);
		return;
	}
	w->stats.drop[SL_DROP_TOO_BIG]++; /* the client's packet is still dropped */
	rte_pktmbuf_reset(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), icmp, len);
	sl_stage_count(w, SL_C_MUX_TOO_BIG_SENT);
	sl_stage_send_ip(w, m, back, pi->family);
}

static void forward(struct sl_burst *b, uint16_t i, const struct sl_flow_value *hit)
{
	struct sl_worker *w = b->w;
	const struct sl_tables *t = b->s->tables;
	struct rte_mbuf *m = b->pkts[i];
	struct sl_pkt_state *st = &b->st[i];
	/* Junk errors take no fabric bandwidth: checked before the tunnel. */
	enum sl_drop refused = st->icmp
		? sl_stage_icmp_error_refusal(w, rte_pktmbuf_mtod_offset(m, const uint8_t *, st->pi.l3_off),
					      &st->pi, &w->icmp_relayed)
		: SL_DROP_NONE;
	if (refused != SL_DROP_NONE) {
		sl_stage_drop(w, m, refused);
		return;
	}
	const union sl_addr *host = mux_host(w, t, st, hit);
	if (host == NULL) {
		sl_stage_drop(w, m, st->icmp ? SL_DROP_ICMP_NO_FLOW : SL_DROP_NO_BACKEND);
		return;
	}
	enum sl_stage_id local = sl_stage_endpoint_owner(t, st->pi.family, host);
	if (local != SL_STAGE_NONE) {
		/* The DIP's host agent is this instance: skip the wire. */
		sl_stage_strip_to_ip(m, &st->pi);
		sl_stage_handoff(b, local, i, SL_CLAIM_LOCAL);
		return;
	}
	const struct sl_egress *eg = sl_stage_route(w, b->s, st->pi.family, host);
	const union sl_addr *src = eg ? sl_mux_tunnel_source(t->stage[SL_STAGE_MUX], st->pi.family, eg->port) : NULL;
	if (eg == NULL || src == NULL) {
		sl_stage_drop(w, m, SL_DROP_NO_NEIGHBOUR);
		return;
	}
	enum sl_drop why = sl_mux_encap(m, &st->pi, src, host, eg->dst_mac, eg->src_mac, t->mtu[eg->port],
					st->hash);
	if (why == SL_DROP_TOO_BIG && !st->icmp) { /* never an error about an error (RFC 1812 4.3.2.7) */
		too_big(w, b->s, m, st, t->mtu[eg->port]);
		return;
	}
	if (why != SL_DROP_NONE) {
		sl_stage_drop(w, m, why);
		return;
	}
	sl_stage_count(w, st->icmp ? SL_C_MUX_ICMP_RELAYED : SL_C_MUX_ENCAP);
	sl_stage_transmit(w, m, eg->port);
}

static void mux_burst(struct sl_burst *b, const uint16_t *idx, uint16_t n)
{
	const struct sl_flow_value *hit[SL_BURST_MAX];
	for (uint16_t j = 0; j < n; j++) {
		struct sl_pkt_state *st = &b->st[idx[j]];
		/* encapsulation writes into the headroom line in front of the frame */
		rte_prefetch0(rte_pktmbuf_mtod(b->pkts[idx[j]], uint8_t *) - RTE_CACHE_LINE_SIZE);
		if (!st->icmp) /* an error's key is the quoted flow's, set at classification */
			sl_stage_set_key(st);
		sl_flow_prefetch(b->w->flows[SL_STAGE_MUX], b->w->id, st->hash);
	}
	sl_stage_lookup(b->w, b->w->flows[SL_STAGE_MUX], b, idx, n, hit);
	for (uint16_t j = 0; j < n; j++)
		forward(b, idx[j], hit[j]);
}

static void *build(const struct sl_spec *spec, char *err, size_t errlen)
{
	return sl_mux_tables_build(spec, err, errlen);
}

static void free_tables(void *t)
{
	sl_mux_tables_free(t);
}

static void *service_build(const struct sl_spec *spec, const struct sl_spec_service *svc, char *err,
			   size_t errlen)
{
	return sl_mux_vip_build(spec, svc, err, errlen);
}

static void service_free(void *part)
{
	sl_mux_vip_free(part);
}

static uint32_t flow_capacity(const struct sl_spec *spec)
{
	return spec->mux.flow_capacity;
}

static uint32_t flow_idle_ms(const struct sl_spec *spec)
{
	return spec->mux.flow_idle_ms;
}

const struct sl_stage sl_mux_stage = {
	.name = "mux",
	.roles = SL_ROLE_MUX,
	.claim = { .service_kinds = 1u << SL_SERVICE_VIP, .forwards = true },
	.flows = { .name = "mux_flows", .capacity = flow_capacity, .idle_ms = flow_idle_ms },
	.build = build,
	.free = free_tables,
	.service_parts = 1u << SL_SERVICE_VIP,
	.service_build = service_build,
	.service_free = service_free,
	.service_inputs_same = sl_mux_vip_inputs_same,
	.burst = mux_burst,
};
