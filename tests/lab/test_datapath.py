"""Lab tests of the data path: client -> router -> mux -> host agent -> backend,
replies from the host agents straight to the router (DSR), DIP removal by
reload. Topology: docs/lab.md."""

import os
import signal
import time

import pytest

import sluicelab as sl

V4_URL = f"http://{sl.VIP4}/"
V6_URL = f"http://[{sl.VIP6}]/"
URLS = [pytest.param(V4_URL, id="v4"), pytest.param(V6_URL, id="v6")]
N = 50
BACKEND2_DIPS = ("198.18.2.2", "2001:db8:12::2")
HOST_UPLINK_MACS = {INSTANCE.taps[0].pmd_mac: name for name, INSTANCE in sl.INSTANCES.items()
                    if name != "mux"}


def first_failures(results, k=5):
    return [r for r in results if not r["ok"]][:k]


def test_lab_configs_pass_check_config(lab):
    """config/lab/*.cfg, and the variants the reload tests write, are valid
    for the binary's own loader (sluice -- -c FILE --check-config)."""
    bad = []
    for variant, remove in (("full", ()), ("without backend2", BACKEND2_DIPS)):
        for name, inst in sl.INSTANCES.items():
            path = lab.workdir / f"check-{name}.cfg"
            path.write_text(sl.remove_dips((sl.CONFIG_DIR / inst.cfg).read_text(), remove))
            r = lab.check_config(path)
            if r.returncode != 0:
                bad.append(f"{inst.cfg} ({variant}): exit {r.returncode}: "
                           f"{(r.stderr or r.stdout).strip()[-600:]}")
    assert not bad, "\n".join(bad)


def test_instances_answer_ping(lab):
    """Every instance answers ping on its fabric addresses (v4 and v6), and
    the host agents on their backend-port addresses (what backends route via)."""
    missing = []
    for name, inst in sl.INSTANCES.items():
        for a in inst.addrs:
            if lab.ping("router", a, count=3) == 0:
                missing.append(f"{name} {a} (from the router)")
    for name, (role, _a4, _a6, g4, g6, _br) in sl.BACKENDS.items():
        for a in (g4, g6):
            if lab.ping(role, a, count=3) == 0:
                missing.append(f"{a} (from {name})")
    assert not missing, "no echo reply from: " + ", ".join(missing) + "\n" + lab.diag()


@pytest.mark.parametrize("url", URLS)
def test_vip_spreads_over_both_backends(lab, url):
    """>= 50 new connections to the VIP all succeed and both backends serve."""
    first = lab.wait_vip(url, timeout=15)
    assert first and first["ok"], f"{url} never answered: {first}\n{lab.diag()}"
    res = lab.curl(url, N)
    bad = first_failures(res)
    counts = sl.backend_counts(res)
    assert not bad, (f"{len(res) - sum(counts.values())}/{N} requests to {url} failed, e.g. {bad}; "
                     f"served: {counts}\n{lab.diag()}")
    assert set(counts) == set(sl.BACKENDS), f"not spread over both backends: {counts}\n{lab.diag()}"
    assert len({r["local_port"] for r in res}) == N, "curl reused connections"


@pytest.mark.parametrize("url,client", [pytest.param(V4_URL, sl.CLIENT4, id="v4"),
                                        pytest.param(V6_URL, sl.CLIENT6, id="v6")])
def test_backend_sees_client_address(lab, url, client):
    """The host agent translates only the destination: the backend sees the
    client's own address and port."""
    res = lab.curl(url + "whoami", 10)
    assert all(r["ok"] for r in res), f"requests failed: {first_failures(res)}\n{lab.diag()}"
    for r in res:
        name, addr, port = r["body"].split()
        assert name in sl.BACKENDS
        assert addr == client, f"backend saw {addr}, not the client {client}: {r}"
        assert int(port) == r["local_port"], f"backend saw port {port}, client used {r}"


