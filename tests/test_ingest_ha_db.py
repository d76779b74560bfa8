"""Home Assistant recorder database: two schema generations created from HA's own DDL.

Expected values are derived by hand from the rows inserted below (times in UTC).
"""

import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from flopwatt.ingest import ha_db
from flopwatt.ingest.loader import load

from flopwatt.core.errors import IngestError

FIX = Path(__file__).parent / "fixtures"
W = json.dumps({"state_class": "measurement", "unit_of_measurement": "W",
                "device_class": "power", "friendly_name": "Plug power"})  # fmt: skip
KW = json.dumps({"state_class": "measurement", "unit_of_measurement": "kW",
                 "device_class": "power", "friendly_name": "Plug power"})  # fmt: skip
NO_UNIT = json.dumps({"friendly_name": "Plug power"})
T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


# schema version -> (HA's DDL, its schema_changes rows: version -> when, the columns of the
# states rows the tests insert)
SCHEMAS = {
    30: (
        "ha_recorder_schema_30.sql",
        {25: "2022-04-01 08:00:00.000000", 30: "2022-10-05 08:00:00.000000"},
        ("state_id", "entity_id", "state", "attributes", "last_changed", "last_updated",
         "attributes_id"),
    ),
    42: (
        "ha_recorder_schema_42.sql",
        {42: "2024-03-10 08:00:00.000000"},
        ("state_id", "metadata_id", "state", "last_changed_ts", "last_updated_ts", "attributes_id"),
    ),
}  # fmt: skip


def _create(
    path: Path,
    schema: int,
    *,
    attributes: list[str],
    states: list[tuple],
    entities: tuple[str, ...] = (),
    wal: bool = False,
) -> sqlite3.Connection:
    """A recorder database made with HA's own DDL of ``schema`` (30 or 42): its schema_changes
    (change_id 1, 2, ...), the entities of states_meta (schema 42: metadata_id 1, 2, ...), the
    rows of state_attributes (attributes_id 1, 2, ... with hash 11, 12, ...) and the ``states``
    (values of the schema's columns in SCHEMAS). Open: the caller commits and closes."""
    ddl, changes, columns = SCHEMAS[schema]
    con = sqlite3.connect(path)
    con.executescript((FIX / ddl).read_text())
    if wal:
        con.execute("pragma journal_mode=wal")
    con.executemany(
        "insert into schema_changes values (?, ?, ?)",
        [(i, version, at) for i, (version, at) in enumerate(changes.items(), start=1)],
    )
    if entities:
        con.executemany("insert into states_meta values (?, ?)", enumerate(entities, start=1))
    con.executemany(
        "insert into state_attributes values (?, ?, ?)",
        [(i, 10 + i, attrs) for i, attrs in enumerate(attributes, start=1)],
    )
    marks = ", ".join("?" * len(columns))
    con.executemany(f"insert into states ({', '.join(columns)}) values ({marks})", states)
    return con


@pytest.fixture
def legacy_db(tmp_path) -> Path:
    """Schema 30 (before 2023.2): states.entity_id, naive-UTC datetime strings."""
    path = tmp_path / "home-assistant_v2.db"
    rows = [
        # state_id, entity_id, state, attributes, last_changed, last_updated, attributes_id
        (1, "sensor.plug_power", "50.0", None, None, "2022-11-01 10:00:00.000000", 1),
        (2, "sensor.plug_power", "60.5", None, None, "2022-11-01 10:00:03.500000", 1),
        # attribute-only update: last_changed kept from row 2
        (3, "sensor.plug_power", "60.5", None, "2022-11-01 10:00:03.500000",
         "2022-11-01 10:00:10.000000", 1),
        (4, "sensor.plug_power", "unavailable", None, None, "2022-11-01 10:00:20.000000", 2),
        (5, "sensor.other_power", "999", None, None, "2022-11-01 10:00:25.000000", 1),
        (6, "sensor.plug_power", "55", None, None, "2022-11-01 10:00:30.000000", 1),
        (7, "sensor.plug_power", "unknown", None, None, "2022-11-01 10:00:40.000000", 2),
        (8, "sensor.plug_power", "abc", None, None, "2022-11-01 10:00:45.000000", 1),
        # a pre-2022.4 row: attributes inline in states.attributes, in kW
        (9, "sensor.plug_power", "0.07", KW, None, "2022-11-01 10:01:00.000000", None),
    ]  # fmt: skip
    con = _create(path, 30, attributes=[W, NO_UNIT], states=rows)
    con.commit()
    con.close()
    return path


