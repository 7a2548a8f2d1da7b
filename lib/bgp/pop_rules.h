/*
 * What a PoP's name may be, header-only like config/prefix_rules.h, so the
 * file loader (bgp.pop), the replicated state and the API (which links no
 * other Sluice library) apply one rule: 1 to SL_POP_NAME_LEN - 1
 * characters, lower-case letters, digits, '-' and '_', the first a letter
 * or a digit (it appears in URLs, BIRD-free logs and DNS-stage keys).
 */
#ifndef SLUICE_BGP_POP_RULES_H
#define SLUICE_BGP_POP_RULES_H

#include <stddef.h>

#include "spec/limits.h"

/* NULL when name is a valid PoP name, else why not. */
static inline const char *sl_pop_name_refusal(const char *name)
{
	size_t n = 0;
	for (const char *p = name; *p != '\0'; p++, n++) {
		char ch = *p;
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (!alnum && (n == 0 || (ch != '-' && ch != '_')))
			return "must be lower-case letters, digits, '-' and '_', starting with a letter "
			       "or a digit";
	}
	if (n == 0)
		return "must not be empty";
	if (n >= SL_POP_NAME_LEN)
		return "is longer than 31 characters";
	return NULL;
}

#endif
