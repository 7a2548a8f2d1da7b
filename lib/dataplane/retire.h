/*
 * Deferred freeing of what the data path may still be reading.
 *
 * The control thread swaps a new snapshot in and hands the old parts to
 * sl_retire_defer; they are freed by a later sl_retire_reclaim once every
 * worker has passed a quiescent state (RCU QSBR). The control thread never
 * waits for the workers, so a descheduled worker (several instances sharing
 * few cores) cannot stall Raft heartbeats or the API. Only when the queue
 * is full does a defer wait for a grace period, and then it frees them all.
 *
 * Single writer: call from the control thread only.
 */
#ifndef SL_DATAPLANE_RETIRE_H
#define SL_DATAPLANE_RETIRE_H

#include <stdint.h>

struct rte_rcu_qsbr;
struct sl_retire;

typedef void (*sl_retire_free_fn)(void *obj);

struct sl_retire_stats {
	uint64_t deferred;      /* objects handed over */
	uint64_t freed;         /* objects freed after their grace period */
	uint64_t waited;        /* defers that found the queue full and waited */
	unsigned pending;       /* objects not yet freed */
};

/* capacity: objects that may wait at once (rounded up to a power of two). */
struct sl_retire *sl_retire_create(struct rte_rcu_qsbr *v, unsigned capacity);
/* Frees everything still queued (waits for a grace period): workers stopped
 * or offline. */
void sl_retire_destroy(struct sl_retire *r);

/* Free obj with fn once every worker online now has passed a quiescent
 * state. NULL obj is ignored. */
void sl_retire_defer(struct sl_retire *r, sl_retire_free_fn fn, void *obj);
/* Free what is past its grace period, oldest first; returns how many. */
unsigned sl_retire_reclaim(struct sl_retire *r);
void sl_retire_get_stats(const struct sl_retire *r, struct sl_retire_stats *out);

#endif
