"""A non-editable install from a built wheel still finds every entry (entries/ ships in the package)."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from encyclo.registry import registry

from helpers import REPO


@pytest.mark.slow
def test_wheel_installs_and_lists_every_entry(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(dist), str(REPO)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    [wheel] = dist.glob("encyclo-*.whl")

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # Offline: the scratch venv borrows this environment's third-party packages (pyyaml, torch) through a
    # .pth path entry; that does not activate this checkout's editable install, so encyclo comes from the wheel.
    (site / "_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True)
    pip = [str(python), "-m", "pip"] if install.returncode == 0 else [sys.executable, "-m", "pip",
                                                                       "--python", str(python)]
    done = subprocess.run([*pip, "install", "--no-deps", "-q", str(wheel)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr

    where = subprocess.run([str(python), "-c", "import encyclo; print(encyclo.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path)
    assert str(env_dir) in where.stdout, where.stdout + where.stderr
    listed = subprocess.run([str(env_dir / "bin" / "encyclo"), "list", "--format", "json"], capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["id"] for r in json.loads(listed.stdout)) == sorted(e.id for e in registry().entries())
    built = subprocess.run([str(python), "-c", "import encyclo; print(encyclo.create('seblock', channels=32))"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert built.returncode == 0 and "SEBlock" in built.stdout, built.stderr
