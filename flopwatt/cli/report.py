"""``flopwatt report [--out DIR] [--since DATE]``: fits, figures and report.html from the marts.

Safe to schedule: it runs the dbt data tests first (unless ``--skip-tests``) and stops with a
non-zero exit and one clear line when a test fails, the warehouse is missing, or another process
is writing to it. The report itself only reads the warehouse.
"""

from __future__ import annotations

import time
from pathlib import Path

import click


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
    from flopwatt.core.db import connect
    from flopwatt.core.errors import FlopwattError

    out_dir = out_dir or reports_dir()
    # fail fast and clearly: no warehouse yet, or a writer holds it (both raise with a message)
    connect(read_only=True).close()
    if not skip_tests:
        from flopwatt.dbt_runner import run_dbt

        click.echo("running data tests (dbt test) ...", err=True)
        try:
            run_dbt(["test", "--quiet"])
        except FlopwattError as exc:
            raise FlopwattError(
                f"data tests failed, report not written ({exc}); fix the data or rerun with "
                "--skip-tests to report anyway"
            ) from exc
    from flopwatt.plots.report import write_report

    t0 = time.perf_counter()
    path = write_report(out_dir, since.date() if since else None)
    click.echo(f"report written: {path} ({time.perf_counter() - t0:.1f} s)")
