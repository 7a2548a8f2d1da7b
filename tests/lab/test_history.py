"""Unit tests of the history checker (history.py) and of the workload's
write generator (faultclient.py): hand-made histories, good and bad; every
kind of violation must be found, and a correct history must pass. No
network, no root: a second at most."""
import random

import pytest

import faultclient
import history as hi

V, W = "tcp/203.0.113.100/1000", "tcp/203.0.113.101/1001"
D0, D1, D2 = "198.19.0.1:8080", "198.19.0.2:8080", "198.19.0.3:8080"
_ids = iter(range(1, 1 << 30))


def op(kind, t0, t1, status, vip=V, dip=None, index=None, sent=None, **fields):
    o = {"id": next(_ids), "proc": "w0", "kind": kind, "vip": vip, "member": 1, "answered_by": 1,
         "t0": t0, "t1": t1, "status": status, "error": None if status else "timeout",
         "body": {"index": index} if index is not None else {}}
    if dip:
        o["dip"] = dip
    if sent is not None:
        o["sent"] = sent
    o.update(fields)
    return o


def create(t0, t1, status, vip=V, dips=(D0,), index=None):
    return op("vip_create", t0, t1, status, vip=vip, index=index, dips=list(dips))


def add(t0, t1, status, dip=D1, index=None, **kw):
    return op("dip_add", t0, t1, status, dip=dip, index=index, **kw)


def remove(t0, t1, status, dip=D0, index=None, **kw):
    return op("dip_remove", t0, t1, status, dip=dip, index=index, **kw)


def read(t0, t1, dips=None, consistency="linearizable", applied=None, vip=V, status=None):
    """A read of vip showing dips (None: the VIP is absent, 404)."""
    body = {"consistency": consistency}
    if applied is not None:
        body["applied_index"] = applied
    return {"id": next(_ids), "proc": "r", "kind": "read", "vip": vip, "member": 2,
            "answered_by": 1, "consistency": consistency, "t0": t0, "t1": t1,
            "status": status or (200 if dips is not None else 404), "error": None,
            "present": dips is not None, "dips": sorted(dips or []), "body": body}


def sample(t, member, state, term):
    return {"id": next(_ids), "proc": f"m{member}", "kind": "cluster", "member": member, "t0": t,
            "t1": t, "status": 200, "state": state, "term": term, "leader": None, "body": {}}


def final(state, members=(1, 2, 3), generation=5, dataplane=None):
    return {m: {"vips": state, "generation": generation,
                "dataplane_generation": generation if dataplane is None else dataplane}
            for m in members}


def good_history():
    """Create V with D0, add D1, remove D0, an unknown add of D2, reads."""
    return [create(1.0, 1.1, 201, index=5),
            add(2.0, 2.1, 201, index=6),
            remove(3.0, 3.1, 200, index=7),
            add(3.5, 5.5, None, dip=D2),                      # unknown outcome
            read(2.2, 2.3, [D0, D1]),                          # linearizable, after the add
            read(3.05, 3.2, [D0, D1]),                         # concurrent with the remove
            read(4.0, 4.1, [D1], consistency="local", applied=7),
            read(1.5, 1.6, [D0], consistency="local", applied=5),
            read(0.5, 0.6, None, consistency="local", applied=4),
            sample(1.0, 1, "leader", 2), sample(1.0, 2, "follower", 2),
            sample(6.0, 2, "leader", 3)]


def kinds(violations):
    return sorted(v.kind for v in violations)


def test_good_history_passes():
    assert hi.check(good_history(), final({V: [D1]})) == []
    assert hi.check(good_history(), final({V: [D1, D2]})) == []  # the unknown add took effect


def test_lost_acknowledged_write():
    v = hi.check(good_history(), final({V: []}))
    assert kinds(v) == [hi.LOST] and D1 in v[0].message


def test_lost_acknowledged_create():
    assert kinds(hi.check(good_history(), final({}))) == [hi.LOST, hi.LOST]


def test_acknowledged_remove_not_in_effect():
    assert kinds(hi.check(good_history(), final({V: [D0, D1]}))) == [hi.LOST]


def test_unknown_remove_may_or_may_not_apply():
    ops = [create(1.0, 1.1, 201, index=5), remove(2.0, 4.0, 503)]
    assert hi.check(ops, final({V: [D0]})) == []
    assert hi.check(ops, final({V: []})) == []


@pytest.mark.parametrize("how", [{"status": 409}, {"status": None, "sent": False}])
def test_write_without_effect_in_final_state(how):
    ops = [create(1.0, 1.1, 201, index=5), add(2.0, 2.1, **how)]
    assert kinds(hi.check(ops, final({V: [D0, D1]}))) == sorted(
        [hi.REFUSED_IN_EFFECT] + ([hi.CONTRADICTION] if how["status"] else []))


def test_refused_remove_took_effect():
    ops = [create(1.0, 1.1, 201, index=5), remove(2.0, 2.1, 404)]
    assert hi.REFUSED_IN_EFFECT in kinds(hi.check(ops, final({V: []})))


def test_refusal_contradicting_an_acknowledged_create():
    ack, refusal = create(1.0, 1.1, 201, index=5), add(2.0, 2.1, 404)
    v = hi.check([ack, refusal], final({V: [D0]}))
    assert kinds(v) == [hi.CONTRADICTION] and v[0].ops == [ack, refusal]
    text = hi.report(v, [ack, refusal])
    assert f"#{ack['id']}" in text and f"#{refusal['id']}" in text


def test_refusal_contradicting_an_acknowledged_add():
    ops = [create(1.0, 1.1, 201, index=5), add(2.0, 2.1, 201, index=6),
           remove(3.0, 3.1, 404, dip=D1)]
    assert kinds(hi.check(ops, final({V: [D0, D1]}))) == [hi.CONTRADICTION]


