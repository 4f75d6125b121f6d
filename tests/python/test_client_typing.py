"""The arrowdaq package is typed (py.typed): mypy --strict finds nothing in python/src."""
import os
import subprocess
import sys
from pathlib import Path

SOURCE = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", Path(__file__).parents[2]))


def test_mypy_strict_is_clean():
    assert (SOURCE / "python" / "src" / "arrowdaq" / "py.typed").is_file()
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(SOURCE / "python" / "pyproject.toml"),
                        "--no-incremental", str(SOURCE / "python" / "src" / "arrowdaq")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
