/* Leader readiness and confirmed answers: see lead.h. */
#include "manager/lead.h"

#include <stdlib.h>

struct sl_mgr_barrier {
	struct raft_barrier req;
	struct sl_mgr_lead *lead;
	raft_term term;               /* in which it was appended */
	struct sl_mgr_confirm *reqs;  /* served by this barrier */
};

void sl_mgr_lead_init(struct sl_mgr_lead *l, struct raft *r)
{
	*l = (struct sl_mgr_lead){ .raft = r };
	l->waiting_tail = &l->waiting;
}

bool sl_mgr_lead_ready(const struct sl_mgr_lead *l)
{
	return raft_state(l->raft) == RAFT_LEADER && l->ready_term == l->raft->current_term;
}

static void answer_all(struct sl_mgr_lead *l, struct sl_mgr_confirm *list, int status)
{
	while (list != NULL) {
		struct sl_mgr_confirm *req = list;
		list = req->next;
		req->next = NULL;
		if (status == 0)
			l->n_confirmed++;
		else
			l->n_failed++;
		req->cb(req, status);
	}
}

static struct sl_mgr_confirm *take_waiting(struct sl_mgr_lead *l)
{
	struct sl_mgr_confirm *list = l->waiting;
	l->waiting = NULL;
	l->waiting_tail = &l->waiting;
	return list;
}

static void start_barrier(struct sl_mgr_lead *l);

static void on_barrier(struct raft_barrier *req, int status)
{
	struct sl_mgr_barrier *b = req->data;
	struct sl_mgr_lead *l = b->lead;
	struct sl_mgr_confirm *reqs = b->reqs;
	l->inflight = NULL;
	/* Applied means committed in b->term, by this member as leader. */
	if (status == 0 && b->term > l->ready_term)
		l->ready_term = b->term;
	free(b);
	answer_all(l, reqs, status);
	if (l->waiting == NULL)
		return;
	/* A failed barrier is libraft stepping down, inside its own clean-up
	 * of the leader's requests: appending now would corrupt that queue. */
	if (status == 0)
		start_barrier(l);
	else
		answer_all(l, take_waiting(l), status);
}

/* A barrier for every request waiting now; they fail at once when none
 * can be appended (not leader, a leadership transfer under way). */
static void start_barrier(struct sl_mgr_lead *l)
{
	struct sl_mgr_barrier *b = calloc(1, sizeof(*b));
	int rc = RAFT_NOMEM;
	if (b != NULL) {
		b->lead = l;
		b->term = l->raft->current_term;
		b->req.data = b;
		rc = raft_barrier(l->raft, &b->req, on_barrier);
	}
	if (rc != 0) {
		free(b);
		answer_all(l, take_waiting(l), rc);
		return;
	}
	b->reqs = take_waiting(l);
	l->inflight = b;
	l->n_barriers++;
}

void sl_mgr_lead_tick(struct sl_mgr_lead *l)
{
	if (l->inflight == NULL && raft_state(l->raft) == RAFT_LEADER &&
	    l->ready_term != l->raft->current_term && l->raft->transfer == NULL)
		start_barrier(l);
}

void sl_mgr_lead_confirm(struct sl_mgr_lead *l, struct sl_mgr_confirm *req)
{
	req->next = NULL;
	*l->waiting_tail = req;
	l->waiting_tail = &req->next;
	/* One in flight was appended before this request arrived: its commit
	 * proves nothing about now, so the request waits for the next one. */
	if (l->inflight == NULL)
		start_barrier(l);
}

void sl_mgr_lead_close(struct sl_mgr_lead *l)
{
	answer_all(l, take_waiting(l), RAFT_SHUTDOWN);
}
