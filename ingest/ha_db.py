"""Power readings straight from Home Assistant's recorder database (SQLite file or PostgreSQL URL).

Every schema generation is read; which one is recorded from ``schema_changes`` and confirmed by the
columns actually present (a database in the middle of a migration has both kinds of rows):

- before 2023.2 (schema < 31): ``states.entity_id``, ``last_updated``/``last_changed`` as naive-UTC
  datetime strings (SQLite) or timestamps;
- 2023.2+ (schema 31+): ``last_updated_ts``/``last_changed_ts`` epoch floats; ``last_changed_ts``
  (like ``last_changed`` before it, since 2022.6) is NULL when it equals ``last_updated``;
- 2023.4+ (schema 38+): entity ids in ``states_meta``, ``states.metadata_id``.

Units come from ``state_attributes.shared_attrs`` (or the legacy ``states.attributes``) JSON
``unit_of_measurement``: W or kW (mW too). ``unavailable``/``unknown``/'' (entity removed) are gaps:
they go to ``raw.quarantine`` with ``is_gap`` (reason ``gap: ...``) plus the meter and the instant,
never to ``raw.power_readings`` as zeros.

The reading's time is ``last_changed`` (when the value became what it is), except when that reaches
back to or before the entity's previous row (an attribute-only update, or a value restored after a
restart or a gap): then ``last_updated``, the time the row itself asserts the value.

The database is opened read-only (``file:...?mode=ro`` URI, one read transaction), so Home
Assistant is never locked out; when that open fails (a locked or read-only directory) the file is
read with ``immutable=1`` and a warning. PostgreSQL URLs need ``psycopg`` (3) or ``psycopg2``; the
session is set read-only. ``line_number`` of a reading is ``states.state_id``
(``statistics_short_term.id`` for statistics rows): the way back to the source row.

With ``statistics_fallback``, the 5-minute means of ``statistics_short_term`` are used for the time
before the first state row (states are purged after ``purge_keep_days``, statistics are kept): each
mean becomes a reading at the window start, which under zero-order hold integrates to exactly
mean x 5 min. The meter's ``source_format``/``description`` say so.

The source's sha256 is computed over the extracted rows (entity, ids, states, times, units), so
loading the same data again is a no-op and new rows make a new load (staging dedups overlaps).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import polars as pl
from flopwatt.ingest.loader import QUARANTINE_SCHEMA, Batch
from flopwatt.ingest.tabular import check_readable

from flopwatt.core.errors import IngestError, OptionError
from flopwatt.core.vocab import GAP_STATES
from flopwatt.core.vocab import POWER_UNIT_FACTORS as UNIT_FACTORS

DEFAULT_PATH = "home-assistant_v2.db"
# first schema version of each generation (homeassistant/components/recorder/migration.py)
SCHEMA_TS = 31  # 2023.2: last_updated_ts / last_changed_ts
SCHEMA_STATES_META = 38  # 2023.4: states_meta
STATISTICS_PERIOD_S = 300

READINGS_SCHEMA = {
    "line_number": pl.Int64,
    "meter_id": pl.String,
    "measured_at": pl.Datetime("us"),
    "power_w": pl.Float64,
}


# --------------------------------------------------------------------------------------------
# connections: SQLite file (read-only) or PostgreSQL URL


@dataclass
class _Db:
    source: str  # what the load log shows (password masked)
    con: object
    dialect: str  # sqlite | postgresql
    warnings: list[str] = field(default_factory=list)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        cur = self.con.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        return rows

    def tables(self) -> set[str]:
        if self.dialect == "sqlite":
            rows = self.query("select name from sqlite_master where type in ('table', 'view')")
        else:
            rows = self.query(
                "select table_name from information_schema.tables "
                "where table_schema = current_schema()"
            )
        return {r[0].lower() for r in rows}

    def columns(self, table: str) -> set[str]:
        if self.dialect == "sqlite":
            return {r[1].lower() for r in self.query(f"pragma table_info({table})")}
        rows = self.query(
            "select column_name from information_schema.columns "
            "where table_schema = current_schema() and table_name = ?",
            (table,),
        )
        return {r[0].lower() for r in rows}

    def close(self) -> None:
        try:
            self.con.rollback()
        finally:
            self.con.close()


def is_url(source: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+]*://", str(source), flags=re.I))


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def unreadable(source: str, exc: Exception) -> IngestError:
    """The one line for a recorder SQLite cannot read, e.g. "database disk image is malformed": a
    hot journal (Home Assistant writing, or killed mid-write) read without it, or a file copied
    while Home Assistant was writing it."""
    return IngestError(
        source,
        f"cannot read the recorder database ({exc}): Home Assistant may be writing it (a hot "
        "journal or WAL next to it); stop Home Assistant, or copy the .db with its -wal/-shm or "
        "-journal files, and load the copy",
    )


def _open_sqlite(path: Path) -> _Db:
    path = path.absolute()
    if not path.exists():
        raise IngestError(str(path), "file not found (Home Assistant keeps home-assistant_v2.db "
                          "in its config directory)")  # fmt: skip
    check_readable(path)
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise IngestError(str(path), "not a SQLite database (expected Home Assistant's "
                              "home-assistant_v2.db)", line=1)  # fmt: skip
    uri = "file:" + quote(str(path.resolve()))
    warnings: list[str] = []
    try:
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=2.0)
        con.execute("begin")  # one consistent snapshot for every query of this load
        con.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        if not isinstance(exc, sqlite3.OperationalError):
            raise unreadable(str(path), exc) from exc
        # locked (rollback journal held by a writer) or WAL in a directory we cannot write -shm to
        try:
            con = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
            con.execute("begin")
            con.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.DatabaseError as again:
            raise unreadable(str(path), again) from again
        warnings.append(
            f"could not open read-only with locking ({exc}); read it as immutable: rows Home "
            "Assistant writes during this read may be missed or torn, so stop HA or copy the "
            "file first for an exact load"
        )
    return _Db(str(path), con, "sqlite", warnings)


def _open_postgres(url: str) -> _Db:
    masked = mask_url(url)
    dsn = re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url)
    try:
        import psycopg  # type: ignore[import-not-found]

        try:
            con = psycopg.connect(dsn, connect_timeout=10)
        except psycopg.Error as exc:
            raise IngestError(masked, f"cannot connect to PostgreSQL ({exc})") from exc
        con.read_only = True
    except ImportError:
        try:
            import psycopg2  # type: ignore[import-not-found]
        except ImportError as exc:
            raise IngestError(
                masked, "reading a PostgreSQL recorder needs psycopg: pip install 'psycopg[binary]'"
            ) from exc
        try:
            con = psycopg2.connect(dsn, connect_timeout=10)
        except psycopg2.Error as exc:
            raise IngestError(masked, f"cannot connect to PostgreSQL ({exc})") from exc
        con.set_session(readonly=True)
    return _Db(masked, con, "postgresql")


def open_db(source: str | Path) -> _Db:
    s = str(source)
    if is_url(s):
        if re.match(r"^postgres(ql)?(\+\w+)?://", s, flags=re.I):
            return _open_postgres(s)
        if s.lower().startswith("sqlite:///"):
            return _open_sqlite(Path(s[len("sqlite:///") :]))
        raise IngestError(mask_url(s), "unsupported recorder database URL: use a SQLite file path "
                          "or a postgresql:// URL (MySQL/MariaDB: not supported)")  # fmt: skip
    return _open_sqlite(Path(s))


# --------------------------------------------------------------------------------------------
# schema detection


@dataclass
class Schema:
    version: int | None
    generation: str  # legacy-datetime | timestamps | states-meta
    state_cols: set[str]
    has_meta: bool
    has_attrs_table: bool

    def describe(self) -> str:
        return f"schema {self.version} ({self.generation})"


def detect(db: _Db) -> Schema:
    tables = db.tables()
    if "schema_changes" not in tables or "states" not in tables:
        raise IngestError(db.source, "not a Home Assistant recorder database (no schema_changes "
                          "or states table)")  # fmt: skip
    rows = db.query("select schema_version from schema_changes order by change_id desc limit 1")
    version = int(rows[0][0]) if rows and rows[0][0] is not None else None
    cols = db.columns("states")
    has_meta = "states_meta" in tables and "metadata_id" in cols
    has_ts = "last_updated_ts" in cols
    if not has_ts and "last_updated" not in cols:
        raise IngestError(db.source, "states table has neither last_updated_ts nor last_updated")
    if has_meta:
        generation = "states-meta"
    elif has_ts:
        generation = "timestamps"
    else:
        generation = "legacy-datetime"
    # the columns are the truth: a database in the middle of a migration has the new columns
    # (and rows of both kinds) before schema_changes records the new version
    return Schema(version, generation, cols, has_meta, "state_attributes" in tables)


# --------------------------------------------------------------------------------------------
# extraction


def _time_cols(cols: set[str]) -> list[str]:
    return [c for c in ("last_updated_ts", "last_changed_ts", "last_updated", "last_changed")
            if c in cols]  # fmt: skip


def _states(db: _Db, schema: Schema, entity: str) -> list[dict]:
    cols = schema.state_cols
    tcols = _time_cols(cols)
    attrs = []
    join = ""
    if schema.has_attrs_table and "attributes_id" in cols:
        attrs.append("a.shared_attrs")
        join = " left join state_attributes a on a.attributes_id = s.attributes_id"
    if "attributes" in cols:
        attrs.append("s.attributes")
    attr_expr = f"coalesce({', '.join(attrs)})" if len(attrs) > 1 else (attrs or ["null"])[0]
    select = (
        f"select s.state_id, s.state, {', '.join('s.' + c for c in tcols)}, {attr_expr} as attrs "
        f"from states s{join}"
    )
    queries: list[tuple[str, tuple]] = []
    if schema.has_meta:
        queries.append((
            f"{select} where s.metadata_id in "
            "(select metadata_id from states_meta where entity_id = ?)",
            (entity,),
        ))  # fmt: skip
        if "entity_id" in cols:  # rows not yet migrated to states_meta
            queries.append((f"{select} where s.metadata_id is null and s.entity_id = ?", (entity,)))
    else:
        queries.append((f"{select} where s.entity_id = ?", (entity,)))
    names = ["state_id", "state", *tcols, "attrs"]
    out: list[dict] = []
    for sql, params in queries:
        out.extend(dict(zip(names, r, strict=True)) for r in db.query(sql, params))
    return out


def _known_entities(db: _Db, schema: Schema, like: str) -> list[str]:
    if schema.has_meta:
        rows = db.query(
            "select entity_id from states_meta where entity_id like ? limit 20", (like,)
        )
    else:
        rows = db.query("select distinct entity_id from states where entity_id like ? limit 20",
                        (like,))  # fmt: skip
    return sorted(r[0] for r in rows if r[0])


def _statistics(db: _Db, entity: str) -> tuple[list[dict], str | None]:
    tables = db.tables()
    if "statistics_short_term" not in tables or "statistics_meta" not in tables:
        return [], None
    meta = db.query(
        "select id, unit_of_measurement from statistics_meta where statistic_id = ?", (entity,)
    )
    if not meta:
        return [], None
    meta_id, unit = meta[0]
    cols = db.columns("statistics_short_term")
    tcols = [c for c in ("start_ts", "start") if c in cols]
    rows = db.query(
        f"select id, mean, {', '.join(tcols)} from statistics_short_term where metadata_id = ?",
        (meta_id,),
    )
    names = ["id", "mean", *tcols]
    return [dict(zip(names, r, strict=True)) for r in rows], unit


def _to_utc_naive(value) -> datetime | None:
    """An epoch float, a naive-UTC datetime string (SQLite) or a datetime (PostgreSQL)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    text = str(value).strip().replace("T", " ")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt  # HA stored UTC (SQLAlchemy drops the zone on SQLite)


