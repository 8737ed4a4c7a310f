"""Virtualenvs of their own for the peers' client libraries that pin what the project's
requirements cannot take (KServe's SDK: its own FastAPI, Kubernetes client, gRPC tools).

``peer_python("kserve")`` is var/test-venvs/kserve/bin/python with requirements-kserve.txt
installed: made once (``make test`` makes it first; a test makes it when it is missing)
and made again when the requirements file changes. A failed install fails the test that
needs it, with pip's own words: never a skip.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

VENVS = REPO / "var" / "test-venvs"
INSTALL_TIMEOUT = 600


class PeerVenvError(RuntimeError):
    pass


def peer_python(name: str) -> Path:
    requirements = REPO / f"requirements-{name}.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    venv = VENVS / name
    stamp = venv / ".installed"
    python = venv / "bin" / "python"
    if stamp.exists() and stamp.read_text() == digest and python.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
    )
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise PeerVenvError(f"{' '.join(step[:4])} took over {INSTALL_TIMEOUT} s") from None
        if done.returncode != 0:
            raise PeerVenvError(
                f"{' '.join(step[:4])} failed ({done.returncode}): {done.stderr[-2000:]}"
            )
    stamp.write_text(digest)
    return python


if __name__ == "__main__":  # make test: python -m tests.peer_venv kserve
    for peer in sys.argv[1:]:
        print(f"{peer}: {peer_python(peer)}")
