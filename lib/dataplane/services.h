/*
 * The shared per-service builder (inside lib/dataplane): one entry per
 * service of the spec, holding each stage's part, reused from the tables
 * being replaced when nothing it was built from changed.
 */
#ifndef SLUICE_DATAPLANE_SERVICES_H
#define SLUICE_DATAPLANE_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stage/tables.h"

/* t->service for every service of t->spec, t->index and t->built set.
 * 0, or -1 with a message in err (t->service then holds what was built). */
int sl_services_build(struct sl_tables *t, const struct sl_tables *prev, char *err, size_t errlen);

/* The same in steps (sl_tables_job, snapshot.h). begin: t->index and an
 * empty t->service[]; *reuse says whether prev's entries may serve t.
 * step: the entries from *next on, until all are in (1) or an entry built
 * (not reused) finds CLOCK_MONOTONIC past deadline_ns (0: no limit) with
 * more to do (0); -1 with a message in err. */
int sl_services_begin(struct sl_tables *t, const struct sl_tables *prev, bool *reuse, char *err,
		      size_t errlen);
int sl_services_step(struct sl_tables *t, const struct sl_tables *prev, bool reuse, uint32_t *next,
		     uint64_t deadline_ns, char *err, size_t errlen);

/* Drop t's references; an entry no snapshot uses any more is freed. */
void sl_services_release(struct sl_tables *t);

#endif
