"""Checks a history of the manager fault workload (faultclient.py) against
what a Raft-replicated store promises its clients (docs/lab.md, "Manager
under faults").

A history is a list of operations, one dict each (faultclient.py writes them
as JSON lines):

    {"id": 17, "proc": "w2", "kind": "dip_add", "vip": "tcp/203.0.113.101/1003",
     "dip": "198.19.0.7:8080", "member": 2, "answered_by": 1, "hops": 1,
     "t0": 812.31, "t1": 812.35, "status": 201, "error": null,
     "body": {"generation": 40, "index": 57}}

kind is "vip_create" (with "dips", the DIPs created with it), "dip_add",
"dip_remove", "read" (with "consistency" asked for, "present", and "dips"
when present) or "cluster" (a monitor's sample of GET /v1/cluster: "state",
"term", "leader", "self"). t0/t1 are CLOCK_MONOTONIC seconds at invocation and
completion, comparable between processes of one machine.

A write's outcome is *ok* (2xx), *refused* (4xx), *not-sent* ("sent":
false: a connection was refused, so no server saw it) or *unknown* (no
answer, timeout, 5xx): an unknown write may or may not have taken effect,
and the checker allows both; refused and not-sent writes have no effect.

What the checker knows about the workload: every key is
written by one create (VIPs) or one add (DIPs) and removed at most once, and
every write's prerequisites (the VIP of a DIP add, the add of a DIP remove)
were acknowledged before it was sent. So a refusal of such a write can only
mean the cluster forgot an acknowledgement.

check(history, final) returns a list of Violation; report() renders them.
"""
from collections import defaultdict
from dataclasses import dataclass, field

OK, REFUSED, UNKNOWN, NOT_SENT = "ok", "refused", "unknown", "not-sent"
WRITES = ("vip_create", "dip_add", "dip_remove")

# violation kinds, one per property
LOST = "lost-ack"                 # (a) acknowledged write not in the final state
REFUSED_IN_EFFECT = "refused-in-effect"  # (b)
CONTRADICTION = "contradicting-refusal"  # (c)
BAD_REQUEST = "unexpected-refusal"       # a 4xx the workload should never get
STALE_READ = "stale-read"         # (d)
TWO_LEADERS = "two-leaders"       # (e)
DIVERGENCE = "divergence"         # (f)


@dataclass
class Violation:
    kind: str
    message: str
    ops: list = field(default_factory=list)

    def __str__(self):
        return "\n".join([f"[{self.kind}] {self.message}"] + [f"    {describe(o)}" for o in self.ops])


def vip_key(v):
    """"tcp/203.0.113.10/80" from a VIP object of the API."""
    return f"{v['protocol']}/{v['address']}/{v['port']}"


def dip_key(d):
    """"198.18.1.2:8080" from a DIP object of the API (IPv4 only here)."""
    return f"{d['address']}:{d['port']}"


def state_from_vips(body):
    """{VIP key: sorted DIP keys} from a GET /v1/vips body."""
    return {vip_key(v): sorted(dip_key(d) for d in v.get("dips", [])) for v in body["vips"]}


def may_apply(op):
    """Whether op may have changed the state (acknowledged or unknown)."""
    return outcome(op) in (OK, UNKNOWN)


def outcome(op):
    if op.get("sent") is False:
        return NOT_SENT  # connection refused: no server saw it
    s = op.get("status")
    if s is not None and 200 <= s < 300:
        return OK
    if s is not None and 400 <= s < 500:
        return REFUSED
    return UNKNOWN  # no answer, 5xx, or a redirect chain given up


def describe(op):
    """One line per operation, enough to find it in the history file."""
    what = op["kind"]
    if what == "cluster":
        return (f"#{op['id']} sample of n{op['member']} at {op['t1']:.3f}: {op.get('state')} "
                f"term {op.get('term')} leader {op.get('leader')}")
    target = op.get("vip", "")
    if op.get("dip"):
        target += f" dip {op['dip']}"
    if what == "read":
        what = f"read({op.get('consistency')})"
        seen = (f" -> {'present ' + str(op.get('dips')) if op.get('present') else 'absent'}"
                if op.get("status") in (200, 404) else "")
        target += seen
    body = op.get("body") or {}
    facts = " ".join(f"{k}={body[k]}" for k in ("index", "applied_index", "generation",
                                                  "consistency", "error") if k in body)
    return (f"#{op['id']} {op.get('proc', '')} {what} {target} asked n{op.get('member')} "
            f"answered by n{op.get('answered_by')}: {op.get('status') or op.get('error')} "
            f"[{op['t0']:.3f}..{op['t1']:.3f}] {facts}".rstrip())


