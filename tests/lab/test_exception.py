"""Lab tests of the kernel exception path (docs/architecture.md, "Exception
path"): every instance's kernel interfaces in its own namespace, a real TCP
connection and UDP that the mux's kernel answers on the mux's own addresses
through the DPDK port, ping that sluice answers itself, the kernel resolving
its own neighbours through sluice, a bounded flood that is rate limited while
the VIPs keep serving, and the interface gone with a SIGKILLed process.
Topology: docs/lab.md."""

import json
import re
import statistics
import threading
import time

import pytest

import sluicelab as sl

KERNEL_HTTP_PORT = 8081   # a plain HTTP server in the mux's (or a host agent's) namespace
KERNEL_UDP_PORT = 7007    # a UDP echo server there
CLOSED_UDP_PORT = 9       # nothing listens: the flood's target
FLOOD_SECONDS = 4.0
# Ten times the mux's limit, yet well within what the lab's TAPs and the
# router carry: the flood must be sluice's to drop, not the lab's links'.
FLOOD_RATE = 20000


def mux_setting(name):
    """An integer of config/lab/mux.cfg (the exception path's limits)."""
    m = re.search(rf"^\s*{name}\s*=\s*(\d+);", (sl.CONFIG_DIR / "mux.cfg").read_text(), re.M)
    assert m, f"config/lab/mux.cfg sets no {name}"
    return int(m.group(1))


TO_KERNEL_PER_S = mux_setting("to_kernel_rate")  # per worker
TO_KERNEL_BURST = mux_setting("to_kernel_burst")
FAMILIES = [pytest.param((sl.MUX4, sl.CLIENT4), id="v4"), pytest.param((sl.MUX6, sl.CLIENT6), id="v6")]


def url_of(addr, port, path="/whoami"):
    return f"http://[{addr}]:{port}{path}" if ":" in addr else f"http://{addr}:{port}{path}"


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


def ip_json(lab, inst, *args):
    r = sl.ip(lab.ns[inst], "-j", *args, check=False)
    return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else []


def spawn_server(lab, inst, name, argv):
    """A server of sl's own (`_backend`, `_udpecho`) in an instance's namespace."""
    p, lp = lab.spawn(name, [sl.PYTHON, sl.HERE] + argv, ns=lab.ns[inst], stdout=sl.subprocess.PIPE)
    line = sl.read_line(p.stdout, 15)
    if not line.startswith("ready"):
        raise sl.LabError(f"{name} did not start: {line!r}\n{sl.tail(lp)}")
    return p


@pytest.fixture(scope="module")
def kernel_servers(lab):
    """What the kernels answer: HTTP and UDP echo in the mux's namespace, HTTP in host1's."""
    if not isinstance(lab, sl.Lab):
        yield None
        return
    procs = [spawn_server(lab, "mux", "mux-kernel-http", ["_backend", "mux-kernel", "--port", KERNEL_HTTP_PORT]),
             spawn_server(lab, "mux", "mux-kernel-udp", ["_udpecho", KERNEL_UDP_PORT]),
             spawn_server(lab, "host1", "host1-kernel-http",
                          ["_backend", "host1-kernel", "--port", KERNEL_HTTP_PORT])]
    yield procs
    for p in procs:
        lab.stop(p)


class VipTraffic:
    """Requests to both VIPs, each on a new connection, in a thread, while
    something else happens; every result and its duration is kept."""

    def __init__(self, lab):
        self.lab, self.results, self.stop = lab, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        end = time.monotonic() + 60  # bounded whatever the test does
        while not self.stop.is_set() and time.monotonic() < end:
            for url in (f"http://{sl.VIP4}/", f"http://[{sl.VIP6}]/"):
                t0 = time.monotonic()
                r = self.lab.curl(url, 1)[0]
                r["seconds"] = time.monotonic() - t0
                r["url"] = url
                self.results.append(r)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
        return False

    def failures(self):
        return [r for r in self.results if not r["ok"]]


