"""A pool of two muxes behind a real router (issue 11, part 2): BIRD on both
sides, BFD, kernel ECMP with an L4 hash; the VIP routes the router has come
from BGP only. Each test measures how fast the router's routes follow what
happens to a mux and prints it (docs/lab.md, "BGP pool")."""

import shutil
import signal
import threading
import time

import pytest

import bgplab
import sluicelab as sl

URLS = (f"http://{sl.VIP4}/", f"http://[{sl.VIP6}]/")
WITHDRAW_BOUND_S = 1.0   # BFD 100 ms x 3, plus BIRD and the kernel
BACK_BOUND_S = 40.0      # a BGP session's reconnect (connect delay, retry, error wait)


@pytest.fixture(scope="module")
def pool(request):
    lab = bgplab.started()
    yield lab
    lab.down(keep_workdir=request.session.testsfailed > 0)


@pytest.fixture
def report(capsys):
    """Print a measurement even while pytest captures output."""
    return sl.reporter(capsys, "bgp")


def others(name):
    return [m for m in bgplab.MUXES if m != name]


def wait_routes(lab, muxes, timeout):
    """Seconds until the router's next hops for both VIPs are exactly those
    of `muxes`, or None."""
    want4 = {bgplab.MUXES[m][0] for m in muxes}
    want6 = {bgplab.MUXES[m][1] for m in muxes}
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if lab.nexthops(sl.VIP4) == want4 and lab.nexthops(sl.VIP6) == want6:
            return time.monotonic() - t0
        time.sleep(0.005)
    return None


@pytest.fixture(autouse=True)
def settled(pool):
    """Each test starts from a pool that announces from both muxes."""
    assert wait_routes(pool, bgplab.MUXES, timeout=BACK_BOUND_S) is not None, \
        f"the router lacks a mux: {pool.nexthops(sl.VIP4)} {pool.nexthops(sl.VIP6)}\n" + \
        pool.birdc("router", "show", "protocols")
    # The withdraw bounds are BFD's: a session still coming up after the
    # previous test's restart would leave only the 9 s hold time.
    every = bgplab.mux_addrs(4) | bgplab.mux_addrs(6)
    assert bgplab.wait_until(lambda: pool.bfd_up() == every, BACK_BOUND_S, 0.1) is not None, \
        f"BFD not up with every mux: {sorted(pool.bfd_up())}\n" + \
        pool.birdc("router", "show", "bfd", "sessions")


def all_ok(lab, n=20):
    bad = []
    for url in URLS:
        bad += [r for r in lab.curl(url, n, timeout_each=3) if not r["ok"]]
    return bad


def test_pool_spreads_connections_over_both_muxes(pool, report):
    lab = pool
    before = {m: lab.stats(m)["mux_flow_new"] for m in bgplab.MUXES}
    for url in URLS:
        res = lab.curl(url, 40)
        assert all(r["ok"] for r in res), f"{url}: {[r for r in res if not r['ok']][:3]}\n{lab.diag()}"
    new = {m: lab.stats(m)["mux_flow_new"] - before[m] for m in bgplab.MUXES}
    report(f"80 new connections through the router: new flows per mux {new}")
    assert all(v > 0 for v in new.values()), f"ECMP left a mux idle: {new}"
    for m in bgplab.MUXES:
        rc, out = lab.ctl(m, "bgp")
        assert rc == 0, out
        assert out["sluice"]["state"] == "serving"
        assert sorted(out["sluice"]["announced"]) == sorted([f"{sl.VIP4}/32", f"{sl.VIP6}/128"])
        sessions = {s["name"]: s for s in out["sessions"]}
        assert set(sessions) == {"peer_router", "peer_router6"}, out
        for s in sessions.values():
            assert s["info"] == "Established" and s["prefixes_sent"] == 1, s
        assert lab.stats(m)["bgp_announced"] >= 2


