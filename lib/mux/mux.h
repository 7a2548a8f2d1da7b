/*
 * Mux: VIP packets -> a DIP chosen by Maglev (remembered in the flow
 * table) -> IP-in-IP towards the DIP's host agent.
 *
 * The tables here are immutable and built by the control thread from the
 * data-plane spec; the data path reads them under RCU. Flow state lives in
 * the worker's flow table (lib/flow), not here, so it outlives table
 * rebuilds: an established flow keeps its DIP when the DIP set changes.
 */
#ifndef SLUICE_MUX_MUX_H
#define SLUICE_MUX_MUX_H

#include <stdint.h>

#include "flow/flow.h"
#include "maglev/maglev.h"
#include "packet/packet.h"
#include "spec/spec.h"

struct rte_mbuf;

struct sl_mux_dip {
	union sl_addr addr;
	union sl_addr host;
	uint16_t port; /* host order */
	uint32_t weight;   /* as specified */
};

/* A VIP's part of the shared per-service tables (lib/stage/tables.h). */
struct sl_mux_vip {
	struct sl_maglev *maglev; /* slot -> index in dips */
	struct sl_mux_dip *dips;
	uint32_t nb_dips;
};

/* What the mux needs beyond its VIPs. */
struct sl_mux_tables {
	uint64_t seed;
	/* Outer source of tunnels leaving by spec port p, by family index
	 * (0: IPv4, 1: IPv6): mux.tunnel_src4/6 when set, else the port's
	 * first address of the family; zero when it has none (no tunnel). */
	union sl_addr tunnel_src[SL_MAX_PORTS][2];
};

/* The outer source for a tunnel of family leaving by port; NULL: none. */
static inline const union sl_addr *sl_mux_tunnel_source(const struct sl_mux_tables *t, int family,
							 uint16_t port)
{
	const union sl_addr *src = &t->tunnel_src[port][family == SL_AF_INET6];
	return sl_addr_is_zero(src) ? NULL : src;
}

/* NULL with a message in err on ENOMEM. */
struct sl_mux_tables *sl_mux_tables_build(const struct sl_spec *spec, char *err, size_t errlen);
void sl_mux_tables_free(struct sl_mux_tables *t);

/* The DIPs and Maglev table of service svc of spec. NULL with a message
 * in err on failure (ENOMEM, bad Maglev size). */
struct sl_mux_vip *sl_mux_vip_build(const struct sl_spec *spec, const struct sl_spec_service *svc,
				    char *err, size_t errlen);
void sl_mux_vip_free(struct sl_mux_vip *mv);

/* May a VIP's tables built under spec a serve under b (same Maglev size and seed)? */
bool sl_mux_vip_inputs_same(const struct sl_spec *a, const struct sl_spec *b);

/* Maglev choice for a new flow; NULL when the VIP has no DIP with weight. */
const struct sl_mux_dip *sl_mux_pick(const struct sl_mux_vip *mv, uint64_t seed, const struct sl_flow_key *k);

/*
 * Encapsulate the frame in m (Ethernet + IP, parsed into pi) for the host
 * `dst`: strips nothing, prepends an outer IPv4 or IPv6 header (family of
 * the inner packet) and rewrites the Ethernet header for egress eg.
 * mtu bounds the outer IP packet; flow_hash feeds the IPv6 flow label. Returns SL_DROP_NONE or the reason
 * (NO_HEADROOM, TOO_BIG); on error m is unchanged.
 */
enum sl_drop sl_mux_encap(struct rte_mbuf *m, const struct sl_pkt_info *pi, const union sl_addr *src,
			  const union sl_addr *dst, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			  uint16_t mtu, uint32_t flow_hash);

#endif
