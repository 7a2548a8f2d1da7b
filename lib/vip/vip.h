/*
 * VIP index: (family, protocol, address, port) -> VIP number (the index
 * of the service in the data-plane spec), for the data path. Immutable once built; open
 * addressing over a power-of-two array so a lookup is one or two probes.
 */
#ifndef SLUICE_VIP_VIP_H
#define SLUICE_VIP_VIP_H

#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"

#define SL_VIP_NONE UINT32_MAX

struct sl_vip_index;

/* Build over the services of spec, of every kind (numbers are indices
 * into spec->services): one index per snapshot serves every stage. NULL
 * on ENOMEM. */
struct sl_vip_index *sl_vip_index_build(const struct sl_spec *spec);
void sl_vip_index_free(struct sl_vip_index *x);

/* port in network order, as on the wire. Returns the VIP number or SL_VIP_NONE. */
uint32_t sl_vip_find(const struct sl_vip_index *x, int family, uint8_t proto,
		     const union sl_addr *addr, uint16_t port_be);

/* True when addr is the address of some VIP (any protocol or port): tells
 * "unknown port" from "unknown VIP" in the drop counters. */
bool sl_vip_addr_known(const struct sl_vip_index *x, int family, const union sl_addr *addr);

#endif
