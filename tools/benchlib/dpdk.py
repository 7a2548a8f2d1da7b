"""Starting, sampling and stopping DPDK processes (testpmd, sluice).

Every process is started in its own session (process group) and stopped by
its own pid: SIGINT, then SIGTERM, then SIGKILL, each with a bounded wait.
Its EAL runtime directory (/var/run/dpdk/<file-prefix>) is removed after.
Rates come from the DPDK telemetry socket: two reads a measured interval
apart on one connection.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

RUNTIME_DIR = "/var/run/dpdk"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    """A failure that should end the bench with a clear message."""


class Telemetry:
    """Client for DPDK's telemetry v2 socket (SOCK_SEQPACKET, JSON)."""

    def __init__(self, path, timeout=5.0):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.hello = json.loads(self.sock.recv(1 << 16).decode())
        self.max_len = int(self.hello.get("max_output_len", 16384))

    def query(self, cmd):
        """Send cmd; return (value, monotonic time at the middle of the exchange)."""
        t0 = time.monotonic()
        self.sock.send(cmd.encode())
        raw = self.sock.recv(max(self.max_len, 1 << 16))
        t1 = time.monotonic()
        reply = json.loads(raw.decode())
        key = cmd.split(",", 1)[0]
        if key not in reply:
            raise BenchError("telemetry %s: unexpected reply %r" % (cmd, raw[:300]))
        return reply[key], (t0 + t1) / 2

    def commands(self):
        return self.query("/")[0]

    def close(self):
        self.sock.close()


def wait_for_socket(path, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        if os.path.exists(path):
            try:
                return Telemetry(path)
            except OSError:
                pass
        time.sleep(0.1)
    return None


class DpdkProcess:
    """One DPDK application run, output to a log file."""

    def __init__(self, name, argv, log_path, file_prefix):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.file_prefix = file_prefix
        self.proc = None
        self._log = None

    @property
    def telemetry_path(self):
        return os.path.join(RUNTIME_DIR, self.file_prefix, "dpdk_telemetry.v2")

    def start(self):
        log("$ " + " ".join(_quote(a) for a in self.argv))
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, n=25):
        lines = self.output().splitlines()
        return "\n".join("    | " + l for l in lines[-n:])

    def wait_output(self, pattern, timeout):
        """Wait until the log matches pattern (regex); False on exit or timeout."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rx.search(self.output()):
                return True
            if self.proc.poll() is not None:
                return bool(rx.search(self.output()))
            time.sleep(0.1)
        return False

    def worker_threads(self, cpu):
        """Thread ids of this process pinned to exactly `cpu` (the worker lcore)."""
        out = []
        base = "/proc/%d/task" % self.proc.pid
        try:
            for tid in os.listdir(base):
                try:
                    with open(os.path.join(base, tid, "status")) as f:
                        m = re.search(r"^Cpus_allowed_list:\s*(\S+)", f.read(), re.M)
                    if m and m.group(1) == str(cpu):
                        out.append(int(tid))
                except OSError:
                    pass
        except OSError:
            pass
        return out

    def prioritise_worker(self, cpu, how):
        """Protect the measured worker thread (the one pinned to `cpu`) from unrelated
        load on the machine.  how = "fifo": SCHED_FIFO priority 1 (beats every normal
        task; the kernel's RT throttling still leaves 5% of the CPU to others, and other
        tasks move to the other CPU); "nice": nice -20 for the thread (weak: with
        autogroup scheduling it only counts inside the process's own session).
        Returns the thread ids changed."""
        tids = self.worker_threads(cpu)
        for tid in tids:
            try:
                if how == "fifo":
                    os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(1))
                elif how == "nice":
                    os.setpriority(os.PRIO_PROCESS, tid, -20)
            except OSError as e:
                log("cannot raise the priority of thread %d: %s" % (tid, e))
        return tids

    def thread_cpu_seconds(self, tids):
        """utime + stime of the given threads, in seconds."""
        total = 0
        for tid in tids:
            try:
                with open("/proc/%d/task/%d/stat" % (self.proc.pid, tid)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return total / CLK_TCK

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=10.0):
        """Stop the process we started (by pid/own process group), bounded."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 30.0)):
            if rc is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                rc = self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) did not exit on %s" % (self.name, self.proc.pid, sig.name))
        if self._log:
            self._log.close()
            self._log = None
        d = os.path.join(RUNTIME_DIR, self.file_prefix)
        if self.file_prefix and os.path.isdir(d):
            shutil.rmtree(d, ignore_errors=True)
        return rc


def _quote(a):
    return a if re.match(r"^[\w@%+=:,./-]+$", a) else "'" + a.replace("'", "'\\''") + "'"


def eal_args(mem_mb, lcores, file_prefix, vdevs):
    args = ["--no-huge", "-m", str(mem_mb), "--no-pci", "--no-shconf",
            "--file-prefix", file_prefix, "-l", lcores]
    for v in vdevs:
        args += ["--vdev", v]
    return args


class Interval:
    """Machine and worker-thread CPU accounting around a measured interval."""

    def __init__(self, dp, worker_cpu):
        self.dp, self.cpu = dp, worker_cpu
        self.tids = dp.worker_threads(worker_cpu)
        self.c0 = cpu_times()
        self.w0 = dp.thread_cpu_seconds(self.tids)

    def finish(self, wall):
        res = cpu_noise(self.c0, cpu_times(), "cpu%d" % self.cpu)
        if self.tids:
            used = self.dp.thread_cpu_seconds(self.tids) - self.w0
            res["worker_cpu_s"] = round(used, 3)
            res["worker_cpu_share"] = round(used / wall, 3) if wall > 0 else None
        return res


def sample_rate(tel, cmd, warmup, duration, dp, worker_cpu):
    """Read cmd twice, `duration` s apart after `warmup` s.

    Returns (first value, second value, interval s, cpu accounting)."""
    time.sleep(warmup)
    if not dp.alive():
        raise BenchError("process exited during warm-up")
    iv = Interval(dp, worker_cpu)
    v0, t0 = tel.query(cmd)
    time.sleep(duration)
    v1, t1 = tel.query(cmd)
    cpu = iv.finish(t1 - t0)
    if not dp.alive():
        raise BenchError("process exited during the measurement")
    return v0, v1, t1 - t0, cpu


def cpu_times():
    """/proc/stat per-CPU jiffies: {"cpu1": [user, nice, system, idle, iowait, irq, softirq,
    steal, ...]}."""
    out = {}
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu"):
                    parts = line.split()
                    out[parts[0]] = [int(x) for x in parts[1:]]
    except OSError:
        pass
    return out


def cpu_noise(before, after, cpu="cpu1"):
    """Steal and non-idle shares (%) of one CPU and the whole machine over an interval."""
    res = {}
    for name in (cpu, "cpu"):
        a, b = before.get(name), after.get(name)
        if not a or not b:
            continue
        d = [y - x for x, y in zip(a, b)]
        total = sum(d[:8]) or 1
        key = "all" if name == "cpu" else name
        res[key + "_steal_pct"] = round(100.0 * d[7] / total, 2) if len(d) > 7 else None
        res[key + "_busy_pct"] = round(100.0 * (total - d[3] - d[4]) / total, 2)
    try:
        res["loadavg1"] = float(open("/proc/loadavg").read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return res


def counter_delta(a, b):
    out = {}
    for k, v in b.items():
        if isinstance(v, (int, float)) and isinstance(a.get(k), (int, float)):
            out[k] = v - a[k]
    return out
