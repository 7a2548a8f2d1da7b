/*
 * Headers written in front of a packet: Ethernet and the outer IP header
 * of the IP-in-IP tunnel from mux to host agent. Callers have made room;
 * nothing here checks lengths.
 */
#include <arpa/inet.h>
#include <string.h>

#include "packet/csum_inline.h"
#include "packet/packet.h"

#define IPV4_DF 0x4000
#define IPV6_FLOW_LABEL_MASK 0xfffffu

static inline void write_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void write_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void sl_pkt_write_eth(uint8_t *hdr, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype)
{
	memcpy(hdr, dst, 6);
	memcpy(hdr + 6, src, 6);
	write_be16(hdr + 12, ethertype);
}

/*
 * src and dst are in network byte order (as union sl_addr.v4). DF keeps
 * routers from fragmenting the tunnel (the mux checks the MTU instead),
 * and with DF the id need not be unique (RFC 6864), so it is 0.
 */
/* Sum of the header's 16-bit words, from the values rather than from the
 * bytes just written: reading them back would defeat store forwarding. */
static inline uint16_t outer_ipv4_checksum(uint32_t src, uint32_t dst, uint16_t total_len, uint8_t tos,
					   uint8_t ttl, uint8_t proto)
{
	uint32_t s = ntohl(src), d = ntohl(dst);
	uint32_t sum = (0x45u << 8 | tos) + total_len + IPV4_DF + ((uint32_t)ttl << 8 | proto) +
		       (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void sl_pkt_write_outer_ipv4(uint8_t *hdr, uint32_t src, uint32_t dst, uint16_t inner_len,
			     uint8_t tos, uint8_t ttl, uint8_t proto)
{
	uint16_t total = (uint16_t)(SL_IPV4_HLEN + inner_len);
	hdr[0] = 0x45; /* version 4, no options */
	hdr[1] = tos;
	write_be16(hdr + 2, total);
	write_be16(hdr + 4, 0);
	write_be16(hdr + 6, IPV4_DF);
	hdr[8] = ttl;
	hdr[9] = proto;
	write_be16(hdr + 10, outer_ipv4_checksum(src, dst, total, tos, ttl, proto));
	memcpy(hdr + 12, &src, 4);
	memcpy(hdr + 16, &dst, 4);
}

void sl_pkt_write_outer_ipv6(uint8_t *hdr, const uint8_t src[16], const uint8_t dst[16],
			     uint16_t inner_len, uint8_t tclass, uint32_t flow_hash, uint8_t hop_limit,
			     uint8_t proto)
{
	write_be32(hdr, 6u << 28 | (uint32_t)tclass << 20 | (flow_hash & IPV6_FLOW_LABEL_MASK));
	write_be16(hdr + 4, inner_len);
	hdr[6] = proto;
	hdr[7] = hop_limit;
	memcpy(hdr + 8, src, 16);
	memcpy(hdr + 24, dst, 16);
}
