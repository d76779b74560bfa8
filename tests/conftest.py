"""Shared fixtures: every test gets its own warehouse file; ../shared is optional."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "model_hub"


@pytest.fixture
def db_file(tmp_path, monkeypatch) -> Path:
    """A fresh, empty warehouse for this test (FLOPWATT_DB points at it)."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("FLOPWATT_DB", str(path))
    return path


@pytest.fixture
def reference_dir() -> Path:
    """The reference study's files; the test is skipped when ../shared is absent."""
    if not (REFERENCE / "pm.csv").exists():
        pytest.skip("../shared/reference/model_hub is not available")
    return REFERENCE


@pytest.fixture
def make_file(tmp_path):
    """make_file(name, text, bom=False, crlf=False) -> Path: a small input file written by hand."""

    def _make(name: str, text: str, *, bom: bool = False, crlf: bool = False) -> Path:
        data = text.replace("\n", "\r\n") if crlf else text
        path = tmp_path / name
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
        return path

    return _make


@pytest.fixture
def load_counts(make_file, db_file):
    """load_counts(parse, text, **options) -> (rows read, loaded, quarantined): ``text`` written
    to input.csv, read by an ingest module's ``parse(path, **options)`` and loaded into this
    test's warehouse."""
    from flopwatt.ingest.loader import load

    def _load(parse, text: str, **options) -> tuple[int, int, int]:
        res = load(parse(make_file("input.csv", text), **options))
        return res.rows_read, res.rows_loaded, res.rows_quarantined

    return _load


@pytest.fixture
def quarantine(db_file):
    """quarantine(*columns) -> {line_number: value} of this test's raw.quarantine in line order
    (one row per line, else the test fails); the value is the reason by default, the one column
    named, or a tuple of several."""
    from helpers import raw

    def _read(*columns: str) -> dict:
        names = columns or ("reason",)
        rows = raw(
            db_file,
            f"select line_number, {', '.join(names)} from raw.quarantine order by line_number",
        )
        by_line = {line: values[0] if len(names) == 1 else tuple(values) for line, *values in rows}
        assert len(by_line) == len(rows), f"several quarantine rows share a line: {rows}"
        return by_line

    return _read
