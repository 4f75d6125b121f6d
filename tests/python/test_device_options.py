"""`arrowdaq validate` refuses device-driver options the instrument cannot honour, with
file:line:column, exit 2 and nothing created: the checks live in the drivers' factories
(src/arrowdaq/instruments/), which validate runs for every instrument."""
import re

import pytest

from arrowdaq_testlib import run, write_config

DMM = """
[instruments.dmm]
driver = "keysight.34461a"
resource = "TCPIP::127.0.0.1::5025::SOCKET"
options = {{ {options} }}
"""


@pytest.mark.parametrize("options, message", [
    ("nplc = 5.0", "keysight.34461a: option 'nplc' must be one of 0.02, 0.2, 1, 10, 100"),
    ("nplc = 0.5", "keysight.34461a: option 'nplc' must be one of 0.02, 0.2, 1, 10, 100"),
    ("nplc = 10, rate_hz = 10.0",
     "keysight.34461a: option 'rate_hz' = 10 is more than the 34461A can deliver: at nplc = 10"
     " with autozero on on 50 Hz mains one reading takes at least 0.4 s, so at most 2.5"
     " readings/s"),
])
def test_validate_refuses_what_the_34461a_cannot_do(tmp_path, options, message):
    cfg = write_config(tmp_path, DMM.format(options=options))
    r = run(["validate", str(cfg)])
    assert r.returncode == 2, r.stderr
    assert re.search(r"run\.toml:\d+:\d+: instruments\.dmm", r.stderr), r.stderr
    assert message in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.toml"]


def test_validate_accepts_what_the_34461a_can_do(tmp_path):
    cfg = write_config(tmp_path, DMM.format(options="nplc = 10, rate_hz = 2.5"))
    r = run(["validate", str(cfg)])
    assert r.returncode == 0, r.stderr
