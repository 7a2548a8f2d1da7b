/*
 * Which prefixes may say where tunnels come from: the one parser and rule
 * set behind host.tunnel_sources in the file, the manager's
 * set_tunnel_sources and PUT /v1/tunnel-sources (docs/configuration.md,
 * docs/api.md), so the three cannot disagree. Header-only and
 * self-contained, like packet/addr_rules.h: lib/api includes it without
 * linking any other Sluice library.
 */
#ifndef SLUICE_CONFIG_PREFIX_RULES_H
#define SLUICE_CONFIG_PREFIX_RULES_H

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "packet/addr_rules.h"

/* Longest canonical prefix text, "ffff:...:ffff/128", with its NUL. */
#define SL_PREFIX_TEXT_LEN 64

/* inet_ntop's text of b, of family 4 or 6. */
static inline const char *sl_prefix_rules_addr(int family, const uint8_t b[16],
					       char buf[INET6_ADDRSTRLEN])
{
	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, b, buf, INET6_ADDRSTRLEN) == NULL)
		snprintf(buf, INET6_ADDRSTRLEN, "?");
	return buf;
}

/* "192.0.2.0/24", "2001:db8:2::/64": the canonical text of a prefix. */
static inline const char *sl_prefix_rules_format(int family, const uint8_t b[16], unsigned len,
						 char buf[SL_PREFIX_TEXT_LEN])
{
	char a[INET6_ADDRSTRLEN];
	snprintf(buf, SL_PREFIX_TEXT_LEN, "%s/%u", sl_prefix_rules_addr(family, b, a), len);
	return buf;
}

/* 1 to 3 digits without a leading zero, or -1: "/024" is a typo, not 24. */
static inline int sl_prefix_rules_len(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0') || strspn(s, "0123456789") != n)
		return -1;
	return (int)strtol(s, NULL, 10);
}

/* 'text', quoted, when it is short printable ASCII; else words that say
 * so, so a message never carries (or cuts in half) what a terminal or
 * JSON cannot. */
static inline const char *sl_prefix_rules_echo(const char *text, char buf[SL_PREFIX_TEXT_LEN])
{
	size_t n = strlen(text);
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)text[i]))
			return "this value";
	if (n > 48)
		return "this value";
	snprintf(buf, SL_PREFIX_TEXT_LEN, "'%s'", text);
	return buf;
}

/* Parse "ADDRESS" or "ADDRESS/LENGTH": family and length, or 0. */
static inline int sl_prefix_rules_split(const char *text, uint8_t b[16], int *len)
{
	char addr[SL_PREFIX_TEXT_LEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	int family = 0;
	memset(b, 0, 16);
	if (alen < sizeof(addr)) {
		memcpy(addr, text, alen);
		addr[alen] = '\0';
		family = inet_pton(AF_INET, addr, b) == 1 ? 4 : inet_pton(AF_INET6, addr, b) == 1 ? 6 : 0;
	}
	*len = slash != NULL ? sl_prefix_rules_len(slash + 1) : family == 4 ? 32 : 128;
	return *len >= 0 ? family : 0;
}

/* Fill why and return 0 (no family): parse's way to refuse. */
__attribute__((format(printf, 3, 4))) static inline int
sl_prefix_rules_refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * A prefix tunnels may come from: "192.0.2.10" (a bare address is a host
 * prefix, /32 or /128), "2001:db8:2::/64". Fills b (network order, IPv4 in
 * b[0..3], the rest zero) and *len and returns the family (4 or 6), or 0
 * with why set to words that stand alone after "SETTING: ". Refused: no
 * prefix at all, lengths outside 1..32 or 1..128 (a /0 would let anyone
 * in), host bits past the length (probably a typo for the network, which
 * the message suggests), and a network address no mux sends from (the
 * ranges packet/addr_rules.h refuses for a DIP's host: unspecified,
 * loopback, link-local, multicast, IPv4-mapped...).
 */
static inline int sl_prefix_rules_parse(const char *text, uint8_t b[16], uint8_t *len, char *why,
					size_t whylen)
{
	uint8_t net[16];
	char canon[SL_PREFIX_TEXT_LEN], fix[SL_PREFIX_TEXT_LEN], a[INET6_ADDRSTRLEN];
	int plen, family = sl_prefix_rules_split(text, b, &plen);
	int max = family == 4 ? 32 : 128;
	const char *refusal;
	if (family == 0)
		return sl_prefix_rules_refuse(why, whylen, "%s is not an address or ADDRESS/LENGTH "
					      "(e.g. \"192.0.2.10\", \"2001:db8:2::/64\")",
					      sl_prefix_rules_echo(text, fix));
	if (plen == 0 || plen > max)
		return sl_prefix_rules_refuse(why, whylen, "%s: prefix length %d is out of range "
					      "(1..%d for IPv%d%s)", sl_prefix_rules_echo(text, fix),
					      plen, max, family, plen == 0 ? "; /0 would accept "
					      "tunnels from anywhere" : "");
	memcpy(net, b, sizeof(net));
	sl_addr_rules_mask(net, (unsigned)plen);
	sl_prefix_rules_format(family, b, (unsigned)plen, canon);
	if (memcmp(net, b, sizeof(net)) != 0)
		return sl_prefix_rules_refuse(why, whylen, "%s has host bits set (did you mean %s?)",
					      canon, sl_prefix_rules_format(family, net, (unsigned)plen, fix));
	if ((refusal = sl_addr_rules_refusal(family, b, true)) != NULL)
		return sl_prefix_rules_refuse(why, whylen, "%s: %s %s", canon,
					      sl_prefix_rules_addr(family, b, a), refusal);
	*len = (uint8_t)plen;
	return family;
}

#endif
