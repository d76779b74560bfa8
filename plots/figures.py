"""Figures with plotnine: every figure of the reference notebook, and what a reader wants next.

Each figure is saved as PNG (300 dpi) and SVG. Point labels are model names, kept apart with
plotnine's ``adjust_text`` (needs the ``adjustText`` package). Axis titles carry units; captions
say which meter kind measured the energy and where the carbon intensity came from.

plotnine is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from flopwatt.plots.data import MartData
from flopwatt.plots.fits import ENERGY_Y, FitResult

if TYPE_CHECKING:  # pragma: no cover
    from plotnine import ggplot

DPI = 300
WIDTH_IN, HEIGHT_IN = 9.0, 5.6
ENERGY_LABEL = "Energy per inference (J)"
GFLOPS_LABEL = "Forward-pass compute (GFLOPs = 2 × GMACs)"
LABEL_SIZE = 7
# adjustText: repel labels from each other and from the points, thin grey leader lines
# (an iteration limit, never a time limit: the same data must give the same figure)
ADJUST = {
    "expand": (1.4, 2.2),
    "force_text": (1.0, 2.0),
    "force_static": (0.6, 1.0),
    "force_pull": (0.005, 0.005),
    "iter_lim": 2000,
    "ensure_inside_axes": True,
    "arrowprops": {"arrowstyle": "-", "color": "#9a9a9a", "lw": 0.4},
}
# room around the points for the labels (fraction of the data range, each side)
X_EXPAND, Y_EXPAND = (0.1, 0), (0.08, 0)


@dataclass
class Figure:
    name: str  # file stem
    title: str
    description: str  # one or two sentences for the report
    plot: Any  # plotnine.ggplot
    width: float = WIDTH_IN
    height: float = HEIGHT_IN


@dataclass
class SavedFigure:
    name: str
    title: str
    description: str
    caption: str
    png: Path
    svg: Path


# --- captions ------------------------------------------------------------------------------------


def provenance_caption(data: MartData) -> str:
    """'Meter: wall · carbon: <source>, <year> · 15 models' from what the marts say."""
    eff = data.efficiency
    kinds = _distinct(eff, "meter_kind")
    if not kinds and data.runs is not None:
        kinds = _distinct(data.runs.filter(pl.col("phase") == "inference"), "meter_kind")
    sources = _distinct(eff, "carbon_source")
    years: list[str] = []
    if data.runs is not None and "carbon_data_year" in data.runs.columns:
        years = [str(y) for y in _distinct(data.runs, "carbon_data_year")]
    meter = "meter: " + (", ".join(kinds) if kinds else "unknown")
    scopes = _distinct(eff, "energy_scope")
    if scopes and scopes != kinds:
        meter += f" (total: {', '.join(scopes)})"
    carbon = "carbon: " + (", ".join(sources) if sources else "unknown source")
    if years:
        carbon += f" ({', '.join(years)} data)"
    return f"{meter} · {carbon}"


def _distinct(frame: pl.DataFrame, col: str) -> list:
    if col not in frame.columns or frame.schema[col] == pl.Null:
        return []
    return sorted(v for v in frame[col].unique().to_list() if v is not None)


def _caption(base: str, n: int, extra: str = "") -> str:
    parts = [f"n = {n} models", base]
    if extra:
        parts.append(extra)
    one_line = " · ".join(parts)
    return one_line if len(one_line) <= 100 else "\n".join(parts)


def _fit_text(fit: FitResult, unit: str = "", y_unit: str = "") -> str:
    return (
        f"slope {fit.slope:.4g}{unit} (95% CI {fit.slope_ci_low:.3g} to {fit.slope_ci_high:.3g}), "
        f"R² = {fit.r2:.3f}, p = {fit.p_value:.2g}, RMSE = {fit.rmse:.3g}{y_unit}"
    )


# --- building blocks -----------------------------------------------------------------------------


def _theme():
    from plotnine import element_line, element_text, theme, theme_bw

    return theme_bw(base_size=11) + theme(
        plot_title=element_text(size=13, weight="bold", ha="left"),
        plot_title_position="plot",
        plot_subtitle=element_text(size=9.5, color="#444444"),
        plot_caption=element_text(size=8, color="#555555"),
        panel_grid_minor=element_line(color="#f0f0f0"),
        legend_title=element_text(size=9),
        legend_text=element_text(size=8),
        figure_size=(WIDTH_IN, HEIGHT_IN),
        dpi=DPI,
    )


def _labels(frame: pl.DataFrame | None = None, *, color: str = "#333333"):
    from plotnine import aes, geom_text

    return geom_text(
        aes(label="model_name"),
        data=frame.to_pandas() if frame is not None else None,
        size=LABEL_SIZE,
        color=color,
        adjust_text=ADJUST,
    )


def _family_points(**kw):
    from plotnine import aes, geom_point

    return geom_point(aes(color="family"), size=2.6, alpha=0.9, **kw)


def _family_scale():
    from plotnine import scale_color_discrete

    return scale_color_discrete(name="family")


def _xpad():
    from plotnine import scale_x_continuous

    return scale_x_continuous(expand=X_EXPAND)


def _ypad():
    from plotnine import scale_y_continuous

    return scale_y_continuous(expand=Y_EXPAND)


def _with_family(frame: pl.DataFrame) -> pl.DataFrame:
    if "family" not in frame.columns or frame.schema["family"] == pl.Null:
        return frame.with_columns(pl.lit("unknown").alias("family"))
    return frame.with_columns(pl.col("family").fill_null("unknown"))


def _scatter(
    frame: pl.DataFrame,
    x: str,
    y: str,
    *,
    title: str,
    subtitle: str | None,
    xlab: str,
    ylab: str,
    caption: str,
    logx: bool = False,
    logy: bool = False,
    fit: FitResult | None = None,
    color_by_family: bool = True,
) -> ggplot:
    from plotnine import aes, geom_line, geom_point, ggplot, labs, scale_x_log10, scale_y_log10

    frame = _with_family(frame)
    p = ggplot(frame.to_pandas(), aes(x=x, y=y))
    if fit is not None:
        xs = np.linspace(float(frame[x].min()), float(frame[x].max()), 50)
        line = pl.DataFrame({x: xs, y: fit.predict(xs)}).to_pandas()
        p += geom_line(data=line, color="#c0392b", size=0.9)
    p += _family_points() if color_by_family else geom_point(size=2.6, color="#1f77b4")
    p += _labels()
    if color_by_family:
        p += _family_scale()
    p += scale_x_log10() if logx else _xpad()
    p += scale_y_log10() if logy else _ypad()
    return p + labs(x=xlab, y=ylab, title=title, subtitle=subtitle, caption=caption) + _theme()


# --- the figures ---------------------------------------------------------------------------------


def _fit(fits: list[FitResult], name: str) -> FitResult | None:
    return next((f for f in fits if f.name == name), None)


def accuracy_frame(data: MartData) -> pl.DataFrame:
    m = data.models
    return m.filter(pl.col("gflops").is_not_null() & pl.col("top1_err_pct").is_not_null()).sort(
        "model_name"
    )


def energy_frame(data: MartData) -> pl.DataFrame:
    e = data.efficiency
    return e.filter(pl.col("gflops").is_not_null() & pl.col(ENERGY_Y).is_not_null()).sort(
        "model_name"
    )


def pareto_front(frame: pl.DataFrame, cost: str, benefit: str) -> pl.DataFrame:
    """Rows no other row beats on both: lower ``cost`` and higher ``benefit``. Sorted by cost."""
    f = frame.filter(pl.col(cost).is_not_null() & pl.col(benefit).is_not_null()).sort(
        [cost, benefit], descending=[False, True]
    )
    keep, best = [], -math.inf
    for b in f[benefit].to_list():
        keep.append(b > best)
        best = max(best, b)
    return f.filter(pl.Series(keep, dtype=pl.Boolean))


@dataclass
class FigureInputs:
    """What every figure function reads: the marts, the fits, the provenance caption, the frames
    of models with accuracy (``acc``) and with energy (``en``); the notes of left-out figures."""

    data: MartData
    fits: list[FitResult]
    family: str
    exclude_family: str
    base: str = ""
    acc: pl.DataFrame = field(default_factory=pl.DataFrame)
    en: pl.DataFrame = field(default_factory=pl.DataFrame)
    notes: list[str] = field(default_factory=list)

    def skip(self, name: str, why: str) -> list[Figure]:
        self.notes.append(f"figure {name} left out: {why}")
        return []

    def accuracy_caption(self) -> str:
        n_missing = self.data.models.filter(pl.col("top1_err_pct").is_null()).height
        extra = f"{n_missing} profiled model(s) without accuracy not shown" if n_missing else ""
        return _caption("accuracy: ImageNet-1K validation", self.acc.height, extra)


# 1-3: accuracy against compute (the notebook's first three figures)
def error_vs_gflops(ins: FigureInputs, k: int) -> list[Figure]:
    """Top-``k`` error against GFLOPs; the note for the three accuracy figures comes with k = 1."""
    if ins.acc.height < 2:
        if k == 1:
            why = "fewer than 2 models have both FLOPs and accuracy"
            ins.skip("top1/top5 error vs GFLOPs", why)
        return []
    fit = _fit(ins.fits, f"top{k}_err_vs_gflops")
    plot = _scatter(
        ins.acc,
        "gflops",
        f"top{k}_err_pct",
        title=f"GFLOPs vs top-{k} error",
        subtitle=_fit_text(fit, " %/GFLOP", " %") if fit else None,
        xlab=GFLOPS_LABEL,
        ylab=f"Top-{k} error (%)",
        caption=ins.accuracy_caption(),
    )
    description = (
        f"Top-{k} error of every profiled model with an accuracy record against its "
        "forward-pass compute."
    )
    return [Figure(f"top{k}_error_vs_gflops", f"GFLOPs vs top-{k} error", description, plot)]


def top5_error_vs_log_flops(ins: FigureInputs) -> list[Figure]:
    if ins.acc.height < 2:
        return []
    fit = _fit(ins.fits, "top5_err_vs_log10_flops")
    plot = _scatter(
        ins.acc.with_columns((pl.col("gflops") * 1e9).alias("flops")),
        "flops",
        "top5_err_pct",
        title="FLOPs vs top-5 error (log scale)",
        subtitle=("fit on log10 FLOPs: " + _fit_text(fit, " %/decade", " %")) if fit else None,
        xlab="Forward-pass compute (FLOPs, log scale)",
        ylab="Top-5 error (%)",
        caption=ins.accuracy_caption(),
        logx=True,
    )
    description = "Top-5 error against compute on a logarithmic axis; the fit uses log10 FLOPs."
    title = "FLOPs (log scale) vs top-5 error"
    return [Figure("top5_error_vs_log_flops", title, description, plot)]


# 4: top-5 error within one family (the notebook: VGG)
def family_top5_error(ins: FigureInputs) -> list[Figure]:
    family = ins.family
    fam = ins.acc.filter(pl.col("family").str.to_lowercase() == family.lower())
    if fam.height < 2:
        return ins.skip(f"{family}_top5_error", f"fewer than 2 {family} models with accuracy")
    fit = _fit(ins.fits, f"top5_err_vs_gflops_family_{family.lower()}")
    plot = _scatter(
        fam,
        "gflops",
        "top5_err_pct",
        title=f"Top-5 error for {family} models",
        subtitle=_fit_text(fit, " %/GFLOP", " %") if fit else None,
        xlab=GFLOPS_LABEL,
        ylab="Top-5 error (%)",
        caption=_caption(ins.base, fam.height),
        fit=fit,
        color_by_family=False,
    )
    description = f"Within one architecture ({family}) error falls steadily with compute."
    title = f"Top-5 error for {family} architectures"
    return [Figure(f"{family.lower()}_top5_error", title, description, plot)]


# 5: energy vs GFLOPs, coloured by top-5 accuracy
def energy_vs_gflops(ins: FigureInputs) -> list[Figure]:
    from plotnine import aes, geom_point, ggplot, labs, scale_color_cmap

    cap = _caption(ins.base, ins.en.height, "energy: mean over complete inference runs")
    plot = (
        ggplot(_with_family(ins.en).to_pandas(), aes("gflops", ENERGY_Y))
        + geom_point(aes(color="top5_acc_pct"), size=3)
        + _labels()
        + scale_color_cmap("viridis", name="Top-5 accuracy (%)", na_value="#b0b0b0")
        + _xpad()
        + _ypad()
        + labs(x=GFLOPS_LABEL, y=ENERGY_LABEL, title="GFLOPs vs energy per inference", caption=cap)
        + _theme()
    )
    description = (
        "Measured energy per inference against compute; colour is top-5 accuracy (grey: no "
        "accuracy record)."
    )
    return [Figure("energy_vs_gflops", "GFLOPs vs energy per inference", description, plot)]


# 6-8: fitted lines (all, without one family, within one family)
def energy_fit(ins: FigureInputs, subset: str) -> list[Figure]:
    """``subset``: "all", "without" (without ``exclude_family``) or "family" (``family`` only)."""
    en, ex, fam = ins.en, ins.exclude_family.lower(), ins.family.lower()
    fit_name, fname, what, frame = {
        "all": ("energy_vs_gflops_all", "energy_fit_all", "all models", en),
        "without": (
            f"energy_vs_gflops_without_{ex}",
            f"energy_fit_without_{ex}",
            f"without {ins.exclude_family}",
            en.filter(~(pl.col("family").str.to_lowercase() == ex).fill_null(False)),
        ),
        "family": (
            f"energy_vs_gflops_family_{fam}",
            f"energy_fit_{fam}",
            f"{ins.family} only",
            en.filter(pl.col("family").str.to_lowercase() == fam),
        ),
    }[subset]
    fit = _fit(ins.fits, fit_name)
    if fit is None:
        return ins.skip(fname, f"no fit for {what} (too few models)")
    plot = _scatter(
        frame,
        "gflops",
        ENERGY_Y,
        title=f"GFLOPs vs energy per inference, {what}",
        subtitle=_fit_text(fit, " J/GFLOP", " J"),
        xlab=GFLOPS_LABEL,
        ylab=ENERGY_LABEL,
        caption=_caption(ins.base, frame.height),
        fit=fit,
    )
    title = f"Energy per inference vs GFLOPs, {what}: linear fit"
    description = f"Least-squares line of energy per inference on GFLOPs ({what})."
    return [Figure(fname, title, description, plot)]


# 9: Pareto front of top-1 accuracy vs energy per inference
def pareto_top1_vs_energy(ins: FigureInputs) -> list[Figure]:
    from plotnine import aes, geom_point, geom_step, ggplot, labs

    pa = ins.en.filter(pl.col("top1_acc_pct").is_not_null())
    if pa.height < 2:
        return ins.skip("pareto_top1_vs_energy", "fewer than 2 measured models have accuracy")
    front = pareto_front(pa, ENERGY_Y, "top1_acc_pct")
    others = pa.join(front.select("model_name"), on="model_name", how="anti")
    plot = (
        ggplot(pa.to_pandas(), aes(ENERGY_Y, "top1_acc_pct"))
        + geom_step(data=front.to_pandas(), color="#c0392b", size=0.8, direction="hv")
        + geom_point(data=others.to_pandas(), color="#9a9a9a", size=2.2)
        + geom_point(data=front.to_pandas(), color="#c0392b", size=3)
        + _labels(pa)
        + _xpad()
        + _ypad()
        + labs(
            x=ENERGY_LABEL,
            y="Top-1 accuracy (%)",
            title="Pareto front: top-1 accuracy vs energy per inference",
            subtitle=f"{front.height} model(s) on the front (red): no other model is both "
            "more accurate and cheaper",
            caption=_caption(ins.base, pa.height),
        )
        + _theme()
    )
    title = "Pareto front of top-1 accuracy vs energy per inference"
    description = "Models on the front (red) are the sensible choices for a given energy budget."
    return [Figure("pareto_top1_vs_energy", title, description, plot)]


# 10: residuals of the all-models energy fit
def energy_fit_residuals(ins: FigureInputs) -> list[Figure]:
    from plotnine import aes, geom_hline, geom_segment, ggplot, labs

    fit = _fit(ins.fits, "energy_vs_gflops_all")
    if fit is None:
        return []
    res = _with_family(ins.en).with_columns(
        (pl.col(ENERGY_Y) - (fit.intercept + fit.slope * pl.col("gflops"))).alias("residual")
    )
    plot = (
        ggplot(res.to_pandas(), aes("gflops", "residual"))
        + geom_hline(yintercept=0, color="#c0392b", size=0.7)
        + geom_segment(aes(xend="gflops", yend=0), color="#cccccc", size=0.4)
        + _family_points()
        + _labels()
        + _family_scale()
        + _xpad()
        + _ypad()
        + labs(
            x=GFLOPS_LABEL,
            y="Residual: observed − fitted energy (J per inference)",
            title="Residuals of the energy fit (all models)",
            subtitle=f"RMSE = {fit.rmse:.3g} J, MAE = {fit.mae:.3g} J of observed vs fitted",
            caption=_caption(ins.base, res.height),
        )
        + _theme()
    )
    description = (
        "Observed minus fitted energy per inference: structure here means GFLOPs alone "
        "do not explain energy."
    )
    return [Figure("energy_fit_residuals", "Residuals of the energy fit", description, plot)]


# 11: parameters vs GFLOPs (all profiled models)
def params_vs_gflops(ins: FigureInputs) -> list[Figure]:
    m = ins.data.models
    pm = m.filter(pl.col("gflops").is_not_null() & pl.col("params").is_not_null())
    if pm.height < 2:
        return []
    plot = _scatter(
        pm.with_columns((pl.col("params").cast(pl.Float64) / 1e6).alias("params_m")),
        "gflops",
        "params_m",
        title="Parameters vs GFLOPs",
        subtitle=None,
        xlab="Forward-pass compute (GFLOPs, log scale)",
        ylab="Parameters (millions, log scale)",
        caption=_caption("FLOPs and parameters: profiles", pm.height),
        logx=True,
        logy=True,
    )
    description = (
        "Model size against compute, both on log scales: the two are far from "
        "proportional (VGG: many parameters; DenseNet: few)."
    )
    return [Figure("params_vs_gflops", "Parameters vs GFLOPs", description, plot)]


# 12: time per inference vs GFLOPs
def time_vs_gflops(ins: FigureInputs) -> list[Figure]:
    tm = ins.en.filter(pl.col("time_per_inference_ms_mean").is_not_null())
    if tm.height < 2:
        return ins.skip("time_vs_gflops", "no time per inference in the efficiency mart")
    plot = _scatter(
        tm,
        "gflops",
        "time_per_inference_ms_mean",
        title="Time per inference vs GFLOPs",
        subtitle=None,
        xlab=GFLOPS_LABEL,
        ylab="Time per inference (ms)",
        caption=_caption(ins.base, tm.height),
    )
    description = "Wall-clock time per inference (mean over complete runs) against compute."
    return [Figure("time_vs_gflops", "Time per inference vs GFLOPs", description, plot)]


# the figures in report order: those from accuracy and FLOPs, then those that need energy
# mart column -> component, in stacking order (README "Whole-machine energy")
COMPONENT_COLUMNS = {
    "gpu_energy_per_inference_j_mean": "GPU",
    "cpu_energy_per_inference_j_mean": "CPU package",
    "dram_energy_per_inference_j_mean": "DRAM",
}
REST_OF_SYSTEM = "rest of system (wall − components)"


def component_frame(data: MartData) -> pl.DataFrame:
    """Long frame (model_name, component, j_per_inference): each model's mean energy per inference
    of its GPUs, CPU package and DRAM, and what its wall meter saw beyond them; models whose runs
    have no component meter are left out."""
    e = data.efficiency
    cols = [c for c in (*COMPONENT_COLUMNS, "wall_energy_per_inference_j_mean") if c in e.columns]
    if not any(c in COMPONENT_COLUMNS for c in cols):
        return pl.DataFrame(
            schema={"model_name": pl.String, "component": pl.String, "j_per_inference": pl.Float64}
        )
    wide = e.select("model_name", *[pl.col(c).cast(pl.Float64) for c in cols])
    parts = [c for c in cols if c in COMPONENT_COLUMNS]
    wide = wide.filter(pl.any_horizontal(pl.col(parts).is_not_null()))
    if "wall_energy_per_inference_j_mean" in cols:
        rest = pl.col("wall_energy_per_inference_j_mean") - pl.sum_horizontal(parts)
        wide = wide.with_columns(pl.when(rest > 0).then(rest).alias(REST_OF_SYSTEM))
    names = {**COMPONENT_COLUMNS, REST_OF_SYSTEM: REST_OF_SYSTEM}
    long = wide.unpivot(
        index="model_name",
        on=[c for c in (*parts, REST_OF_SYSTEM) if c in wide.columns],
        variable_name="component",
        value_name="j_per_inference",
    )
    return long.filter(pl.col("j_per_inference").is_not_null()).with_columns(
        pl.col("component").replace_strict(names, return_dtype=pl.String)
    )


def energy_by_component(ins: FigureInputs) -> list[Figure]:
    """Stacked bars: each model's energy per inference by component (GPU, CPU package, DRAM, and
    the rest of the system where a wall meter saw more)."""
    from plotnine import aes, coord_flip, geom_col, ggplot, labs, scale_fill_manual

    frame = component_frame(ins.data)
    if frame.is_empty():
        why = "no run was measured by component meters (GPU, RAPL)"
        return ins.skip("energy_by_component", why)
    order = (
        frame.group_by("model_name").agg(pl.col("j_per_inference").sum().alias("total"))
        .sort("total")["model_name"].to_list()
    )  # fmt: skip
    present = set(frame["component"])
    stack = [c for c in (*COMPONENT_COLUMNS.values(), REST_OF_SYSTEM) if c in present]
    pdf = frame.to_pandas()
    pdf["model_name"] = pdf["model_name"].astype("category").cat.set_categories(order)
    pdf["component"] = pdf["component"].astype("category").cat.set_categories(stack[::-1])
    colours = dict(zip((*COMPONENT_COLUMNS.values(), REST_OF_SYSTEM),
                       ("#2b6cb0", "#dd6b20", "#38a169", "#a0aec0"), strict=True))  # fmt: skip
    plot = (
        ggplot(pdf, aes("model_name", "j_per_inference", fill="component"))
        + geom_col(width=0.7)
        + coord_flip()
        + scale_fill_manual(values={c: colours[c] for c in stack}, breaks=stack)
        + labs(
            title="Energy per inference by component",
            x="",
            y=ENERGY_LABEL,
            fill="",
            caption=_caption(ins.base, len(order)),
        )
        + _theme()
    )
    return [
        Figure(
            "energy_by_component",
            "Energy per inference by component",
            "Mean energy per inference of each model's GPUs, CPU package and DRAM (each meter of "
            "the host), stacked; where a wall meter saw more, the rest of the system on top.",
            plot,
        )
    ]


ACCURACY_FIGURES: tuple[Callable[[FigureInputs], list[Figure]], ...] = (
    partial(error_vs_gflops, k=1),
    partial(error_vs_gflops, k=5),
    top5_error_vs_log_flops,
    family_top5_error,
)
ENERGY_FIGURES: tuple[Callable[[FigureInputs], list[Figure]], ...] = (
    energy_vs_gflops,
    partial(energy_fit, subset="all"),
    partial(energy_fit, subset="without"),
    partial(energy_fit, subset="family"),
    pareto_top1_vs_energy,
    energy_fit_residuals,
    params_vs_gflops,
    time_vs_gflops,
    energy_by_component,
)


def build_figures(
    data: MartData,
    fits: list[FitResult],
    *,
    exclude_family: str = "densenet",
    family: str = "vgg",
) -> tuple[list[Figure], list[str]]:
    """Every figure the data allows, and a note for each one it does not."""
    ins = FigureInputs(
        data,
        fits,
        family=family,
        exclude_family=exclude_family,
        base=provenance_caption(data),
        acc=accuracy_frame(data),
        en=energy_frame(data),
    )
    figs = [fig for make in ACCURACY_FIGURES for fig in make(ins)]
    if ins.en.height < 2:
        ins.skip("energy figures", "fewer than 2 models have an energy per inference")
        return figs, ins.notes
    figs += [fig for make in ENERGY_FIGURES for fig in make(ins)]
    return figs, ins.notes


def save_figure(fig: Figure, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.png`` (300 dpi) and ``<name>.svg``; both reproducible byte for byte where
    matplotlib allows (no dates in the metadata, a fixed hash salt for SVG ids)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{fig.name}.png", out_dir / f"{fig.name}.svg"
    with matplotlib.rc_context({"svg.hashsalt": "flopwatt", "svg.fonttype": "none"}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # adjust_text's hints about layer order
            mfig = fig.plot.draw()  # draw once (adjust_text is the slow part), save twice
        try:
            mfig.set_size_inches(fig.width, fig.height)
            mfig.savefig(png, format="png", dpi=DPI, metadata={"Software": "flopwatt"})
            mfig.savefig(svg, format="svg", dpi=DPI,
                         metadata={"Date": None, "Creator": "flopwatt"})  # fmt: skip
        finally:
            import matplotlib.pyplot as plt

            plt.close(mfig)
    return png, svg
