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
#include "vip/vip.h"

struct rte_mbuf;

struct sl_mux_dip {
	union sl_addr addr;
	union sl_addr host;
	uint16_t port; /* host order */
	uint32_t weight;   /* as specified; kept to tell whether a rebuild may reuse the table */
};

struct sl_mux_vip {
	struct sl_maglev *maglev; /* slot -> index in dips */
	struct sl_mux_dip *dips;
	uint32_t nb_dips;
};

struct sl_mux_tables {
	struct sl_vip_index *index;
	struct sl_mux_vip *vip; /* by VIP number (spec order) */
	uint32_t nb_vips;
	uint64_t seed;
	union sl_addr tunnel_src4, tunnel_src6; /* zero: use the egress port's address */
};

/* Returns NULL with a message in err on failure (ENOMEM, bad Maglev size).
 * prev (may be NULL): the tables being replaced; a VIP whose DIPs, weights,
 * Maglev size and seed are unchanged gets a copy of its Maglev table
 * instead of a new population (identical by construction). */
struct sl_mux_tables *sl_mux_tables_build(const struct sl_spec *spec, const struct sl_mux_tables *prev,
					  char *err, size_t errlen);
void sl_mux_tables_free(struct sl_mux_tables *t);

/* Forward 5-tuple key of a parsed packet (client -> VIP direction). */
void sl_flow_key_of(const struct sl_pkt_info *pi, struct sl_flow_key *k);

/* Key of the flow an ICMP error is about, in the direction opposite to
 * the quoted packet: the quote of an error sent to a VIP is the VIP's
 * packet to the client, so this is the client -> VIP key; the quote of an
 * error from a DIP is the client's packet to the DIP, so this is the key
 * of the DIP's replies. */
void sl_flow_key_of_quote(const struct sl_icmp_quote *q, int family, struct sl_flow_key *k);

/* Maglev choice for a new flow; NULL when the VIP has no DIP with weight. */
const struct sl_mux_dip *sl_mux_pick(const struct sl_mux_tables *t, uint32_t vip,
				     const struct sl_flow_key *k);

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
