/*
 * The shared per-service builder (inside lib/dataplane): one entry per
 * service of the spec, holding each stage's part, reused from the tables
 * being replaced when nothing it was built from changed.
 *
 * A rebuild costs what changed, plus sequential passes over small arrays:
 * prev's services are walked alongside the new ones (a producer keeps its
 * order, so the index is asked only where the two part), an equal nonzero
 * rev spares comparing backends, and the reference counts live in a dense
 * array shared along the chain of tables, not in the entries.
 */
#ifndef SLUICE_DATAPLANE_SERVICES_H
#define SLUICE_DATAPLANE_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stage/tables.h"

/* Where a build in steps stands (sl_services_begin fills it). */
struct sl_services_cursor {
	bool reuse;         /* prev's entries may serve t */
	uint32_t next;      /* first service of t without its entry */
	uint32_t prev_next; /* prev's service expected next (the merge walk) */
};

/* t->service for every service of t->spec (t->built set), in steps
 * (sl_tables_job, snapshot.h). begin: t->index, room for t->service[],
 * and *c. step: the entries from c->next on, until all
 * are in (1) or an entry built (not reused) finds CLOCK_MONOTONIC past
 * deadline_ns (0: no limit) with more to do (0); -1 with a message in err.
 * prev is read, never written: its entries' counts are in the pool. */
int sl_services_begin(struct sl_tables *t, const struct sl_tables *prev, struct sl_services_cursor *c,
		      char *err, size_t errlen);
int sl_services_step(struct sl_tables *t, const struct sl_tables *prev, struct sl_services_cursor *c,
		     uint64_t deadline_ns, char *err, size_t errlen);

/* Drop t's references; an entry no tables use any more is freed. */
void sl_services_release(struct sl_tables *t);

#endif
