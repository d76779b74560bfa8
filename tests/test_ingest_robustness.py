"""Hostile paths, malformed CSV, streaming and the load log (issue 12), and gap markers as a column
(issue 13): one clear line naming the path and line, never a traceback, never a row lost."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from flopwatt.ingest import ha_db, power, tabular
from flopwatt.ingest.loader import ensure_schema, load
from helpers import raw

from flopwatt.core.errors import IngestError

FIX = Path(__file__).parent / "fixtures"


def plug_csv(n: int, *, bad: str | None = None, at: int | None = None) -> str:
    """n readings 1 s apart (watts = row index); line ``at`` replaced by ``bad``."""
    lines = ["timestamp,watts"]
    for i in range(n):
        lines.append(f"2024-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z,{i}")
    if bad is not None:
        lines[at - 1] = bad
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ 6: paths


def test_a_directory_is_one_line_naming_it(tmp_path, db_file):
    with pytest.raises(IngestError) as err:
        power.parse(tmp_path, meter="m")
    assert str(err.value) == f"{tmp_path}: is a directory, not a file"


def test_cli_on_a_directory_has_no_traceback(tmp_path, db_file):
    proc = subprocess.run(
        [sys.executable, "-m", "flopwatt", "ingest", "power", str(tmp_path), "--meter", "m"],
        capture_output=True,
        text=True,
        env={"FLOPWATT_DB": str(db_file), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{tmp_path}: is a directory" in proc.stderr


@pytest.mark.skipif(shutil.which("capsh") is None, reason="needs capsh to drop cap_dac_override")
def test_an_unreadable_file_is_one_line_naming_it(make_file, tmp_path):
    f = make_file("p.csv", plug_csv(2))
    f.chmod(0o000)
    tmp_path.chmod(0o755)
    code = (
        "import sys\nfrom flopwatt.ingest import power\nfrom flopwatt.core.errors import "
        "IngestError\ntry:\n    power.parse(sys.argv[1], meter='m')\nexcept IngestError as e:\n"
        "    print(e)\n"
    )
    cmd = f"{sys.executable} -c {_sh(code)} {_sh(str(f))}"
    proc = subprocess.run(
        ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", cmd],
        capture_output=True,
        text=True,
    )
    f.chmod(0o644)
    if "Permission denied" not in proc.stdout and proc.returncode == 0 and not proc.stdout:
        pytest.skip("file modes do not bite here")
    assert proc.stdout.strip() == f"{f}: cannot read the file (Permission denied)"
    assert "Traceback" not in proc.stderr


def _sh(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def test_ha_recorder_that_cannot_be_read_is_one_line(tmp_path):
    # a recorder whose pages were half written (what reading past a hot journal finds)
    db = tmp_path / "home-assistant_v2.db"
    con = sqlite3.connect(db)
    con.executescript((FIX / "ha_recorder_schema_42.sql").read_text())
    con.commit()
    con.close()
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for i in range(page, len(data), page):  # every page after the first: garbage
        data[i : i + page] = b"\x5a" * page
    db.write_bytes(bytes(data))
    with pytest.raises(IngestError) as err:
        ha_db.parse(db, entity="sensor.plug_power")
    msg = str(err.value)
    assert msg.startswith(f"{db}: cannot read the recorder database (")
    assert "malformed" in msg or "not a database" in msg


# ------------------------------------------------------------------ 7: malformed CSV lines


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4 KiB, so a few thousand lines cross many block boundaries."""
    monkeypatch.setattr(tabular, "CHUNK_BYTES", 4096)


def test_extra_fields_name_the_line(make_file, small_blocks):
    f = make_file("big.csv", plug_csv(3000, bad="2024-01-01T00:40:00Z,1,2", at=2401))
    with pytest.raises(IngestError) as err:
        power.parse(f, meter="m").collect()
    assert str(err.value).startswith(f"{f}, line 2401: malformed CSV: 3 fields")