def effects(op):
    """(elements added, elements removed) if op takes effect. Elements are
    ("vip", V) and ("dip", V, D)."""
    v = op["vip"]
    if op["kind"] == "vip_create":
        return [("vip", v)] + [("dip", v, d) for d in op.get("dips", [])], []
    if op["kind"] == "dip_add":
        return [("dip", v, op["dip"])], []
    return [], [("dip", v, op["dip"])]


def elements_of(state):
    """The set of elements in a {VIP: [DIP]} state."""
    out = set()
    for v, dips in state.items():
        out.add(("vip", v))
        out.update(("dip", v, d) for d in dips)
    return out


def prerequisite(op):
    """The element that had to exist when op was sent (None for a create)."""
    if op["kind"] == "dip_add":
        return ("vip", op["vip"])
    if op["kind"] == "dip_remove":
        return ("dip", op["vip"], op["dip"])
    return None


class History:
    """Indexes of one history: writes by element, and by outcome."""

    def __init__(self, ops):
        self.ops = list(ops)
        self.writes = [o for o in self.ops if o["kind"] in WRITES]
        self.reads = [o for o in self.ops if o["kind"] == "read"]
        self.samples = [o for o in self.ops if o["kind"] == "cluster"]
        self.adds = defaultdict(list)     # element -> ops that add it
        self.removes = defaultdict(list)  # element -> ops that remove it
        for o in self.writes:
            added, removed = effects(o)
            for e in added:
                self.adds[e].append(o)
            for e in removed:
                self.removes[e].append(o)
        self.vip_elements = defaultdict(set)  # VIP -> every element under it ever written
        for e in list(self.adds) + list(self.removes):
            self.vip_elements[e[1]].add(e)

    def touching(self, e):
        return self.adds.get(e, []) + self.removes.get(e, [])

    def acked_before(self, e, t, removing=False):
        """An acknowledged add (or remove) of e completed before time t."""
        ops = (self.removes if removing else self.adds).get(e, [])
        return next((o for o in ops if outcome(o) == OK and o["t1"] < t), None)


# ---------------------------------------------------------------- (a), (b)
def check_final(h, state):
    """Acknowledged writes are in the final state, writes that had no effect
    (refused, not sent) are not."""
    have = elements_of(state)
    out = []
    for e in sorted(set(h.adds) | set(h.removes)):
        adds, removes = h.adds.get(e, []), h.removes.get(e, [])
        acked = [a for a in adds if outcome(a) == OK]
        if e in have and adds and not any(map(may_apply, adds)):
            out.append(Violation(REFUSED_IN_EFFECT, f"{fmt(e)} is in the final state, but every "
                                 "write that adds it was refused or never sent", adds))
        if e not in have and acked and not any(map(may_apply, removes)):
            if removes:
                out.append(Violation(REFUSED_IN_EFFECT, f"{fmt(e)} is gone from the final state: "
                                     "its refused removal took effect", acked[:1] + removes))
            else:
                out.append(Violation(LOST, f"acknowledged {acked[0]['kind']} of {fmt(e)} is not "
                                     "in the final state", acked[:1]))
        if e in have and any(outcome(r) == OK for r in removes):
            out.append(Violation(LOST, f"acknowledged dip_remove of {fmt(e)}: still in the final "
                                 "state", [r for r in removes if outcome(r) == OK]))
    return out


def fmt(e):
    return f"VIP {e[1]}" if e[0] == "vip" else f"DIP {e[2]} of {e[1]}"