def test_sigstop_withdraws_and_sigcont_announces_again(pool, report):
    lab = pool
    m = "mux2"
    lab.pause(m)
    try:
        t = wait_routes(lab, others(m), timeout=5)
        bad = all_ok(lab)
    finally:
        lab.resume(m)
    report(f"SIGSTOP {m}: router's routes withdrawn in {t if t is None else round(t * 1000)} ms")
    assert t is not None and t < WITHDRAW_BOUND_S, f"withdrawal took {t} s"
    assert not bad, bad[:3]
    back = wait_routes(lab, bgplab.MUXES, timeout=BACK_BOUND_S)
    report(f"SIGCONT {m}: announced again after {back if back is None else round(back, 1)} s")
    assert back is not None
    assert not all_ok(lab)


def test_sigkill_withdraws_new_and_long_lived_connections_survive(pool, report):
    lab = pool
    m = "mux2"
    n = 16
    ll = bgplab.LongLived(lab, sl.VIP4, n)
    try:
        assert ll.hello.get("opened") == n, ll.hello
        lab.kill_sluice(m)
        t = wait_routes(lab, others(m), timeout=5)
        report(f"SIGKILL {m}: router's routes withdrawn in {t if t is None else round(t * 1000)} ms")
        assert t is not None and t < WITHDRAW_BOUND_S, f"withdrawal took {t} s"
        bad = all_ok(lab)
        assert not bad, bad[:3]
        survived = ll.get()
        report(f"SIGKILL {m}: {survived.get('answered_same')} of {n} long-lived connections "
               "answered again by the same backend through the surviving mux")
        assert survived.get("answered_same") == n, survived
    finally:
        ll.close()
    # Back: announced only once its tables are loaded and its workers poll.
    t0 = time.monotonic()
    lab.start_sluice((m,))
    back = wait_routes(lab, bgplab.MUXES, timeout=BACK_BOUND_S)
    report(f"{m} restarted: announced again {back if back is None else round(time.monotonic() - t0, 1)} s "
           "after the start")
    assert back is not None
    log = lab.logpath(m).read_text()
    last = log[log.rindex("bgp: VIP routes go into kernel table"):]
    assert last.index("bgp: starting -> serving") < last.index("bgp: announced"), last[:2000]
    lab.warm_up()
    assert not all_ok(lab)


@pytest.mark.parametrize("how", ["sluicectl", "sigterm"])
def test_drain_loses_no_connection_and_exits_0(pool, report, how):
    lab = pool
    m = "mux1" if how == "sluicectl" else "mux2"
    results, stop = [], threading.Event()

    def client():
        i = 0
        while not stop.is_set() and i < 400:
            results.extend(lab.curl(URLS[i % 2], 2, timeout_each=3))
            i += 1
    th = threading.Thread(target=client)
    th.start()
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        if how == "sluicectl":
            rc, out = lab.ctl(m, "mux", "drain")
            assert rc == 0 and out.get("state") == "draining", out
        else:
            lab.sluice[m].send_signal(signal.SIGTERM)
        t = wait_routes(lab, others(m), timeout=5)
        code = lab.wait_exit(m, timeout=20)
        gone = time.monotonic() - t0
        time.sleep(1.0)
    finally:
        stop.set()
        th.join(timeout=60)
    report(f"drain {m} ({how}): routes withdrawn in {t if t is None else round(t * 1000)} ms, "
           f"exit {code} after {round(gone, 2)} s; {len(results)} connections meanwhile, "
           f"{sum(not r['ok'] for r in results)} failed")
    assert t is not None and t < WITHDRAW_BOUND_S
    assert code == 0, sl.tail(lab.logpath(m))
    assert results and all(r["ok"] for r in results), [r for r in results if not r["ok"]][:3]
    assert "drain: VIP traffic stopped" in lab.logpath(m).read_text()
    lab.start_sluice((m,))
    assert wait_routes(lab, bgplab.MUXES, timeout=BACK_BOUND_S) is not None
    lab.warm_up()


