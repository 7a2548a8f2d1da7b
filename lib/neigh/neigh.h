/*
 * Neighbours and routes: ARP (RFC 826), IPv6 neighbour discovery
 * (RFC 4861), ICMP echo for the appliance's own addresses, connected
 * routes and default gateways.
 *
 * Two halves:
 *  - the control thread owns a mutable sl_neigh_cache: it feeds it every
 *    ARP/ND frame the workers pass up (sl_neigh_input), asks it for the
 *    requests to send (sl_neigh_solicit), and turns it into an immutable
 *    sl_neigh_table that is published to the workers by RCU;
 *  - workers only call sl_route_lookup / sl_neigh_lookup on that table.
 * All packet work is on plain buffers: no DPDK here.
 */
#ifndef SLUICE_NEIGH_NEIGH_H
#define SLUICE_NEIGH_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "packet/addr.h"

#define SL_NEIGH_MAX_PORTS 8
#define SL_NEIGH_MAX_ADDRS 8
#define SL_NEIGH_MAX_ENTRIES 4096
#define SL_NEIGH_MAX_STATIC 64
#define SL_FRAME_MAX 1518

/* What the appliance owns on one port. */
struct sl_local_port {
	uint8_t mac[6];
	uint16_t vlan;                        /* the one VLAN ID tagged frames may carry; 0: none */
	unsigned nb_addrs;
	union sl_addr addr[SL_NEIGH_MAX_ADDRS];
	uint8_t family[SL_NEIGH_MAX_ADDRS];
	uint8_t plen[SL_NEIGH_MAX_ADDRS];   /* connected prefix length */
	union sl_addr gateway4, gateway6;     /* zero when absent */
	/* permanent entries (configured MACs), never solicited or aged */
	unsigned nb_static;
	union sl_addr static_addr[SL_NEIGH_MAX_STATIC];
	uint8_t static_family[SL_NEIGH_MAX_STATIC];
	uint8_t static_mac[SL_NEIGH_MAX_STATIC][6];
};

struct sl_local {
	unsigned nb_ports;
	struct sl_local_port port[SL_NEIGH_MAX_PORTS];
};

/* True when addr is one of ours; *port set to the port that holds it. */
bool sl_local_owns(const struct sl_local *l, int family, const union sl_addr *addr, uint16_t *port);

/* A resolved next hop as the data path needs it. */
struct sl_egress {
	uint16_t port;
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
};

/* ---- control thread: mutable cache ---- */

struct sl_neigh_cache;

struct sl_neigh_cache *sl_neigh_cache_create(const struct sl_local *local);
void sl_neigh_cache_free(struct sl_neigh_cache *c);

/*
 * Feed one frame received on `port` (ARP, ICMPv6 ND, or ICMP/ICMPv6 echo
 * request to one of our addresses). Learns neighbours from ARP requests
 * and replies addressed to us and from NS/NA. When the frame asks for an
 * answer (ARP request for our address, NS for our address, echo request),
 * writes the answer into out (SL_FRAME_MAX bytes) and returns its length;
 * returns 0 otherwise. *changed is set when the neighbour set changed (so
 * the caller republishes a table). Malformed frames are ignored (return 0).
 */
uint32_t sl_neigh_input(struct sl_neigh_cache *c, uint16_t port, const uint8_t *frame,
			uint32_t len, uint8_t *out, bool *changed, uint32_t now_ms);

/* Ask for `addr` to be resolved (it is a next hop we need). Idempotent. */
void sl_neigh_want(struct sl_neigh_cache *c, int family, const union sl_addr *addr);

/*
 * Produce the next ARP request / neighbour solicitation to send for an
 * address that is wanted and unresolved, or due for refresh (every
 * refresh_ms; unresolved ones are retried every second). Returns its length
 * in out and the port in *port, or 0 when nothing is due. Call in a loop.
 */
uint32_t sl_neigh_solicit(struct sl_neigh_cache *c, uint8_t *out, uint16_t *port, uint32_t now_ms,
			  uint32_t refresh_ms);

/* ---- data path: immutable snapshot ---- */

struct sl_neigh_table;

/* Build an immutable table from the cache (malloc'd; free with sl_neigh_table_free). */
struct sl_neigh_table *sl_neigh_table_build(const struct sl_neigh_cache *c);
void sl_neigh_table_free(struct sl_neigh_table *t);

/*
 * Route dst: if it lies in a connected prefix of a port, the next hop is
 * dst itself on that port; otherwise the gateway of its family (first port
 * that has one). Then resolve the next hop's MAC. Returns NULL when there
 * is no route or the MAC is unknown; *nexthop (if not NULL) receives the
 * next-hop address either way so the caller can ask for it.
 */
const struct sl_egress *sl_route_lookup(const struct sl_neigh_table *t, int family,
					const union sl_addr *dst, union sl_addr *nexthop);

unsigned sl_neigh_table_size(const struct sl_neigh_table *t);

#endif
