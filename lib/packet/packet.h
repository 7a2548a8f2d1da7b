/*
 * Packet parsing, encapsulation and address translation on plain buffers.
 *
 * Nothing here knows about mbufs, ports or tables: a frame goes in as
 * bytes, a parsed description or a rewritten buffer comes out. The data
 * path, the unit tests and the fuzz target all call exactly these.
 */
#ifndef SLUICE_PACKET_PACKET_H
#define SLUICE_PACKET_PACKET_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "packet/addr.h"
#include "stats/counters.h"

#define SL_ETH_HLEN 14
#define SL_VLAN_HLEN 4
#define SL_IPV4_HLEN 20
#define SL_IPV6_HLEN 40
#define SL_ETHERTYPE_IPV4 0x0800
#define SL_ETHERTYPE_IPV6 0x86dd
#define SL_ETHERTYPE_ARP 0x0806
#define SL_ETHERTYPE_VLAN 0x8100

#define SL_PROTO_ICMP 1
#define SL_PROTO_IPIP 4   /* IPv4 in IP */
#define SL_PROTO_TCP 6
#define SL_PROTO_UDP 17
#define SL_PROTO_IPV6 41  /* IPv6 in IP */
#define SL_PROTO_ICMPV6 58

/* pkt_info.flags */
#define SL_PKT_FRAGMENT 0x01       /* any fragment (MF set or offset != 0, or v6 fragment header) */
#define SL_PKT_FIRST_FRAGMENT 0x02 /* offset 0 with more fragments to follow */
#define SL_PKT_HAS_PORTS 0x04      /* sport/dport valid (TCP/UDP header present in full) */

struct sl_pkt_info {
	/* Addresses first, then the small fields in one 24-byte block: the
	 * parser writes each address and the block with whole-width stores
	 * (see parse.c), so copying or reading the struct right after parsing
	 * never waits for a load that spans several smaller stores. */
	union sl_addr src;
	union sl_addr dst;
	uint16_t ethertype; /* host order, after at most one VLAN tag */
	uint16_t vlan;      /* VLAN id, 0 when untagged */
	uint16_t l3_off;    /* offset of the IP (or ARP) header from frame start */
	uint16_t l4_off;    /* offset of the L4 header (after v6 extension headers) */
	uint16_t l3_len;    /* IP length from the header: v4 total length, v6 40 + payload length */
	uint8_t family;     /* SL_AF_INET, SL_AF_INET6, or SL_AF_NONE for ARP/other */
	uint8_t proto;      /* L4 protocol (v4 protocol, or last v6 next-header) */
	uint8_t ttl;        /* TTL or hop limit */
	uint8_t flags;      /* SL_PKT_* */
	uint16_t sport;     /* host order, valid with SL_PKT_HAS_PORTS */
	uint16_t dport;
};

/*
 * Parse an Ethernet frame of len bytes.
 *
 * Returns SL_DROP_NONE and fills *pi for: ARP (family NONE, ethertype ARP),
 * IPv4 and IPv6 with any L4 protocol. Returns the drop reason otherwise:
 * TRUNCATED, NON_IP, BAD_VERSION, BAD_IHL, BAD_LENGTH, BAD_IP_CHECKSUM,
 * BAD_EXT_HEADER. Fragments parse successfully with SL_PKT_FRAGMENT set
 * (ports only for a first fragment that holds the whole L4 header): the
 * caller decides. Bytes after l3_off + l3_len (Ethernet padding) are ignored.
 * Never reads outside [frame, frame + len).
 */
enum sl_drop sl_pkt_parse(const uint8_t *frame, uint32_t len, struct sl_pkt_info *pi);

/*
 * Parse an IP packet with no Ethernet header (the inner packet of a
 * tunnel). family says which version is expected; a mismatch is
 * BAD_VERSION. Offsets in *pi are relative to ip.
 */
enum sl_drop sl_pkt_parse_ip(const uint8_t *ip, uint32_t len, int family, struct sl_pkt_info *pi);