@pytest.mark.parametrize("url", URLS)
def test_large_request_body(lab, url):
    """Full-size client packets survive encapsulation: the client's link MTU
    (1400) leaves room for the outer header on the 1500-byte fabric."""
    size = 256 * 1024
    body = lab.workdir / "body.bin"
    body.write_bytes(os.urandom(size))
    cap = lab.capture("eth0", "large-client", ns="client")
    try:
        res = lab.curl(url, 4, data_file=body, timeout_each=10)
    finally:
        time.sleep(0.3)
        pkts = cap.stop()
    assert all(r["ok"] for r in res), (f"uploads failed: {first_failures(res)}\n"
                                       f"TCP resets seen by the client: {sl.tcp_resets(pkts)}\n"
                                       f"{lab.diag()}")
    for r in res:
        name, got = r["body"].split()
        assert name in sl.BACKENDS and int(got) == size, f"backend got {got} of {size} bytes: {r}"


def test_replies_bypass_the_mux(lab):
    """DSR: the mux's link carries client->VIP packets (and the mux's tunnels),
    never a reply from a VIP; the router receives the replies from the host
    agents."""
    mux_if = sl.INSTANCES["mux"].taps[0].ifname
    cap_mux = lab.capture(mux_if, "dsr-mux")
    cap_rtr = lab.capture("fab0", "dsr-router", ns="router")
    try:
        res = lab.curl(V4_URL, 25) + lab.curl(V6_URL, 25)
    finally:
        time.sleep(0.5)
        pk_mux, pk_rtr = cap_mux.stop(), cap_rtr.stop()
    assert all(r["ok"] for r in res), f"requests failed: {first_failures(res)}\n{lab.diag()}"
    mux = sl.analyze_mux_capture(pk_mux)
    rtr = sl.analyze_mux_capture(pk_rtr)
    assert mux["to_vip"] >= 50, f"capture on {mux_if} missed client->VIP packets: {mux}"
    assert mux["encap"] >= 50, f"capture on {mux_if} saw few tunnelled packets from the mux: {mux}"
    assert mux["replies"] == 0, f"replies crossed the mux's link: {mux}"
    # positive control: the replies exist, and come from the host agents
    assert rtr["replies"] >= 50, f"router saw too few replies: {rtr}"
    from_mux = rtr["reply_macs"].get(sl.MUX_MAC, 0)
    assert from_mux == 0, f"{from_mux} replies reached the router from the mux: {rtr}"
    senders = {HOST_UPLINK_MACS.get(m, m) for m in rtr["reply_macs"]}
    assert senders == {"host1", "host2"}, f"replies came from {rtr['reply_macs']}"


def restore_full_config(lab):
    lab.write_configs()
    return {n: lab.reload(n) for n in sl.INSTANCES}


def test_dip_removal_keeps_established_connection(lab):
    """Remove backend2 (mux and host2 configs) and reload every instance over
    telemetry while a keep-alive connection served by backend2 is open: that
    connection keeps working, new connections all go to backend1."""
    ka = lab.keepalive_client(sl.VIP4, "backend2")
    try:
        assert ka.hello.get("ok"), f"no keep-alive connection to backend2: {ka.hello}\n{lab.diag()}"
        port = ka.hello["local_port"]
        r = ka.get()
        assert r.get("ok") and r["backend"] == "backend2", f"keep-alive request failed: {r}"

        # 5-tuples backend2 served before: if the client happens to reuse one, the
        # mux's flow entry (idle timeout 300 s) rightly still maps it to backend2
        earlier = sl.backend_clients(lab, "backend2")
        lab.write_configs(remove=BACKEND2_DIPS)
        for n in ("mux", "host1", "host2"):
            res = lab.reload(n)
            assert res.get("result") == "ok", f"{n}: reload without backend2 rejected: {res}"

        for i in range(5):
            r = ka.get()
            assert r.get("ok") and r["backend"] == "backend2" and r["local_port"] == port, (
                f"established connection broken after the reload (request {i + 1}): {r}\n"
                f"{lab.diag()}")
            time.sleep(0.3)
        for url, client in ((V4_URL, sl.CLIENT4), (V6_URL, sl.CLIENT6)):
            res = lab.curl(url, 30)
            counts = sl.backend_counts(res)
            assert all(r["ok"] for r in res), (
                f"new connections to {url} failed: {first_failures(res)}\n{lab.diag()}")
            to_b2 = [r["local_port"] for r in res if r["body"].split()[0] == "backend2"]
            fresh = [p for p in to_b2 if (client, p) not in earlier]
            assert counts.get("backend1", 0) > 0 and not fresh, (
                f"new connections to {url} went to {counts}; client ports that reached backend2 "
                f"without an earlier flow of that 5-tuple: {fresh} (all to backend2: {to_b2})")
        r = ka.get()
        assert r.get("ok") and r["backend"] == "backend2" and r["local_port"] == port, (
            f"established connection broken after new connections: {r}")
    finally:
        ka.close()
        restore_full_config(lab)


