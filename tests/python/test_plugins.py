"""Driver plugins (docs/drivers.md): the example plugin (examples/plugin-driver, built in the
tree with its flags) loaded through [plugins] and ARROWDAQ_PLUGIN_PATH, acquiring from its
simulator as a real process, values checked with h5py; and plugins that go wrong refused at
validate with exit 2 and a message naming the file, or contained (an exception becomes an
error; a crash names the plugin first)."""
import os
import subprocess
from pathlib import Path

import pytest

from arrowdaq_testlib import ARROWDAQ, only_run_dir, run, write_config
from plugin_checks import Tm2Simulator, check_tm2_run, tm2_config

GOOD = os.environ["ARROWDAQ_ACME_TM2_PLUGIN_BIN"]


def bad(name):
    return os.environ[f"ARROWDAQ_TEST_PLUGIN_{name.upper()}_BIN"]


def config_with(plugin, driver="sim.sine"):
    return f"""[plugins]
paths = ["{plugin}"]

[instruments.a]
driver = "{driver}"
"""


def validate(tmp_path, text, env=None):
    cfg = write_config(tmp_path, text)
    return cfg, run(["validate", str(cfg)], env=env)


def test_example_plugin_runs_from_its_simulator(tmp_path):
    # A directory given relative to the config file: its *.so files are loaded.
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "acme_tm2.so").symlink_to(GOOD)
    with Tm2Simulator() as sim:
        cfg = write_config(tmp_path, tm2_config(["plugins"], sim.resource, tmp_path / "out"))
        r = run(["validate", str(cfg)], cwd="/")
        assert r.returncode == 0, r.stderr
        r = run(["run", str(cfg)], cwd="/")
        assert r.returncode == 0, r.stderr
    rows = check_tm2_run(only_run_dir(tmp_path / "out"))
    assert rows >= 100  # 1.5 s at 200 Hz; generous


def test_drivers_lists_plugin_drivers_with_their_origin(tmp_path):
    cfg = write_config(tmp_path, config_with(GOOD))
    r = run(["drivers", "--config", str(cfg)])
    assert r.returncode == 0, r.stderr
    block = r.stdout[r.stdout.index("acme.tm2 - "):]
    assert block.splitlines()[1] == f"  origin: plugin acme-tm2 1.0.0 ({os.path.realpath(GOOD)})"
    assert "  rate_hz = 10 [Hz]" in block
    sine = r.stdout[r.stdout.index("sim.sine - "):]
    assert sine.splitlines()[1] == "  origin: built-in"
    # ARROWDAQ_PLUGIN_PATH alone, ':'-separated (a directory without plugins adds none).
    r = run(["drivers"], env={**os.environ, "ARROWDAQ_PLUGIN_PATH": f"{tmp_path}::{GOOD}"})
    assert r.returncode == 0 and "acme.tm2 - " in r.stdout, r.stderr
    r = run(["drivers"])
    assert "acme.tm2" not in r.stdout


def test_plugin_path_variable_feeds_validate_and_names_itself(tmp_path):
    text = "[instruments.a]\ndriver = \"acme.tm2\"\nresource = \"TCPIP::127.0.0.1::1::SOCKET\"\n"
    _, r = validate(tmp_path, text, env={**os.environ, "ARROWDAQ_PLUGIN_PATH": GOOD})
    assert r.returncode == 0, r.stderr
    missing = str(tmp_path / "gone.so")
    _, r = validate(tmp_path, text, env={**os.environ, "ARROWDAQ_PLUGIN_PATH": f"{GOOD}:{missing}"})
    assert r.returncode == 2
    assert r.stderr.strip() == f"arrowdaq: ARROWDAQ_PLUGIN_PATH: {missing}: no such file or directory"


@pytest.mark.parametrize("case", ["wrong_abi", "no_entry", "not_a_library", "missing",
                                  "throwing_list", "clash", "no_drivers", "fifo"])
def test_bad_plugins_are_refused_at_validate(tmp_path, case):
    if case == "not_a_library":
        path = tmp_path / "notes.so"
        path.write_text("these are my notes, not a shared library\n")
        path = str(path)
    elif case == "missing":
        path = str(tmp_path / "nowhere" / "acme.so")
    elif case == "fifo":  # opening it would block the loader forever
        path = str(tmp_path / "pipe.so")
        os.mkfifo(path)
    else:
        path = bad(case)
    cfg, r = validate(tmp_path, config_with(path))
    assert r.returncode == 2, (r.returncode, r.stderr)
    err = r.stderr.strip()
    assert err.startswith(f"arrowdaq: {cfg}:2:10: plugins.paths[0]: {path}: "), err
    assert err.count("\n") == 0, err
    expected = {
        "wrong_abi": "plugin 'future' 9.0 (" + os.path.realpath(path) + ") has plugin ABI "
                     "version 99 (built against arrowdaq 9.9.0); this arrowdaq (0.1.0) loads "
                     "plugin ABI version 1: rebuild the plugin against this arrowdaq's SDK",
        "no_entry": "not an arrowdaq plugin: it does not export arrowdaq_plugin_v1",
        "not_a_library": "not a loadable shared library (",
        "missing": "no such file or directory",
        "throwing_list": "listing its drivers threw cannot list drivers today",
        "clash": "driver 'sim.sine' is already registered (built-in)",
        "no_drivers": "lists no drivers",
        "fifo": "not a regular file, so not a shared library",
    }[case]
    assert expected in err, err
    # Refused as a whole: a clashing plugin registers none of its drivers.
    if case == "clash":
        r = run(["drivers", "--config", str(cfg)])
        assert r.returncode == 2 and "test.fine" not in r.stdout