# ---------------------------------------------------------------- (c)
def check_refusals(h):
    """A 404 or 409 that denies an acknowledged prerequisite, or a 409 for a
    key nothing else wrote, contradicts an earlier acknowledgement."""
    out = []
    for o in h.writes:
        if outcome(o) != REFUSED:
            continue
        status = o["status"]
        if status not in (404, 409):
            out.append(Violation(BAD_REQUEST, f"{o['kind']} refused with {status}: the workload "
                                 "only sends valid writes", [o]))
            continue
        pre = prerequisite(o)
        ack = h.acked_before(pre, o["t0"]) if pre else None
        if status == 404 and ack is not None:
            out.append(Violation(CONTRADICTION, f"{o['kind']} refused 404 although {fmt(pre)} "
                                 "was acknowledged before it was sent", [ack, o]))
        elif status == 409 and not _written_before(h, o):
            out.append(Violation(CONTRADICTION, f"{o['kind']} refused 409 (exists) for a key "
                                 "no other write touched" + (f"; {fmt(pre)} was acknowledged"
                                                             if ack else ""),
                                 [x for x in (ack, o) if x]))
    return out


def _written_before(h, o):
    """Another write on o's own element (not the prerequisite) invoked before o completed."""
    added, removed = effects(o)
    e = (added + removed)[0]
    return any(x is not o and x["t0"] < o["t1"] for x in h.touching(e))


# ---------------------------------------------------------------- (d)
def read_elements(read):
    """Elements a successful read of one VIP shows."""
    if read.get("status") not in (200, 404) or not read.get("present"):
        return set()
    v = read["vip"]
    return {("vip", v)} | {("dip", v, d) for d in read.get("dips", [])}


def check_reads(h):
    """Linearizable reads respect real time; any read that says how far its
    replica applied ("applied_index") reflects exactly the acknowledged
    writes up to that index."""
    out = []
    for r in h.reads:
        if r.get("status") not in (200, 404):
            continue
        body = r.get("body") or {}
        shown = read_elements(r)
        scope = sorted(h.vip_elements.get(r["vip"], ()))
        if body.get("consistency") == "linearizable":
            out += [v for e in scope for v in _realtime(h, r, e, e in shown)]
        if isinstance(body.get("applied_index"), int):
            out += [v for e in scope for v in _at_index(h, r, e, e in shown, body["applied_index"])]
    return out


def _realtime(h, r, e, present):
    if present:
        if not any(a["t0"] < r["t1"] and may_apply(a) for a in h.adds.get(e, [])):
            yield Violation(STALE_READ, f"linearizable read shows {fmt(e)}, which no write "
                            "sent before the read's answer can have made", h.adds.get(e, []) + [r])
        gone = h.acked_before(e, r["t0"], removing=True)
        if gone:
            yield Violation(STALE_READ, f"linearizable read still shows {fmt(e)} after its "
                            "acknowledged removal", [gone, r])
        return
    ack = h.acked_before(e, r["t0"])
    if ack and not any(x["t0"] < r["t1"] for x in h.removes.get(e, [])):
        yield Violation(STALE_READ, f"linearizable read misses {fmt(e)}, acknowledged before "
                        "the read was sent", [ack, r])


def _at_index(h, r, e, present, applied):
    ops = h.touching(e)
    if any(outcome(o) == UNKNOWN for o in ops):
        return  # may have committed at any index: no exact expectation
    acked = sorted((o for o in ops if outcome(o) == OK and isinstance((o.get("body") or {})
                                                                       .get("index"), int)),
                   key=lambda o: o["body"]["index"])
    if len(acked) != sum(outcome(o) == OK for o in ops):
        return  # an acknowledgement without an index (older server): unknown position
    applied_ops = [o for o in acked if o["body"]["index"] <= applied]
    expected = bool(applied_ops) and e in effects(applied_ops[-1])[0]
    if present != expected:
        why = applied_ops[-1:] or acked[:1]
        yield Violation(STALE_READ, f"read at applied_index {applied} shows {fmt(e)} "
                        f"{'present' if present else 'absent'}, but the acknowledged writes up "
                        f"to that index leave it {'present' if expected else 'absent'}",
                        why + [r])


# ---------------------------------------------------------------- (e)
def check_leaders(h):
    """Election safety: at most one member claims leadership in any term.
    Only self-claims count: a libraft follower that bumps its term (a vote
    request) keeps naming the previous term's leader until it hears from a
    new one, so its "leader" next to its "term" is no claim about that term."""
    claims = defaultdict(dict)  # term -> member -> first sample where it led
    for s in h.samples:
        if s.get("status") == 200 and s.get("state") == "leader":
            claims[s["term"]].setdefault(s["member"], s)
    return [Violation(TWO_LEADERS, f"term {t}: members {sorted(who)} all claimed leadership",
                      list(who.values()))
            for t, who in sorted(claims.items()) if len(who) > 1]


