"""Linear fits of energy and error against FLOPs, done the way the reference notebook meant them.

Every fit reports scipy's ``linregress`` (slope, intercept, r, R², p, stderr), Pearson and Spearman
correlations, RMSE and MAE **of the fit** (observed y against fitted y; the notebook computed them
between x and y, which measures nothing), and a 95% bootstrap interval for the slope drawn with a
fixed seed, so that the same data always gives the same numbers.

scipy is imported inside the functions: ``flopwatt --help`` must not pay for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl

from flopwatt.core.errors import FlopwattError


class FitError(FlopwattError, ValueError):
    """Too few, unequal or non-finite points for a fit."""


MIN_POINTS = 3  # fewer points give no p-value, no stderr and no meaningful interval
DEFAULT_BOOTSTRAP = 2000
DEFAULT_SEED = 20200807  # the day of the reference study's runs; any fixed value does


@dataclass(frozen=True)
class FitResult:
    """One ordinary least-squares fit ``y = intercept + slope * x``."""

    name: str  # machine name, e.g. "energy_vs_gflops_all"
    label: str  # what a reader sees, e.g. "Energy per inference vs GFLOPs, all models"
    x_name: str  # column used as x, with its unit
    y_name: str  # column used as y, with its unit
    n: int
    slope: float
    intercept: float
    r: float
    r2: float
    p_value: float
    stderr: float
    intercept_stderr: float
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float
    rmse: float  # sqrt(mean((y - y_fit)^2))
    mae: float  # mean(|y - y_fit|)
    slope_ci_low: float  # 95% bootstrap (percentile) interval of the slope
    slope_ci_high: float
    n_bootstrap: int
    seed: int
    models: tuple[str, ...] = field(default=())

    def predict(self, x: Sequence[float] | np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(x, dtype=float)

    def as_row(self) -> dict:
        row = asdict(self)
        row["models"] = ", ".join(self.models)
        return row


def residual_errors(y: Sequence[float], y_fit: Sequence[float]) -> tuple[float, float]:
    """RMSE and MAE between observed and fitted y (not between x and y: the seed's bug)."""
    res = np.asarray(y, dtype=float) - np.asarray(y_fit, dtype=float)
    return float(math.sqrt(np.mean(res**2))), float(np.mean(np.abs(res)))


def bootstrap_slope_ci(
    x: Sequence[float],
    y: Sequence[float],
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of the OLS slope over ``n_boot`` resamples of the (x, y) pairs.

    Resamples whose x values are all equal have no slope and are drawn again (counted against
    a bound, so that a pathological input cannot loop forever). Vectorised: one matrix of indices.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    n = xa.size
    if n < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    slopes: list[np.ndarray] = []
    have = 0
    for _ in range(20):  # rounds; each round draws what is still missing
        need = n_boot - have
        if need <= 0:
            break
        idx = rng.integers(0, n, size=(need, n))
        xs, ys = xa[idx], ya[idx]
        xm = xs.mean(axis=1, keepdims=True)
        ym = ys.mean(axis=1, keepdims=True)
        sxx = ((xs - xm) ** 2).sum(axis=1)
        sxy = ((xs - xm) * (ys - ym)).sum(axis=1)
        ok = sxx > 1e-12 * max(1.0, float(np.max(np.abs(xa))) ** 2)
        slopes.append(sxy[ok] / sxx[ok])
        have += int(ok.sum())
    if have == 0:
        return (math.nan, math.nan)
    all_slopes = np.concatenate(slopes)[:n_boot]
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(all_slopes, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def fit_linear(
    x: Sequence[float],
    y: Sequence[float],
    *,
    name: str = "fit",
    label: str | None = None,
    x_name: str = "x",
    y_name: str = "y",
    models: Sequence[str] = (),
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
) -> FitResult:
    """Fit ``y = a + b x`` by least squares and describe it. Needs >= 3 points with distinct x."""
    from scipy import stats

    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.shape != ya.shape:
        raise FitError(f"{name}: x and y differ in length ({xa.size} vs {ya.size})")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise FitError(f"{name}: x and y must be finite (drop missing values first)")
    if xa.size < MIN_POINTS:
        raise FitError(f"{name}: a fit needs at least {MIN_POINTS} points, got {xa.size}")
    if np.ptp(xa) == 0:
        raise FitError(f"{name}: all x values are equal, no slope can be fitted")
    lr = stats.linregress(xa, ya)
    rmse, mae = residual_errors(ya, lr.intercept + lr.slope * xa)
    return FitResult(
        name=name,
        label=label or name,
        x_name=x_name,
        y_name=y_name,
        n=int(xa.size),
        slope=float(lr.slope),
        intercept=float(lr.intercept),
        r=float(lr.rvalue),
        r2=float(lr.rvalue**2),
        p_value=float(lr.pvalue),
        stderr=float(lr.stderr),
        intercept_stderr=float(lr.intercept_stderr),
        **_correlations(xa, ya),
        rmse=rmse,
        mae=mae,
        **_slope_interval(xa, ya, n_boot=n_boot, seed=seed),
        models=tuple(models),
    )


def _correlations(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """FitResult's Pearson and Spearman fields; nan when y is constant (then they are undefined,
    and scipy would warn)."""
    from scipy import stats

    if np.ptp(y) == 0:
        return dict.fromkeys(("pearson_r", "pearson_p", "spearman_rho", "spearman_p"), math.nan)
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    return {
        "pearson_r": float(pearson.statistic),
        "pearson_p": float(pearson.pvalue),
        "spearman_rho": float(spearman.statistic),
        "spearman_p": float(spearman.pvalue),
    }


def _slope_interval(x: np.ndarray, y: np.ndarray, *, n_boot: int, seed: int) -> dict:
    """FitResult's bootstrap fields: the slope's interval and how it was drawn (reproducible)."""
    low, high = bootstrap_slope_ci(x, y, n_boot=n_boot, seed=seed)
    return {"slope_ci_low": low, "slope_ci_high": high, "n_bootstrap": n_boot, "seed": seed}


# --- the fit sets --------------------------------------------------------------------------------

ENERGY_Y = "energy_per_inference_j_mean"


@dataclass(frozen=True)
class FitSpec:
    """Which rows and columns one fit uses."""

    name: str
    label: str
    source: str  # "efficiency" (models with runs) or "models" (all profiled models)
    x: str
    y: str
    x_name: str
    y_name: str
    keep: pl.Expr | None = None  # row filter
    log10_x: bool = False


def _family_expr(family: str) -> pl.Expr:
    return pl.col("family").str.to_lowercase() == family.lower()


def fit_specs(
    efficiency: pl.DataFrame,
    models: pl.DataFrame,
    *,
    exclude_family: str | None = "densenet",
    min_family_size: int = MIN_POINTS,
) -> list[FitSpec]:
    """The study's fits, generalised: energy over all models, without one family, within each
    family; top-1 / top-5 error against GFLOPs and top-5 error against log10 FLOPs (and, as the
    study did for VGG, within each family)."""
    e_x, e_y = "GFLOPs", "energy per inference (J)"
    specs = [
        FitSpec("energy_vs_gflops_all", "Energy per inference vs GFLOPs, all models",
                "efficiency", "gflops", ENERGY_Y, e_x, e_y),
    ]  # fmt: skip
    if exclude_family:
        specs.append(
            FitSpec(
                f"energy_vs_gflops_without_{exclude_family.lower()}",
                f"Energy per inference vs GFLOPs, without {exclude_family}",
                "efficiency",
                "gflops",
                ENERGY_Y,
                e_x,
                e_y,
                keep=~_family_expr(exclude_family).fill_null(False),
            )
        )
    for fam in families_with(efficiency.drop_nulls([ENERGY_Y, "gflops"]), min_family_size):
        specs.append(
            FitSpec(
                f"energy_vs_gflops_family_{fam}",
                f"Energy per inference vs GFLOPs, {fam} only",
                "efficiency",
                "gflops",
                ENERGY_Y,
                e_x,
                e_y,
                keep=_family_expr(fam),
            )
        )
    specs += [
        FitSpec("top1_err_vs_gflops", "Top-1 error vs GFLOPs, all models", "models",
                "gflops", "top1_err_pct", "GFLOPs", "top-1 error (%)"),
        FitSpec("top5_err_vs_gflops", "Top-5 error vs GFLOPs, all models", "models",
                "gflops", "top5_err_pct", "GFLOPs", "top-5 error (%)"),
        FitSpec("top5_err_vs_log10_flops", "Top-5 error vs log10 FLOPs, all models", "models",
                "gflops", "top5_err_pct", "log10 FLOPs", "top-5 error (%)", log10_x=True),
    ]  # fmt: skip
    for fam in families_with(models.drop_nulls(["top5_err_pct", "gflops"]), min_family_size):
        specs.append(
            FitSpec(
                f"top5_err_vs_gflops_family_{fam}",
                f"Top-5 error vs GFLOPs, {fam} only",
                "models",
                "gflops",
                "top5_err_pct",
                "GFLOPs",
                "top-5 error (%)",
                keep=_family_expr(fam),
            )
        )
    return specs


def families_with(frame: pl.DataFrame, min_size: int) -> list[str]:
    """Families with at least ``min_size`` models in ``frame``, sorted by name."""
    if "family" not in frame.columns or frame.is_empty():
        return []
    counts = (
        frame.filter(pl.col("family").is_not_null())
        .group_by(pl.col("family").str.to_lowercase().alias("family"))
        .agg(pl.col("model_name").n_unique().alias("n"))
        .filter(pl.col("n") >= min_size)
        .sort("family")
    )
    return counts["family"].to_list()


def spec_points(spec: FitSpec, efficiency: pl.DataFrame, models: pl.DataFrame) -> pl.DataFrame:
    """The (model_name, x, y) rows a spec fits, with nulls and non-finite values dropped."""
    frame = efficiency if spec.source == "efficiency" else models
    if spec.keep is not None:
        frame = frame.filter(spec.keep)
    x = pl.col(spec.x).cast(pl.Float64)
    if spec.log10_x:
        x = (x * 1e9).log10()  # gflops -> FLOPs -> log10
    pts = frame.select(
        pl.col("model_name"), x.alias("x"), pl.col(spec.y).cast(pl.Float64).alias("y")
    ).filter(
        pl.col("x").is_not_null()
        & pl.col("y").is_not_null()
        & pl.col("x").is_finite()
        & pl.col("y").is_finite()
    )
    return pts.sort("model_name")


def compute_fits(
    efficiency: pl.DataFrame,
    models: pl.DataFrame,
    *,
    exclude_family: str | None = "densenet",
    min_family_size: int = MIN_POINTS,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
) -> tuple[list[FitResult], list[str]]:
    """Run every fit set; returns the fits and one note per fit that could not be made."""
    fits: list[FitResult] = []
    notes: list[str] = []
    for spec in fit_specs(
        efficiency, models, exclude_family=exclude_family, min_family_size=min_family_size
    ):
        pts = spec_points(spec, efficiency, models)
        try:
            fits.append(
                fit_linear(
                    pts["x"].to_numpy(),
                    pts["y"].to_numpy(),
                    name=spec.name,
                    label=spec.label,
                    x_name=spec.x_name,
                    y_name=spec.y_name,
                    models=pts["model_name"].to_list(),
                    n_boot=n_boot,
                    seed=seed,
                )
            )
        except ValueError as exc:
            notes.append(f"{spec.label}: not fitted ({exc})")
    return fits, notes


def fits_frame(fits: Sequence[FitResult]) -> pl.DataFrame:
    """One row per fit, for the report's table and the CSV/Parquet export."""
    schema = {
        f: (pl.String if f in {"name", "label", "x_name", "y_name", "models"} else pl.Float64)
        for f in FitResult.__dataclass_fields__
    }
    schema.update(n=pl.Int64, n_bootstrap=pl.Int64, seed=pl.Int64)
    return pl.DataFrame([f.as_row() for f in fits], schema=schema, orient="row")