@pytest.fixture
def modern_db(tmp_path) -> Path:
    """Schema 42 (2024.3): *_ts floats, states_meta, last_changed_ts NULL when unchanged."""
    path = tmp_path / "home-assistant_v2.db"
    rows = [
        # state_id, metadata_id, state, last_changed_ts, last_updated_ts, attributes_id
        (1, 1, "1.2", None, T0, 1),
        (2, 1, "1.5", None, T0 + 5.25, 1),
        (3, 1, "unavailable", None, T0 + 10, 2),
        (4, 2, "7", None, T0 + 12, 1),
        (5, 1, "0.9", None, T0 + 20, 1),
        (6, 1, "0.9", T0 + 20, T0 + 30, 1),  # attributes changed, state did not
        (7, 1, "", None, T0 + 40, None),  # entity removed
    ]
    con = _create(
        path,
        42,
        attributes=[KW, NO_UNIT],
        states=rows,
        entities=("sensor.plug_power", "sensor.other_power"),
        wal=True,
    )
    con.execute("insert into statistics_meta values (1, 'sensor.plug_power', 'recorder', 'kW', "
                "1, 0, null)")  # fmt: skip
    con.execute("insert into statistics_meta values (2, 'sensor.old_power', 'recorder', 'W', "
                "1, 0, null)")  # fmt: skip
    stats = [
        # id, metadata_id, start_ts, mean
        (1, 1, T0 - 600, 1.0),  # 22:03:20, window ends 22:08:20
        (2, 1, T0 - 300, 1.1),  # 22:08:20, ends 22:13:20 = first state: kept
        (3, 1, T0, 1.3),  # 22:13:20, overlaps the states: not used
        (4, 2, T0 - 300, 40.0),
        (5, 2, T0, 42.0),
    ]
    con.executemany(
        "insert into statistics_short_term (id, metadata_id, start_ts, mean, created_ts)"
        " values (?, ?, ?, ?, 0)",
        stats,
    )
    con.commit()
    con.close()
    return path


def _readings(batch):
    return batch.tables["power_readings"].select("line_number", "measured_at", "power_w").rows()


def _gaps(batch):
    q = batch.quarantine.filter(batch.quarantine["reason"].str.starts_with("gap: "))
    return q.select("line_number", "meter_id", "measured_at").rows()


def test_legacy_schema_30(legacy_db):
    b = ha_db.parse(legacy_db, entity="sensor.plug_power")
    assert _readings(b) == [
        (1, datetime(2022, 11, 1, 10, 0, 0), 50.0),
        (2, datetime(2022, 11, 1, 10, 0, 3, 500000), 60.5),
        # last_changed (10:00:03.5) reaches back to row 2: read at last_updated
        (3, datetime(2022, 11, 1, 10, 0, 10), 60.5),
        (6, datetime(2022, 11, 1, 10, 0, 30), 55.0),
        (9, datetime(2022, 11, 1, 10, 1, 0), 70.0),  # 0.07 kW from states.attributes
    ]
    assert _gaps(b) == [
        (4, "sensor.plug_power", datetime(2022, 11, 1, 10, 0, 20)),
        (7, "sensor.plug_power", datetime(2022, 11, 1, 10, 0, 40)),
    ]
    reasons = dict(b.quarantine.select("line_number", "reason").rows())
    assert reasons[8] == "power abc is not a number"
    assert b.rows_read == 8 and b.rows_loaded == 5
    assert b.options["schema_version"] == 30 and b.options["generation"] == "legacy-datetime"
    assert "schema 30" in b.tables["meters"]["description"][0]
    assert any("attribute-only" in w for w in b.warnings)