def test_unclosed_quote_names_the_line(make_file, small_blocks):
    f = make_file("big.csv", plug_csv(3000, bad='2024-01-01T00:40:00Z,"12', at=1900))
    with pytest.raises(IngestError) as err:
        power.parse(f, meter="m").collect()
    assert str(err.value).startswith(f"{f}, line 1900: malformed CSV")
    assert "never closed" in str(err.value)


def test_quoted_newlines_keep_line_numbers(make_file):
    f = make_file(
        "q.csv",
        'timestamp,watts,meter_id\n2024-01-01T00:00:00Z,1,"a\nb"\n2024-01-01T00:00:01Z,x,c\n',
    )
    b = power.parse(f).collect()
    assert b.quarantine["line_number"].to_list() == [4]


# ------------------------------------------------------------------ 9: streaming


def test_streamed_blocks_load_like_one_block(make_file, db_file, monkeypatch):
    text = plug_csv(5000, bad="2024-01-01T01:06:38Z,ten", at=4000)
    f = make_file("p.csv", text)
    monkeypatch.setattr(tabular, "CHUNK_BYTES", 1000)
    batch = power.parse(f, meter="m")
    assert sum(1 for _ in batch.parts()) > 100  # really streamed, ~35 lines a block
    res = load(batch)
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (5000, 4999, 1)
    # sum of 0..4999 minus the quarantined reading 3998 (line 4000, in the ~115th block)
    assert raw(db_file, "select sum(power_w), min(line_number), max(line_number) from "
               "raw.power_readings") == [(4999 * 5000 / 2 - 3998, 2, 5001)]  # fmt: skip
    assert raw(db_file, "select line_number, raw_text from raw.quarantine") == [
        (4000, "2024-01-01T01:06:38Z,ten")
    ]


def test_a_failure_late_in_a_streamed_file_loads_nothing(make_file, db_file, small_blocks):
    f = make_file("big.csv", plug_csv(3000, bad="2024-01-01T00:49:00Z,1,2", at=2950))
    with pytest.raises(IngestError, match="line 2950"):
        load(power.parse(f, meter="m"))
    assert raw(db_file, "select count(*) from raw.power_readings") == [(0,)]
    assert raw(db_file, "select count(*) from raw.loads") == [(0,)]


# ------------------------------------------------------------------ 11: absolute source path


def test_source_path_is_stored_absolute(tmp_path, db_file, monkeypatch):
    (tmp_path / "p.csv").write_text(plug_csv(2))
    monkeypatch.chdir(tmp_path)
    load(power.parse("p.csv", meter="m"))
    assert raw(db_file, "select source_path from raw.loads") == [(str(tmp_path / "p.csv"),)]


# ------------------------------------------------------------------ gap markers: a column


def test_gap_markers_are_a_column(make_file, db_file):
    f = make_file(
        "history.csv",
        "entity_id,state,last_changed\nsensor.p,100,2024-02-01T08:00:00Z\n"
        "sensor.p,unavailable,2024-02-01T08:00:05Z\nsensor.p,abc,2024-02-01T08:00:09Z\n",
    )
    load(power.parse(f))
    assert raw(db_file, "select line_number, is_gap, meter_id from raw.quarantine order by 1") == [
        (3, True, "sensor.p"),
        (4, False, None),
    ]


def test_old_warehouses_get_is_gap_from_the_reason(tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    con.execute(
        "create table raw.quarantine (load_id bigint not null, line_number bigint, "
        "raw_text varchar, reason varchar not null, meter_id varchar, measured_at timestamp)"
    )
    con.execute(
        "insert into raw.quarantine values (1, 2, 'x', 'gap: state ''unknown'' (no reading)', "
        "'m', '2024-01-01'), (1, 3, 'y', 'power y is not a number', null, null)"
    )
    ensure_schema(con)
    assert con.execute("select line_number, is_gap from raw.quarantine order by 1").fetchall() == [
        (2, True),
        (3, False),
    ]
    con.close()
