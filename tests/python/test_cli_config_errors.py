"""Bad configs and bad command lines: exit code 2 and a message naming file:line:column and
the key, before anything is acquired."""
import re

import pytest

from arrowdaq_testlib import run, write_config

GOOD_INSTRUMENT = '[instruments.a]\ndriver = "sim.ramp"\n'

CASES = {
    # name: (config text, expected "line:column" or None when only the line is known, key)
    "malformed": ('[run\nname = "x"\n' + GOOD_INSTRUMENT, r"1:\d+", None),
    "wrong_type": (
        '[instruments.a]\ndriver = "sim.ramp"\noptions = { rate_hz = "fast" }\n',
        r"3:\d+",
        "instruments.a.options.rate_hz",
    ),
    "unknown_key": ('[instruments.a]\ndrivr = "sim.ramp"\n', r"2:\d+", "drivr"),
    "missing_required": ('[instruments.a]\nresource = "SIM::x"\n', r"1:\d+", "driver"),
    "unknown_driver_option": (
        '[instruments.a]\ndriver = "sim.ramp"\noptions = { rat_hz = 5.0 }\n',
        r"3:\d+",
        "instruments.a.options.rat_hz",
    ),
    "option_out_of_range": (
        '[run]\nname = "x"\n\n[instruments.a]\ndriver = "sim.ramp"\noptions = { rate_hz = -3.0 }\n',
        r"4:\d+",
        "rate_hz",
    ),
    "unknown_driver": ('[instruments.a]\ndriver = "sim.nope"\n', r"1:\d+", "sim.ramp"),
    "bad_policy": (
        GOOD_INSTRUMENT + '\n[[subscriptions]]\nname = "s"\nstreams = ["a"]\npolicy = "lossy"\n',
        r"7:\d+",
        "policy",
    ),
}


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_exits_2_with_location(tmp_path, case, command):
    text, where, key = CASES[case]
    path = write_config(tmp_path, text, name="bad.toml")
    out = tmp_path / "out"
    args = [command, str(path)] + (["--output", str(out), "--duration", "1s"] if command == "run" else [])
    r = run(args)
    assert r.returncode == 2, r.stderr
    assert re.search(r"bad\.toml:" + where + r":", r.stderr), r.stderr
    if key:
        assert key in r.stderr, r.stderr
    assert not out.exists() or not any(out.iterdir()), "nothing may be written for a bad config"


def test_missing_config_file(tmp_path):
    r = run(["run", str(tmp_path / "nope.toml")])
    assert r.returncode == 2
    assert "nope.toml" in r.stderr


@pytest.mark.parametrize(
    "args",
    [[], ["run"], ["frobnicate"], ["run", "x.toml", "--bogus"], ["validate"]],
)
def test_bad_usage_exits_2(args):
    r = run(args)
    assert r.returncode == 2, (r.stdout, r.stderr)


def test_bad_duration_exits_2(tmp_path):
    path = write_config(tmp_path, GOOD_INSTRUMENT)
    r = run(["run", str(path), "--duration", "soon", "--output", str(tmp_path / "o")])
    assert r.returncode == 2
    assert "--duration" in r.stderr


def test_version_help_and_drivers():
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("arrowdaq ")
    r = run(["--help"])
    assert r.returncode == 0 and "run" in r.stdout and "validate" in r.stdout
    r = run(["drivers"])
    assert r.returncode == 0
    for name in ("sim.sine", "sim.noise", "sim.ramp"):
        assert name in r.stdout
    assert "rate_hz = 1000" in r.stdout


def test_validate_accepts_the_demo():
    import os
    demo = os.path.join(os.environ["ARROWDAQ_SOURCE_DIR"], "examples", "demo.toml")
    r = run(["validate", demo])
    assert r.returncode == 0, r.stderr
    assert "ok (3 instruments)" in r.stdout
