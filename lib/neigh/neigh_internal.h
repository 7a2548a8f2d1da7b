/*
 * Private to lib/neigh: the pieces shared between the cache (neigh.c), the
 * protocol handlers (arp.c, nd.c, icmp.c) and the data-path lookups
 * (route.c). Nothing outside this folder includes it.
 */
#ifndef SLUICE_NEIGH_INTERNAL_H
#define SLUICE_NEIGH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "neigh/neigh.h"
#include "packet/packet.h"

#define NEIGH_ARP_FRAME_LEN (SL_ETH_HLEN + 28)
#define NEIGH_ND_MSG_LEN 32 /* NS/NA header (24) + one link-layer address option (8) */
#define NEIGH_ND_FRAME_LEN (SL_ETH_HLEN + SL_IPV6_HLEN + NEIGH_ND_MSG_LEN)

#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_NS 135
#define ICMP6_NA 136

/* ---- small helpers on bytes and addresses ---- */

static inline uint16_t neigh_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void neigh_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Index of a family in per-family arrays: 0 for IPv4, 1 for IPv6. */
static inline unsigned neigh_family_index(int family)
{
	return family == SL_AF_INET6;
}

static inline bool neigh_family_ok(int family)
{
	return family == SL_AF_INET || family == SL_AF_INET6;
}

/* A MAC we may send to or learn: neither group (multicast/broadcast) nor zero. */
static inline bool neigh_mac_is_unicast(const uint8_t mac[6])
{
	static const uint8_t zero[6];
	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

bool neigh_addr_is_multicast(int family, const union sl_addr *a);

/* A source address one may answer: not zero, multicast or broadcast. */
static inline bool neigh_addr_is_unicast(int family, const union sl_addr *a)
{
	return !sl_addr_is_zero(a) && !neigh_addr_is_multicast(family, a);
}

/* Mixes all 128 address bits so IPv4 keys (96 zero bits) spread too. */
static inline uint32_t neigh_hash(int family, const union sl_addr *a)
{
	uint64_t h = a->u64[0] ^ (a->u64[1] * 0x9e3779b97f4a7c15ull) ^ (uint64_t)family;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* True when port `port` of l holds addr. */
bool neigh_port_owns(const struct sl_local *l, uint16_t port, int family, const union sl_addr *addr);

/* ---- connected prefixes, longest first ---- */

struct neigh_prefix {
	union sl_addr net;   /* already masked */
	union sl_addr mask;
	union sl_addr local; /* our address in it: the source of our solicitations */
	uint16_t port;
	uint8_t family;
	uint8_t plen;
};

struct neigh_prefixes {
	unsigned n;
	struct neigh_prefix p[SL_NEIGH_MAX_PORTS * SL_NEIGH_MAX_ADDRS];
};

void neigh_prefixes_build(struct neigh_prefixes *ps, const struct sl_local *l);
/* The longest connected prefix holding addr, or NULL when it is off-link. */
const struct neigh_prefix *neigh_prefixes_match(const struct neigh_prefixes *ps, int family,
						const union sl_addr *addr);

/* ---- the immutable table the workers read ---- */

/* 32 bytes: two per cache line, so a lookup at <= 50% load rarely leaves one line. */
struct neigh_slot {
	union sl_addr addr;
	struct sl_egress eg;
	uint8_t family; /* SL_AF_NONE marks an empty slot */
	uint8_t unused;
};

struct sl_neigh_table {
	struct neigh_slot *slots; /* power-of-two count, linear probing */
	uint32_t mask;
	unsigned count;
	union sl_addr gateway[2];                 /* by neigh_family_index; zero when absent */
	const struct sl_egress *gateway_egress[2]; /* precomputed; NULL when unresolved */
	struct neigh_prefixes prefixes;
};

const struct sl_egress *neigh_table_find(const struct sl_neigh_table *t, int family,
					 const union sl_addr *addr);

/* ---- the cache as seen by the protocol handlers ---- */

enum neigh_learn_mode {
	NEIGH_LEARN_CREATE,      /* the neighbour talked to us: add it if new */
	NEIGH_LEARN_UPDATE_ONLY, /* unsolicited news: only refresh a known entry */
};

/*
 * Record that addr is at mac behind port. Refused unless addr is on a
 * connected prefix of that port, is not ours, and mac is unicast; static
 * entries never change. override=false keeps a different known MAC (ND
 * advertisements without the O flag). Returns true when a MAC or port
 * changed or a resolved entry appeared.
 */
bool neigh_learn(struct sl_neigh_cache *c, uint16_t port, int family, const union sl_addr *addr,
		 const uint8_t mac[6], enum neigh_learn_mode mode, bool override, uint32_t now_ms);

const struct sl_local *neigh_cache_local(const struct sl_neigh_cache *c);

/* One received frame, already parsed and bounds-checked by sl_neigh_input. */
struct neigh_rx {
	struct sl_neigh_cache *cache;
	uint16_t port;
	const uint8_t *frame;
	const struct sl_pkt_info *pi;
	const uint8_t *l3; /* ARP body or IP header */
	uint32_t l3_len;   /* bytes available from l3 (ARP), or the IP length */
	const uint8_t *l4; /* ICMP/ICMPv6 message, NULL for ARP */
	uint32_t l4_len;
	uint32_t now_ms;
};

/* Handlers: write an answer into out and return its length, or return 0.
 * *changed tells whether the neighbour set changed. */
uint32_t neigh_arp_input(const struct neigh_rx *rx, uint8_t *out, bool *changed);
uint32_t neigh_nd_input(const struct neigh_rx *rx, uint8_t *out, bool *changed);
uint32_t neigh_echo_input(const struct neigh_rx *rx, uint8_t *out);

/* Builders for sl_neigh_solicit. */
uint32_t neigh_arp_build_request(uint8_t *out, const uint8_t mac[6], const union sl_addr *src,
				 const union sl_addr *target);
uint32_t neigh_nd_build_ns(uint8_t *out, const uint8_t mac[6], const union sl_addr *src,
			   const union sl_addr *target);

/*
 * Checksum of an ICMP (IPv4, no pseudo-header) or ICMPv6 (RFC 4443
 * pseudo-header) message, ready to store. Over a message that carries a
 * correct checksum it yields 0.
 */
uint16_t neigh_icmp_csum(int family, const union sl_addr *src, const union sl_addr *dst,
			 const uint8_t *msg, uint32_t len);
void neigh_icmp_set_csum(int family, const union sl_addr *src, const union sl_addr *dst, uint8_t *msg,
			 uint32_t len);

/* IPv4 (20 bytes, DF, id 0) or IPv6 (40 bytes, flow label 0) header for an
 * ICMP/ICMPv6 payload of payload_len bytes; returns the header length. */
uint32_t neigh_write_ip(int family, uint8_t *hdr, const union sl_addr *src, const union sl_addr *dst,
			uint16_t payload_len, uint8_t hop_limit);

#endif
