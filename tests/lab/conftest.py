"""Fixtures of the Sluice lab tests: one lab (namespaces, bridges, backends,
the three sluice instances) per pytest session, and a fresh manager cluster
(clusterlab.py) per cluster test. See docs/lab.md."""

import os
import signal
import sys
from pathlib import Path

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sluicelab as sl  # noqa: E402
from clusterlab import cluster  # noqa: E402,F401 - fixture of the test_cluster*.py tests

TEST_TIMEOUT = int(os.environ.get("SLUICE_LAB_TEST_TIMEOUT", "120"))  # seconds per test


class LabUnavailable:
    """Stands for the lab when it could not be set up: every test using it
    FAILS (never skips) with the reason."""

    def __init__(self, reason):
        self.reason = reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Every test is bounded in time, whatever it waits for; tests fail (in
    their call phase, so they show as FAILED) when the lab is unavailable."""
    lab = getattr(item, "funcargs", {}).get("lab")
    if isinstance(lab, LabUnavailable):
        item.obj = _fail_with(lab.reason)
    elif isinstance(lab, sl.Lab):
        try:
            lab.check_alive()  # fail at once, saying why, if an instance died earlier
        except sl.LabError as e:
            item.obj = _fail_with(str(e))
    # a test that runs longer by design says so: @pytest.mark.time_limit(SECONDS)
    marker = item.get_closest_marker("time_limit")
    limit = max(TEST_TIMEOUT, int(marker.args[0]) if marker else 0)

    def expired(_sig, _frame):
        raise TimeoutError(f"{item.name} exceeded {limit}s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _fail_with(reason):
    def failed(*_args, **_kwargs):
        pytest.fail(reason, pytrace=False)
    return failed


@pytest.fixture(scope="session")
def lab(request):
    if os.geteuid() != 0:
        yield LabUnavailable("the lab tests need root (network namespaces, TAP interfaces)")
        return
    binary = Path(os.environ.get("SLUICE_BIN", sl.DEFAULT_BINARY))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        yield LabUnavailable(
            f"sluice binary missing: {binary} does not exist or is not executable. Build it "
            "first (meson setup build && ninja -C build) or point SLUICE_BIN at it. "
            "The lab tests never skip.")
        return
    lab = sl.Lab(binary=binary)
    try:
        lab.up()
        lab.start_sluice()
        lab.warm_up()
        for url in (f"http://{sl.VIP4}/", f"http://[{sl.VIP6}]/"):
            lab.wait_vip(url, timeout=15)  # tests report the failures themselves
    except BaseException as e:  # noqa: B902 - teardown must run whatever happened
        lab.down(keep_workdir=True)
        if not isinstance(e, Exception):
            raise
        yield LabUnavailable(f"lab set-up failed: {e}")
        return
    try:
        yield lab
    finally:
        codes = lab.stop_sluice()
        print(f"\nsluice exit codes at teardown: {codes}", file=sys.stderr)
        lab.down(keep_workdir=request.session.testsfailed > 0)


@pytest.fixture(autouse=True)
def _taps_attached(request):
    """Repair a TAP whose kernel side took its port's MAC back (see sluicelab.Tap)."""
    if "lab" in request.fixturenames:
        lab = request.getfixturevalue("lab")
        if isinstance(lab, sl.Lab):
            lab.fix_taps()
    yield