def _first(*values):
    for v in values:
        if v is not None:
            return v
    return None


_UNIT_CACHE: dict[str, str | None] = {}


def _unit_of(attrs: str | None) -> str | None:
    if not attrs:
        return None
    if attrs not in _UNIT_CACHE:
        try:
            parsed = json.loads(attrs)
        except (TypeError, ValueError):
            parsed = None
        unit = parsed.get("unit_of_measurement") if isinstance(parsed, dict) else None
        _UNIT_CACHE[attrs] = str(unit) if unit is not None else None
    return _UNIT_CACHE[attrs]


def _float(text) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if v == v and v not in (float("inf"), float("-inf")) else None


# --------------------------------------------------------------------------------------------
# parse


def parse(
    source: str | Path = DEFAULT_PATH,
    *,
    entity: str,
    statistics_fallback: bool = False,
    meter: str | None = None,
    unit: str | None = None,
    meter_kind: str = "wall",
    zone: str | None = None,
) -> Batch:
    """Readings of one entity (``sensor.x``) as a power Batch (format ``ha-db``)."""
    if not entity or "." not in entity:
        raise OptionError(f"--entity {entity!r} is not an entity id such as sensor.plug_power")
    if unit is not None and unit.lower() not in UNIT_FACTORS:
        raise OptionError(f"unknown power unit {unit!r}: use W or kW")
    db = open_db(source)
    try:
        return _parse_open(db, entity, statistics_fallback, meter, unit, meter_kind, zone)
    except sqlite3.DatabaseError as exc:
        raise unreadable(db.source, exc) from exc
    finally:
        db.close()


