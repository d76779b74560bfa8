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
