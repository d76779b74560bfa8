"""``flopwatt build``, ``status`` and ``sql``: the warehouse from the command line."""

from __future__ import annotations

import csv
import sys

import click

from flopwatt.core.config import db_path


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def build(dbt_args: tuple[str, ...]) -> None:
    """Run ``dbt build [DBT_ARGS...]`` on the warehouse (as ``dbt build`` in the project root)."""
    from flopwatt.dbt_runner import run_dbt_build

    run_dbt_build(list(dbt_args))


STATUS_TABLES = [
    # table, time column, distinct-count column, label
    ("power_readings", "measured_at", "meter_id", "meters"),
    ("energy_counters", "measured_at", "meter_id", "meters"),
    ("runs", "started_at", "model_name", "models"),
    ("flop_profiles", None, "model_name", "models"),
    ("accuracy", None, "model_name", "models"),
    ("carbon_intensity", None, "zone", "zones"),
    ("carbon_intensity_series", "from_at", "zone", "zones"),
    ("quarantine", None, "load_id", "loads"),
]


@click.command()
@click.option("--loads", "n_loads", default=10, show_default=True, help="how many recent loads")
def status(n_loads: int) -> None:
    """What is loaded (rows, time span, meters/models per raw table) and the last loads."""
    from flopwatt.core.db import connect

    con = connect(read_only=True)
    try:
        have = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        click.echo(f"warehouse: {db_path()}")
        rows = []
        for table, tcol, dcol, label in STATUS_TABLES:
            if table not in have:
                continue
            span = f"min({tcol}), max({tcol})" if tcol else "null, null"
            n, distinct, lo, hi = con.execute(
                f"select count(*), count(distinct {dcol}), {span} from raw.{table}"
            ).fetchone()
            when = f"{lo:%Y-%m-%d %H:%M:%S} .. {hi:%Y-%m-%d %H:%M:%S} UTC" if lo else ""
            rows.append((f"raw.{table}", f"{n:,}", f"{distinct} {label}", when))
        _print_table(["table", "rows", "distinct", "time span"], rows)
        if "loads" in have:
            click.echo("\nlast loads:")
            loads = con.execute(
                "select load_id, loaded_at, kind, format, rows_read, rows_loaded, rows_quarantined,"
                " source_path from raw.loads order by load_id desc limit ?",
                [n_loads],
            ).fetchall()
            _print_table(
                [
                    "load",
                    "loaded_at (UTC)",
                    "kind",
                    "format",
                    "read",
                    "loaded",
                    "quarantined",
                    "source",
                ],
                [(r[0], f"{r[1]:%Y-%m-%d %H:%M:%S}", *r[2:]) for r in loads],
            )
    finally:
        con.close()


#: what ``flopwatt sql`` runs: queries (select, with, from, values, describe, show, summarize,
#: pivot), explain, pragma and call; never copy, export, attach, load, set or writes
SQL_STATEMENTS = ("SELECT", "EXPLAIN", "PRAGMA", "CALL", "MULTI")


def check_query(query: str) -> None:
    """Refuse statements other than SQL_STATEMENTS, with one line naming the first one."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise click.ClickException(f"query failed: {exc}") from exc
    for st in statements:
        kind = st.type.name
        if kind not in SQL_STATEMENTS:
            raise click.ClickException(
                f"flopwatt sql is read-only and runs queries only: a {kind} statement is "
                "refused (to export, use --format csv > FILE)"
            )


@click.command()
@click.argument("query")
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "csv"]))
@click.option("--max-rows", default=200, show_default=True, help="rows printed as a table")
@click.option(
    "--allow-files",
    is_flag=True,
    help="let the query read local files (read_csv, read_parquet, ...); still no writes",
)
def sql(query: str, fmt: str, max_rows: int, allow_files: bool) -> None:
    """Run read-only SQL on the warehouse, e.g. flopwatt sql "select * from marts.dim_models".

    Queries only, on the warehouse alone: no file access (unless --allow-files, which lets it
    read local files), no extensions, no settings, memory capped by FLOPWATT_DUCKDB_MEMORY_LIMIT.
    """
    import duckdb

    from flopwatt.core.db import connect

    check_query(query)
    con = connect(sandbox=True, allow_files=allow_files)
    try:
        try:
            cur = con.execute(query)
        except duckdb.Error as exc:
            raise click.ClickException(f"query failed: {exc}") from exc
        if cur.description is None:
            return
        cols = [d[0] for d in cur.description]
        if fmt == "csv":
            w = csv.writer(sys.stdout, lineterminator="\n")
            w.writerow(cols)
            while batch := cur.fetchmany(10_000):
                w.writerows(batch)
            return
        rows = cur.fetchmany(max_rows + 1)
        _print_table(cols, rows[:max_rows])
        more = " (more not shown; use --max-rows or --format csv)" if len(rows) > max_rows else ""
        click.echo(f"({min(len(rows), max_rows)} rows{more})")
    finally:
        con.close()


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _print_table(headers: list[str], rows: list[tuple]) -> None:
    cells = [[_fmt(v) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    click.echo("  ".join("-" * w for w in widths))
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
