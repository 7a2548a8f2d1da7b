#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"

int sl_spec_alloc_services(struct sl_spec *s, uint32_t n)
{
	for (uint32_t i = 0; s->backend_block == NULL && i < s->nb_services; i++)
		free(s->services[i].backends);
	free(s->backend_block);
	s->backend_block = NULL;
	free(s->services);
	s->services = n ? calloc(n, sizeof(*s->services)) : NULL;
	s->nb_services = s->services ? n : 0;
	return n && s->services == NULL ? -1 : 0;
}

int sl_spec_alloc_backends(struct sl_spec_service *svc, uint32_t n)
{
	free(svc->backends);
	svc->backends = n ? calloc(n, sizeof(*svc->backends)) : NULL;
	svc->nb_backends = svc->backends ? n : 0;
	return n && svc->backends == NULL ? -1 : 0;
}

int sl_spec_alloc_backend_block(struct sl_spec *s, uint64_t n)
{
	free(s->backend_block);
	s->backend_block = n ? malloc(n * sizeof(*s->backend_block)) : NULL;
	return n && s->backend_block == NULL ? -1 : 0;
}

void sl_spec_free(struct sl_spec *s)
{
	if (s == NULL)
		return;
	sl_spec_alloc_services(s, 0);
	memset(s, 0, sizeof(*s));
}

static int copy_service(struct sl_spec_service *dst, const struct sl_spec_service *src)
{
	*dst = *src;
	dst->backends = NULL;
	dst->nb_backends = 0;
	if (sl_spec_alloc_backends(dst, src->nb_backends) != 0)
		return -1;
	if (src->nb_backends > 0)
		memcpy(dst->backends, src->backends, src->nb_backends * sizeof(src->backends[0]));
	return 0;
}

int sl_spec_copy(struct sl_spec *dst, const struct sl_spec *src)
{
	*dst = *src;
	dst->services = NULL;
	dst->nb_services = 0;
	dst->backend_block = NULL; /* the copy's services own their backends */
	if (sl_spec_alloc_services(dst, src->nb_services) != 0)
		return -1;
	for (uint32_t i = 0; i < src->nb_services; i++)
		if (copy_service(&dst->services[i], &src->services[i]) != 0) {
			sl_spec_free(dst);
			return -1;
		}
	return 0;
}