def test_a_factory_that_throws_is_an_error_naming_the_plugin(tmp_path):
    path = bad("throwing_factory")
    cfg, r = validate(tmp_path, config_with(path, driver="test.bad"))
    assert r.returncode == 2, r.stderr
    assert (f"instruments.a.options: test.bad: plugin 'bad-throwing_factory' 0.0.1 "
            f"({os.path.realpath(path)}), the factory of driver 'test.bad': threw the factory "
            "gave up") in r.stderr
    r = run(["run", str(cfg), "--output", str(tmp_path / "out")])
    assert r.returncode == 2 and "threw the factory gave up" in r.stderr


def test_a_factory_that_crashes_is_named_first(tmp_path):
    path = bad("crashing_factory")
    cfg = write_config(tmp_path, config_with(path, driver="test.bad"))
    env = {**os.environ, "ASAN_OPTIONS": "abort_on_error=1:handle_segv=1"}
    r = subprocess.run([ARROWDAQ, "validate", str(cfg)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode != 0
    first = next(line for line in r.stderr.splitlines() if line.strip())
    assert first == (f"arrowdaq: crashed inside plugin 'bad-crashing_factory' 0.0.1 "
                     f"({os.path.realpath(path)}), the factory of driver 'test.bad'; the fault "
                     "is in the plugin, not in arrowdaq"), r.stderr


def test_config_key_errors(tmp_path):
    _, r = validate(tmp_path, "[plugins]\npaths = \"x.so\"\n[instruments.a]\ndriver = \"sim.sine\"\n")
    assert r.returncode == 2 and "plugins.paths: expected an array of strings" in r.stderr, r.stderr


def test_two_plugins_with_one_driver_name_are_refused_naming_both(tmp_path):
    # docs/config.md's example: the same driver from ARROWDAQ_PLUGIN_PATH and from [plugins].
    import re
    import shutil
    other = tmp_path / "site" / "acme_tm2.so"
    other.parent.mkdir()
    shutil.copy(GOOD, other)
    cfg, r = validate(tmp_path, config_with(GOOD, driver="acme.tm2"),
                      env={**os.environ, "ARROWDAQ_PLUGIN_PATH": str(other)})
    assert r.returncode == 2
    pattern = (r"arrowdaq: (\S+):2:10: plugins\.paths\[0\]: (\S+): plugin 'acme-tm2' 1\.0\.0 "
               r"\((\S+)\): driver 'acme\.tm2' is already registered \(plugin acme-tm2 1\.0\.0 "
               r"\((\S+)\)\)")
    m = re.fullmatch(pattern, r.stderr.strip())
    assert m, r.stderr
    assert m.groups() == (str(cfg), GOOD, os.path.realpath(GOOD), str(other.resolve()))


def test_drivers_doc_quotes_the_example_verbatim():
    # Every C++ and CMake excerpt of docs/drivers.md is text of examples/plugin-driver (or of
    # the motion test plugin): the page cannot drift from the code the tests build.
    from plugin_checks import SOURCE, doc_blocks
    example = SOURCE / "examples" / "plugin-driver"
    sources = {p.name: p.read_text() for p in example.iterdir() if p.is_file()}
    # The motion section quotes the test plugin with a trivial motor, which the tests build too.
    motor = SOURCE / "tests" / "plugins" / "motion_plugin.cc"
    sources[motor.name] = motor.read_text()
    blocks = doc_blocks("cpp") + doc_blocks("cmake")
    assert len(blocks) >= 6
    for block in blocks:
        assert any(block in text for text in sources.values()), f"not in the example:\n{block}"


def test_drivers_doc_run_config_acquires(tmp_path):
    # docs/drivers.md's config, as written but for the simulator's port, with the plugin where
    # the page builds it.
    from plugin_checks import doc_run_config
    build = tmp_path / "acme-tm2" / "build"
    build.mkdir(parents=True)
    (build / "acme_tm2.so").symlink_to(GOOD)
    with Tm2Simulator() as sim:
        cfg = write_config(tmp_path, doc_run_config("acme-tm2/build/acme_tm2.so", sim.resource),
                           name="tm2.toml")
        r = run(["run", "tm2.toml", "--duration", "1s"], cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    assert check_tm2_run(only_run_dir(tmp_path / "runs")) >= 60
