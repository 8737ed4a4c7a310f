"""The import contracts of .importlinter hold, and a wrong-way import breaks them.

lint-imports (import-linter) reads every module of the project, imports inside
functions included: the shared layer imports no app, the apps stand in layers (serving,
then the desk, then the journal, the registry and the API keys), no app imports the
project, serving reads the journal and the desk through their selectors, the serving
runtime's parts never import the runtime, each app's domain code is pure Python, and no
package's modules import one another in a circle. ARCHITECTURE.md says why each holds.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("backoffice", "apikeys", "journal", "desk", "models_registry", "serving")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(where / ".importlinter")],
        cwd=where,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "*.html", "*.css", "*.js"),
        )
    return tmp_path


def test_the_code_keeps_every_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 7 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "backoffice/core/text.py",
            "from journal import models as _wrong_way",
            "The shared layer (backoffice.core) imports no app",
        ),
        (
            "journal/selectors.py",
            "\ndef _wrong_way():\n    from serving.live import record_reads  # noqa\n",
            "The apps, from the top",
        ),
        (
            "desk/services.py",
            "import backoffice.celery as _wrong_way",
            "No app imports the project",
        ),
        (
            "serving/live/figures.py",
            "from journal.models import Trade as _wrong_way",
            "serving reads the journal and the desk through their selectors",
        ),
        (
            "serving/predict/hotswap.py",
            "\ndef _wrong_way():\n    from serving.predict import runtime  # noqa\n",
            "The serving runtime's parts never import the runtime",
        ),
        (
            "models_registry/domain/profiles.py",
            "from django.db import models as _wrong_way",
            "Each app's domain code is pure Python",
        ),
        (
            "journal/domain/trade_record.py",
            "import journal.write.capture as _wrong_way",
            "No package imports its siblings in a circle",
        ),
    ],
)
def test_a_wrong_way_import_breaks_its_contract(tmp_path, module, line, contract):
    where = copy_of_the_code(tmp_path)
    target = where / module
    target.write_text(target.read_text() + "\n" + line + "\n")
    result = lint_imports(where)
    assert result.returncode != 0, result.stdout[-3000:]
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in " ".join(broken.split()), result.stdout[-3000:]
