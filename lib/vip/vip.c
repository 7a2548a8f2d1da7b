#include <arpa/inet.h>
#include <stdlib.h>

#include "vip/vip.h"

static void insert(struct sl_vip_index *x, int family, uint8_t proto, const union sl_addr *a,
		   uint16_t port_be, uint32_t vip)
{
	struct sl_vip_slot *s = (struct sl_vip_slot *)sl_vip_probe(x, family, proto, a, port_be);
	if (s->vip != SL_VIP_NONE)
		return; /* address-only entry already present */
	*s = (struct sl_vip_slot){ .addr = *a, .port_be = port_be, .family = (uint8_t)family,
				   .proto = proto, .vip = vip };
}

struct sl_vip_index *sl_vip_index_build(const struct sl_spec *spec)
{
	uint32_t size = 16;
	while (size < 4u * (spec->nb_services + 1)) /* load factor <= 50% with both kinds of entry */
		size <<= 1;
	struct sl_vip_index *x = malloc(sizeof(*x) + size * sizeof(x->slot[0]));
	if (x == NULL)
		return NULL;
	x->mask = size - 1;
	for (uint32_t i = 0; i < size; i++)
		x->slot[i] = (struct sl_vip_slot){ .vip = SL_VIP_NONE };
	for (uint32_t v = 0; v < spec->nb_services; v++) {
		const struct sl_spec_service *svc = &spec->services[v];
		insert(x, svc->family, svc->proto, &svc->addr, htons(svc->port), v);
		insert(x, svc->family, 0, &svc->addr, 0, v);
	}
	return x;
}

void sl_vip_index_free(struct sl_vip_index *x)
{
	free(x);
}
