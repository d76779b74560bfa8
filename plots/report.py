"""``report.html``: one self-contained page with the figures, the fits, the per-model table,
the data quality and the provenance of every number; plus CSV and Parquet exports of the marts.

Layout of ``out_dir``::

    report.html                 figures embedded (base64 PNG), no external resources
    figures/<name>.png|.svg     each figure, PNG at 300 dpi and SVG
    data/<table>.csv|.parquet   the marts as read, the fits, and cv_inference.csv (reference shape)

Deterministic: the same marts give the same numbers, files and figures (fixed bootstrap seed, rows
sorted by key, no dates in figure metadata); only the "generated at" line changes.
Files are written to a temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import base64
import html
import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

import polars as pl
from flopwatt.plots.data import MartData, load_marts, reference_shape
from flopwatt.plots.fits import DEFAULT_BOOTSTRAP, DEFAULT_SEED, ENERGY_Y, FitResult

PACKAGES = ("flopwatt", "duckdb", "polars", "pyarrow", "numpy", "scipy", "plotnine", "matplotlib",
            "adjustText", "dbt-core", "dbt-duckdb")  # fmt: skip
EXPORT_NAMES = ("fct_model_efficiency", "dim_models", "fct_run_energy", "rpt_reference_inference",
                "fct_data_quality", "stg_raw__quarantined_rows", "stg_raw__loads")  # fmt: skip


@dataclass
class ReportContent:
    """Everything the page shows; also returned for tests and callers that want the numbers."""

    data: MartData
    fits: list[FitResult]
    figures: list  # list[plots.figures.SavedFigure]
    exports: list[Path]
    notes: list[str]
    seconds: float = 0.0


def write_report(out_dir: Path, since: date | None = None, **options) -> Path:
    """Read the marts (read-only), fit, draw, export, and write ``out_dir/report.html``.
    ``options``: those of :func:`build_report` (con, exclude_family, family)."""
    out_dir = Path(out_dir)
    return render_report(out_dir, build_report(out_dir, since, **options))


def build_report(
    out_dir: Path,
    since: date | None = None,
    *,
    con=None,
    exclude_family: str = "densenet",
    family: str = "vgg",
) -> ReportContent:
    from flopwatt.plots.figures import SavedFigure, build_figures, provenance_caption, save_figure
    from flopwatt.plots.fits import compute_fits

    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    data = load_marts(con, since=since)
    fits, fit_notes = compute_fits(data.efficiency, data.models, exclude_family=exclude_family)
    figs, fig_notes = build_figures(data, fits, exclude_family=exclude_family, family=family)
    caption = provenance_caption(data)
    saved = []
    fig_dir = out_dir / "figures"
    for f in figs:
        png, svg = save_figure(f, fig_dir)
        saved.append(SavedFigure(f.name, f.title, f.description, caption, png, svg))
    exports = export_tables(out_dir / "data", data, fits)
    notes = [*data.notes, *fit_notes, *fig_notes]
    return ReportContent(data, fits, saved, exports, notes, time.perf_counter() - t0)


# --- exports -------------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def export_tables(data_dir: Path, data: MartData, fits: Sequence[FitResult]) -> list[Path]:
    from flopwatt.plots.fits import fits_frame

    data_dir.mkdir(parents=True, exist_ok=True)
    frames = dict(data.tables())
    frames["fits"] = fits_frame(fits)
    out: list[Path] = []
    for name, frame in frames.items():
        for ext, writer in (("csv", "write_csv"), ("parquet", "write_parquet")):
            path = data_dir / f"{name}.{ext}"
            _atomic_write(path, lambda p, f=frame, w=writer: getattr(f, w)(p))
            out.append(path)
    cv = data_dir / "cv_inference.csv"
    _atomic_write(cv, lambda p: reference_shape(data).write_csv(p))
    out.append(cv)
    return out


# --- HTML helpers --------------------------------------------------------------------------------

CSS = """
:root { --ink:#1d2330; --muted:#5b6474; --line:#e3e6eb; --accent:#2b6cb0; --warn:#b7791f;
        --bad:#c53030; --good:#2f855a; --bg:#f7f8fa; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width:1240px; margin:0 auto; padding:28px 28px 64px; }
header.top { background:#1d2330; color:#fff; }
header.top div { max-width:1240px; margin:0 auto; padding:22px 28px; }
header.top h1 { margin:0 0 4px; font-size:26px; font-weight:650; }
header.top p { margin:0; color:#c9d1de; font-size:14px; }
nav { margin:18px 0 8px; font-size:14px; }
nav a { margin-right:14px; color:var(--accent); text-decoration:none; }
h2 { margin:40px 0 12px; padding-bottom:6px; border-bottom:2px solid var(--line); font-size:21px; }
h3 { margin:26px 0 8px; font-size:16px; }
p.lead { color:var(--muted); margin-top:0; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(160px, 1fr)); gap:12px;
         margin:18px 0; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .v { font-size:22px; font-weight:650; }
.card .k { color:var(--muted); font-size:13px; }
figure { background:#fff; border:1px solid var(--line); border-radius:8px; margin:0 0 22px;
         padding:14px; }
figure img { width:100%; max-width:920px; height:auto; display:block; margin:0 auto; }
figcaption { color:var(--muted); font-size:13.5px; margin-top:8px; }
figcaption b { color:var(--ink); }
figcaption a { color:var(--accent); }
.tablewrap { overflow-x:auto; background:#fff; border:1px solid var(--line); border-radius:8px;
             margin:8px 0 18px; }
table { border-collapse:collapse; width:100%; font-size:12.5px; }
th, td { padding:5px 8px; border-bottom:1px solid var(--line); text-align:left;
         white-space:nowrap; }
th { background:#eef1f5; font-weight:600; white-space:normal; vertical-align:bottom;
     min-width:3.5em; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tbody tr:nth-child(even) { background:#fafbfc; }
tbody tr:hover { background:#eef5ff; }
.note { background:#fffaf0; border-left:4px solid var(--warn); padding:8px 12px; margin:6px 0;
        font-size:14px; }
.ok { color:var(--good); } .bad { color:var(--bad); font-weight:600; }
ul.plain { padding-left:18px; } code { font-size:13px; background:#eef1f5; padding:1px 4px;
  border-radius:3px; }
footer { color:var(--muted); font-size:12.5px; margin-top:40px; }
"""


def esc(v: object) -> str:
    return html.escape(str(v), quote=True)


def fmt_num(v: object, digits: int = 4) -> str:
    """Numbers for people: 4 significant digits, thousands separators for big ones."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.{digits - 1}e}"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return str(v)


def html_table(
    frame: pl.DataFrame,
    headers: dict[str, str] | None = None,
    *,
    formats: dict[str, Callable[[object], str]] | None = None,
    max_rows: int | None = None,
    right: Iterable[str] = (),
) -> str:
    """A readable table: headers renamed, numbers right-aligned and rounded."""
    headers = headers or {c: c for c in frame.columns}
    formats = formats or {}
    cols = [c for c in headers if c in frame.columns]
    numeric = {c for c in cols if frame.schema[c].is_numeric()} | set(right)
    shown = frame if max_rows is None else frame.head(max_rows)
    head = "".join(
        f'<th class="{"num" if c in numeric else ""}">{esc(headers[c])}</th>' for c in cols
    )
    body = []
    for row in shown.select(cols).iter_rows():
        cells = []
        for c, v in zip(cols, row, strict=True):
            text = formats[c](v) if c in formats else fmt_num(v)
            cells.append(f'<td class="{"num" if c in numeric else ""}">{esc(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if max_rows is not None and frame.height > max_rows:
        more = f'<p class="lead">{frame.height - max_rows} more row(s) in the CSV export.</p>'
    return (
        f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{more}"
    )


def _card(value: str, key: str) -> str:
    return (
        f'<div class="card"><div class="v">{esc(value)}</div><div class="k">{esc(key)}</div></div>'
    )


def _notes(notes: Iterable[str]) -> str:
    return "".join(f'<div class="note">{esc(n)}</div>' for n in notes)


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


# --- sections ------------------------------------------------------------------------------------


def _summary(c: ReportContent) -> str:
    d = c.data
    eff = d.efficiency
    cards = [
        _card(f"{eff.height}", "models measured"),
        _card(f"{d.models.height}", "models profiled"),
    ]
    if d.runs is not None:
        inf = d.runs.filter(pl.col("phase").fill_null("inference") == "inference")
        n_complete = inf.filter(pl.col("is_complete").fill_null(False)).height
        cards.append(_card(f"{n_complete} / {inf.height}", "complete / all inference runs"))
    e = eff.drop_nulls(ENERGY_Y).sort([ENERGY_Y, "model_name"])
    if e.height:
        lo, hi = e.row(0, named=True), e.row(-1, named=True)
        cards.append(
            _card(f"{lo[ENERGY_Y]:.3g} J", f"lowest energy / inference ({lo['model_name']})")
        )
        cards.append(
            _card(f"{hi[ENERGY_Y]:.3g} J", f"highest energy / inference ({hi['model_name']})")
        )
    fit = next((f for f in c.fits if f.name == "energy_vs_gflops_all"), None)
    if fit:
        cards.append(_card(f"{fit.r2:.2f}", "R² of energy ~ GFLOPs (all models)"))
    return f'<div class="cards">{"".join(cards)}</div>'


def _figures(c: ReportContent, out_dir: Path) -> str:
    parts = []
    for i, f in enumerate(c.figures, 1):
        rel_png = f.png.relative_to(out_dir).as_posix()
        rel_svg = f.svg.relative_to(out_dir).as_posix()
        parts.append(
            f'<figure id="fig-{esc(f.name)}"><img src="{_img(f.png)}" alt="{esc(f.title)}">'
            f"<figcaption><b>Figure {i}. {esc(f.title)}.</b> {esc(f.description)} "
            f"<i>{esc(f.caption)}.</i> "
            f'<a href="{esc(rel_png)}">PNG</a> · <a href="{esc(rel_svg)}">SVG</a></figcaption>'
            "</figure>"
        )
    return "".join(parts)


def _fits(c: ReportContent) -> str:
    from flopwatt.plots.fits import fits_frame

    if not c.fits:
        return '<p class="lead">No fit could be made (too few models).</p>'
    f = fits_frame(c.fits).with_columns(
        pl.format("{} – {}", pl.col("slope_ci_low").map_elements(fmt_num, pl.String),
                  pl.col("slope_ci_high").map_elements(fmt_num, pl.String)).alias("ci"),
    )  # fmt: skip
    headers = {
        "label": "fit", "n": "n", "slope": "slope", "ci": "slope 95% CI",
        "intercept": "intercept", "r2": "R²", "r": "r", "p_value": "p", "stderr": "stderr",
        "spearman_rho": "Spearman ρ", "spearman_p": "Spearman p",
        "rmse": "RMSE", "mae": "MAE",
    }  # fmt: skip
    p = lambda v: "n/a" if v is None or math.isnan(v) else f"{v:.2g}"  # noqa: E731
    return (
        html_table(f, headers, formats={"p_value": p, "spearman_p": p}, right=("ci",))
        + '<p class="lead">Ordinary least squares (scipy <code>linregress</code>); r is also '
        "Pearson's r. RMSE and MAE "
        "are of the fit: observed y against fitted y, in y's unit. The slope interval is a "
        f"percentile bootstrap over {DEFAULT_BOOTSTRAP:,} resamples of the models "
        f"(seed {DEFAULT_SEED}), so reruns give the same interval. Fits need at least 3 "
        "models; family fits are made for every family with 3 or more.</p>"
    )


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return ""
    if std is None or math.isnan(std):
        return fmt_num(mean)
    return f"{fmt_num(mean)} ± {std:.2g}"


def _efficiency(c: ReportContent) -> str:
    e = c.data.efficiency.sort([ENERGY_Y, "model_name"], nulls_last=True).with_columns(
        (pl.col("params").cast(pl.Float64) / 1e6).alias("params_m"),
        pl.format("{} / {}", pl.col("n_complete_runs").fill_null(0),
                  pl.col("n_runs").fill_null(0)).alias("runs"),
        pl.struct(ENERGY_Y, "energy_per_inference_j_std").map_elements(
            lambda r: _pm(r[ENERGY_Y], r["energy_per_inference_j_std"]), pl.String
        ).alias("energy"),
    )  # fmt: skip
    headers = {
        "model_name": "model", "family": "family", "gflops": "GFLOPs", "params_m": "params (M)",
        "top1_acc_pct": "top-1 acc (%)", "top5_acc_pct": "top-5 acc (%)",
        "runs": "runs (complete / all)", "meter_kind": "meter", "energy_scope": "scope",
        "energy": "energy / inference (J, mean ± std)",
        "time_per_inference_ms_mean": "time / inference (ms)", "mean_power_w": "mean power (W)",
        "energy_per_gflop_j_mean": "J / GFLOP",
        "co2_g_per_1000_inferences": "CO₂ (g / 1000 inferences)",
    }  # fmt: skip
    return (
        '<p class="lead">One row per model, sorted by energy per inference. Energy is the mean '
        "over complete inference runs of each run's total: its scope says what it covers (the "
        "wall meter, or the sum of components: GPUs, CPU package, DRAM); CO₂ adds up each "
        "meter's energy times the grid intensity of its zone.</p>"
        + html_table(e, headers, right=("energy", "runs"))
    )


def _quality(c: ReportContent) -> str:
    d = c.data
    parts = []
    if d.runs is not None:
        inf = d.runs.filter(pl.col("phase").fill_null("inference") == "inference")
        incomplete = inf.filter(~pl.col("is_complete").fill_null(False))
        cov = inf["coverage_ratio"].drop_nulls() if "coverage_ratio" in inf.columns else None
        stats = [
            ("inference runs", inf.height),
            ("incomplete runs", incomplete.height),
            ("overlapping runs", inf.filter(pl.col("has_overlap").fill_null(False)).height),
        ]  # fmt: skip
        if cov is not None and cov.len() and cov.dtype.is_numeric():
            stats += [
                ("lowest coverage", f"{cov.min():.1%}"),
                ("median coverage", f"{cov.median():.1%}"),
            ]
        if "max_gap_s" in inf.columns and inf["max_gap_s"].drop_nulls().len():
            stats.append(("largest gap between readings", f"{inf['max_gap_s'].max():.1f} s"))
        parts.append(
            "<h3>Runs and coverage</h3>"
            + '<div class="cards">' + "".join(_card(str(v), k) for k, v in stats) + "</div>"
        )  # fmt: skip
        if incomplete.height:
            parts.append(
                "<h3>Incomplete runs (left out of the per-model means)</h3>"
                + html_table(
                    incomplete.sort("started_at", "run_id"),
                    {
                        "run_id": "run",
                        "model_name": "model",
                        "meter_id": "meter",
                        "started_at": "started (UTC)",
                        "duration_s": "duration (s)",
                        "readings_count": "readings",
                        "coverage_ratio": "coverage",
                        "max_gap_s": "largest gap (s)",
                    },
                    max_rows=50,
                )
            )
    m = d.models
    missing_acc = m.filter(pl.col("top1_acc_pct").is_null() & pl.col("top5_acc_pct").is_null())
    missing_flops = m.filter(pl.col("gflops").is_null())
    unrun = m.join(d.efficiency.select("model_name"), on="model_name", how="anti")
    lists = [
        (
            "Models without accuracy (shown in energy figures, left out of accuracy fits)",
            missing_acc,
        ),
        ("Models without FLOPs (left out of every fit)", missing_flops),
        ("Profiled models without a complete measured run", unrun),
    ]
    if d.runs is not None:
        not_profiled = (
            d.runs.filter(pl.col("phase").fill_null("inference") != "idle")
            .select("model_name").unique()
            .join(m.select("model_name"), on="model_name", how="anti").sort("model_name")
        )  # fmt: skip
        lists.append(("Measured models without a FLOP profile", not_profiled))
    items = "".join(
        f"<li>{esc(title)}: <b>{f.height}</b>"
        + (f" — {esc(', '.join(sorted(f['model_name'].to_list())))}" if f.height else "")
        + "</li>"
        for title, f in lists
    )
    parts.append(f'<h3>Models</h3><ul class="plain">{items}</ul>')
    if d.data_quality is not None:
        parts.append(
            "<h3>Data-quality checks (marts.fct_data_quality)</h3>" + html_table(d.data_quality)
        )
    if d.quarantined is not None:
        q = d.quarantined
        if d.loads is not None and "load_id" in q.columns and "load_id" in d.loads.columns:
            src = [c for c in ("source_path", "load_kind") if c in d.loads.columns]
            q = q.join(d.loads.select("load_id", *src), on="load_id", how="left")
        reasons = ""
        if "reason" in q.columns and q.height:
            by = q.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
            reasons = html_table(by, {"reason": "reason", "len": "rows"})
        parts.append(
            f"<h3>Quarantined rows: {q.height}</h3>"
            + '<p class="lead">Rows the loaders refused, with the reason; they are kept in '
            "<code>raw.quarantine</code> and never reach the marts.</p>"
            + reasons
            + (html_table(q, max_rows=25) if q.height else "")
        )
    if c.notes:
        parts.append("<h3>Notes</h3>" + _notes(c.notes))
    return "".join(parts)


def _provenance(c: ReportContent, generated: str) -> str:
    d = c.data
    parts = []
    if d.runs is not None:
        cols = [x for x in ("meter_id", "meter_kind") if x in d.runs.columns] + [
            x for x in ("host_id", "energy_scope")  # several meters per run: the host, the scope
            if x in d.runs.columns and d.runs[x].null_count() < d.runs.height
        ]  # fmt: skip
        sensors = d.runs.group_by(cols).agg(
            pl.len().alias("runs"), pl.col("started_at").min().alias("first"),
            pl.col("started_at").max().alias("last"),
        ).sort(cols)  # fmt: skip
        parts.append("<h3>Sensors</h3>" + html_table(sensors, {"meter_id": "meter",
                     "meter_kind": "kind", "host_id": "host", "energy_scope": "scope",
                     "runs": "runs", "first": "first run (UTC)",
                     "last": "last run (UTC)"}))  # fmt: skip
        ccols = [x for x in ("carbon_source", "carbon_data_year", "carbon_intensity_g_per_kwh")
                 if x in d.runs.columns and d.runs.schema[x] != pl.Null]  # fmt: skip
        if ccols:
            rounded = d.runs.select(ccols).with_columns(
                pl.col(c).round(1)
                if c == "carbon_intensity_g_per_kwh"
                else pl.col(c).cast(pl.String)
                for c in ccols
            )  # an energy-weighted intensity differs per run in the last digits
            carbon = (
                rounded.group_by(ccols).agg(pl.len().alias("runs")).sort(ccols, nulls_last=True)
            )
            parts.append("<h3>Carbon intensity</h3>" + html_table(carbon, {
                "carbon_source": "source", "carbon_data_year": "data year",
                "carbon_intensity_g_per_kwh": "gCO₂e / kWh", "runs": "runs"}))  # fmt: skip
    if d.loads is not None and d.loads.height:
        loads = (
            d.loads.sort("load_id", descending=True) if "load_id" in d.loads.columns else d.loads
        )
        keep = {k: v for k, v in {"load_id": "load", "load_kind": "kind", "load_format": "format",
                "source_path": "source", "rows_loaded": "rows loaded",
                "rows_quarantined": "quarantined", "loaded_at": "loaded (UTC)"}.items()
                if k in loads.columns}  # fmt: skip
        parts.append("<h3>Loads (latest first)</h3>" + html_table(loads, keep or None, max_rows=20))
    versions = package_versions()
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in versions.items())
    parts.append(
        "<h3>Software</h3>"
        f'<div class="tablewrap"><table><thead><tr><th>package</th><th>version</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )
    since = d.since.isoformat() if d.since else "all runs"
    parts.append(
        '<ul class="plain">'
        f"<li>warehouse: <code>{esc(d.db_path)}</code> (opened read-only)</li>"
        f"<li>runs included: {esc(since)}</li><li>generated: {esc(generated)}</li>"
        "<li>GFLOPs are 2 × MACs counted per model; energy per inference is the run's energy "
        "divided by its inferences (zero-order hold integral of the meter's readings).</li></ul>"
    )
    return "".join(parts)


def _exports(c: ReportContent, out_dir: Path) -> str:
    items = "".join(
        f'<li><a href="{esc(p.relative_to(out_dir).as_posix())}">{esc(p.name)}</a></li>'
        for p in c.exports
    )
    return (
        '<p class="lead">The marts as read for this report, the fit table, and '
        "<code>cv_inference.csv</code> in the reference study's shape (model, GFLOPS, "
        "empirical kWh per run, kg CO2e, top-1 and top-5 score).</p>"
        f'<ul class="plain" style="columns:3">{items}</ul>'
    )


def render_report(out_dir: Path, c: ReportContent) -> Path:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    since = f" · runs since {c.data.since.isoformat()}" if c.data.since else ""
    sections = [
        ("summary", "Summary", _summary(c)),
        ("models", "Per-model efficiency", _efficiency(c)),
        ("fits", "Fits", _fits(c)),
        ("figures", "Figures", _figures(c, out_dir)),
        ("quality", "Data quality", _quality(c)),
        ("provenance", "Provenance", _provenance(c, generated)),
        ("exports", "Exports", _exports(c, out_dir)),
    ]
    nav = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{esc(t)}</h2>{h}</section>' for sid, t, h in sections)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        "<title>flopwatt report: energy per inference vs FLOPs and accuracy</title>"
        f"<style>{CSS}</style></head><body>"
        '<header class="top"><div><h1>Energy per inference vs FLOPs and accuracy</h1>'
        f"<p>flopwatt report · {esc(c.data.efficiency.height)} models{esc(since)} · "
        f"generated {esc(generated)}</p></div></header>"
        f"<main><nav>{nav}</nav>{body}"
        f"<footer>Built by flopwatt from the warehouse marts in {c.seconds:.1f} s. Figures are "
        "embedded; PNG (300 dpi) and SVG files are next to this page.</footer></main>"
        "</body></html>\n"
    )
    path = out_dir / "report.html"
    _atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"))
    return path