def test_modern_schema_42_kw_gaps_and_null_last_changed(modern_db):
    b = ha_db.parse(modern_db, entity="sensor.plug_power", zone="GBR")
    assert _readings(b) == [
        (1, datetime(2023, 11, 14, 22, 13, 20), 1200.0),
        (2, datetime(2023, 11, 14, 22, 13, 25, 250000), 1500.0),
        # row 3 ("unavailable") has no unit: the entity's unit (kW) carries on
        (5, datetime(2023, 11, 14, 22, 13, 40), 900.0),
        (6, datetime(2023, 11, 14, 22, 13, 50), 900.0),
    ]
    assert _gaps(b) == [
        (3, "sensor.plug_power", datetime(2023, 11, 14, 22, 13, 30)),
        (7, "sensor.plug_power", datetime(2023, 11, 14, 22, 14, 0)),
    ]
    assert b.options["generation"] == "states-meta" and b.options["schema_version"] == 42
    m = b.tables["meters"].row(0, named=True)
    assert (m["meter_id"], m["meter_kind"], m["zone"], m["source_format"]) == (
        "sensor.plug_power", "wall", "GBR", "ha-db"
    )  # fmt: skip


def test_timestamps_generation_mid_migration(legacy_db):
    """Schema 31's migration adds *_ts columns; old rows keep their strings, new rows use floats."""
    con = sqlite3.connect(legacy_db)
    con.execute("alter table states add column last_updated_ts FLOAT")
    con.execute("alter table states add column last_changed_ts FLOAT")
    con.execute("insert into schema_changes values (3, 33, '2023-02-02 08:00:00.000000')")
    con.execute(
        "insert into states (state_id, entity_id, state, last_updated_ts, attributes_id)"
        " values (10, 'sensor.plug_power', '80', ?, 1)",
        (1_667_296_920.0,),  # 2022-11-01 10:02:00 UTC
    )
    con.commit()
    con.close()
    b = ha_db.parse(legacy_db, entity="sensor.plug_power")
    assert b.options["generation"] == "timestamps"
    assert _readings(b)[-1] == (10, datetime(2022, 11, 1, 10, 2, 0), 80.0)
    assert len(_readings(b)) == 6


def test_statistics_fallback_fills_before_the_first_state(modern_db):
    b = ha_db.parse(modern_db, entity="sensor.plug_power", statistics_fallback=True)
    assert _readings(b)[:3] == [
        (1, datetime(2023, 11, 14, 22, 3, 20), 1000.0),
        (2, datetime(2023, 11, 14, 22, 8, 20), 1100.0),
        (1, datetime(2023, 11, 14, 22, 13, 20), 1200.0),  # state_id 1
    ]
    m = b.tables["meters"].row(0, named=True)
    assert m["source_format"] == "ha-db+statistics_short_term"
    assert "5-min means" in m["description"]
    assert any("statistics_short_term" in w for w in b.warnings)


def test_statistics_only_when_states_were_purged(modern_db):
    with pytest.raises(IngestError, match="statistics-fallback"):
        ha_db.parse(modern_db, entity="sensor.old_power")
    b = ha_db.parse(modern_db, entity="sensor.old_power", statistics_fallback=True)
    assert _readings(b) == [
        (4, datetime(2023, 11, 14, 22, 8, 20), 40.0),
        (5, datetime(2023, 11, 14, 22, 13, 20), 42.0),
    ]
    assert b.tables["meters"]["source_format"][0] == "ha-db:statistics_short_term"