def wait_backends(lab, want, timeout=10, earlier=frozenset()):
    """Bounded polling until new connections to both VIPs reach exactly the
    backends in `want`. Returns {url: counts} of the last round. `earlier`:
    (client, port) pairs a removed backend served before; a client port that
    reuses one rightly reaches it through the mux's flow entry, so such
    answers are left out of the counts."""
    end, last = time.monotonic() + timeout, {}
    while time.monotonic() < end:
        last = {}
        for url, client in ((V4_URL, sl.CLIENT4), (V6_URL, sl.CLIENT6)):
            res = [r for r in lab.curl(url, 16)
                   if not (r["ok"] and r["body"].split()[0] not in want
                           and (client, r["local_port"]) in earlier)]
            last[url] = sl.backend_counts(res)
            if not all(r["ok"] for r in res):
                last[url]["failed"] = sum(1 for r in res if not r["ok"])
        if all(set(c) == set(want) for c in last.values()):
            return last
        time.sleep(0.5)
    return last


def test_sighup_reloads_config(lab):
    """SIGHUP makes every instance reload its file: without backend2 only
    backend1 serves, with the full file again both serve."""
    try:
        earlier = sl.backend_clients(lab, "backend2")
        lab.write_configs(remove=BACKEND2_DIPS)
        lab.signal_all(signal.SIGHUP)
        got = wait_backends(lab, {"backend1"}, earlier=earlier)
        assert all(set(c) == {"backend1"} for c in got.values()), (
            f"after SIGHUP without backend2: {got}\n{lab.diag()}")
        lab.write_configs()
        lab.signal_all(signal.SIGHUP)
        got = wait_backends(lab, set(sl.BACKENDS))
        assert all(set(c) == set(sl.BACKENDS) for c in got.values()), (
            f"after SIGHUP with the full config: {got}\n{lab.diag()}")
        lab.check_alive()
    finally:
        restore_full_config(lab)


def test_bad_config_is_rejected_whole(lab):
    """A reload with a broken file is rejected (error names FILE:LINE) and the
    running configuration keeps serving."""
    cfg = lab.workdir / "mux.cfg"
    good = cfg.read_text()
    try:
        cfg.write_text(good.replace('port = 8080; host = "192.0.2.22"',
                                    'port = 8080; host = "not-an-address"'))
        res = lab.reload("mux")
        assert res.get("result") == "error", f"broken config accepted: {res}"
        assert "mux.cfg:" in res.get("message", ""), f"error does not name FILE:LINE: {res}"
        got = wait_backends(lab, set(sl.BACKENDS), timeout=5)
        assert all(set(c) == set(sl.BACKENDS) for c in got.values()), (
            f"service changed after a rejected reload: {got}")
    finally:
        cfg.write_text(good)
        lab.reload("mux")
