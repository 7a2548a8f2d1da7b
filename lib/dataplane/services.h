/*
 * The shared per-service builder (inside lib/dataplane): one entry per
 * service of the spec, holding each stage's part, reused from the tables
 * being replaced when nothing it was built from changed.
 */
#ifndef SLUICE_DATAPLANE_SERVICES_H
#define SLUICE_DATAPLANE_SERVICES_H

#include <stddef.h>

#include "stage/tables.h"

/* t->service for every service of t->spec, t->index and t->built set.
 * 0, or -1 with a message in err (t->service then holds what was built). */
int sl_services_build(struct sl_tables *t, const struct sl_tables *prev, char *err, size_t errlen);

/* Drop t's references; an entry no snapshot uses any more is freed. */
void sl_services_release(struct sl_tables *t);

#endif
