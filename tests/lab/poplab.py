#!/usr/bin/python3
"""
The PoP lab: two points of presence, A and B, each a mux (sluice + BIRD)
and a host agent with a real HTTP backend, behind one transit router
(BIRD) that the client reaches the VIPs through. Both muxes are in one
Raft cluster (mux1 the voter, mux2 a standby that replicates the log, Raft
over their kernel interfaces, so through the DPDK data path as BGP is),
which holds the PoPs:

    a: unicast 203.0.113.0/25    anycast 203.0.113.0/24   (mux1, host1)
    b: unicast 203.0.113.128/25  anycast 203.0.113.0/24   (mux2, host2)

The VIP 203.0.113.10 lies in A's unicast prefix; both PoPs serve it. The
router prefers A for A's unicast prefix (local-pref 200) and, on the
shared supernet, B (150 against A's 100: the client's transit is nearer B
on the anycast). So the client reaches A by A's /25; once A drains, the
/25 is withdrawn and the client follows the /24 to B. Namespaces are
"pop<pid>-<role>", file prefixes too; the rest is bgplab.BgpLab's (docs/lab.md,
"PoPs").
"""

import json

import bgplab
import sluicelab as sl

POPS = {
    # name: (mux, unicast, anycast)
    "a": ("mux1", "203.0.113.0/25", "203.0.113.0/24"),
    "b": ("mux2", "203.0.113.128/25", "203.0.113.0/24"),
}
SUPERNET = "203.0.113.0/24"
RAFT_PORT = 17000

MANAGER = """
  manager:
  {{
    id = {id};
    data_dir = "{dir}";
    members = ( {{ id = 1; address = "{a1}:{port}"; }},
                {{ id = 2; address = "{a2}:{port}"; role = "standby"; }} );
    api: {{ socket = "{socket}"; }};
  }};
"""

# The router (bgplab.ROUTER_BIRD, its template "mux") with its preferences:
# A for A's unicast prefix, B on the supernet.
ROUTER_PEER = """
protocol bgp {mux} from mux {{
  local {local};
  neighbor {addr} as {mux_as};
  ipv4 {{
    import filter {{
      if !(net ~ [ {supernet}{{24,32}} ]) then reject;
      if net = {unicast_a} then bgp_local_pref = 200;
      else if net = {supernet} then bgp_local_pref = {anycast_pref};
      else bgp_local_pref = 100;
      accept;
    }};
    export none;
  }};
}}
"""


class PopLab(bgplab.BgpLab):
    TAG_BASE = "pop"

    def api_socket(self, name):
        return self.workdir / f"{name}-api.sock"

    def write_configs(self, remove=()):
        """BgpLab's files; each mux with a manager group and its PoP."""
        paths = super().write_configs(remove)
        a1, a2 = bgplab.MUXES["mux1"][0], bgplab.MUXES["mux2"][0]
        for pop, (mux, _u, _a) in POPS.items():
            text = paths[mux].read_text()
            text = text.replace("  bgp:\n  {\n", f'  bgp:\n  {{\n    pop = "{pop}";\n', 1)
            end = text.rindex("};")
            text = text[:end] + MANAGER.format(
                id=1 if mux == "mux1" else 2, dir=self.workdir / f"{mux}-data", a1=a1, a2=a2,
                port=RAFT_PORT, socket=self.api_socket(mux)) + text[end:]
            paths[mux].write_text(text)
        return paths

    def up(self, backends=True):
        sl.Lab.up(self, backends)
        peers = ""
        for pop, (mux, _u, _a) in POPS.items():
            peers += ROUTER_PEER.format(mux=mux, local=sl.GATEWAY4, addr=bgplab.MUXES[mux][0],
                                        mux_as=bgplab.MUX_AS, supernet=SUPERNET,
                                        unicast_a=POPS["a"][1],
                                        anycast_pref=150 if pop == "b" else 100)
        conf = self.workdir / "router-bird.conf"
        conf.write_text(bgplab.ROUTER_BIRD.format(gw4=sl.GATEWAY4, router_as=bgplab.ROUTER_AS,
                                                  peers=peers))
        self.start_bird("router", conf)
        return self

    # ------------------------------------------------------------ the cluster
    def api(self, *args, mux="mux1", timeout=20):
        """sluicectl against a mux's API socket; (exit status, stdout, stderr)."""
        r = sl.run([self.sluicectl, "--socket", self.api_socket(mux), "--timeout", "10"]
                   + list(args), check=False, timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def pops(self, mux="mux1"):
        """The PoPs as mux's replica holds them: {name: state}."""
        rc, out, err = self.api("--json", "pop", "list", mux=mux)
        if rc != 0:
            return {"error": err}
        return {p["name"]: p["state"] for p in json.loads(out)["pops"]}

    # ------------------------------------------------------------ the router
    def route(self, prefix):
        """The router's next hops for exactly prefix (a set of gateways)."""
        return self.router_gateways(["exact", prefix])

    def wait(self, what, cond, timeout, step=0.05):
        """Bounded wait for cond(): the seconds it took, or LabError naming what."""
        took = bgplab.wait_until(cond, timeout, step)
        if took is None:
            raise sl.LabError(f"{what}: not within {timeout} s")
        return took

    def new_flows(self, mux):
        return int(self.stats(mux).get("mux_flow_new", 0))


def started():
    """A PopLab, up, every sluice and BIRD started, the PoPs set."""
    import os
    from pathlib import Path
    lab = PopLab(binary=Path(os.environ.get("SLUICE_BIN", sl.DEFAULT_BINARY)))
    try:
        lab.up()
        lab.start_sluice()
        lab.warm_up()
        lab.wait("a leader with the bootstrapped VIPs",
                 lambda: lab.api("vip", "show", f"tcp/{sl.VIP4}/80")[0] == 0,
                 timeout=30, step=0.2)
        for pop, (_mux, unicast, anycast) in POPS.items():
            rc, _out, err = lab.api("pop", "set", pop, f"unicast={unicast}", f"anycast={anycast}")
            if rc != 0:
                raise sl.LabError(f"sluicectl pop set {pop}: {err}")
        a, b = bgplab.MUXES["mux1"][0], bgplab.MUXES["mux2"][0]
        lab.wait("the router's routes from both PoPs",
                 lambda: lab.route(POPS["a"][1]) == {a} and lab.route(POPS["b"][1]) == {b}
                 and lab.route(SUPERNET) == {b}, timeout=40, step=0.1)
    except BaseException:
        lab.down(keep_workdir=True)
        raise
    return lab
