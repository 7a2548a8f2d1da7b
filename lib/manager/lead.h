/*
 * Answers a leader may only give when its state is current.
 *
 * libraft 0.15 appends nothing when a member wins an election, and a
 * leader never commits an entry of an earlier term by counting replicas
 * (Raft §3.6.2): until an entry of its own term commits, a new leader's
 * applied state can lack entries an earlier leader committed and
 * acknowledged. Validating a write against that state, refusing one, or
 * serving a read from it would contradict the acknowledgement. A leader
 * that was cut off and not yet deposed has the same problem.
 *
 * So, on the leader:
 *   - ready: a barrier (an empty entry) appended in the current term has
 *     been applied, so every entry committed before it is in the state.
 *     sl_mgr_lead_tick() appends that barrier as soon as a member leads.
 *     Until then writes are answered 503 with a retry hint.
 *   - confirm: for an answer that must be current (a linearizable read, a
 *     refusal) after the request arrived, one more barrier commits, which
 *     proves this member still led with a majority, and is applied. All
 *     requests that arrive while a barrier is in flight share the next one,
 *     as etcd's ReadIndex batches reads, so a burst costs two log entries,
 *     not one per request.
 *
 * Single-threaded: everything runs on the loop that runs raft.
 */
#ifndef SLUICE_MANAGER_LEAD_H
#define SLUICE_MANAGER_LEAD_H

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>

struct sl_mgr_confirm;
/* status 0: this member led, with every entry committed before the
 * request applied, at a moment after sl_mgr_lead_confirm() was called.
 * Otherwise a libraft error (RAFT_NOTLEADER, RAFT_LEADERSHIPLOST, ...). */
typedef void (*sl_mgr_confirm_cb)(struct sl_mgr_confirm *req, int status);

/* A request, owned by the caller until its callback has run. */
struct sl_mgr_confirm {
	sl_mgr_confirm_cb cb;
	void *data;
	struct sl_mgr_confirm *next; /* private */
};

struct sl_mgr_barrier; /* private: one raft barrier and the requests it serves */

struct sl_mgr_lead {
	struct raft *raft;
	raft_term ready_term;            /* term whose barrier was applied; 0: none yet */
	struct sl_mgr_barrier *inflight; /* at most one barrier at a time */
	struct sl_mgr_confirm *waiting;  /* for the next barrier, oldest first */
	struct sl_mgr_confirm **waiting_tail;
	/* counters, for status pages */
	uint64_t n_barriers;             /* barriers appended */
	uint64_t n_confirmed;            /* requests confirmed */
	uint64_t n_failed;               /* requests that could not be */
};

void sl_mgr_lead_init(struct sl_mgr_lead *l, struct raft *r);

/* Call often (every loop tick): a member that has just become leader
 * appends its barrier here. */
void sl_mgr_lead_tick(struct sl_mgr_lead *l);

/* Leader, and its state holds every entry committed before this term. */
bool sl_mgr_lead_ready(const struct sl_mgr_lead *l);

/* Calls req->cb exactly once, possibly before returning (not leader). */
void sl_mgr_lead_confirm(struct sl_mgr_lead *l, struct sl_mgr_confirm *req);

/* Fail every waiting request with RAFT_SHUTDOWN (before raft_close();
 * a barrier in flight is failed by raft itself). */
void sl_mgr_lead_close(struct sl_mgr_lead *l);

#endif