def _parse_open(db, entity, statistics_fallback, meter, unit, meter_kind, zone) -> Batch:
    schema = detect(db)
    states = _states(db, schema, entity)
    stats, stats_unit = _statistics(db, entity) if statistics_fallback else ([], None)
    if not states and not stats:
        similar = _known_entities(db, schema, f"%{entity.split('.', 1)[1][:12]}%")
        hint = f"; similar: {', '.join(similar)}" if similar else ""
        extra = "" if statistics_fallback else " (purged? try --statistics-fallback)"
        raise IngestError(db.source, f"no states for entity {entity}{extra}{hint}")
    return _build(db, schema, entity, states, stats, stats_unit, meter=meter, unit=unit,
                  meter_kind=meter_kind, zone=zone)  # fmt: skip


def _unit_factor(db: _Db, entity: str, u: str | None) -> float:
    key = (u or "").strip().lower()
    if key in UNIT_FACTORS:
        return UNIT_FACTORS[key]
    hint = " (an energy total: load it with `flopwatt ingest counters`)" if "wh" in key else ""
    raise IngestError(db.source, f"entity {entity} has unit {u!r}, not a power unit (W, kW){hint}")


def _build(
    db, schema, entity, states, stats, stats_unit, *, meter, unit, meter_kind, zone
) -> Batch:
    meter_id = meter or entity
    warnings = list(db.warnings)
    # one record per state row, in recorder order
    recs = []
    for r in states:
        updated = _to_utc_naive(_first(r.get("last_updated_ts"), r.get("last_updated")))
        changed = _to_utc_naive(_first(r.get("last_changed_ts"), r.get("last_changed"))) or updated
        recs.append({"state_id": r["state_id"], "state": r["state"], "updated": updated,
                     "changed": changed, "unit": _unit_of(r.get("attrs"))})  # fmt: skip
    recs.sort(key=lambda x: (x["updated"] is None, x["updated"] or datetime.min, x["state_id"]))
    # units: per row, else the entity's nearest known unit, else --unit
    known = [x["unit"] for x in recs if x["unit"]]
    if not known and stats_unit:
        known = [stats_unit]
    fallback_unit = unit or (known[0] if known else None)
    if fallback_unit is None and any(_float(x["state"]) is not None for x in recs):
        raise IngestError(db.source, f"entity {entity} has no unit_of_measurement in its "
                          "attributes: say which with --unit W or --unit kW")  # fmt: skip
    last_unit = None
    for x in recs:
        if x["unit"]:
            last_unit = x["unit"]
        x["unit"] = unit or x["unit"] or last_unit or fallback_unit

    readings, quarantine, digest_rows = [], [], []
    prev_updated = None
    prev_state = object()
    attribute_only = 0
    for x in recs:
        state = x["state"]
        raw = json.dumps(
            {"state_id": x["state_id"], "entity_id": entity, "state": state,
             "last_changed": x["changed"].isoformat() if x["changed"] else None,
             "last_updated": x["updated"].isoformat() if x["updated"] else None,
             "unit": x["unit"]}
        )  # fmt: skip
        digest_rows.append(raw)
        if x["updated"] is None:
            quarantine.append(
                (x["state_id"], raw, "row has no last_updated time", None, None, False)
            )
            continue
        reaches_back = prev_updated is not None and x["changed"] <= prev_updated
        at = x["updated"] if reaches_back else x["changed"]
        if reaches_back and state == prev_state:
            attribute_only += 1
        prev_updated, prev_state = x["updated"], state
        text = "" if state is None else str(state).strip()
        if text.lower() in GAP_STATES or state is None:
            what = "entity removed" if text == "" else text
            quarantine.append(
                (x["state_id"], raw, f"gap: state '{what}' (no reading)", meter_id, at, True)
            )
            continue
        value = _float(text)
        if value is None:
            quarantine.append(
                (x["state_id"], raw, f"power {text} is not a number", None, None, False)
            )
            continue
        watts = value * _unit_factor(db, entity, x["unit"])
        if watts < 0:
            quarantine.append(
                (x["state_id"], raw, f"power {watts} W is negative", None, None, False)
            )
            continue
        readings.append((x["state_id"], meter_id, at, watts))

    stats_rows_used = 0
    stats_note = ""
    if stats:
        # the first state row (reading or gap) ends the time statistics may fill
        limit = min((x["changed"] for x in recs if x["changed"]), default=None)
        factor = _unit_factor(db, entity, unit or stats_unit or fallback_unit)
        used = []
        for s in sorted(stats, key=lambda s: s["id"]):
            start = _to_utc_naive(_first(s.get("start_ts"), s.get("start")))
            raw = json.dumps({"statistics_short_term.id": s["id"], "statistic_id": entity,
                              "start": start.isoformat() if start else None, "mean": s["mean"],
                              "unit": stats_unit})  # fmt: skip
            if start is None:
                continue
            end = start.timestamp() + STATISTICS_PERIOD_S
            if limit is not None and end > limit.replace(tzinfo=UTC).timestamp():
                continue  # states cover this time
            digest_rows.append(raw)
            mean = _float(s["mean"])
            if mean is None:
                quarantine.append((s["id"], raw, "statistics mean is empty (no 5-min mean)",
                                   None, None, False))  # fmt: skip
                continue
            if mean * factor < 0:
                quarantine.append(
                    (s["id"], raw, f"power {mean * factor} W is negative", None, None, False)
                )
                continue
            used.append((s["id"], meter_id, start, mean * factor))
        if used:
            used.sort(key=lambda r: r[2])
            stats_rows_used = len(used)
            missing = sum(
                1 for a, b in itertools.pairwise(used)
                if (b[2] - a[2]).total_seconds() > STATISTICS_PERIOD_S
            )  # fmt: skip
            stats_note = (
                f"; {len(used)} 5-min means from statistics_short_term "
                f"{used[0][2].isoformat()} to {used[-1][2].isoformat()} (states purged)"
            )
            warnings.append(
                f"{entity}: {len(used)} readings are statistics_short_term 5-minute means "
                f"(before {limit.isoformat() if limit else 'the end'}), not recorded states"
                + (f"; {missing} holes between windows are held, not gaps" if missing else "")
            )
            readings = used + readings
    if attribute_only:
        warnings.append(
            f"{entity}: {attribute_only} rows repeat the previous value (attribute-only updates or "
            "restores); read at last_updated"
        )
    rows_read = len(digest_rows)
    readings_df = pl.DataFrame(readings, schema=READINGS_SCHEMA, orient="row")
    quarantine_df = pl.DataFrame(quarantine, schema=QUARANTINE_SCHEMA, orient="row")
    fmt = "ha-db" if not stats_rows_used else (
        "ha-db:statistics_short_term" if not states else "ha-db+statistics_short_term"
    )  # fmt: skip
    meters = pl.DataFrame(
        {
            "meter_id": [meter_id],
            "meter_kind": [meter_kind],
            "zone": [zone],
            "source_format": [fmt],
            "description": [
                f"Home Assistant {entity} from recorder {schema.describe()} of {db.source}"
                + stats_note
            ],
        },
        schema={"meter_id": pl.String, "meter_kind": pl.String, "zone": pl.String,
                "source_format": pl.String, "description": pl.String},
    )  # fmt: skip
    sha = hashlib.sha256()
    sha.update(f"ha-db|{entity}|{meter_id}\n".encode())
    for line in digest_rows:
        sha.update(line.encode() + b"\n")
    return Batch(
        kind="power",
        format="ha-db",
        source=f"{db.source}#{entity}",
        sha256=sha.hexdigest(),
        rows_read=rows_read,
        tables={"power_readings": readings_df, "meters": meters},
        quarantine=quarantine_df,
        options={
            "entity": entity,
            "statistics_fallback": stats_rows_used > 0,
            "meter": meter,
            "unit": unit,
            "meter_kind": meter_kind,
            "zone": zone,
            "schema_version": schema.version,
            "generation": schema.generation,
        },
        warnings=warnings,
    )
