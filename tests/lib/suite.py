"""suite.py: how a black-box suite runs its cases: one after the other, a line each ("ok"
or "FAIL" with the reason, and the time taken), then the "N passed, N failed" summary
that scripts/test.sh counts. Python standard library only."""

import os
import time
import traceback


def _attempt(case):
    """Runs one case: (True, what it reports, if anything) or (False, why it failed)."""
    try:
        return True, case() or ""
    except Exception as e:  # a failed check or a crash: both fail the case
        where = traceback.extract_tb(e.__traceback__)[-1]
        return False, f"{type(e).__name__} at {os.path.basename(where.filename)}:{where.lineno}: {e}"


def run_cases(suite, cases):
    """Runs (name, function) pairs in order; returns the exit status (1 if any failed)."""
    failures = 0
    for name, case in cases:
        start = time.monotonic()
        passed, text = _attempt(case)
        failures += not passed
        took = f"({time.monotonic() - start:.2f} s)"
        print(f"{'ok  ' if passed else 'FAIL'}  {name}{': ' if text else ''}{text} {took}", flush=True)
    print(f"{suite}: {len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0