def test_same_rows_same_sha_new_rows_new_load(modern_db, tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    first = load(ha_db.parse(modern_db, entity="sensor.plug_power"), con=con)
    assert first.rows_loaded == 4 and first.rows_quarantined == 2
    again = load(ha_db.parse(modern_db, entity="sensor.plug_power"), con=con)
    assert again.skipped_as_duplicate_of == first.load_id
    gaps = con.execute(
        "select meter_id, measured_at from raw.quarantine where reason like 'gap:%' order by 2"
    ).fetchall()
    assert gaps[0] == ("sensor.plug_power", datetime(2023, 11, 14, 22, 13, 30))
    src = con.execute("select source_path from raw.loads").fetchone()[0]
    assert src.endswith("#sensor.plug_power")
    db = sqlite3.connect(modern_db)
    db.execute("insert into states (state_id, metadata_id, state, last_updated_ts, attributes_id)"
               " values (8, 1, '1.0', ?, 1)", (T0 + 60,))  # fmt: skip
    db.commit()
    db.close()
    third = load(ha_db.parse(modern_db, entity="sensor.plug_power"), con=con)
    assert third.skipped_as_duplicate_of is None and third.rows_loaded == 5


def test_opened_read_only_never_blocks_or_changes_ha(modern_db):
    before = modern_db.read_bytes()
    writer = sqlite3.connect(modern_db)
    writer.execute("begin immediate")  # HA mid-transaction (WAL: readers are not blocked)
    writer.execute("update states set state = '2.0' where state_id = 1")
    b = ha_db.parse(modern_db, entity="sensor.plug_power")
    assert _readings(b)[0][2] == 1200.0  # the committed snapshot
    assert not b.warnings or all("immutable" not in w for w in b.warnings)
    writer.rollback()
    writer.close()
    assert modern_db.read_bytes() == before


def test_locked_rollback_journal_database_falls_back_to_immutable(legacy_db):
    writer = sqlite3.connect(legacy_db)
    writer.execute("begin exclusive")
    try:
        b = ha_db.parse(legacy_db, entity="sensor.plug_power")
    finally:
        writer.rollback()
        writer.close()
    assert len(_readings(b)) == 5
    assert any("immutable" in w for w in b.warnings)


def test_unknown_entity_units_and_not_a_recorder(modern_db, tmp_path):
    with pytest.raises(IngestError, match=r"no states for entity sensor\.plug_pwr"):
        ha_db.parse(modern_db, entity="sensor.plug_pwr")
    con = sqlite3.connect(modern_db)
    con.execute("insert into states_meta values (3, 'sensor.plug_energy')")
    con.execute("insert into state_attributes values (3, 13, ?)",
                (json.dumps({"unit_of_measurement": "kWh"}),))  # fmt: skip
    con.execute("insert into states (state_id, metadata_id, state, last_updated_ts, attributes_id)"
                " values (20, 3, '12.5', ?, 3)", (T0,))  # fmt: skip
    con.execute("insert into states_meta values (4, 'sensor.bare')")
    con.execute("insert into states (state_id, metadata_id, state, last_updated_ts)"
                " values (21, 4, '12.5', ?)", (T0,))  # fmt: skip
    con.commit()
    con.close()
    with pytest.raises(IngestError, match="counters"):
        ha_db.parse(modern_db, entity="sensor.plug_energy")
    with pytest.raises(IngestError, match="--unit"):
        ha_db.parse(modern_db, entity="sensor.bare")
    assert _readings(ha_db.parse(modern_db, entity="sensor.bare", unit="W")) == [
        (21, datetime(2023, 11, 14, 22, 13, 20), 12.5)
    ]
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x int)").connection.close()
    with pytest.raises(IngestError, match="not a Home Assistant recorder"):
        ha_db.parse(other, entity="sensor.x")
    text = tmp_path / "x.db"
    text.write_text("hello")
    with pytest.raises(IngestError, match="not a SQLite"):
        ha_db.parse(text, entity="sensor.x")


