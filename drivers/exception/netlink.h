/*
 * The few rtnetlink requests the kernel interfaces need (addresses,
 * routes, source rules, no IPv6 link-local), on Debian's libmnl
 * (LGPL-2.1+; docs/architecture.md says why). One request at a time, each
 * acknowledged: this runs at start-up and exit only.
 */
#ifndef SLUICE_DRIVERS_EXCEPTION_NETLINK_H
#define SLUICE_DRIVERS_EXCEPTION_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h" /* struct sl_prefix */

struct sl_nl;

/* A NETLINK_ROUTE socket in the calling thread's network namespace; NULL with errno. */
struct sl_nl *sl_nl_open(void);
void sl_nl_close(struct sl_nl *nl);

/* Every call returns 0 or a negative errno (the kernel's answer). */

/* No IPv6 link-local address on the interface (none of sluice's
 * neighbours could answer one). Call while the link is down. */
int sl_nl_no_link_local(struct sl_nl *nl, unsigned ifindex);

/* Add p (address and on-link prefix length) without duplicate address
 * detection: the address is sluice's already, and DAD would hold it back. */
int sl_nl_addr_add(struct sl_nl *nl, unsigned ifindex, const struct sl_prefix *p);

/* A route in table to dst (its host bits ignored) out of ifindex, through
 * gateway (NULL: on-link), with metric (0: the kernel's default). An equal
 * route already there is not an error. */
int sl_nl_route_add(struct sl_nl *nl, uint32_t table, uint32_t metric, unsigned ifindex,
		    const struct sl_prefix *dst, const union sl_addr *gateway);

/* Delete the on-link route to dst in table out of ifindex; one already
 * gone is not an error. */
int sl_nl_route_del(struct sl_nl *nl, uint32_t table, unsigned ifindex, const struct sl_prefix *dst);

/* "from src lookup table" at priority prio (add), or every rule from src
 * at prio whatever its table (delete; -ENOENT once none is left). */
int sl_nl_rule(struct sl_nl *nl, bool add, uint32_t table, uint32_t prio, int family, const union sl_addr *src);

#endif
