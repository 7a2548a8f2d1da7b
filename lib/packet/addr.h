/* IPv4/IPv6 addresses as one value type, in network byte order. */
#ifndef SLUICE_PACKET_ADDR_H
#define SLUICE_PACKET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "packet/addr_rules.h"

#define SL_AF_NONE 0
#define SL_AF_INET 4
#define SL_AF_INET6 6

/* IPv4 lives in v4 (network order) with the other 12 bytes zero, so two
 * sl_addr values of the same family compare with memcmp/== on u64. */
union sl_addr {
	uint32_t v4;
	uint8_t v6[16];
	uint64_t u64[2];
};

static inline bool sl_addr_eq(const union sl_addr *a, const union sl_addr *b)
{
	return a->u64[0] == b->u64[0] && a->u64[1] == b->u64[1];
}

static inline bool sl_addr_is_zero(const union sl_addr *a)
{
	return (a->u64[0] | a->u64[1]) == 0;
}

/* Parse "192.0.2.1" or "2001:db8::1"; returns the family or SL_AF_NONE. */
int sl_addr_parse(const char *text, union sl_addr *out);
/* Parse "192.0.2.1/24"; returns the family or SL_AF_NONE on error. */
int sl_prefix_parse(const char *text, union sl_addr *out, uint8_t *len);
/* Format into buf (at least 46 bytes); returns buf. */
const char *sl_addr_format(int family, const union sl_addr *a, char *buf, size_t len);
/* Where an address is used decides which ranges it may be in
 * (packet/addr_rules.h). */
enum sl_addr_use {
	SL_ADDR_ANY,     /* gateways, neighbours, own addresses, Raft members */
	SL_ADDR_SERVICE, /* VIPs, DIPs and DIP hosts: reached across routers */
};

/* Why a cannot be used so ("is a loopback address, ..."), or NULL. */
static inline const char *sl_addr_refusal(int family, const union sl_addr *a,
					  enum sl_addr_use use)
{
	return sl_addr_rules_refusal(family, a->v6, use == SL_ADDR_SERVICE);
}
/* True when addr lies in prefix/len of the same family. */
bool sl_prefix_contains(int family, const union sl_addr *prefix, uint8_t len, const union sl_addr *addr);

#endif
