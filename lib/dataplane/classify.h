/*
 * Classification (inside lib/dataplane): which stage takes a frame, from
 * the claims the built stages declare (stage/stage.h), evaluated as data.
 */
#ifndef SLUICE_DATAPLANE_CLASSIFY_H
#define SLUICE_DATAPLANE_CLASSIFY_H

#include <stddef.h>

#include "stage/tables.h"

/* t->cls from the claims of t's built stages (after their tables). 0, or
 * -1 with a message in err when two stages claim the same traffic. */
int sl_classifier_build(struct sl_tables *t, char *err, size_t errlen);

/* Parse the frame m received on in_port into st and return the stage that
 * takes it, or SL_STAGE_NONE with the reason in st->drop. */
enum sl_stage_id sl_classify(const struct sl_tables *t, uint16_t in_port, const struct rte_mbuf *m,
			     struct sl_pkt_state *st);

#endif
