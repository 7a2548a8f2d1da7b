/*
 * The manager state as a libraft (0.15) state machine.
 *
 * Set-up on the control thread (raft_io, e.g. raft_uv, is the caller's):
 *
 *     struct sl_mgr_fsm m;
 *     sl_mgr_fsm_init(&m);
 *     m.changed = rebuild_soon; m.changed_arg = ctx;       optional
 *     raft_init(&raft, &io, &m.fsm, id, address);
 *     sl_mgr_fsm_bind(&m, &raft);
 *     ... raft_bootstrap() on a new cluster, raft_start() ...
 *
 * Proposing (on the leader): sl_mgr_validate() for a quick 4xx, then
 * sl_mgr_cmd_to_buffer() and raft_apply(). The apply callback's `result`
 * is a struct sl_mgr_result * when status is 0 (the command was committed;
 * result says whether the state accepted it), NULL otherwise (not
 * committed: not leader, leadership lost, shutdown). It points into the
 * fsm and is valid only during the callback.
 *
 * Determinism: a committed command that breaks a rule is refused the same
 * way by every replica (result code != SL_MGR_OK, state unchanged), never
 * by failing the Raft apply; only running out of memory fails it
 * (RAFT_NOMEM), so that no replica skips an entry the others applied.
 */
#ifndef SLUICE_MANAGER_FSM_H
#define SLUICE_MANAGER_FSM_H

#include <raft.h>

#include "manager/state.h"

struct sl_mgr_result {
	enum sl_mgr_code code;       /* SL_MGR_OK, or why the state refused the command */
	char msg[SL_MGR_ERR_LEN];    /* empty on success */
	uint64_t generation;         /* of the state after the entry */
	uint64_t index;              /* Raft index of the entry (0 when unbound) */
};

struct sl_mgr_fsm;
/* After every change of state (an accepted command, a restored snapshot).
 * It may run many times in a row (log replay at start-up): rebuild the
 * data-plane tables once per loop iteration, not once per call. */
typedef void (*sl_mgr_changed_cb)(struct sl_mgr_fsm *m, void *arg);

/* Entries of at least this many bytes (a bootstrap of thousands of VIPs, a
 * large batch) are not parsed twice on the proposer and are freed on a
 * later turn of the loop: with jansson each costs ~30 ms per MB to parse and
 * ~10 to free, time the loop would not serve Raft's heartbeats. */
#define SL_MGR_FSM_LARGE (64u * 1024)
#define SL_MGR_FSM_GARBAGE 4

struct sl_mgr_fsm {
	struct raft_fsm fsm;         /* give &fsm to raft_init() */
	struct sl_mgr_state *state;  /* this replica; read-only for others */
	struct raft *raft;           /* from sl_mgr_fsm_bind(): entry indexes */
	struct sl_mgr_result result; /* what the last apply's result points to */
	sl_mgr_changed_cb changed;
	void *changed_arg;
	/* counters, for status pages */
	uint64_t n_applied;          /* commands accepted */
	uint64_t n_refused;          /* commands committed but refused by the state */
	uint64_t n_snapshots;        /* snapshots taken */
	uint64_t n_restores;         /* snapshots restored (start-up, InstallSnapshot) */
	uint64_t applied_bytes;      /* of entries applied or refused and snapshots restored */
	/* sl_mgr_fsm_proposed(): the large command this leader appended last */
	json_t *proposed;
	const void *proposed_base;
	size_t proposed_len;
	uint64_t proposed_index, proposed_term;
	/* large commands applied, freed by sl_mgr_fsm_collect() */
	json_t *garbage[SL_MGR_FSM_GARBAGE];
	unsigned nb_garbage;
};

/* Empty state. Returns 0, or -1 on ENOMEM. */
int sl_mgr_fsm_init(struct sl_mgr_fsm *m);
/* Tell the fsm its raft instance, after raft_init() and before
 * raft_start(): it reads the index of the entry being applied from it
 * (raft_last_applied() + 1; libraft applies in order, advancing it after
 * each entry, snapshots included). */
void sl_mgr_fsm_bind(struct sl_mgr_fsm *m, struct raft *r);
/* After raft_close() has completed. */
void sl_mgr_fsm_close(struct sl_mgr_fsm *m);

/*
 * The proposer's side: after raft_apply() of buf (from
 * sl_mgr_cmd_to_buffer(cmd)) succeeded, hand cmd over (its reference is
 * taken). When the entry applies while this member still leads in the
 * term it appended it in (a leader never overwrites its own log, so the
 * entry at that index is this one), apply uses cmd instead of parsing the
 * entry again: the same command, since the encoding parses back to it.
 * Only entries of SL_MGR_FSM_LARGE bytes or more are kept so.
 */
void sl_mgr_fsm_proposed(struct sl_mgr_fsm *m, const struct raft_buffer *buf, json_t *cmd);
/* Free a command (len: its entry's size) now, or, when large, at the next
 * sl_mgr_fsm_collect() (call it on a later turn of the loop). */
void sl_mgr_fsm_dispose(struct sl_mgr_fsm *m, json_t *cmd, size_t len);
void sl_mgr_fsm_collect(struct sl_mgr_fsm *m);

/* cmd as a Raft entry payload: canonical JSON in raft_malloc()'d memory,
 * ready for raft_apply() (which takes it over on success; raft_free() it
 * if raft_apply() fails). Returns 0 or -1 (ENOMEM). */
int sl_mgr_cmd_to_buffer(const json_t *cmd, struct raft_buffer *buf, struct sl_mgr_err *err);

#endif
