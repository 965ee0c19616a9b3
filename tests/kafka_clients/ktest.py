"""Shared by the real-client tests of this folder: checks, progress lines,
waits on conditions, and the main wrapper (usage, the 55 s self-stop, the
PASS/FAIL summary). Imported by each script (its folder is on sys.path).
"""

import os
import signal
import sys
import time
import traceback

failures = []  # what expect() recorded; a CheckFailed ends the test and joins them
T0 = time.monotonic()
_reported = [0]


class CheckFailed(Exception):
    pass


def fmt(what, expected, found):
    return f"{what}\n  expected: {expected!r}\n  found:    {found!r}"


def require(cond, what, expected, found):
    """A check later steps depend on: stop at once if it fails."""
    if not cond:
        raise CheckFailed(fmt(what, expected, found))


check = require  # the kcat tests' name for it


def expect(cond, what, expected, found):
    """An independent check: record a failure and go on."""
    if not cond:
        failures.append(fmt(what, expected, found))
        print(f"FAILED CHECK: {fmt(what, expected, found)}", flush=True)
    return cond


def step(msg):
    """Report a finished step: ok, unless an expect() in it failed since the last step."""
    status = "ok" if len(failures) == _reported[0] else "NOT OK"
    _reported[0] = len(failures)
    print(f"{status} [{time.monotonic() - T0:5.1f}s]: {msg}", flush=True)


def wait_for(cond, what, timeout_s=10, interval_s=0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout_s}s waiting for: {what}")
        time.sleep(interval_s)


def bootstrap_arg(script):
    """BOOTSTRAP from the command line (exit 2 with the usage without it)."""
    if len(sys.argv) < 2:
        print(f"usage: {script} BOOTSTRAP [TMPDIR]", file=sys.stderr)
        sys.exit(2)
    return sys.argv[1]


def run(script, main, label, report=None, hard_exit=False):
    """Runs main() under a 55 s alarm; prints PASS or FAIL with every failure
    and exits 0 or 1. `label` names what the run created (for a failure's
    reader); `report()` may print more on failure; `hard_exit` leaves without
    waiting for daemon threads (consumers stuck in their clients)."""

    def on_alarm(signum, frame):
        print(f"FAIL: {script} did not finish within 55 s (hang?)", flush=True)
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(55)
    t0 = time.monotonic()
    try:
        main()
    except CheckFailed as e:
        failures.append(str(e))
    except Exception as e:  # noqa: BLE001 - a client exception is a failure too
        traceback.print_exc()
        failures.append(f"unexpected exception: {e!r}")
    if failures:
        print(f"FAIL: {script} ({label}): {len(failures)} failure(s):", flush=True)
        for f in failures:
            print(f"- {f}", flush=True)
        if report:
            report()
        sys.stdout.flush()
        if hard_exit:
            os._exit(1)
        sys.exit(1)
    print(f"PASS: {script} in {time.monotonic() - t0:.1f}s ({label})", flush=True)
    sys.exit(0)
