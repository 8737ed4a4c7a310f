"""Every process that starts Django makes the metrics folder it needs (issue 26, item 15).

`manage.py demo` crashed (FileNotFoundError at its first figure) when
PROMETHEUS_MULTIPROC_DIR named a folder that did not exist yet: only gunicorn's master
made it. prometheus_client decides its multiprocess mode when it is imported, so these
run real processes, as `make run` and the compose services do.
"""

from pathlib import Path

from tests.support import clean_environment, manage


def sqlite_env(tmp_path: Path, metrics: Path) -> dict[str, str]:
    var = tmp_path / "var"
    var.mkdir(exist_ok=True)
    return clean_environment(
        DJANGO_DEBUG="1",
        BACKOFFICE_VAR_DIR=str(var),
        MODEL_STORAGE_DIR=str(var / "models"),
        SPOOL_DIR=str(var / "spool"),
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
    )


def test_demo_makes_the_metrics_folder_it_needs(tmp_path):
    metrics = tmp_path / "not" / "made" / "yet"
    env = sqlite_env(tmp_path, metrics)
    migrated = manage("migrate", "--noinput", "-v0", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    demo = manage("demo", env=env, timeout=600)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "Password:" in demo.stdout
    assert metrics.is_dir() and list(metrics.glob("*.db")), "no figure was written there"


def test_any_command_makes_it_and_one_that_cannot_be_made_is_named(tmp_path):
    metrics = tmp_path / "deep" / "metrics"
    record = (
        "from backoffice.core.ops.prometheus import observe_verdict; observe_verdict('approved')"
    )
    shell = manage("shell", "-c", record, env=sqlite_env(tmp_path, metrics))
    assert shell.returncode == 0, shell.stderr[-2000:]
    assert list(metrics.glob("counter_*.db"))

    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    refused = manage("check", env=sqlite_env(tmp_path, in_the_way / "metrics"))
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"configuration error: PROMETHEUS_MULTIPROC_DIR={in_the_way / 'metrics'} "
        "cannot be used: Not a directory"
    )
