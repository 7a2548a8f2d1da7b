/*
 * Which addresses may be used where: the one table behind the file loader,
 * the manager's commands and the API (docs/api.md, "Addresses").
 * Header-only and self-contained on purpose: lib/api includes it without
 * linking any other Sluice library.
 */
#ifndef SLUICE_PACKET_ADDR_RULES_H
#define SLUICE_PACKET_ADDR_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Refused wherever an address is used. IPv4 in IPv6 clothing
 * (::ffff:0:0/96 mapped, ::/96 compatible but for :: and ::1): no IPv6
 * packet carries it, and it would be a second name for an IPv4 address.
 * Multicast and broadcast: a VIP, a backend, a gateway or a Raft peer is
 * one machine. */
static inline const char *sl_addr_rules_never(int family, const uint8_t *b)
{
	static const uint8_t zero[12], mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (family == 6 && memcmp(b, mapped, 12) == 0)
		return "is an IPv4-mapped IPv6 address, which is not allowed; use the IPv4 address";
	if (family == 6 && memcmp(b, zero, 12) == 0 && ((b[12] | b[13] | b[14]) != 0 || b[15] > 1))
		return "is an IPv4-compatible IPv6 address, which is not allowed; use the IPv4 address";
	if (family == 4 ? (b[0] & 0xf0) == 0xe0 : b[0] == 0xff)
		return "is a multicast address; only unicast addresses are allowed";
	if (family == 4 && (b[0] & b[1] & b[2] & b[3]) == 0xff)
		return "is the broadcast address; only unicast addresses are allowed";
	return NULL;
}

/* Refused for a VIP, a DIP or a DIP's host, which are reached across
 * routers: these never are. Documentation, private, shared (100.64/10)
 * and reserved (240/4) ranges stay allowed: they are routable in a network
 * that chooses to route them. */
static inline const char *sl_addr_rules_not_service(int family, const uint8_t *b)
{
	static const uint8_t loopback6[16] = {[15] = 1};
	if (family == 4 && b[0] == 0)
		return "is in 0.0.0.0/8 (\"this network\"), which is never a destination";
	if (family == 4 ? b[0] == 127 : memcmp(b, loopback6, 16) == 0)
		return "is a loopback address, which never leaves its host";
	if (family == 4 ? b[0] == 169 && b[1] == 254 : b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "is a link-local address, which routers do not forward";
	return NULL;
}

/* Clear the bits of b (network order, 16 bytes) past the first len: a
 * prefix's network, or with b all ones its mask. Here rather than with the
 * prefix rules because the data path needs it too (lib/host's tunnel
 * source masks) and must not depend on lib/config. */
static inline void sl_addr_rules_mask(uint8_t b[16], unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
		b[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/* Why the address b (network order; IPv4 in b[0..3], the rest zero) of
 * family 4 or 6 cannot be used, as words that follow the address ("is a
 * loopback address, ..."), or NULL when it can. service: it is a VIP, a
 * DIP or a DIP's host; else any other use (gateways, neighbours, own
 * addresses, Raft members). */
static inline const char *sl_addr_rules_refusal(int family, const uint8_t *b, bool service)
{
	static const uint8_t zero[16];
	const char *why;
	if (memcmp(b, zero, 16) == 0)
		return "is the unspecified address";
	if ((why = sl_addr_rules_never(family, b)) != NULL || !service)
		return why;
	return sl_addr_rules_not_service(family, b);
}

#endif