def test_refusal_of_a_unique_create():
    assert kinds(hi.check([create(1.0, 1.1, 409)], final({}))) == [hi.CONTRADICTION]


def test_refusal_before_the_prerequisite_was_acknowledged_is_consistent():
    ops = [create(1.0, 3.0, 201, index=5), add(2.0, 2.1, 404)]  # sent before the create's ack
    assert hi.check(ops, final({V: [D0]})) == []


def test_unexpected_refusal():
    assert kinds(hi.check([create(1.0, 1.1, 400)], final({}))) == [hi.BAD_REQUEST]


def test_linearizable_read_missing_an_acknowledged_add():
    ops = good_history() + [read(2.5, 2.6, [D0])]
    assert kinds(hi.check(ops, final({V: [D1]}))) == [hi.STALE_READ]


def test_linearizable_read_showing_an_acknowledged_remove():
    ops = good_history() + [read(3.3, 3.4, [D0, D1])]
    assert kinds(hi.check(ops, final({V: [D1]}))) == [hi.STALE_READ]


def test_linearizable_read_missing_an_acknowledged_create():
    ops = good_history() + [read(1.2, 1.3, None)]
    v = hi.check(ops, final({V: [D1]}))  # the VIP and the DIP created with it
    assert kinds(v) == [hi.STALE_READ] * 2 and any(" VIP " in x.message for x in v)


def test_read_showing_a_write_not_yet_sent():
    ops = good_history() + [read(0.2, 0.3, [D0])]
    assert kinds(hi.check(ops, final({V: [D1]}))) == [hi.STALE_READ] * 2


def test_local_read_behind_its_applied_index():
    ops = good_history() + [read(9.0, 9.1, [D0], consistency="local", applied=6)]
    assert kinds(hi.check(ops, final({V: [D1]}))) == [hi.STALE_READ]


def test_local_read_ahead_of_its_applied_index():
    ops = good_history() + [read(9.0, 9.1, [D1], consistency="local", applied=5)]
    assert kinds(hi.check(ops, final({V: [D1]}))) == [hi.STALE_READ, hi.STALE_READ]


def test_local_read_skips_elements_with_unknown_writes():
    ops = good_history() + [read(9.0, 9.1, [D0, D1, D2], consistency="local", applied=6),
                            read(9.0, 9.1, [D0, D1], consistency="local", applied=6)]
    assert hi.check(ops, final({V: [D1]})) == []


def test_unlabelled_reads_are_not_checked():
    ops = good_history() + [read(9.0, 9.1, None, consistency="linearizable")]
    ops[-1]["body"] = {}  # an older server: no consistency, no applied_index
    assert hi.check(ops, final({V: [D1]})) == []


def test_two_leaders_in_one_term():
    ops = good_history() + [sample(1.5, 3, "leader", 2)]
    v = hi.check(ops, final({V: [D1]}))
    assert kinds(v) == [hi.TWO_LEADERS] and "term 2" in v[0].message


def test_divergent_replicas():
    f = final({V: [D1]})
    f[3] = {"vips": {V: [D0, D1]}, "generation": 6, "dataplane_generation": 5}
    assert kinds(hi.check(good_history(), f)) == [hi.DIVERGENCE] * 3


def test_data_plane_behind():
    assert kinds(hi.check(good_history(), final({V: [D1]}, dataplane=4))) == [hi.DIVERGENCE] * 3


def test_availability_per_fault():
    ops = good_history()
    lines = hi.availability(ops, [{"name": "kill", "t": 1.9}, {"name": "late", "t": 50.0}])
    assert lines[0].startswith("kill: 0.20s to the first ack") and "term 2 -> 3 (+1)" in lines[0]
    assert "NO ack" in lines[1]


def test_workload_writes_are_unique_and_prerequisites_acknowledged():
    """The generator's promises the checker relies on, over many writes
    acknowledged or not at random; and it never runs dry (a soak writes for
    15 minutes)."""
    keys, rnd, seen, acked = faultclient.Keys(), random.Random(7), set(), set()
    for n in range(30000):
        w = faultclient.next_write(rnd, keys)
        assert w is not None, f"the writers starve after {n} writes"
        kind, fields, _method, _path, _body = w
        element = (kind == "dip_remove", fields["vip"], fields.get("dip"))
        assert element not in seen, f"{kind} sent twice: {fields}"
        seen.add(element)
        if kind == "dip_add":
            assert ("vip", fields["vip"]) in acked
        if kind == "dip_remove":
            assert ("dip", fields["vip"], fields["dip"]) in acked
        if rnd.random() < 0.5:
            dips = fields.get("dips") or ([fields["dip"]] if kind == "dip_add" else [])
            keys.acked(kind, fields["vip"], dips)
            acked.add(("vip", fields["vip"]))
            acked.update(("dip", fields["vip"], d) for d in dips)
        elif kind == "dip_add":
            keys.not_acked(fields["vip"])
    assert max(keys.dip_count.values()) <= faultclient.MAX_DIPS_PER_VIP


def test_pause_after_503_follows_retry_after_capped():
    r = {"status": 503, "body": {"retry_after_ms": 500}}
    assert faultclient.pause_after(r) == faultclient.MAX_RETRY_AFTER
    assert faultclient.pause_after({"status": 503, "body": {"retry_after_ms": 10}}) == 0.01
    assert faultclient.pause_after({"status": 503, "body": {}}) == faultclient.PAUSE_503
    assert faultclient.pause_after({"status": 201, "body": {}}) == 0.0
