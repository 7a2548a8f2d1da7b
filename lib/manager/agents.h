/*
 * Private to lib/manager: the host-agent keys of a committed state, each
 * with the VIP whose DIP it is.
 *
 * A host agent recognises a reply by its source (protocol, DIP address,
 * port), so on one host that must lead to one VIP (the rule vips.c
 * checks). In a committed state every key therefore has exactly one VIP,
 * and this map from key to VIP lets a transaction check the few DIPs it
 * adds without a pass over every DIP of the state. vips.c keeps it in step
 * with the state at each commit; a working copy only reads it.
 */
#ifndef SLUICE_MANAGER_AGENTS_H
#define SLUICE_MANAGER_AGENTS_H

#include <stdint.h>

#include "packet/addr.h"

/* What identifies a DIP to the host agent that serves it. */
struct sl_mgr_agent_key {
	union sl_addr addr, host;
	uint8_t family, proto;
	uint16_t port;
};

/* A key and the VIP holding it: the VIP's family and protocol are the key's. */
struct sl_mgr_holding {
	struct sl_mgr_agent_key key;
	union sl_addr vip_addr;
	uint16_t vip_port;
};

struct sl_mgr_agents;

/* An empty map; NULL on ENOMEM. */
struct sl_mgr_agents *sl_mgr_agents_new(void);
void sl_mgr_agents_free(struct sl_mgr_agents *a);

/* The holding of key, or NULL. */
const struct sl_mgr_holding *sl_mgr_agents_find(const struct sl_mgr_agents *a,
						const struct sl_mgr_agent_key *key);

/* Room for n more keys, so that the next n sets cannot fail: a commit
 * must not. 0, or -1 on ENOMEM (the map unchanged). */
int sl_mgr_agents_reserve(struct sl_mgr_agents *a, uint32_t n);

/* h's key now held by h's VIP (added, or replacing the holder). Needs
 * room (sl_mgr_agents_reserve). */
void sl_mgr_agents_set(struct sl_mgr_agents *a, const struct sl_mgr_holding *h);

/* key held by no VIP; absent keys are ignored. */
void sl_mgr_agents_remove(struct sl_mgr_agents *a, const struct sl_mgr_agent_key *key);

#endif