def test_every_port_has_its_kernel_interface(lab):
    """Each instance's namespace holds a kernel interface per port, named
    "sl-" + the port's name, with the port's MAC and the port's addresses and
    no IPv6 link-local address; a source rule sends what the kernel sends
    from each address to the instance's routing table."""
    problems = []
    expected_addrs = {"mux": [sl.INSTANCES["mux"].addrs],
                      "host1": [sl.INSTANCES["host1"].addrs, ["198.18.1.1", "2001:db8:11::1"]],
                      "host2": [sl.INSTANCES["host2"].addrs, ["198.18.2.1", "2001:db8:12::1"]]}
    for name, inst in sl.INSTANCES.items():
        rules = sl.ip(lab.ns[name], "rule", "show").stdout + sl.ip(lab.ns[name], "-6", "rule", "show").stdout
        for ifname, tap, addrs in zip(inst.kernel_ifs, inst.taps, expected_addrs[name]):
            info = ip_json(lab, name, "addr", "show", "dev", ifname)
            if not info:
                problems.append(f"{name}: no {ifname}")
                continue
            have = sorted(a["local"] for a in info[0].get("addr_info", []))
            if info[0].get("address") != tap.pmd_mac:
                problems.append(f"{name} {ifname}: MAC {info[0].get('address')}, port's {tap.pmd_mac}")
            if have != sorted(addrs):
                problems.append(f"{name} {ifname}: addresses {have}, port's {sorted(addrs)}")
            problems += [f"{name} {ifname}: source rule for {a} missing" for a in addrs
                         if f"from {a} lookup" not in rules]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("addrs", FAMILIES)
def test_tcp_to_the_mux_address_reaches_its_kernel(lab, kernel_servers, addrs):
    """A real TCP connection (HTTP) from the client to the mux's own address
    goes through the DPDK port to the mux's kernel and back, while VIP
    traffic flows; the kernel sees the client's own address."""
    mux_addr, client_addr = addrs
    before = lab.stats("mux")
    with VipTraffic(lab) as vips:
        results = lab.curl(url_of(mux_addr, KERNEL_HTTP_PORT), 10, timeout_each=5)
        time.sleep(0.5)
    after = lab.stats("mux")
    bad = [r for r in results if not r["ok"] or not r["body"].startswith(f"mux-kernel {client_addr} ")]
    assert not bad, f"{len(bad)}/10 requests to the mux's kernel failed: {bad[:3]}\n{lab.diag()}"
    assert vips.results and not vips.failures(), f"VIP requests failed meanwhile: {vips.failures()[:3]}"
    assert delta(before, after, "to_kernel") >= 10 * 3, "fewer frames to the kernel than 10 connections need"
    assert delta(before, after, "from_kernel") >= 10 * 3
    assert delta(before, after, "kernel_written") >= delta(before, after, "to_kernel")


@pytest.mark.parametrize("addrs", FAMILIES)
def test_ping_is_sluices_and_udp_the_kernels(lab, kernel_servers, addrs):
    """Ping to the mux's address is answered by sluice (the kernel counts no
    echo request); a UDP datagram to it is echoed by the mux's kernel."""
    mux_addr, _client = addrs
    echo_key = "Icmp.InEchos" if ":" not in mux_addr else "Icmp6InEchos"
    kernel_before, before = lab.snmp("mux"), lab.stats("mux")
    assert lab.ping("client", mux_addr, count=3) > 0, lab.diag()
    r = sl.run([sl.PYTHON, sl.HERE, "_udpask", mux_addr, KERNEL_UDP_PORT, "--tries", 5],
               ns=lab.ns["client"], check=False, timeout=30)
    kernel_after, after = lab.snmp("mux"), lab.stats("mux")
    answer = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
    assert answer.get("ok") and answer.get("from") == mux_addr, f"no UDP echo: {r.stdout} {r.stderr}"
    assert kernel_after.get(echo_key, 0) == kernel_before.get(echo_key, 0), "the kernel answered ping"
    assert delta(before, after, "exception") >= 3, "sluice's control thread did not take the pings"
    udp_key = "Udp.InDatagrams" if ":" not in mux_addr else "Udp6InDatagrams"
    assert kernel_after.get(udp_key, 0) > kernel_before.get(udp_key, 0)


def test_kernel_resolves_its_own_neighbours(lab, kernel_servers):
    """With its neighbour entries flushed, the mux's kernel resolves the
    router again (ARP and ND over the DPDK port): the replies reach both
    sluice's neighbour cache and the kernel."""
    sl.ip(lab.ns["mux"], "neigh", "flush", "dev", "sl-fabric", check=False)
    before = lab.stats("mux")
    for addr in (sl.MUX4, sl.MUX6):
        r = sl.run([sl.PYTHON, sl.HERE, "_udpask", addr, KERNEL_UDP_PORT, "--tries", 5],
                   ns=lab.ns["client"], check=False, timeout=30)
        assert '"ok": true' in r.stdout, f"no UDP echo from {addr}: {r.stdout}"
    after = lab.stats("mux")
    neigh = {n["dst"]: n for n in ip_json(lab, "mux", "neigh", "show", "dev", "sl-fabric")}
    for gw in (sl.GATEWAY4, sl.GATEWAY6):
        n = neigh.get(gw, {})
        assert n.get("lladdr") == lab.macs["router_fab"] and "FAILED" not in n.get("state", []), \
            f"kernel neighbour {gw}: {n} (all: {neigh})"
    assert delta(before, after, "kernel_neigh_copies") >= 2, "no ARP reply / NA went to the kernel"


