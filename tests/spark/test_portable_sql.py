"""models_sql/ holds no engine-specific SQL: those constructs live in dispatched macros (issue 8).

A static check (no Spark needed): Jinja and comments are stripped, then each model is searched for
DuckDB-only (or Spark-only) syntax. A hit names the file and line; move the construct into a
``macros/engine/`` macro with ``default__`` and ``spark__`` implementations in one file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models_sql"

# (pattern, why it is not portable)
FORBIDDEN: list[tuple[str, str]] = [
    (r"\basof\b", "ASOF join: Spark silently parses `a asof join b` as an inner join aliased asof"),
    (r"\bepoch(_us|_ms|_ns)?\s*\(", "DuckDB epoch functions (Spark: unix_micros/unix_seconds)"),
    (r"\bextract\s*\(\s*epoch\b", "extract(epoch ...) is DuckDB/Postgres only"),
    (r"\b(make_timestamp|make_timestamptz|to_timestamp)\s*\(", "timestamp construction differs"),
    (r"::", "`::` casts are not Spark SQL (use cast(x as t))"),
    (r"\blist_\w+\s*\(|\blist\s*\(", "DuckDB list functions"),
    (r"\bstruct_pack\s*\(", "DuckDB struct_pack (Spark: named_struct)"),
    (r"\b(quantile_cont|quantile_disc|quantile|approx_quantile|median)\s*\(", "quantiles differ"),
    (r"\b(range|generate_series|unnest)\s*\(", "table functions / unnest differ (Spark: explode)"),
    (r"\bqualify\b", "QUALIFY is not Spark SQL"),
    (
        r"\b(date_diff|datediff|date_sub|date_add|time_bucket|strftime|strptime)\s*\(",
        "date arithmetic differs (dbt's datediff rounds to whole seconds on Spark)",
    ),
    (r"\bignore\s+nulls\b", "IGNORE NULLS placement differs (Spark: last(x, true))"),
    (
        r"\b(arg_max|arg_min|string_agg|listagg|array_agg|regexp_matches)\s*\(",
        "engine-specific aggregate",
    ),
    (r"\*\s*(exclude|replace)\s*\(", "select * exclude/replace is DuckDB only"),
    (r"\blog\s*\(", "log(x) is log10 in DuckDB, ln in Spark: use ln() or log10()"),
    (r"//", "integer division operator differs (DuckDB //, Spark div)"),
    (r'"', "double quotes are identifiers in DuckDB, string literals in Spark"),
    (
        r"\bas\s+(varchar|text|hugeint|uhugeint|ubigint|uinteger|usmallint|utinyint|timestamptz"
        r"|blob|json|uuid)\b"
        r"|\btimestamp\s+with\s+time\s+zone\b",
        "DuckDB type name (Spark: string, bigint, decimal(38, 0), timestamp); "
        "use {{ dbt.type_string() }} etc.",
    ),
]

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
STRING = re.compile(r"'(?:[^']|'')*'")


def _strip(text: str) -> list[str]:
    """Model text with Jinja, comments and string literals blanked (line numbers preserved)."""

    def blank(m: re.Match) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    text = JINJA.sub(blank, text)
    text = BLOCK_COMMENT.sub(blank, text)
    lines = []
    for line in text.splitlines():
        line = STRING.sub(lambda m: "''", line)
        lines.append(line.split("--", 1)[0])
    return lines


def _numbered_lines(root: Path, glob: str, clean=str.splitlines):
    """(``folder/file:line``, line) for every line of the files ``glob`` matches under ``root``."""
    for path in sorted(root.rglob(glob)):
        for no, line in enumerate(clean(path.read_text(encoding="utf-8")), start=1):
            yield f"{path.relative_to(root.parent)}:{no}", line


def find_engine_specific(root: Path = MODELS) -> list[str]:
    return [
        f"{where}: {line.strip()}  <- {why}"
        for where, line in _numbered_lines(root, "*.sql", _strip)
        for pattern, why in FORBIDDEN
        if re.search(pattern, line, re.I)
    ]


def test_models_hold_no_engine_specific_sql():
    if not MODELS.exists():
        pytest.skip("no models_sql/")
    hits = find_engine_specific()
    assert not hits, "engine-specific SQL in models (move it to macros/engine/):\n" + "\n".join(
        hits
    )


def test_the_check_catches_what_it_should(tmp_path):
    (tmp_path / "m.sql").write_text(
        "-- asof in a comment is fine\n"
        "select {{ flopwatt.asof_join('a', 'b') }} as ok, 'asof' as s\n"
        "from a asof left join b on a.k = b.k and b.t <= a.t\n"
        "select x::double, epoch_us(t), median(p) from c qualify row_number() over () = 1\n"
        "select cast(null as varchar) as v, cast(1 as bigint) as ok,\n"
        "    cast(null as {{ dbt.type_string() }}) as s\n",
        encoding="utf-8",
    )
    hits = find_engine_specific(tmp_path)
    assert any(":3:" in h and "ASOF" in h for h in hits)
    assert sum(":4:" in h for h in hits) == 4
    assert not any(":1:" in h or ":2:" in h for h in hits)
    line5 = [h for h in hits if ":5:" in h]
    assert line5 and all("varchar" in h for h in line5)
    assert not any(":6:" in h for h in hits)


# contract data types that mean the same on DuckDB and Spark (DuckDB: string = varchar)
PORTABLE_TYPES = re.compile(
    r"^(string|bigint|int|integer|smallint|double|float|boolean|timestamp|date"
    r"|decimal\(\s*\d+\s*,\s*\d+\s*\))$",
    re.I,
)


def find_unportable_contract_types(root: Path = MODELS) -> list[str]:
    hits = []
    for where, line in _numbered_lines(root, "*.yml"):
        m = re.match(r"\s*-?\s*data_type:\s*['\"]?([^'\"#]+?)['\"]?\s*(#.*)?$", line)
        if m and not PORTABLE_TYPES.match(m.group(1).strip()):
            hits.append(f"{where}: data_type {m.group(1).strip()}")
    return hits


def test_contract_data_types_are_portable():
    """`varchar` fails on Spark (`cast(null as varchar)` needs a length); `string` works on both."""
    if not MODELS.exists():
        pytest.skip("no models_sql/")
    hits = find_unportable_contract_types()
    assert not hits, (
        "contract data types that do not exist on Spark (use string, bigint, integer, double, "
        "boolean, timestamp, decimal(p, s)):\n" + "\n".join(hits)
    )


def test_each_engine_macro_keeps_its_bodies_in_one_file():
    """Every dispatched macro has its default__ and spark__ bodies next to it, in the same file."""
    macros = MODELS.parent / "macros"
    defined: dict[str, Path] = {}
    for path in sorted(macros.rglob("*.sql")):
        for name in re.findall(r"\{%-?\s*macro\s+(\w+)\s*\(", path.read_text(encoding="utf-8")):
            defined[name] = path
    dispatched = [
        (name, path)
        for path in sorted(macros.rglob("*.sql"))
        for name in re.findall(r"adapter\.dispatch\(\s*'(\w+)'", path.read_text(encoding="utf-8"))
    ]
    assert dispatched
    for name, path in dispatched:
        for impl in (f"default__{name}", f"spark__{name}"):
            assert defined.get(impl) == path, f"{impl} is not in {path.relative_to(macros.parent)}"
