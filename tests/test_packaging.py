"""The wheel is the installed package: the dbt project inside it, only the flopwatt namespace.

The install-and-run check (a fresh venv, ``pip install .`` not editable, ``flopwatt run`` from an
empty folder) takes minutes and is a step of .ci/run: scripts/check_install.sh.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what a checkout holds besides its sources (never part of a build)
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "target", "logs", "reports", ".flopwatt", "__pycache__",
    "*.egg-info", "*.duckdb", "*.duckdb.wal", ".pytest_cache", ".ruff_cache", "spark-warehouse",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    """Build the wheel from a clean copy of the checkout (no stale build/ folder) and list it."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
    dist = str(tmp / "dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, str(src)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{done.stdout}\n{done.stderr}")
    (wheel,) = (tmp / "dist").glob("flopwatt-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def test_wheel_ships_the_dbt_project(wheel_names):
    names = set(wheel_names)
    project = "flopwatt/dbt_project/"
    for required in ("dbt_project.yml", "profiles.yml"):
        assert project + required in names
    # every model, macro and data test of the checkout, at the same relative path
    for folder, pattern in (("models_sql", "*.sql"), ("models_sql", "*.yml"), ("macros", "*.sql"),
                            ("tests/dbt", "*.sql")):  # fmt: skip
        files = sorted((ROOT / folder).rglob(pattern))
        assert files, f"{folder} has no {pattern}"
        for f in files:
            assert project + f.relative_to(ROOT).as_posix() in names


def test_wheel_has_only_the_flopwatt_namespace(wheel_names):
    tops = {n.split("/", 1)[0] for n in wheel_names}
    assert tops == {"flopwatt", "flopwatt-0.1.0.dist-info"}
    for sub in ("ingest", "profiling", "profiling/sensors", "plots", "core", "cli"):
        assert f"flopwatt/{sub}/__init__.py" in wheel_names
    assert "flopwatt/ingest/schema.sql" in wheel_names  # package data of the loader
    # the checkout's tests and benchmarks stay out (tests/dbt only as part of the dbt project)
    assert not [n for n in wheel_names if n.endswith(".py") and "/tests/" in n]
    assert not [n for n in wheel_names if n.startswith("flopwatt/bench")]
