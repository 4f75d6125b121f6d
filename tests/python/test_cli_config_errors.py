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
    # A range the driver checks: the location is the value, not the table's header.
    "option_out_of_range": (
        '[run]\nname = "x"\n\n[instruments.a]\ndriver = "sim.ramp"\noptions = { rate_hz = -3.0 }\n',
        r"6:\d+",
        "instruments.a.options.rate_hz",
    ),
    "unknown_driver": ('[instruments.a]\ndriver = "sim.nope"\n', r"2:\d+", "sim.ramp"),
    "bad_policy": (
        GOOD_INSTRUMENT + '\n[[subscriptions]]\nname = "s"\nstreams = ["a"]\npolicy = "lossy"\n',
        r"7:\d+",
        "policy",
    ),
    # Issue 11 item 6: each of these passed `validate` and failed `run` after creating a run
    # directory (or aborted it); now both refuse them the same way, before anything exists.
    "reserved_stream_name": ('[instruments.events]\ndriver = "sim.ramp"\n', r"1:\d+", "reserved"),
    "hidden_stream_name": ('[instruments.".hidden"]\ndriver = "sim.ramp"\n', r"1:\d+", "start with '.'"),
    "dot_stream_name": ('[instruments."."]\ndriver = "sim.ramp"\n', r"1:\d+", "start with '.'"),
    "dotdot_stream_name": ('[instruments.".."]\ndriver = "sim.ramp"\n', r"1:\d+", "start with '.'"),
    "stream_name_over_200": (
        "[instruments." + "s" * 201 + ']\ndriver = "sim.ramp"\n',
        r"1:\d+",
        "at most 200 characters",
    ),
    "processor_output_reserved": (
        GOOD_INSTRUMENT + '[[processors]]\nkind = "stats"\ninput = "a"\noutput = "events"\n',
        r"6:\d+",
        "processors[0].output",
    ),
    "sim_with_network_resource": (
        '[instruments.a]\ndriver = "sim.ramp"\nresource = "TCPIP::127.0.0.1::5025::SOCKET"\n',
        r"3:12",
        "instruments.a.resource",
    ),
    "network_driver_without_resource": (
        '[instruments.dmm]\ndriver = "keysight.34461a"\n',
        r"1:1",
        'missing required key "resource"',
    ),
    "camera_into_csv": (
        '[instruments.cam]\ndriver = "sim.camera"\n[storage]\nformats = ["csv"]\n',
        r"4:12",
        "storage.formats[0]",
    ),
    "run_name_of_300_characters": (
        '[run]\nname = "' + "r" * 300 + '"\n' + GOOD_INSTRUMENT,
        r"2:8",
        "run.name",
    ),
    "duration_that_rounds_to_0ns": (
        '[run]\nduration = "0.1ns"\n' + GOOD_INSTRUMENT,
        r"2:12",
        "shorter than 1 ns",
    ),
    "unknown_processor_kind": (
        GOOD_INSTRUMENT + '[[processors]]\nkind = "median"\ninput = "a"\noutput = "m"\n',
        r"4:8",
        "processors[0].kind",
    ),
    "processor_cutoff_above_nyquist": (
        GOOD_INSTRUMENT + '[[processors]]\nkind = "fir"\ninput = "a"\noutput = "f"\n'
        "options = { cutoff_hz = 900.0 }\n",
        r"7:25",
        "processors[0].options.cutoff_hz",
    ),
    # Issue 11 item 5: limits the run could not honour.
    "sim_batch_of_76_GiB": (
        '[instruments.a]\ndriver = "sim.sine"\noptions = { channels = 1024, batch_size = 10000000 }\n',
        r"3:43",
        "limits.batch_bytes",
    ),
    "camera_queue_of_64_GiB": (
        '[instruments.cam]\ndriver = "sim.camera"\n'
        "options = { width = 8192, height = 8192, frames_per_batch = 8 }\n"
        '[storage]\ncapacity = 64\n[limits]\nbatch_bytes = "2GiB"\n',
        r"5:12",
        "limits.stream_queue_bytes",
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
    assert r.stderr.count("arrowdaq:") == 1, "the error is printed once: " + r.stderr
    assert "Traceback" not in r.stderr and "terminate called" not in r.stderr


def test_an_output_directory_that_cannot_hold_a_run_is_refused_before_anything_exists(tmp_path):
    path = write_config(tmp_path, GOOD_INSTRUMENT)
    long_name = tmp_path / ("o" * 300)
    r = run(["run", str(path), "--output", str(long_name), "--duration", "1s"])
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("arrowdaq: --output: the directory name"), r.stderr
    r = run(["run", str(path), "--output", "", "--duration", "1s"], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "--output: expected a non-empty directory path" in r.stderr
    assert not (tmp_path / "runs").exists(), "an empty --output must not become runs/"
    r = run(["run", str(path), "--output", str(tmp_path / "o"), "--duration", "0.4ns"])
    assert r.returncode == 2, r.stderr
    assert "--duration: invalid duration" in r.stderr and "shorter than 1 ns" in r.stderr
    assert not (tmp_path / "o").exists()


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


@pytest.mark.parametrize(
    "args,named",
    [
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["--bogus"], "unknown option '--bogus'"),
        (["-V"], "unknown option '-V' (did you mean --version?)"),
        (["run", "x.toml", "--bogus"], "unknown option '--bogus'"),
        (["validate", "x.toml", "extra"], "unexpected argument 'extra'"),
    ],
)
def test_an_unknown_word_is_named(args, named):
    r = run(args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert named in r.stderr, r.stderr
    assert "A subcommand is required" not in r.stderr


def test_help_is_a_command():
    r = run(["help"])
    assert r.returncode == 0, r.stderr
    assert "Usage: arrowdaq" in r.stdout and "validate" in r.stdout
    r = run(["help", "run"])
    assert r.returncode == 0, r.stderr
    assert "--duration" in r.stdout
    r = run(["help", "nope"])
    assert r.returncode == 2 and "unknown command 'nope'" in r.stderr


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