# ---------------------------------------------------------------- (f)
def check_convergence(final):
    """Every member ends with the same state and generation, and its data
    plane serves that generation."""
    out = []
    if not final:
        return [Violation(DIVERGENCE, "no final state collected from any member")]
    ref_id = min(final)
    ref = final[ref_id]
    for m, f in sorted(final.items()):
        if f.get("dataplane_generation") != f.get("generation"):
            out.append(Violation(DIVERGENCE, f"member {m}: data plane serves generation "
                                 f"{f.get('dataplane_generation')}, state is at {f.get('generation')}"))
        if m == ref_id:
            continue
        if f.get("generation") != ref.get("generation"):
            out.append(Violation(DIVERGENCE, f"member {m} is at generation {f.get('generation')}, "
                                 f"member {ref_id} at {ref.get('generation')}"))
        if f.get("vips") != ref.get("vips"):
            a, b = elements_of(ref.get("vips", {})), elements_of(f.get("vips", {}))
            diff = sorted(map(fmt, a ^ b))
            out.append(Violation(DIVERGENCE, f"member {m}'s state differs from member {ref_id}'s in "
                                 f"{len(diff)} elements: {', '.join(diff[:5])}"
                                 + (" ..." if len(diff) > 5 else "")))
    return out


# ---------------------------------------------------------------- all together
def check(ops, final):
    """Every violation of the history against the final states.

    final: {member id: {"vips": {VIP: [DIP]}, "generation": G,
    "dataplane_generation": D}}, collected after the workload stopped and the
    cluster converged."""
    h = History(ops)
    state = final[min(final)]["vips"] if final else {}
    return (check_final(h, state) + check_refusals(h) + check_reads(h) + check_leaders(h)
            + check_convergence(final))


def summary(ops):
    """Counts of writes by kind and outcome, and reads checked."""
    counts = defaultdict(int)
    for o in ops:
        if o["kind"] in WRITES:
            counts[f"{o['kind']} {outcome(o)}"] += 1
        elif o["kind"] == "read":
            body = o.get("body") or {}
            seen = {200: "present", 404: "absent"}.get(o.get("status"), "no answer")
            served = body.get("consistency") or "unlabelled"
            counts[f"read {o.get('consistency')} (served {served}) {seen}"] += 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def availability(ops, faults):
    """Per fault: seconds from the fault to the first acknowledged write sent
    after it, and how far the highest term seen moved before the next fault.
    faults: [{"name": ..., "t": monotonic time}] in order."""
    sent = [(o["t0"], o["t1"]) for o in ops if o["kind"] in WRITES and outcome(o) == OK]
    terms = sorted((s["t1"], s["term"]) for s in ops if s["kind"] == "cluster"
                   and s.get("status") == 200 and isinstance(s.get("term"), int))
    lines = []
    for k, f in enumerate(faults):
        end = faults[k + 1]["t"] if k + 1 < len(faults) else float("inf")
        first = min((t1 for t0, t1 in sent if t0 >= f["t"]), default=None)
        before = max((t for ts, t in terms if ts < f["t"]), default=None)
        after = max((t for ts, t in terms if ts < end), default=None)
        wait = f"{first - f['t']:.2f}s to the first ack" if first else "NO ack after it"
        moved = (f"term {before} -> {after} (+{after - before})" if before is not None
                 and after is not None else "term unknown")
        lines.append(f"{f['name']}: {wait}, {moved}")
    return lines


def report(violations, ops, faults=(), limit=30):
    """A readable account: counts, per-fault availability, violations."""
    out = [f"history: {len(ops)} operations; {summary(ops)}"]
    out += ["faults:"] + [f"  {line}" for line in availability(ops, list(faults))]
    by_kind = defaultdict(int)
    for v in violations:
        by_kind[v.kind] += 1
    out.append(f"{len(violations)} violations" + (f" ({dict(by_kind)})" if violations else ""))
    out += [str(v) for v in violations[:limit]]
    if len(violations) > limit:
        out.append(f"... and {len(violations) - limit} more")
    return "\n".join(out)
