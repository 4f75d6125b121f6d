"""Fixtures shared by the Python end-to-end tests (pytest loads this file by itself)."""
import pytest

from arrowdaq_testlib import Running


@pytest.fixture
def started(tmp_path):
    """Start real `arrowdaq run` processes in the background (arrowdaq_testlib.Running); every
    one still running when the test ends is killed, so a failed test leaves none behind."""
    procs = []

    def start(config_text, **kw):
        r = Running(tmp_path, config_text, **kw)
        procs.append(r)
        return r
    yield start
    for r in procs:
        r.kill()