def test_host_agent_kernel_takes_tcp_from_its_backend(lab, kernel_servers):
    """A backend connects to its host agent's backend-port address (what
    health probes will use): host1's kernel answers through the DPDK port."""
    results = lab.curl(url_of("198.18.1.1", KERNEL_HTTP_PORT), 5, ns="be1", timeout_each=5)
    assert all(r["ok"] and r["body"].startswith("host1-kernel 198.18.1.2 ") for r in results), results


def test_flood_to_own_address_is_rate_limited_and_vips_keep_serving(lab, kernel_servers):
    """A few seconds of UDP from the client to the mux's address, at ten
    times the mux's limit, is dropped and counted once over the per-worker
    rate, the frames that reach the kernel stay within that rate, and every
    VIP request made meanwhile succeeds without being much slower."""
    with VipTraffic(lab) as calm:
        time.sleep(2.0)
    before = lab.stats("mux")
    flood = sl.subprocess.Popen(
        ["ip", "netns", "exec", lab.ns["client"], sl.PYTHON, str(sl.HERE), "_udpflood", sl.MUX4,
         str(CLOSED_UDP_PORT), "--seconds", str(FLOOD_SECONDS), "--rate", str(FLOOD_RATE)],
        stdout=sl.subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        with VipTraffic(lab) as busy:
            flood.wait(timeout=FLOOD_SECONDS + 20)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait(timeout=5)
    time.sleep(0.5)
    after = lab.stats("mux")
    sent = json.loads(flood.stdout.read().strip().splitlines()[-1])
    limited = delta(before, after, "drop_kernel_rate_limited")
    to_kernel = delta(before, after, "to_kernel")
    budget = after["workers"] * (TO_KERNEL_PER_S * (FLOOD_SECONDS + 1.5) + TO_KERNEL_BURST)
    calm_s = statistics.median(r["seconds"] for r in calm.results)
    busy_s = statistics.median(r["seconds"] for r in busy.results) if busy.results else None
    report = (f"flood {sent}; rate limited {limited}, to the kernel {to_kernel} (budget {budget:.0f}); "
              f"VIP requests: calm {len(calm.results)} median {calm_s * 1000:.0f} ms, during the flood "
              f"{len(busy.results)} median {busy_s and busy_s * 1000:.0f} ms")
    print(report)
    assert limited > 0, "nothing was rate limited: " + report
    assert to_kernel <= budget, "more reached the kernel path than the rate allows: " + report
    assert busy.results and not busy.failures(), f"VIP requests failed: {busy.failures()[:3]}; {report}"
    # Two shared cores run the flood, the router and sluice: only a gross slowdown counts.
    assert busy_s < max(5 * calm_s, 0.5), "VIP requests slowed down: " + report
    ok = lab.curl(url_of(sl.MUX4, KERNEL_HTTP_PORT), 3, timeout_each=5)
    assert all(r["ok"] for r in ok), f"the kernel path did not recover after the flood: {ok}"


def test_kernel_interface_vanishes_when_sluice_is_killed(lab, kernel_servers):
    """SIGKILL: the mux's kernel interface and its addresses are gone with the
    process (net_tap's descriptor dies with it). Restarted, the mux makes it
    again, replaces the source rules the dead process left (one per address,
    not two) and serves the VIPs and its kernel's TCP again."""
    ns = lab.ns["mux"]
    code = lab.kill_sluice("mux")
    assert code == -9, f"mux exit status {code}"
    deadline = time.monotonic() + 5
    while sl.ip(ns, "link", "show", "dev", "sl-fabric", check=False).returncode == 0:
        assert time.monotonic() < deadline, "sl-fabric still there 5 s after SIGKILL"
        time.sleep(0.05)
    addrs = sl.ip(ns, "addr", "show").stdout
    assert sl.MUX4 not in addrs and sl.MUX6 not in addrs, addrs
    lab.start_sluice(("mux",))
    lab.warm_up()
    rules = sl.ip(ns, "rule", "show").stdout + sl.ip(ns, "-6", "rule", "show").stdout
    for a in (sl.MUX4, sl.MUX6):
        assert rules.count(f"from {a} lookup") == 1, f"source rules for {a}:\n{rules}"
    first = lab.wait_vip(f"http://{sl.VIP4}/", timeout=15)
    assert first and first["ok"], f"VIP after the restart: {first}\n{lab.diag()}"
    ok = lab.curl(url_of(sl.MUX6, KERNEL_HTTP_PORT), 3, timeout_each=5)
    assert all(r["ok"] for r in ok), f"the kernel's TCP after the restart: {ok}"