def test_flapping_peer_leaves_sluice_steady(pool, report):
    """Sluice speaks no BGP: a peer that flaps is BIRD's business. The
    router drops and re-opens its sessions with one mux five times; sluice
    keeps serving, announces and withdraws nothing, and traffic flows."""
    lab = pool
    m = "mux1"
    counters = ("bgp_announced", "bgp_withdrawn", "bgp_watchdog")
    before = {k: lab.stats(m)[k] for k in counters}
    announced = lab.bgp_state(m)["announced_count"]
    states, bad = [], []
    for _ in range(5):
        for peer in (m, m + "_6"):
            lab.birdc("router", "disable", peer)
        bad += all_ok(lab, 4)
        states.append(lab.bgp_state(m)["state"])
        for peer in (m, m + "_6"):
            lab.birdc("router", "enable", peer)
        time.sleep(0.3)
    back = wait_routes(lab, bgplab.MUXES, timeout=BACK_BOUND_S)
    report(f"router flapped its sessions with {m} 5 times: sluice's states {sorted(set(states))}, "
           f"routes back {back if back is None else round(back, 1)} s after the last, "
           f"{len(bad)} failed connections")
    assert lab.sluice[m].poll() is None, sl.tail(lab.logpath(m))
    assert set(states) == {"serving"}, states
    assert {k: lab.stats(m)[k] for k in counters} == before
    assert lab.bgp_state(m)["announced_count"] == announced
    assert not bad, bad[:3]
    assert back is not None


def test_start_refused_without_bird(pool):
    """bgp.require_bird (default): no BIRD running sluice's configuration at
    bgp.bird_socket is an error at start, naming what to do."""
    lab = pool
    probe = lab.tag + "probe"
    cfg = lab.workdir / "nobird.cfg"
    cfg.write_text(lab.logpath("mux1").with_name("mux1.cfg").read_text().replace(
        str(lab.bird_socket("mux1")), str(lab.workdir / "nobird.ctl")))
    sl.run(["ip", "netns", "add", probe])
    lab.extra_ns.append(probe)
    eal = ["--no-huge", "-m", "128", "--no-pci", "--no-shconf", "--file-prefix", probe, "-l", "0",
           "--vdev", "net_tap0,iface=sl-probe,mac=02:5e:00:00:00:99"]
    try:
        r = sl.run([lab.binary] + eal + ["--", "-c", cfg], ns=probe, check=False, timeout=60)
    finally:
        shutil.rmtree(f"/var/run/dpdk/{probe}", ignore_errors=True)
        sl.delete_ns(probe)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "sluice: ready" not in out, out[-2000:]
    assert f"bgp: BIRD control socket {lab.workdir / 'nobird.ctl'}: No such file or directory" in out, out[-2000:]
    assert "--bird-config OUT first (or set bgp.require_bird = false)" in out


def test_stalled_worker_withdraws_by_watchdog(pool, report):
    """One thread stopped (the worker; the control thread runs on): the
    watchdog withdraws everything and says so; the workers back, the routes
    come back after the recovery time (4 x bgp.watchdog_ms)."""
    lab = pool
    m = "mux1"
    before = lab.stats(m)["bgp_watchdog"]
    stop = bgplab.ThreadStop(bgplab.worker_thread(lab.sluice[m].pid))
    t0 = time.monotonic()
    stop.stop()
    try:
        t = wait_routes(lab, others(m), timeout=5)
        deadline = time.monotonic() + 5
        st = lab.bgp_state(m)
        while st["state"] != "watchdog" and time.monotonic() < deadline:
            time.sleep(0.05)
            st = lab.bgp_state(m)
        fired = time.monotonic() - t0
        bad = all_ok(lab, 10)
    finally:
        stop.resume()
    report(f"worker of {m} stopped (ptrace): router's routes withdrawn in "
           f"{t if t is None else round(t * 1000)} ms (BFD: the worker carries it too); "
           f"watchdog state after {round(fired, 2)} s")
    assert t is not None and t < WITHDRAW_BOUND_S
    assert st["state"] == "watchdog" and st["announced_count"] == 0, st
    assert lab.stats(m)["bgp_watchdog"] == before + 1
    assert not bad, bad[:3]
    assert "bgp: watchdog: a worker has not polled for" in lab.logpath(m).read_text()
    back = wait_routes(lab, bgplab.MUXES, timeout=BACK_BOUND_S)
    report(f"worker of {m} resumed: announced again after {back if back is None else round(back, 1)} s")
    assert back is not None
    assert lab.bgp_state(m)["state"] == "serving"
