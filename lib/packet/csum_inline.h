/*
 * Internet checksum arithmetic shared by the lib/packet sources (private:
 * not part of the packet.h interface).
 *
 * Convention, as in Linux and DPDK: words are summed as they sit in
 * memory (native loads of network-order bytes). A one's complement sum is
 * independent of byte order up to a final swap, and loading natively means
 * the folded result can be stored back with memcpy, no htons needed, and
 * wide loads can be used. Constants added to a sum (protocol, length)
 * must therefore be supplied as network-order bytes, not host integers.
 *
 * Everything is static inline so the per-packet callers (IPv4 header
 * check in parse, NAT, TTL) compile to straight-line code.
 */
#ifndef SLUICE_PACKET_CSUM_INLINE_H
#define SLUICE_PACKET_CSUM_INLINE_H

#include <stdint.h>
#include <string.h>

#include "packet/addr.h"

/* Fold a 64-bit end-around-carry accumulator to 16 bits, not complemented. */
static inline uint16_t csum_fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

/*
 * One's complement sum of len bytes, added to sum. 2^16 - 1 divides
 * 2^64 - 1, so adding 64-bit words with end-around carry and folding at
 * the end gives the same result as adding 16-bit words. An odd final
 * byte is padded with a zero byte after it (RFC 1071), so only the last
 * piece of a buffer summed in pieces may have odd length.
 */
static inline uint64_t csum_raw(const uint8_t *p, uint32_t len, uint64_t sum)
{
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		sum += w;
		sum += sum < w; /* end-around carry; cannot overflow again */
		p += 8;
		len -= 8;
	}
	/* At most 33 bits from here on, so the tail adds cannot overflow. */
	sum = (sum & 0xffffffffu) + (sum >> 32);
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		const uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		sum += w;
	}
	/* Leave headroom so callers may keep adding small values. */
	return (sum & 0xffffffffu) + (sum >> 32);
}

/*
 * RFC 1624 eqn. 3 accumulates ~m + m' for every 16-bit word that changes.
 * n is even and small (an address or a port), so a 32-bit total is safe.
 */
static inline uint32_t csum_word_diff(const uint8_t *old, const uint8_t *new_bytes, unsigned n)
{
	uint32_t d = 0;

	for (unsigned i = 0; i < n; i += 2) {
		uint16_t a, b;

		memcpy(&a, old + i, 2);
		memcpy(&b, new_bytes + i, 2);
		d += (uint16_t)~a;
		d += b;
	}
	return d;
}

/* HC' = ~(~HC + sum of (~m + m')), written back to the checksum field.
 * Returns the new value as stored (native load of the field). */
static inline uint16_t csum_apply_diff(uint8_t *field, uint32_t diff)
{
	uint16_t hc;

	memcpy(&hc, field, 2);
	hc = (uint16_t)~csum_fold64((uint64_t)(uint16_t)~hc + diff);
	memcpy(field, &hc, 2);
	return hc;
}

/* Sum of the TCP/UDP/ICMPv6 pseudo-header of the IP packet at ip: both
 * addresses, which sit next to each other in v4 and v6 headers, then the
 * protocol and upper-layer length as network-order bytes. family is
 * SL_AF_INET or SL_AF_INET6. */
static inline uint64_t csum_pseudo(const uint8_t *ip, int family, uint8_t proto, uint32_t l4_len)
{
	const uint8_t tail[4] = { 0, proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len };
	uint64_t sum = family == SL_AF_INET ? csum_raw(ip + 12, 8, 0) : csum_raw(ip + 8, 32, 0);

	return csum_raw(tail, sizeof(tail), sum);
}

#endif
