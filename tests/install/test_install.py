"""The installed tree (issue 21; docs/drivers.md): `cmake --install` of the release build into a
prefix, the prefix moved, then, from another directory with a clean environment (no .venv, no
build tree on any path): `arrowdaq --version`, `drivers` and a short `run` of the installed
demo; the example plugin built against the installed SDK with docs/drivers.md's commands, its
own tests run, and loaded through `[plugins]` in `arrowdaq run`, acquiring from its simulator,
values checked with h5py. Run by `make test-install` (part of `make test`).

The release build is installed, not the dev one: the dev build uses ASan, and an installed
ASan binary would need every plugin built with ASan too (the CMake package passes the flags on
when an ASan tree is installed; the release tree needs none)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from plugin_checks import Tm2Simulator, check_tm2_run, doc_blocks, doc_run_config  # noqa: E402

SOURCE = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ARROWDAQ_INSTALL_BUILD_DIR", SOURCE / "build" / "release"))
# Fixed paths below the source tree: ccache (CCACHE_BASEDIR) reuses the plugin's objects.
WORK = SOURCE / "build" / "install-test"
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


def clean_env(home):
    """What a user's shell would have: system paths only (no .venv, no LD_LIBRARY_PATH)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    for key, value in os.environ.items():  # the compiler cache, when there is one
        if key.startswith("CCACHE_") or key.endswith("_COMPILER_LAUNCHER"):
            env[key] = value
    env["CMAKE_BUILD_PARALLEL_LEVEL"] = os.environ.get("JOBS", "2")
    return env


@pytest.fixture(scope="module")
def prefix():
    shutil.rmtree(WORK, ignore_errors=True)
    stage, moved = WORK / "stage", WORK / "moved"
    r = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(stage)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    stage.rename(moved)  # the tree must work wherever it is
    (WORK / "home").mkdir()
    return moved


def arrowdaq(prefix, args, cwd, timeout=120):
    return subprocess.run([str(prefix / "bin" / "arrowdaq"), *args], capture_output=True,
                          text=True, cwd=cwd, env=clean_env(WORK / "home"), timeout=timeout)


def test_layout(prefix):
    for rel in ["bin/arrowdaq", "include/arrowdaq/instruments/driver.h",
                "include/arrowdaq/instruments/plugin_api.h", "include/arrowdaq/version.h",
                "include/arrowdaq/testing/mock_hardware.h",
                "include/arrowdaq/third_party/arrow/api.h",
                "lib/cmake/arrowdaq/arrowdaqConfig.cmake",
                "lib/cmake/arrowdaq/arrowdaqConfigVersion.cmake",
                "lib/cmake/arrowdaq/arrowdaqTargets.cmake",
                "share/arrowdaq/examples/demo.toml",
                "share/arrowdaq/examples/plugin-driver/CMakeLists.txt",
                "share/arrowdaq/sim/keysight_34461a.py"]:
        assert (prefix / rel).is_file(), rel
    # Private headers stay private.
    assert not (prefix / "include/arrowdaq/app").exists()
    assert not (prefix / "include/arrowdaq/instruments/instrument_actor.h").exists()


def test_binary_finds_its_libraries_relative_to_itself(prefix):
    exe = prefix / "bin" / "arrowdaq"
    dyn = subprocess.run(["readelf", "-d", str(exe)], capture_output=True, text=True).stdout
    runpath = [line for line in dyn.splitlines() if "RUNPATH" in line or "RPATH" in line]
    assert len(runpath) == 1 and "[$ORIGIN/../lib/arrowdaq]" in runpath[0], runpath
    ldd = subprocess.run(["ldd", str(exe)], capture_output=True, text=True,
                         env=clean_env(WORK / "home")).stdout
    assert "not found" not in ldd, ldd
    arrow = [line for line in ldd.splitlines() if "libarrow" in line or "libparquet" in line]
    assert arrow, ldd
    for line in arrow:
        resolved = os.path.realpath(line.split("=>")[1].split("(")[0].strip())
        assert resolved.startswith(f"{prefix}/lib/arrowdaq/"), line
    assert ".venv" not in ldd and "/build/release" not in ldd, ldd


def test_relocated_tree_runs_the_demo(prefix, tmp_path):
    r = arrowdaq(prefix, ["--version"], cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "arrowdaq 0.1.0", r.stdout + r.stderr
    r = arrowdaq(prefix, ["drivers"], cwd=tmp_path)
    assert r.returncode == 0 and "sim.sine - " in r.stdout and "origin: built-in" in r.stdout
    demo = prefix / "share" / "arrowdaq" / "examples" / "demo.toml"
    r = arrowdaq(prefix, ["run", str(demo), "--duration", "1s", "--output", "out",
                          "--log-level", "warn"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (run_dir,) = [d for d in (tmp_path / "out").iterdir() if d.is_dir()]
    import json
    import h5py
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["outcome"] == "ok", summary
    with h5py.File(run_dir / "run.h5", "r") as f:
        for s in summary["streams"]:
            assert s["rows"] > 0 and s["missing_sequences"] == 0, s
            assert len(f[s["name"]]["timestamp"]) == s["rows"]


def test_example_plugin_builds_against_the_installed_sdk_and_runs(prefix):
    assert SYSTEM_PYTHON, "the example's simulator needs python3 in /usr/bin"
    user = WORK / "user"
    user.mkdir()
    (block,) = doc_blocks("sh", "build")
    script = "set -ex\n" + block.replace("/opt/arrowdaq", str(prefix))
    r = subprocess.run(["bash", "-c", script], cwd=user, capture_output=True, text=True,
                       env=clean_env(WORK / "home"), timeout=1200)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "100% tests passed" in r.stdout, r.stdout[-2000:]
    plugin = user / "acme-tm2" / "build" / "acme_tm2.so"
    assert plugin.is_file()

    sim = user / "acme-tm2" / "sim" / "acme_tm2_sim.py"
    with Tm2Simulator(sim=sim, python=SYSTEM_PYTHON) as s:
        cfg = user / "tm2.toml"
        cfg.write_text(doc_run_config("acme-tm2/build/acme_tm2.so", s.resource))
        r = arrowdaq(prefix, ["drivers", "--config", "tm2.toml"], cwd=user)
        assert r.returncode == 0, r.stderr
        assert f"  origin: plugin acme-tm2 1.0.0 ({plugin})" in r.stdout
        r = arrowdaq(prefix, ["validate", "tm2.toml"], cwd=user)
        assert r.returncode == 0, r.stderr
        r = arrowdaq(prefix, ["run", "tm2.toml", "--duration", "1500ms", "--output", "out"],
                     cwd=user)
        assert r.returncode == 0, r.stderr
    (run_dir,) = [d for d in (user / "out").iterdir() if d.is_dir()]
    assert check_tm2_run(run_dir) >= 100