/*
 * Addresses no router forwards from or to (RFC 1812 5.3.7, RFC 4291 2.5):
 * IPv4 0.0.0.0/8, 127.0.0.0/8, 255.255.255.255, 224.0.0.0/4; IPv6 ::/96
 * (unspecified, loopback, the deprecated IPv4-compatible form),
 * ::ffff:0:0/96 (IPv4-mapped: never on the wire) and ff00::/8. Class E
 * (240.0.0.0/4) is allowed, as sl_addr_rules allows it for VIPs and DIPs:
 * some networks route it. Inline and branch-light: every forwarded packet
 * goes through here twice.
 */
static inline bool sl_pkt_addr_martian(int family, const union sl_addr *a)
{
	const uint8_t *b = a->v6;
	if (family == SL_AF_INET)
		return b[0] == 0 || b[0] == 127 || (b[0] & 0xf0) == 0xe0 || a->v4 == UINT32_MAX;
	bool v4_in_v6 = a->u64[0] == 0 && (b[8] | b[9]) == 0 &&
			((b[10] | b[11]) == 0 || (b[10] & b[11]) == 0xff);
	return b[0] == 0xff || v4_in_v6;
}

/*
 * Whether a parsed IP packet may be forwarded by its addresses: returns
 * MARTIAN_SRC, MARTIAN_DST, SRC_IS_DST (a packet from the VIP to the VIP:
 * the backend's answer would come back to the mux) or NONE.
 */
static inline enum sl_drop sl_pkt_martian(const struct sl_pkt_info *pi)
{
	if (__builtin_expect(sl_pkt_addr_martian(pi->family, &pi->src), 0))
		return SL_DROP_MARTIAN_SRC;
	if (__builtin_expect(sl_pkt_addr_martian(pi->family, &pi->dst), 0))
		return SL_DROP_MARTIAN_DST;
	if (__builtin_expect(sl_addr_eq(&pi->src, &pi->dst), 0))
		return SL_DROP_SRC_IS_DST;
	return SL_DROP_NONE;
}

/*
 * Whether a frame's VLAN tag fits the port: untagged and priority-tagged
 * (VLAN ID 0, 802.1Q "no VLAN") frames always do, a tagged one only with
 * the port's ID (port_vlan; 0 when the port has none, so no tag fits).
 */
static inline bool sl_pkt_vlan_ok(const struct sl_pkt_info *pi, uint16_t port_vlan)
{
	return pi->vlan == 0 || pi->vlan == port_vlan;
}

/* Full verification of the TCP/UDP checksum of a parsed IP packet.
 * ip points at the IP header (frame + pi->l3_off for a pi from
 * sl_pkt_parse: only l4_off - l3_off is used). UDP over IPv4 with checksum
 * 0 counts as valid (over IPv6 it does not). Returns 0 ("not verified") for
 * fragments and for protocols other than TCP and UDP. */
int sl_pkt_l4_checksum_ok(const uint8_t *ip, const struct sl_pkt_info *pi);

/* Write an Ethernet header (14 bytes). */
static inline void sl_pkt_write_eth(uint8_t *hdr, const uint8_t dst[6], const uint8_t src[6],
				    uint16_t ethertype)
{
	memcpy(hdr, dst, 6);
	memcpy(hdr + 6, src, 6);
	hdr[12] = (uint8_t)(ethertype >> 8);
	hdr[13] = (uint8_t)ethertype;
}

/*
 * Outer tunnel headers, written in front of an inner IP packet of
 * inner_len bytes. proto is SL_PROTO_IPIP or SL_PROTO_IPV6 (the inner
 * family). IPv4: DF set, id 0, checksum computed. IPv6: flow label from
 * flow_hash (20 bits) so routers can spread tunnelled flows. IPv4
 * addresses are in network order (as in sl_addr.v4). The caller keeps
 * inner_len + header within 65535 (the mux checks the MTU first).
 * Inline: the mux writes one per packet, mostly with constant ttl and
 * proto. DF keeps routers from fragmenting the tunnel (the mux checks the
 * MTU instead), and with DF the id need not be unique (RFC 6864), so it
 * is 0.
 */
