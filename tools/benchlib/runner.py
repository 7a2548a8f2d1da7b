"""One bench: pcap cache, sluice build check, interleaved baseline/sluice rounds, JSON."""

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import time

from . import pcapgen
from .dpdk import (BenchError, DpdkProcess, Interval, counter_delta, eal_args, log,
                   sample_rate, wait_for_socket)
from .stages import PCAP_PORT_MAC

BASELINE = "testpmd-5tswap"
LCORES = "0-1"          # lcore 0: main (control), lcore 1: the one worker
WORKERS = 1
WORKER_CPU = 1          # the worker lcore's CPU (lcore n = CPU n with -l)
MBUF_BYTES = 2176 + 128  # data room + mbuf header, per testpmd's pool


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --------------------------------------------------------------------------
# inputs


def ensure_pcap(stage, cache_dir):
    """Generate (or reuse) the stage's pcap; return its description."""
    os.makedirs(cache_dir, exist_ok=True)
    params = stage.params()
    key = "-".join("%s%s" % (k, params[k]) for k in sorted(params) if k != "stage")
    base = os.path.join(cache_dir, "%s-%s" % (stage.name, key))
    pcap, meta_path = base + ".pcap", base + ".json"
    if os.path.exists(pcap) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("params") == params and os.path.getsize(pcap) == meta.get("size"):
            log("pcap cached: %s (%d packets)" % (pcap, meta["packets"]))
            return meta
    log("generating %s (%d flows, %d VIPs) ..." % (pcap, stage.flows, stage.vips))
    t0 = time.monotonic()
    spec, vips, flows = stage.traffic()
    tmp = pcap + ".tmp"
    meta = pcapgen.generate(tmp, spec, vips, flows)
    os.replace(tmp, pcap)
    meta.update({"file": pcap, "params": params, "size": os.path.getsize(pcap)})
    meta.update(stage.describe())
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    log("generated and verified in %.1f s" % (time.monotonic() - t0))
    return meta


