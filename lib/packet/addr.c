/*
 * Text <-> address conversion and prefix matching. Control-path code
 * (configuration, API, logs); the data path only uses sl_prefix_contains.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "packet/addr.h"

#define PREFIX_TEXT_MAX 64 /* longer than any address plus "/128" */

static int family_max_len(int family)
{
	return family == SL_AF_INET ? 32 : family == SL_AF_INET6 ? 128 : -1;
}

/* inet_pton is strict: whole string, no spaces, no leading zeros in v4. */
int sl_addr_parse(const char *text, union sl_addr *out)
{
	union sl_addr a = { .u64 = { 0, 0 } };
	int family = SL_AF_NONE;

	if (text && strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, a.v6) == 1)
			family = SL_AF_INET6;
	} else if (text) {
		if (inet_pton(AF_INET, text, &a.v4) == 1)
			family = SL_AF_INET;
	}
	*out = family == SL_AF_NONE ? (union sl_addr){ .u64 = { 0, 0 } } : a;
	return family;
}

/* 1 to 3 decimal digits, no sign, no leading zero except "0" itself. */
static int parse_prefix_len(const char *s)
{
	int v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The address keeps its host bits ("192.0.2.1/24" stays .1); matching
 * masks both sides, so it need not be canonical. */
int sl_prefix_parse(const char *text, union sl_addr *out, uint8_t *len)
{
	char addr_text[PREFIX_TEXT_MAX];
	const char *slash = text ? strchr(text, '/') : NULL;
	size_t addr_len = slash ? (size_t)(slash - text) : 0;
	int family = SL_AF_NONE;
	int plen = -1;

	if (slash && addr_len < sizeof(addr_text)) {
		memcpy(addr_text, text, addr_len);
		addr_text[addr_len] = '\0';
		family = sl_addr_parse(addr_text, out);
		plen = parse_prefix_len(slash + 1);
	}
	if (family == SL_AF_NONE || plen < 0 || plen > family_max_len(family)) {
		*out = (union sl_addr){ .u64 = { 0, 0 } };
		*len = 0;
		return SL_AF_NONE;
	}
	*len = (uint8_t)plen;
	return family;
}

const char *sl_addr_format(int family, const union sl_addr *a, char *buf, size_t len)
{
	const char *ok = NULL;

	if (len == 0)
		return buf;
	if (family == SL_AF_INET)
		ok = inet_ntop(AF_INET, &a->v4, buf, (socklen_t)len);
	else if (family == SL_AF_INET6)
		ok = inet_ntop(AF_INET6, a->v6, buf, (socklen_t)len);
	if (!ok)
		snprintf(buf, len, "?");
	return buf;
}

/* Compares whole bytes, then the leading bits of the partial byte: works for
 * both families and any length without building a mask per family. */
bool sl_prefix_contains(int family, const union sl_addr *prefix, uint8_t len, const union sl_addr *addr)
{
	int max = family_max_len(family);

	if (max < 0 || len > max)
		return false;

	unsigned bytes = len >> 3;
	unsigned bits = len & 7;

	if (memcmp(prefix->v6, addr->v6, bytes) != 0)
		return false;
	if (bits == 0)
		return true;

	uint8_t mask = (uint8_t)(0xff << (8 - bits));

	return ((prefix->v6[bytes] ^ addr->v6[bytes]) & mask) == 0;
}
