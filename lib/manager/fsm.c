/*
 * libraft glue: entries are commands (canonical JSON), snapshots are the
 * state's canonical encoding, one buffer each.
 */
#include <stdlib.h>
#include <string.h>

#include "manager/fsm.h"
#include "manager/section.h"

/* Copy into raft_malloc()'d memory: raft frees with raft_free(), and the
 * application may have given raft its own allocator (raft_heap_set). */
static int to_raft_buffer(char *text, size_t len, struct raft_buffer *buf)
{
	/* Pad with JSON whitespace to a multiple of 8 bytes: libraft 0.15 pads
	 * entries to 8 bytes in its batches, and entries of other lengths came
	 * back shifted when a lagging member received several in one message
	 * (seen in the cluster lab: "'{' expected near 'dips'"). */
	size_t padded = (len + 7) & ~(size_t)7;
	buf->base = raft_malloc(padded > 0 ? padded : 8);
	if (buf->base != NULL) {
		memcpy(buf->base, text, len);
		memset((char *)buf->base + len, ' ', (padded > 0 ? padded : 8) - len);
	}
	buf->len = padded > 0 ? padded : 8;
	free(text);
	return buf->base != NULL ? 0 : -1;
}

int sl_mgr_cmd_to_buffer(const json_t *cmd, struct raft_buffer *buf, struct sl_mgr_err *err)
{
	struct sl_mgr_err dummy;
	char *text = json_dumps(cmd, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL || to_raft_buffer(text, strlen(text), buf) < 0)
		return sl_mgr_fail_oom(err != NULL ? err : &dummy);
	return 0;
}

static void set_result(struct sl_mgr_fsm *m, const struct sl_mgr_err *err, uint64_t index)
{
	m->result.code = err->code;
	memcpy(m->result.msg, err->msg, sizeof(m->result.msg));
	m->result.generation = m->state->generation;
	m->result.index = index;
}

static void notify(struct sl_mgr_fsm *m)
{
	if (m->changed != NULL)
		m->changed(m, m->changed_arg);
}

/* The command of the entry being applied: the proposer's own, already
 * parsed, when this member has led since it appended it (a leader never
 * overwrites its log, so the entry at that index is that one), else parsed
 * from the entry. */
static json_t *entry_command(struct sl_mgr_fsm *m, const struct raft_buffer *buf, uint64_t index,
			     struct sl_mgr_err *err)
{
	json_t *cmd = m->proposed;
	if (cmd != NULL && index >= m->proposed_index) {
		m->proposed = NULL;
		if (index == m->proposed_index && buf->base == m->proposed_base &&
		    buf->len == m->proposed_len && raft_state(m->raft) == RAFT_LEADER &&
		    m->raft->current_term == m->proposed_term)
			return cmd;
		sl_mgr_fsm_dispose(m, cmd, m->proposed_len);
	}
	return sl_mgr_cmd_parse(buf->base, buf->len, err);
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct sl_mgr_fsm *m = fsm->data;
	struct sl_mgr_err err = {0};
	/* libraft applies entries in order and advances last_applied after each. */
	uint64_t index = m->raft != NULL ? raft_last_applied(m->raft) + 1 : 0;
	json_t *cmd = entry_command(m, buf, index, &err);
	int rc = cmd != NULL ? sl_mgr_apply_entry(m->state, cmd, index, &err) : -1;
	sl_mgr_fsm_dispose(m, cmd, buf->len);
	if (rc < 0 && err.code == SL_MGR_ENOMEM)
		return RAFT_NOMEM; /* not applied here: raft tries the entry again */
	set_result(m, &err, index);
	*result = &m->result;
	m->applied_bytes += buf->len;
	if (rc < 0) {
		m->n_refused++;
		return 0;
	}
	m->n_applied++;
	notify(m);
	return 0;
}

void sl_mgr_fsm_proposed(struct sl_mgr_fsm *m, const struct raft_buffer *buf, json_t *cmd)
{
	if (m->raft == NULL || buf->len < SL_MGR_FSM_LARGE) {
		json_decref(cmd);
		return;
	}
	sl_mgr_fsm_dispose(m, m->proposed, m->proposed_len);
	m->proposed = cmd;
	m->proposed_base = buf->base;
	m->proposed_len = buf->len;
	m->proposed_index = raft_last_index(m->raft);
	m->proposed_term = m->raft->current_term;
}

void sl_mgr_fsm_dispose(struct sl_mgr_fsm *m, json_t *cmd, size_t len)
{
	/* Freeing a large command takes as long as parsing it took (~100 ms
	 * for 80,000 DIPs): not in the same turn of the loop as applying it. */
	if (cmd == NULL || len < SL_MGR_FSM_LARGE || m->nb_garbage == SL_MGR_FSM_GARBAGE) {
		json_decref(cmd);
		return;
	}
	m->garbage[m->nb_garbage++] = cmd;
}

void sl_mgr_fsm_collect(struct sl_mgr_fsm *m)
{
	while (m->nb_garbage > 0)
		json_decref(m->garbage[--m->nb_garbage]);
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct sl_mgr_fsm *m = fsm->data;
	char *text;
	size_t len;
	if (sl_mgr_state_encode(m->state, &text, &len, NULL) < 0)
		return RAFT_NOMEM;
	struct raft_buffer *b = raft_malloc(sizeof(*b));
	if (b == NULL) {
		free(text);
		return RAFT_NOMEM;
	}
	if (to_raft_buffer(text, len, b) < 0) {
		raft_free(b);
		return RAFT_NOMEM;
	}
	/* Version 1 fsm: raft frees both when done. */
	*bufs = b;
	*n_bufs = 1;
	m->n_snapshots++;
	return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct sl_mgr_fsm *m = fsm->data;
	struct sl_mgr_err err;
	struct sl_mgr_state *s = sl_mgr_state_decode(buf->base, buf->len, &err);
	if (s == NULL)
		return err.code == SL_MGR_ENOMEM ? RAFT_NOMEM : RAFT_MALFORMED;
	sl_mgr_state_free(m->state);
	m->state = s;
	m->applied_bytes += buf->len;
	raft_free(buf->base); /* ours on success, raft's on failure */
	m->n_restores++;
	notify(m);
	return 0;
}

int sl_mgr_fsm_init(struct sl_mgr_fsm *m)
{
	memset(m, 0, sizeof(*m));
	m->state = sl_mgr_state_new();
	if (m->state == NULL)
		return -1;
	m->fsm.version = 1;
	m->fsm.data = m;
	m->fsm.apply = fsm_apply;
	m->fsm.snapshot = fsm_snapshot;
	m->fsm.restore = fsm_restore;
	return 0;
}

void sl_mgr_fsm_bind(struct sl_mgr_fsm *m, struct raft *r)
{
	m->raft = r;
}

void sl_mgr_fsm_close(struct sl_mgr_fsm *m)
{
	json_decref(m->proposed);
	m->proposed = NULL;
	sl_mgr_fsm_collect(m);
	sl_mgr_state_free(m->state);
	m->state = NULL;
}
