"""README.md, executed: its config file, the one-shot commands shown under it and the h5py
snippet run as written, with only what a reader changes substituted (the DMM's address becomes a
real 34461A simulator process, the run's duration is shortened and its output goes to a
temporary folder, placeholders like `<id>` become the run that was made). The serve commands
are run by test_client_docs.py / test_serve.py through docs/server.md."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from arrowdaq_testlib import ARROWDAQ, load_summary, only_run_dir

SOURCE = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).resolve().parents[2]))
README = (SOURCE / "README.md").read_text()
SIM = SOURCE / "tools" / "sim" / "scpi_server.py"


def blocks(lang):
    """The fenced blocks whose info string is `lang` ("" for a bare fence), in order."""
    found, current, info = [], None, None
    for line in README.splitlines():
        if line.startswith("```"):
            if current is None:
                current, info = [], line[3:].strip()
            else:
                if info == lang:
                    found.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return found


def readme_config():
    configs = [b for b in blocks("toml") if 'name = "table3"' in b]
    assert len(configs) == 1, "README.md must show one config file named table3"
    return configs[0]


def readme_commands():
    """The shell block that starts with `arrowdaq validate table3.toml`, comments stripped."""
    for b in blocks(""):
        lines = [ln.split("#", 1)[0].strip() for ln in b.splitlines()]
        lines = [ln for ln in lines if ln]
        if lines and lines[0] == "arrowdaq validate table3.toml":
            return lines
    pytest.fail("README.md lost its block of one-shot commands")


@pytest.fixture
def dmm_sim():
    sim = subprocess.Popen([sys.executable, str(SIM), "--model", "34461a"],
                           stdout=subprocess.PIPE, text=True)
    try:
        yield int(sim.stdout.readline().strip())
    finally:
        sim.kill()
        sim.wait()


def sh(args, cwd, timeout=120):
    return subprocess.run([ARROWDAQ, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_readme_config_commands_and_snippet_run(tmp_path, dmm_sim):
    config = readme_config()
    (tmp_path / "table3.toml").write_text(config)
    # As written (the DMM's address is a documentation address; validate does not connect).
    r = sh(["validate", "table3.toml"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ok (2 instruments)" in r.stdout

    # Run it for real against a simulated 34461A: only the address and the duration change.
    assert 'resource = "TCPIP::192.0.2.10::5025::SOCKET"' in config
    assert 'duration = "10s"' in config
    runnable = (config.replace("192.0.2.10::5025", f"127.0.0.1::{dmm_sim}")
                .replace('duration = "10s"', 'duration = "2s"'))
    (tmp_path / "table3.toml").write_text(runnable)

    made = None
    for line in readme_commands():
        args = shlex.split(line)
        assert args[0] == "arrowdaq"
        args = args[1:]
        if args[0] == "run":
            r = sh(args, tmp_path)
            assert r.returncode == 0, r.stdout + r.stderr
            made = only_run_dir(tmp_path / "runs")
            assert made.name.startswith("table3-")
            summary = load_summary(made)
            assert summary["outcome"] == "ok", summary
            continue
        if args[0] == "inspect":
            args = [str(p) for p in sorted(tmp_path.glob(args[1]))] or pytest.fail(line)
            args = ["inspect", *args]
        elif args[0] == "export":
            args[1] = str(made)
        elif args[0] == "probe":
            args[1] = f"TCPIP::127.0.0.1::{dmm_sim}::SOCKET"
        r = sh(args, tmp_path)
        assert r.returncode == 0, f"{line}: {r.stdout}{r.stderr}"
        if args[0] == "drivers":
            assert "keysight.34461a" in r.stdout and "sim.sine" in r.stdout
        if args[0] == "inspect":
            assert "photodiode" in r.stdout and "dmm" in r.stdout
        if args[0] == "probe":
            assert "34461A" in r.stdout
    assert made is not None, "README's commands no longer include `arrowdaq run`"
    assert list(made.rglob("*.csv")), "export --to csv wrote no CSV file"

    # The h5py snippet, with the run directory it names replaced by the one just made.
    [snippet] = [b for b in blocks("python") if "h5py" in b]
    path = re.search(r'"(runs/table3-[^"]+/run\.h5)"', snippet).group(1)
    code = snippet.replace(path, str(made / "run.h5"))
    *body, last = [ln for ln in code.splitlines() if ln.strip()]
    scope = {}
    exec("\n".join(body), scope)
    ch0, ts, units = eval(last.split("#")[0], scope)
    rows = {s["name"]: s["rows"] for s in summary["streams"]}
    assert len(ch0) == len(ts) == rows["photodiode"] > 0
    assert np.all(np.diff(ts.astype(np.int64)) > 0)
    assert units == "V"  # sim.sine's default unit (docs/instruments.md)
    scope["f"].close()
    with h5py.File(made / "run.h5", "r") as f:
        assert len(f["dmm/timestamp"]) == rows["dmm"] > 0
