"""Points of presence, unicast + anycast (issue 11, part 3): two PoPs, each
a mux and a host agent, behind a transit router running BIRD; the PoPs live
in the replicated state (poplab.py, docs/lab.md, "PoPs"). A client reaches
a VIP of A's unicast prefix at A; `sluicectl pop drain a` withdraws that
prefix, and new connections follow the shared supernet to B. The time from
the drain command to the first connection B served is printed as a [pop]
line."""

import time

import pytest

import bgplab
import poplab
import sluicelab as sl

URL = f"http://{sl.VIP4}/"
A, B = bgplab.MUXES["mux1"][0], bgplab.MUXES["mux2"][0]
UNICAST_A = poplab.POPS["a"][1]
DRAIN_BOUND_S = 2.0


@pytest.fixture(scope="module")
def lab(request):
    """This module's lab, under the name conftest.py's hooks look for (so an
    instance that died fails the next test at once, and TAPs are repaired)."""
    lab = poplab.started()
    yield lab
    lab.down(keep_workdir=request.session.testsfailed > 0)


@pytest.fixture
def report(capsys):
    """Print a measurement even while pytest captures output."""
    return sl.reporter(capsys, "pop")


def served(lab, n):
    """n new connections to the VIP: (how many succeeded, new flows at mux1, at mux2)."""
    f1, f2 = lab.new_flows("mux1"), lab.new_flows("mux2")
    ok = sum(r["ok"] for r in lab.curl(URL, n, timeout_each=3, connect_timeout=2))
    return ok, lab.new_flows("mux1") - f1, lab.new_flows("mux2") - f2


def pop_lines(lab, mux):
    rc, st = lab.ctl(mux, "bgp")
    assert rc == 0, f"sluicectl bgp on {mux}: {st}"
    st = st.get("sluice", {})
    return st.get("pop_state"), st.get("pop_prefixes", [])


def test_pops_replicated_and_announced(lab):
    """Both replicas hold both PoPs; each mux announces its PoP's unicast
    prefix and the supernet, and no host route for a VIP inside them."""
    for mux in ("mux1", "mux2"):
        assert lab.wait(f"{mux}: both PoPs", lambda: lab.pops(mux) == {"a": "active", "b": "active"},
                        timeout=10) is not None
    state, lines = pop_lines(lab, "mux1")
    assert state == "active"
    assert f"{UNICAST_A} unicast announced (pop active)" in lines, lines
    assert f"{poplab.SUPERNET} anycast announced (pop active)" in lines, lines
    assert lab.route(f"{sl.VIP4}/32") == set(), "a VIP inside a PoP prefix has no host route"
    # the router: A for A's /25, B on the supernet
    assert lab.route(UNICAST_A) == {A}
    assert lab.route(poplab.SUPERNET) == {B}


def test_drain_a_moves_new_connections_to_b(lab, report):
    ok, at_a, at_b = served(lab, 8)
    assert ok == 8 and at_a >= 8 and at_b == 0, \
        f"before the drain: {ok}/8 served, {at_a} new flows at A, {at_b} at B\n{lab.diag()}"

    base_b = lab.new_flows("mux2")
    t0 = time.monotonic()
    rc, _out, err = lab.api("pop", "drain", "a")
    assert rc == 0, f"sluicectl pop drain a: {err}"
    t_cmd = time.monotonic() - t0
    first_b, failed, tries = None, 0, 0
    while time.monotonic() - t0 < 10 and tries < 200:
        tries += 1
        r = lab.curl(URL, 1, timeout_each=2, connect_timeout=1)[0]
        t = time.monotonic() - t0
        if r["ok"] and lab.new_flows("mux2") > base_b:
            first_b = t
            break
        failed += not r["ok"]
    lab.wait("A's unicast prefix withdrawn at the router", lambda: lab.route(UNICAST_A) == set(),
             timeout=5, step=0.01)
    withdrawn = time.monotonic() - t0
    report(f"sluicectl pop drain a: command {t_cmd * 1000:.0f} ms; first new connection "
           f"served by B {first_b * 1000 if first_b is not None else -1:.0f} ms after the "
           f"command ({tries} tries, {failed} failed); the router had no route for {UNICAST_A} "
           f"by {withdrawn * 1000:.0f} ms")
    assert first_b is not None and first_b < DRAIN_BOUND_S, \
        f"no connection served by B within {DRAIN_BOUND_S} s of the drain: {first_b}\n{lab.diag()}"
    assert failed == 0, f"{failed} connections failed during the drain"

    # afterwards: every new connection succeeds, at B, through the supernet
    ok, at_a, at_b = served(lab, 8)
    assert ok == 8 and at_b >= 8 and at_a == 0, \
        f"after the drain: {ok}/8 served, {at_a} new flows at A, {at_b} at B"
    assert lab.route(poplab.SUPERNET) == {B}
    # the drain reached the other replica; A says why its prefix is gone
    lab.wait("mux2's replica: a draining", lambda: lab.pops("mux2").get("a") == "draining", timeout=5)
    state, lines = pop_lines(lab, "mux1")
    assert state == "draining"
    assert f"{UNICAST_A} unicast withdrawn (pop draining)" in lines, lines
    assert f"{poplab.SUPERNET} anycast announced (pop draining: the supernet stays)" in lines, lines

    # undrain: A's prefix comes back, and new connections with it
    t0 = time.monotonic()
    rc, _out, err = lab.api("pop", "undrain", "a")
    assert rc == 0, f"sluicectl pop undrain a: {err}"
    back = lab.wait("A's unicast prefix announced again", lambda: lab.route(UNICAST_A) == {A},
                    timeout=10, step=0.01)
    report(f"sluicectl pop undrain a: A's unicast prefix back at the router after "
           f"{(time.monotonic() - t0) * 1000:.0f} ms (waited {back * 1000:.0f} ms)")
    ok, at_a, at_b = served(lab, 8)
    assert ok == 8 and at_a >= 8 and at_b == 0, \
        f"after the undrain: {ok}/8 served, {at_a} new flows at A, {at_b} at B"


def test_pop_errors_are_clear(lab):
    """Bad PoPs are refused whole, with the reason; nothing changes."""
    before = lab.pops()
    rc, _o, err = lab.api("pop", "set", "c", "unicast=203.0.113.64/26")
    assert rc == 1 and "overlaps 203.0.113.0/25, a unicast prefix of PoP 'a'" in err, err
    rc, _o, err = lab.api("pop", "set", "Bad", "unicast=198.18.0.0/24")
    assert rc == 1 and "name" in err, err
    rc, _o, err = lab.api("pop", "set", "c", "unicast=198.18.0.1/24")
    assert rc == 1 and "host bits" in err, err
    rc, _o, err = lab.api("pop", "drain", "nowhere")
    assert rc == 1 and "no PoP 'nowhere'" in err, err
    assert lab.pops() == before


def test_no_sanitizer_reports(lab):
    """The muxes' logs hold no ASan/UBSan report (UBSan goes on after one:
    this is where the lab sees it)."""
    for mux in ("mux1", "mux2"):
        text = lab.logpath(mux).read_text(errors="replace")
        reports = [line for line in text.splitlines()
                   if "runtime error:" in line or "AddressSanitizer" in line]
        assert not reports, f"{mux}: " + "\n".join(reports[:5])