#define SL_PKT_IPV4_DF 0x4000

/* Sum of the header's 16-bit words, from the values rather than from the
 * bytes just written: reading them back would defeat store forwarding. */
static inline uint16_t sl_pkt_outer_ipv4_checksum(uint32_t src, uint32_t dst, uint16_t total_len,
						  uint8_t tos, uint8_t ttl, uint8_t proto)
{
	uint32_t s = ntohl(src), d = ntohl(dst);
	uint32_t sum = (0x45u << 8 | tos) + total_len + SL_PKT_IPV4_DF + ((uint32_t)ttl << 8 | proto) +
		       (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void sl_pkt_write_outer_ipv4(uint8_t *hdr, uint32_t src, uint32_t dst, uint16_t inner_len,
					   uint8_t tos, uint8_t ttl, uint8_t proto)
{
	uint16_t total = (uint16_t)(SL_IPV4_HLEN + inner_len);
	uint16_t csum = sl_pkt_outer_ipv4_checksum(src, dst, total, tos, ttl, proto);
	hdr[0] = 0x45; /* version 4, no options */
	hdr[1] = tos;
	hdr[2] = (uint8_t)(total >> 8);
	hdr[3] = (uint8_t)total;
	hdr[4] = 0;
	hdr[5] = 0;
	hdr[6] = SL_PKT_IPV4_DF >> 8;
	hdr[7] = 0;
	hdr[8] = ttl;
	hdr[9] = proto;
	hdr[10] = (uint8_t)(csum >> 8);
	hdr[11] = (uint8_t)csum;
	memcpy(hdr + 12, &src, 4);
	memcpy(hdr + 16, &dst, 4);
}

static inline void sl_pkt_write_outer_ipv6(uint8_t *hdr, const uint8_t src[16], const uint8_t dst[16],
					   uint16_t inner_len, uint8_t tclass, uint32_t flow_hash,
					   uint8_t hop_limit, uint8_t proto)
{
	uint32_t first = 6u << 28 | (uint32_t)tclass << 20 | (flow_hash & 0xfffffu);
	hdr[0] = (uint8_t)(first >> 24);
	hdr[1] = (uint8_t)(first >> 16);
	hdr[2] = (uint8_t)(first >> 8);
	hdr[3] = (uint8_t)first;
	hdr[4] = (uint8_t)(inner_len >> 8);
	hdr[5] = (uint8_t)inner_len;
	hdr[6] = proto;
	hdr[7] = hop_limit;
	memcpy(hdr + 8, src, 16);
	memcpy(hdr + 24, dst, 16);
}

/*
 * Rewrite destination (or source) address and port of the IP packet at ip
 * (parsed into pi, offsets relative to ip), updating the IPv4 header
 * checksum and the TCP/UDP checksum incrementally (RFC 1624). A zero UDP
 * checksum over IPv4 stays zero. Updates pi->dst/dport (or src/sport).
 */
void sl_pkt_nat_dst(uint8_t *ip, struct sl_pkt_info *pi, const union sl_addr *addr, uint16_t port);
void sl_pkt_nat_src(uint8_t *ip, struct sl_pkt_info *pi, const union sl_addr *addr, uint16_t port);

/* Decrement TTL / hop limit with an incremental IPv4 checksum update.
 * Returns SL_DROP_TTL_EXCEEDED (without touching the packet) when the
 * value is 1 or 0. */
enum sl_drop sl_pkt_dec_ttl(uint8_t *ip, struct sl_pkt_info *pi);

/*
 * ICMP "fragmentation needed" (IPv4) or ICMPv6 "packet too big" about the
 * IP packet orig (orig_len bytes, already parsed and found valid), from
 * `from` (the address the sender talked to) back to `sender`, announcing
 * `mtu`. Written as an IP packet at out (at least SL_ICMP_TOO_BIG_MAX
 * bytes); returns its length, 0 for an unknown family. The caller decides
 * whether an error may be sent at all (only for TCP/UDP, rate-limited).
 */
#define SL_ICMP_TOO_BIG_MAX 1280
uint32_t sl_pkt_icmp_too_big(uint8_t *out, const uint8_t *orig, uint32_t orig_len, int family,
			     const union sl_addr *sender, const union sl_addr *from, uint16_t mtu);

/*
 * ICMP errors about TCP and UDP flows (RFC 792, RFC 1122 3.2.2, RFC 4443
 * 2.4): destination unreachable (IPv4 fragmentation needed included),
 * time exceeded and parameter problem; ICMPv6 packet too big as well. The
 * error quotes the packet it is about: its IP header and at least the
 * first 8 bytes after it, which hold both ports. A balancer routes and
 * translates such an error by that quoted packet's flow.
 */
struct sl_icmp_quote {
	uint16_t ip_off;    /* quoted IP header, from the outer IP header */
	uint16_t l4_off;    /* quoted TCP/UDP header, from the outer IP header */
	uint16_t len;       /* bytes of the quote present from ip_off on */
	uint8_t proto;      /* SL_PROTO_TCP or SL_PROTO_UDP */
	union sl_addr src;  /* as quoted: the packet the error is about */
	union sl_addr dst;
	uint16_t sport;     /* host order */
	uint16_t dport;
};

/*
 * Whether the IP packet at ip (parsed into pi, offsets used relative to
 * pi->l3_off) is an ICMP error about a TCP or UDP packet of its own family.
 * Returns SL_DROP_NONE with *q filled, SL_DROP_UNSUPPORTED_L4 for other
 * ICMP (echo, ...) and non-ICMP, SL_DROP_FRAGMENT for a fragmented error,
 * or SL_DROP_ICMP_BAD_QUOTE: the quote is truncated (under 8 bytes of
 * transport header), malformed, of another family or protocol, or a
 * non-first fragment (no ports to match). Never reads past pi->l3_len.
 */
enum sl_drop sl_pkt_parse_icmp_error(const uint8_t *ip, const struct sl_pkt_info *pi,
				     struct sl_icmp_quote *q);

/*
 * Translate an ICMP error about a translated connection, so that the
 * receiver's stack matches it to its own socket: towards the DIP the outer
 * destination and the quote's source become addr:port (VIP -> DIP); towards
 * the client the outer source and the quote's destination do (DIP -> VIP).
 * The outer and quoted IPv4 header checksums and the quoted TCP/UDP
 * checksum (when the quote holds it) are patched incrementally; the ICMP
 * checksum is computed anew over the whole message (the caller verified
 * the old one). Updates pi and q.
 */
void sl_pkt_icmp_nat_to_dip(uint8_t *ip, struct sl_pkt_info *pi, struct sl_icmp_quote *q,
			    const union sl_addr *addr, uint16_t port);
void sl_pkt_icmp_nat_to_client(uint8_t *ip, struct sl_pkt_info *pi, struct sl_icmp_quote *q,
			       const union sl_addr *addr, uint16_t port);

/* Full verification of the ICMP or ICMPv6 checksum of an unfragmented
 * packet (the whole message; ICMPv6 with its pseudo-header). */
bool sl_pkt_icmp_checksum_ok(const uint8_t *ip, const struct sl_pkt_info *pi);

/* Internet checksum helpers (exposed for ARP/ND/ICMP builders and tests).
 * Words are summed as they lie in memory (as Linux and DPDK do), so
 * pseudo-header fields must be added as network-order bytes.
 * sl_csum_fold returns the complemented checksum, ready to store. */
uint16_t sl_csum_fold(uint32_t sum);
uint32_t sl_csum_partial(const void *buf, uint32_t len, uint32_t sum);

#endif
