/*
 * Host agent: decapsulated VIP traffic -> a local DIP (VIP:port ->
 * DIP:port), and the DIP's replies -> VIP:port straight to the client
 * (direct server return).
 *
 * Tables are immutable, built from the data-plane spec by the control
 * thread. Per-connection translation state lives in the worker's flow
 * table: a forward entry (client -> VIP) holding the DIP, and a reverse
 * entry (DIP -> client) holding the VIP, so both directions keep working
 * for established connections when the DIP set changes.
 */
#ifndef SLUICE_HOST_HOST_H
#define SLUICE_HOST_HOST_H

#include <stdint.h>

#include "flow/flow.h"
#include "maglev/maglev.h"
#include "packet/packet.h"
#include "spec/spec.h"


struct sl_host_dip {
	union sl_addr addr;
	uint16_t port; /* host order */
};

/* A VIP's part of the shared per-service tables (lib/stage/tables.h). */
struct sl_host_vip {
	struct sl_maglev *maglev; /* NULL when no DIP of this VIP is local */
	struct sl_host_dip *dips;
	uint32_t nb_dips;
};

/* A tunnel source prefix as two 64-bit words: addr & mask == net. */
struct sl_host_source {
	uint64_t net[2], mask[2]; /* network order, like union sl_addr */
};

/* The prefixes of one family that tunnels may come from. */
struct sl_host_sources {
	uint32_t n;
	struct sl_host_source p[SL_MAX_TUNNEL_SOURCES];
};

/* What the host agent needs beyond its VIPs. */
struct sl_host_tables {
	uint64_t seed;
	union sl_addr addr4, addr6; /* tunnel endpoint addresses (zero when absent) */
	int backend_port;           /* spec port index DIPs reply on */
	struct sl_host_sources src4, src6; /* spec->host.tunnel_sources by family */
};

/* The spec's host agent: endpoints and tunnel sources. NULL with a
 * message in err on ENOMEM. */
struct sl_host_tables *sl_host_tables_build(const struct sl_spec *spec, char *err, size_t errlen);
void sl_host_tables_free(struct sl_host_tables *t);

/* Service svc's local DIPs (backends whose host is spec->host.addr4 or
 * addr6) and their Maglev table. NULL with a message in err on failure. */
struct sl_host_vip *sl_host_vip_build(const struct sl_spec *spec, const struct sl_spec_service *svc,
				      char *err, size_t errlen);
void sl_host_vip_free(struct sl_host_vip *hv);

/* May a VIP's tables built under spec a serve under b (same endpoints and seed)? */
bool sl_host_vip_inputs_same(const struct sl_spec *a, const struct sl_spec *b);

/* True when a tunnel to dst (of family) ends here. */
static inline bool sl_host_is_endpoint(const struct sl_host_tables *t, int family,
				       const union sl_addr *dst)
{
	return sl_addr_eq(family == SL_AF_INET ? &t->addr4 : &t->addr6, dst) &&
	       !sl_addr_is_zero(dst);
}

/*
 * May a tunnel with outer source src (of family) be decapsulated? Only when
 * src lies in one of the tunnel source prefixes of its family: anything
 * else on the fabric could otherwise reach the DIPs past the muxes. Runs
 * per tunnelled packet: a scan of at most SL_MAX_TUNNEL_SOURCES masks
 * without branches inside the match, no allocation. For IPv4 only the
 * first 4 bytes of src are looked at.
 */
static inline bool sl_host_tunnel_source_ok(const struct sl_host_tables *t, int family,
					    const union sl_addr *src)
{
	const struct sl_host_sources *s = family == SL_AF_INET ? &t->src4 : &t->src6;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct sl_host_source *p = &s->p[i];
		uint64_t miss = ((src->u64[0] & p->mask[0]) ^ p->net[0]) |
				((src->u64[1] & p->mask[1]) ^ p->net[1]);
		if (miss == 0)
			return true;
	}
	return false;
}

/* Local DIP for a new connection (forward key k), or NULL when none. */
const struct sl_host_dip *sl_host_pick(const struct sl_host_vip *hv, uint64_t seed,
				       const struct sl_flow_key *k);

/* Key under which the DIP's replies to the connection `fwd` arrive. */
void sl_host_reverse_key(const struct sl_flow_key *fwd, const union sl_addr *dip_addr,
			 uint16_t dip_port, struct sl_flow_key *rev);

#endif