def test_cli_ha_db(modern_db, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from flopwatt.cli import cli as main

    monkeypatch.setenv("FLOPWATT_DB", str(tmp_path / "cli.duckdb"))
    r = CliRunner().invoke(main, ["ingest", "power", "--format", "ha-db", str(modern_db),
                                  "--entity", "sensor.plug_power"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "loaded 4, quarantined 2" in r.output
    r = CliRunner().invoke(main, ["ingest", "power", "--format", "ha-db", str(modern_db)])
    assert r.exit_code != 0 and "--entity" in r.output


@pytest.mark.skipif(not os.environ.get("FLOPWATT_TEST_PG_URL"),
                    reason="set FLOPWATT_TEST_PG_URL to a scratch PostgreSQL database")  # fmt: skip
def test_postgresql_url():
    psycopg = pytest.importorskip("psycopg")
    url = os.environ["FLOPWATT_TEST_PG_URL"]
    with psycopg.connect(url, autocommit=True) as con:
        for t in ("states", "states_meta", "state_attributes", "schema_changes"):
            con.execute(f"drop table if exists {t} cascade")
        con.execute("create table schema_changes (change_id serial primary key, "
                    "schema_version integer, changed timestamptz default now())")  # fmt: skip
        con.execute("create table state_attributes (attributes_id serial primary key, "
                    "hash bigint, shared_attrs text)")  # fmt: skip
        con.execute("create table states_meta (metadata_id serial primary key, "
                    "entity_id varchar(255))")  # fmt: skip
        con.execute("create table states (state_id serial primary key, entity_id char(1), "
                    "state varchar(255), last_changed_ts double precision, last_updated_ts "
                    "double precision, attributes_id integer, metadata_id integer)")  # fmt: skip
        con.execute("insert into schema_changes (schema_version) values (42)")
        con.execute("insert into states_meta values (1, 'sensor.plug_power')")
        con.execute("insert into state_attributes values (1, 1, %s)", (W,))
        con.execute("insert into states (state, last_updated_ts, attributes_id, metadata_id) "
                    "values ('10', %s, 1, 1), ('unavailable', %s, 1, 1)", (T0, T0 + 1))  # fmt: skip
    b = ha_db.parse(url, entity="sensor.plug_power")
    assert [r[1:] for r in _readings(b)] == [(datetime(2023, 11, 14, 22, 13, 20), 10.0)]
    assert len(_gaps(b)) == 1


def test_recorder_and_history_export_share_the_gap_states(tmp_path, make_file):
    """'none' and 'nan' are gaps (meter and instant kept) in the recorder database, as they are
    in a history export: one vocabulary (flopwatt.core.vocab.GAP_STATES) for both."""
    from flopwatt.ingest import power

    path = tmp_path / "home-assistant_v2.db"
    con = _create(
        path,
        42,
        attributes=[W],
        states=[(1, 1, "40", None, T0, 1), (2, 1, "None", None, T0 + 7, 1),
                (3, 1, "42", None, T0 + 9.5, 1), (4, 1, "NaN", None, T0 + 15, 1),
                (5, 1, "44", None, T0 + 21, 1)],
        entities=("sensor.plug_power",),
    )  # fmt: skip
    con.commit()
    con.close()
    db_gaps = _gaps(ha_db.parse(path, entity="sensor.plug_power"))
    assert db_gaps == [
        (2, "sensor.plug_power", datetime(2023, 11, 14, 22, 13, 27)),
        (4, "sensor.plug_power", datetime(2023, 11, 14, 22, 13, 35)),
    ]
    export = make_file(
        "history.csv",
        "entity_id,state,last_changed\n"
        "sensor.plug_power,40,2023-11-14T22:13:20.000Z\n"
        "sensor.plug_power,None,2023-11-14T22:13:27.000Z\n"
        "sensor.plug_power,42,2023-11-14T22:13:29.500Z\n"
        "sensor.plug_power,NaN,2023-11-14T22:13:35.000Z\n"
        "sensor.plug_power,44,2023-11-14T22:13:41.000Z\n",
    )
    export_gaps = _gaps(power.parse(export).collect())
    assert [(m, t) for _, m, t in export_gaps] == [(m, t) for _, m, t in db_gaps]