def sluice_binary(args):
    """Path of the release binary, rebuilt with ninja when its build dir exists."""
    root = repo_root()
    if args.sluice:
        if not os.access(args.sluice, os.X_OK):
            raise BenchError("%s is not an executable file" % args.sluice)
        return os.path.abspath(args.sluice), None
    bdir = os.path.join(root, "build-release")
    exe = os.path.join(bdir, "app", "sluice")
    # Link-time optimisation lets the per-packet helpers of the static
    # libraries inline into the burst loop (about +20% on the mux here).
    setup = ("meson setup build-release --buildtype=release -Dtests=false -Db_lto=true && "
             "ninja -C build-release")
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        if os.path.exists(exe) or args.no_build:
            if os.path.exists(exe):
                return exe, None
            raise BenchError("build-release/app/sluice not found; run (in %s):\n    %s\n"
                             "or pass --sluice PATH" % (root, setup))
        log("setting up build-release: " + setup.split(" && ")[0])
        r = subprocess.run(["meson", "setup", bdir, "--buildtype=release", "-Dtests=false",
                            "-Db_lto=true"], cwd=root, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=600)
        if r.returncode != 0:
            raise BenchError("meson setup build-release failed:\n" +
                             r.stdout.decode(errors="replace")[-2000:])
    elif not args.no_build:
        subprocess.run(["meson", "configure", bdir, "-Db_lto=true"], cwd=root,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    if not args.no_build:
        log("ninja -C build-release (bring the binary up to date; --no-build skips)")
        r = subprocess.run(["ninja", "-C", bdir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=1800)
        if r.returncode != 0:
            lines = r.stdout.decode(errors="replace").splitlines()
            key = [l for l in lines if re.search(r"error|FAILED|undefined reference", l)
                   and len(l) < 400]
            raise BenchError("ninja -C build-release failed (use --no-build to measure the "
                             "existing binary):\n    " + "\n    ".join(key[:20] + lines[-3:]))
    if not os.path.exists(exe):
        raise BenchError("build-release/app/sluice not found; run (in %s):\n    %s"
                         % (root, setup))
    buildtype = None
    try:
        with open(os.path.join(bdir, "meson-info", "intro-buildoptions.json")) as f:
            for o in json.load(f):
                if o.get("name") == "buildtype":
                    buildtype = o.get("value")
    except (OSError, ValueError):
        pass
    if buildtype and buildtype != "release":
        log("WARNING: build-release has buildtype=%s, not release" % buildtype)
    return exe, buildtype


def mempool_mbufs(packets):
    # net_pcap's infinite_rx copies the whole pcap into mbufs of the port's
    # pool at queue set-up; the pool needs those plus the working set.
    return packets + 16384


def default_mem_mb(packets):
    need = mempool_mbufs(packets) * MBUF_BYTES / 2**20
    # sluice also holds flow/connection tables and its own pool; keep ample room
    return max(1024, int(need * 2 + 512 + 63) // 64 * 64)


def check_config(sluice, config):
    """sluice -- -c FILE --check-config: validates without EAL or ports."""
    r = subprocess.run([sluice, "--", "-c", config, "--check-config"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace").strip()
    if r.returncode != 0:
        raise BenchError("sluice rejects the generated configuration %s:\n    %s"
                         % (config, out.replace("\n", "\n    ")))
    log("config ok: " + out.splitlines()[-1] if out else "config ok")


# --------------------------------------------------------------------------
# one run of each side


def prioritise(ctx, p):
    if ctx["worker_priority"] == "none":
        return
    tids = p.prioritise_worker(WORKER_CPU, ctx["worker_priority"])
    if not tids:
        log("WARNING: %s: no thread pinned to CPU %d found" % (p.name, WORKER_CPU))


def check_port_mac(tel, who):
    try:
        info, _ = tel.query("/ethdev/info,0")
    except Exception as e:  # telemetry without ethdev: only warn
        log("%s: cannot read /ethdev/info,0 (%s); port MAC not checked" % (who, e))
        return None
    mac = (info or {}).get("mac_addr", "").lower()
    if mac != PCAP_PORT_MAC:
        raise BenchError("%s: port 0 MAC is %s but the pcap's frames are addressed to %s; "
                         "every frame would be dropped as not for us" % (who, mac, PCAP_PORT_MAC))
    return mac


def run_baseline(ctx, rnd):
    prefix = "bench%d-tp%d" % (os.getpid(), rnd)
    vdev = "net_pcap0,rx_pcap=%s,infinite_rx=1" % ctx["pcap"]["file"]
    argv = [ctx["testpmd"]] + eal_args(ctx["mem_mb"], LCORES, prefix, [vdev]) + [
        "--", "--forward-mode=5tswap", "--nb-cores=1", "--rxq=1", "--txq=1", "--burst=32",
        "--stats-period", "1", "--total-num-mbufs=%d" % mempool_mbufs(ctx["pcap"]["packets"])]
    p = DpdkProcess("testpmd", argv, os.path.join(ctx["run_dir"], "testpmd-%d.log" % rnd), prefix)
    p.start()
    try:
        if not p.wait_output(r"start packet forwarding", ctx["start_timeout"]):
            raise BenchError("testpmd did not start forwarding:\n" + p.tail())
        tel = wait_for_socket(p.telemetry_path, p.proc, 10)
        if tel is None:
            raise BenchError("testpmd telemetry socket %s missing:\n%s"
                             % (p.telemetry_path, p.tail()))
        check_port_mac(tel, "testpmd")
        prioritise(ctx, p)
        a, b, dt, noise = sample_rate(tel, "/ethdev/stats,0", ctx["warmup"], ctx["duration"],
                                      p, WORKER_CPU)
        tel.close()
    finally:
        rc = p.stop()
    d = counter_delta(a, b)
    mpps = d["ipackets"] / dt / 1e6 / WORKERS
    # cross-check: testpmd's own Rx-pps lines (first is partial; skip it)
    pps = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", p.output())]
    pps_med = statistics.median(pps[1:]) / 1e6 if len(pps) > 1 else None
    if d["ipackets"] <= 0:
        raise BenchError("testpmd received nothing:\n" + p.tail())
    s = {"mpps": mpps, "mpps_per_worker_cpu_s": per_cpu(d["ipackets"], noise),
         "interval_s": round(dt, 4), "rx": d["ipackets"], "tx": d["opackets"],
         "rx_nombuf": d.get("rx_nombuf", 0), "stats_period_rx_mpps": pps_med, "cpu": noise,
         "exit": rc}
    log("round %d baseline %s: %.3f Mpps (stats-period median %s)"
        % (rnd, BASELINE, mpps, "%.3f" % pps_med if pps_med else "n/a"))
    return s


def per_cpu(packets, cpu):
    """Mpps per second of CPU the worker thread actually got (robust to time-sharing)."""
    used = (cpu or {}).get("worker_cpu_s")
    return round(packets / used / 1e6, 4) if used else None


def disturbed(side, rnd, cpu, warnings):
    share = (cpu or {}).get("worker_cpu_share")
    if share is not None and share < 0.9:
        msg = ("round %d %s: the worker thread got only %.0f%% of its CPU (other load: "
               "loadavg %s); this sample is low by about that much"
               % (rnd, side, 100 * share, cpu.get("loadavg1")))
        log("WARNING: " + msg)
        warnings.append(msg)


def _flat_stats(v):
    if isinstance(v, dict) and "rx_packets" not in v:
        for k in ("total", "sum", "all"):
            if isinstance(v.get(k), dict):
                return v[k]
    return v


def verify_output(ctx):
    """Replay the pcap once (no infinite_rx) into sluice with tx_pcap, then let the
    stage check every transmitted frame against what it should be."""
    stage = ctx["stage"]
    prefix = "bench%d-verify" % os.getpid()
    out_pcap = os.path.join(ctx["run_dir"], "verify-out.pcap")
    vdev = "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (ctx["pcap"]["file"], out_pcap)
    argv = [ctx["sluice"]] + eal_args(ctx["mem_mb"], LCORES, prefix, [vdev]) + [
        "--", "-c", ctx["config"], "--mbufs", str(mempool_mbufs(0))]
    p = DpdkProcess("sluice", argv, os.path.join(ctx["run_dir"], "sluice-verify.log"), prefix)
    n = ctx["pcap"]["packets"]
    p.start()
    try:
        if not p.wait_output(r"sluice: ready", ctx["start_timeout"]):
            raise BenchError("sluice (verify run) did not print 'sluice: ready':\n" + p.tail(40))
        tel = wait_for_socket(p.telemetry_path, p.proc, 10)
        if tel is None:
            raise BenchError("sluice telemetry socket missing:\n" + p.tail())
        deadline = time.monotonic() + 60
        last, prev = None, None
        while time.monotonic() < deadline:
            last = _flat_stats(tel.query("/sluice/stats")[0])
            io = (last.get("rx_packets"), last.get("tx_packets"))
            if io[0] is not None and io[0] >= n and io == prev:
                break
            prev = io
            time.sleep(0.3)
        tel.close()
    finally:
        p.stop()
    counters = {k: v for k, v in sorted(last.items()) if v} if last else {}
    if not last or last.get("rx_packets", 0) < n:
        raise BenchError("verify run: sluice received %s of %d frames in 60 s; counters: %s"
                         % (last and last.get("rx_packets"), n, json.dumps(counters)))
    frames_in = list(pcapgen.read_pcap(ctx["pcap"]["file"]))
    frames_out = list(pcapgen.read_pcap(out_pcap))
    try:
        summary = stage.check_output(frames_in, frames_out)
    except AssertionError as e:
        raise BenchError("verify run: sluice's output is wrong: %s\n  input %s\n  output %s\n"
                         "  counters: %s" % (e, ctx["pcap"]["file"], out_pcap,
                                             json.dumps(counters)))
    log("verified: %d frames in, %d out, every one as expected (%s)"
        % (len(frames_in), len(frames_out), json.dumps(summary)))
    os.unlink(out_pcap)
    return summary


def run_sluice(ctx, rnd):
    stage = ctx["stage"]
    prefix = "bench%d-sl%d" % (os.getpid(), rnd)
    vdev = "net_pcap0,rx_pcap=%s,infinite_rx=1" % ctx["pcap"]["file"]
    argv = [ctx["sluice"]] + eal_args(ctx["mem_mb"], LCORES, prefix, [vdev]) + [
        "--", "-c", ctx["config"], "--mbufs", str(mempool_mbufs(ctx["pcap"]["packets"]))]
    p = DpdkProcess("sluice", argv, os.path.join(ctx["run_dir"], "sluice-%d.log" % rnd), prefix)
    p.start()
    try:
        if not p.wait_output(r"sluice: ready", ctx["start_timeout"]):
            hint = ""
            out = p.output()
            if "Not enough mbufs" in out:
                hint = ("\n  net_pcap's infinite_rx needs one mbuf per pcap frame (%d) in the "
                        "port's pool, plus the working set" % ctx["pcap"]["packets"])
            state = ("exited with %s" % p.proc.returncode if not p.alive()
                     else "still running after %d s" % ctx["start_timeout"])
            raise BenchError("sluice did not print 'sluice: ready' (%s):\n%s%s"
                             % (state, p.tail(40), hint))
        tel = wait_for_socket(p.telemetry_path, p.proc, 10)
        if tel is None:
            raise BenchError("sluice telemetry socket %s missing:\n%s"
                             % (p.telemetry_path, p.tail()))
        cmds = tel.commands()
        if "/sluice/stats" not in cmds:
            raise BenchError("sluice telemetry has no /sluice/stats (has: %s)"
                             % ", ".join(c for c in cmds if "sluice" in c or "ethdev" in c))
        check_port_mac(tel, "sluice")
        prioritise(ctx, p)
        both = "ethdev" if "/ethdev/stats" in cmds else None
        time.sleep(ctx["warmup"])
        if not p.alive():
            raise BenchError("sluice exited during warm-up:\n" + p.tail())
        iv = Interval(p, WORKER_CPU)
        a, ta = tel.query("/sluice/stats")
        ea = tel.query("/ethdev/stats,0") if both else None
        time.sleep(ctx["duration"])
        b, tb = tel.query("/sluice/stats")
        eb = tel.query("/ethdev/stats,0") if both else None
        noise = iv.finish(tb - ta)
        if not p.alive():
            raise BenchError("sluice exited during the measurement:\n" + p.tail())
        tel.close()
    finally:
        rc = p.stop()
    a, b = _flat_stats(a), _flat_stats(b)
    if "rx_packets" not in b:
        raise BenchError("/sluice/stats has no rx_packets: %s" % json.dumps(b)[:500])
    if b.get("workers", WORKERS) != WORKERS:
        raise BenchError("sluice runs %s workers; this bench measures exactly %d (-l %s)"
                         % (b.get("workers"), WORKERS, LCORES))
    gauges = {k: b[k] for k in ("mux_flows", "host_conns", "workers") if k in b}
    d = counter_delta(a, b)
    for k in gauges:
        d.pop(k, None)
    dt = tb - ta
    rx = d["rx_packets"]
    mpps = rx / dt / 1e6 / WORKERS
    port_mpps = None
    if ea and eb:
        port_mpps = (eb[0]["ipackets"] - ea[0]["ipackets"]) / (eb[1] - ea[1]) / 1e6 / WORKERS
    work = d.get(stage.work_counter)
    nonzero = {k: v for k, v in sorted(d.items()) if v}
    drops = {k: v for k, v in nonzero.items() if k.startswith("drop")}
    if rx <= 0:
        raise BenchError("sluice received nothing in %.1f s; counter deltas: %s\n%s"
                         % (dt, json.dumps(nonzero), p.tail()))
    if work is None:
        raise BenchError("/sluice/stats has no %s counter: %s" % (stage.work_counter,
                                                                 json.dumps(b)[:800]))
    frac = work / rx
    s = {"mpps": mpps, "mpps_per_worker_cpu_s": per_cpu(rx, noise),
         "interval_s": round(dt, 4), "rx": rx, "tx": d.get("tx_packets"),
         "work_counter": stage.work_counter, "work": work, "work_fraction": round(frac, 5),
         "port_rx_mpps": port_mpps, "drops": drops, "tables": gauges, "cpu": noise, "exit": rc}
    log("round %d sluice %s: %.3f Mpps (%s %.2f%% of rx; port ipackets %s Mpps)"
        % (rnd, stage.name, mpps, stage.work_counter, 100 * frac,
           "%.3f" % port_mpps if port_mpps is not None else "n/a"))
    if frac < 0.99:
        raise BenchError(
            "stage %s did not do its work: %s = %d is %.2f%% of rx_packets = %d (need >= 99%%);"
            " the bench would measure another path. Non-zero counter deltas:\n    %s\n"
            "config: %s\nlog:\n%s"
            % (stage.name, stage.work_counter, work, 100 * frac, rx,
               json.dumps(nonzero), ctx["config"], p.tail()))
    if rc not in (0, None):
        log("WARNING: sluice exited with status %s when stopped with SIGINT" % rc)
    return s


# --------------------------------------------------------------------------


def environment():
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            cpu = m.group(1) if m else None
    except OSError:
        pass
    dpdk = None
    try:
        dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    git = None
    try:
        root = repo_root()
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        git = head + ("-dirty" if dirty else "") if head else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"cpu": cpu, "cpus_online": os.cpu_count(), "kernel": platform.release(),
            "dpdk": dpdk, "git": git}


def median(xs):
    return statistics.median(xs) if xs else None


def run(args, stage):
    root = repo_root()
    if getattr(stage, "cluster_bench", False):
        sluice, buildtype = sluice_binary(args)
        return stage.run_cluster(args, sluice, buildtype, root, environment())
    bench_dir = os.path.join(root, "build-bench")
    stage.flows, stage.vips, stage.seed = args.flows, args.vips, args.seed
    if stage.flows < 1 or stage.vips < 1 or stage.vips > 250:
        raise BenchError("--flows must be >= 1 and --vips 1..250")

    pcap = ensure_pcap(stage, os.path.join(bench_dir, "cache"))
    if args.generate_only:
        return {"bench": stage.name, "pcap": _pcap_json(pcap)}

    sluice, buildtype = (None, None) if args.baseline_only else sluice_binary(args)
    testpmd = shutil.which(args.testpmd)
    if testpmd is None:
        raise BenchError("%s not found on PATH (apt-get install dpdk)" % args.testpmd)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = os.path.join(bench_dir, "runs", "%s-%s-%d" % (stage.name, stamp, os.getpid()))
    os.makedirs(run_dir, exist_ok=True)
    config = os.path.join(run_dir, "sluice.cfg")
    with open(config, "w") as f:
        f.write(stage.config())

    if sluice:
        check_config(sluice, config)

    ctx = {"stage": stage, "pcap": pcap, "config": config, "run_dir": run_dir,
           "sluice": sluice, "testpmd": testpmd,
           "mem_mb": args.mem or default_mem_mb(pcap["packets"]),
           "worker_priority": args.worker_priority,
           "warmup": args.warmup, "duration": args.duration, "start_timeout": 90}
    log("stage %s: %s" % (stage.name, stage.description))
    log("run dir %s; %d round(s) of %.0f s (+%.0f s warm-up) per side, EAL -m %d"
        % (run_dir, args.rounds, args.duration, args.warmup, ctx["mem_mb"]))

    verified = verify_output(ctx) if sluice and not args.no_verify else None
    base, slu, warnings = [], [], []
    for r in range(args.rounds):
        # Interleave, alternating which side goes first (B S, S B, B S, ...)
        # so slow drifts of the machine hit both sides alike.
        order = ("baseline", "sluice") if r % 2 == 0 else ("sluice", "baseline")
        for side in order:
            if side == "baseline":
                base.append(run_baseline(ctx, r))
                disturbed(BASELINE, r, base[-1]["cpu"], warnings)
            elif sluice:
                slu.append(run_sluice(ctx, r))
                disturbed("sluice", r, slu[-1]["cpu"], warnings)

    b_med = median([s["mpps"] for s in base])
    s_med = median([s["mpps"] for s in slu]) if slu else None
    result = {
        "bench": stage.name,
        "mpps": round(s_med, 4) if s_med is not None else None,
        "baseline": BASELINE,
        "baseline_mpps": round(b_med, 4),
        "ratio": round(s_med / b_med, 4) if s_med is not None else None,
        "workers": WORKERS,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "samples": {
            "mpps": [round(s["mpps"], 4) for s in slu],
            "baseline_mpps": [round(s["mpps"], 4) for s in base],
            "ratio": [round(a["mpps"] / b["mpps"], 4) for a, b in zip(slu, base)],
        },
        "output_verified": verified,
        "cpu_normalised": _normalised(slu, base),
        "warnings": warnings,
        "sluice_runs": slu,
        "baseline_runs": base,
        "pcap": _pcap_json(pcap),
        "worker_priority": ctx["worker_priority"],
        "eal": {"mem_mb": ctx["mem_mb"], "lcores": LCORES, "no_huge": True,
                "vdev": "net_pcap0,rx_pcap=<pcap>,infinite_rx=1"},
        "sluice": {"binary": os.path.relpath(sluice, root) if sluice else None,
                   "buildtype": buildtype, "config": os.path.relpath(config, root),
                   "work_counter": stage.work_counter},
        "testpmd": {"args": "--forward-mode=5tswap --nb-cores=1 --burst=32 "
                            "--total-num-mbufs=%d" % mempool_mbufs(pcap["packets"])},
        "run_dir": os.path.relpath(run_dir, root),
        "host": environment(),
        "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    if args.baseline_only:
        result["note"] = "--baseline-only: sluice not run"
    return result


def _normalised(slu, base):
    """Same medians from packets per second of worker CPU time actually received."""
    a = [s["mpps_per_worker_cpu_s"] for s in slu if s.get("mpps_per_worker_cpu_s")]
    b = [s["mpps_per_worker_cpu_s"] for s in base if s.get("mpps_per_worker_cpu_s")]
    ma, mb = median(a), median(b)
    return {"mpps": ma, "baseline_mpps": mb,
            "ratio": round(ma / mb, 4) if ma and mb else None,
            "note": "packets / worker-thread CPU seconds (utime+stime); "
                    "removes time-sharing with other processes, not cache interference"}


def _pcap_json(meta):
    keep = ("file", "sha256", "packets", "flows", "vips", "vip_port", "dips_per_vip", "hosts",
            "frame_bytes", "frame", "dst_mac", "clients", "one_packet_per_flow", "backend_port")
    out = {k: meta[k] for k in keep if k in meta}
    out["file"] = os.path.relpath(out["file"], repo_root())
    return out
