"""``flopwatt report [--out DIR] [--since DATE]``: fits, figures and report.html from the marts.

Safe to schedule: it runs the dbt data tests first (unless ``--skip-tests``) and stops with a
non-zero exit and one clear line when a test fails, the warehouse is missing, another process is
writing to it, or the output folder cannot be written.

Read-only end to end: the data tests run through dbt's ``duckdb_readonly`` target (the warehouse
attached read-only), and the whole command holds the shared advisory lock. Readers (``flopwatt
sql``, another report) run beside it; a build waits for it; a file the user may only read works.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import click

from flopwatt.core.errors import FlopwattError


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for report.html, figures/ and data/ (default: FLOPWATT_REPORTS or ./reports)",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="only runs started on or after this date (YYYY-MM-DD, UTC)",
)
@click.option("--skip-tests", is_flag=True, help="do not run `dbt test` before the report")
def report(out_dir: Path | None, since, skip_tests: bool) -> None:
    """Fits, figures, tables and exports from the marts, as one self-contained report.html."""
    from flopwatt.core.config import reports_dir
    from flopwatt.core.db import connect, warehouse_lock

    out_dir = out_dir or reports_dir()
    # fail fast and clearly: no warehouse yet, not a database, a writer holds it, nowhere to write
    connect(read_only=True).close()
    check_writable(out_dir)
    with warehouse_lock(exclusive=False):  # no build between the data tests and the reading
        if not skip_tests:
            run_data_tests()
        from flopwatt.plots.report import write_report

        t0 = time.perf_counter()
        try:
            path = write_report(out_dir, since.date() if since else None)
        except OSError as exc:
            if exc.filename is None or not _inside(Path(exc.filename), out_dir):
                raise
            raise FlopwattError(
                f"cannot write the report to {exc.filename}: {exc.strerror}"
            ) from exc
    click.echo(f"report written: {path} ({time.perf_counter() - t0:.1f} s)")


def run_data_tests() -> None:
    """``dbt test`` over the read-only target; FlopwattError when a test fails or dbt cannot run."""
    from flopwatt.dbt_runner import READ_ONLY_TARGET, DbtError, run_dbt

    click.echo("running data tests (dbt test, read-only) ...", err=True)
    try:
        run_dbt(["test", "--quiet"], target=READ_ONLY_TARGET)
    except DbtError as exc:
        if exc.returncode != 1:  # dbt could not run: not the data's fault
            raise
        raise FlopwattError(
            f"data tests failed, report not written ({exc}); fix the data or rerun with "
            "--skip-tests to report anyway"
        ) from exc


def check_writable(out_dir: Path) -> None:
    """Create ``out_dir`` and write a scratch file in it, or raise one line naming the path."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) and exc.filename else out_dir
        raise FlopwattError(
            f"cannot write the report to {where}: {exc.strerror or exc} (--out or FLOPWATT_REPORTS)"
        ) from exc


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or lies in it."""
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path == folder or folder in path.parents
