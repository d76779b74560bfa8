"""Fits against numbers worked out by hand; the reference notebook's RMSE bug as a regression."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from flopwatt.plots.fits import (
    bootstrap_slope_ci,
    compute_fits,
    fit_linear,
    fits_frame,
    residual_errors,
)

# x = [1, 2, 3, 4], y = [2, 4, 5, 8]
#   mean x = 2.5, mean y = 4.75
#   Sxx = 2.25 + 0.25 + 0.25 + 2.25 = 5
#   Sxy = (-1.5)(-2.75) + (-0.5)(-0.75) + (0.5)(0.25) + (1.5)(3.25) = 9.5
#   Syy = 7.5625 + 0.5625 + 0.0625 + 10.5625 = 18.75
#   slope = Sxy / Sxx = 1.9 ; intercept = 4.75 - 1.9 * 2.5 = 0
#   fitted = [1.9, 3.8, 5.7, 7.6] ; residuals = [0.1, 0.2, -0.7, 0.4] ; SSR = 0.70
#   R² = 1 - 0.70 / 18.75 = 18.05 / 18.75 ; r = +sqrt(R²)
#   RMSE = sqrt(0.70 / 4) = sqrt(0.175) ; MAE = (0.1 + 0.2 + 0.7 + 0.4) / 4 = 0.35
#   stderr(slope) = sqrt(SSR / (n - 2) / Sxx) = sqrt(0.07)
#   t = slope / stderr ; with 2 degrees of freedom the two-sided p = 1 - t / sqrt(t² + 2)
#   ranks of x and y agree -> Spearman rho = 1
X = [1.0, 2.0, 3.0, 4.0]
Y = [2.0, 4.0, 5.0, 8.0]
SLOPE, INTERCEPT = 1.9, 0.0
R2 = 18.05 / 18.75
RMSE, MAE = math.sqrt(0.175), 0.35
STDERR = math.sqrt(0.07)
T = SLOPE / STDERR
P = 1 - T / math.sqrt(T**2 + 2)
# what the seed computed: RMSE / MAE between x and y themselves
SEED_RMSE = math.sqrt(((1 - 2) ** 2 + (2 - 4) ** 2 + (3 - 5) ** 2 + (4 - 8) ** 2) / 4)  # 2.5
SEED_MAE = (1 + 2 + 2 + 4) / 4  # 2.25


def test_fit_matches_hand_computation():
    f = fit_linear(X, Y, name="tiny", models=["a", "b", "c", "d"])
    assert f.n == 4
    assert f.slope == pytest.approx(SLOPE, abs=1e-12)
    assert f.intercept == pytest.approx(INTERCEPT, abs=1e-12)
    assert f.r2 == pytest.approx(R2, rel=1e-12)
    assert f.r == pytest.approx(math.sqrt(R2), rel=1e-12)
    assert f.pearson_r == pytest.approx(math.sqrt(R2), rel=1e-12)
    assert f.stderr == pytest.approx(STDERR, rel=1e-12)
    assert f.p_value == pytest.approx(P, rel=1e-9)
    assert f.pearson_p == pytest.approx(P, rel=1e-9)
    assert f.spearman_rho == pytest.approx(1.0)
    assert f.rmse == pytest.approx(RMSE, rel=1e-12)
    assert f.mae == pytest.approx(MAE, rel=1e-12)
    assert f.models == ("a", "b", "c", "d")
    assert np.allclose(f.predict([0, 10]), [0.0, 19.0])


def test_rmse_is_of_the_fit_not_of_x_against_y():
    """Regression for the seed: metrics.mean_squared_error(GFLOPS, empirical) compared x with y."""
    f = fit_linear(X, Y, name="tiny")
    assert SEED_RMSE == 2.5 and SEED_MAE == 2.25
    assert f.rmse != pytest.approx(SEED_RMSE)
    assert f.mae != pytest.approx(SEED_MAE)
    # and RMSE is exactly the root mean square of the residuals
    residuals = np.array(Y) - (f.intercept + f.slope * np.array(X))
    assert f.rmse == pytest.approx(float(np.sqrt(np.mean(residuals**2))))
    assert residual_errors(Y, f.predict(X)) == pytest.approx((RMSE, MAE))
    # RMSE does not change when x is rescaled (GFLOPs vs FLOPs); the seed's number did
    g = fit_linear(np.array(X) * 1e9, Y, name="tiny_flops")
    assert g.rmse == pytest.approx(f.rmse)
    assert g.slope == pytest.approx(f.slope / 1e9)


def test_bootstrap_interval_contains_slope_and_is_reproducible():
    rng = np.random.default_rng(1)
    x = np.linspace(0, 40, 25)
    y = 2.0 + 0.05 * x + rng.normal(0, 0.2, x.size)
    f = fit_linear(x, y, name="noisy")
    assert f.slope_ci_low < f.slope < f.slope_ci_high
    assert f.slope_ci_low < 0.05 < f.slope_ci_high
    again = fit_linear(x, y, name="noisy")
    assert (again.slope_ci_low, again.slope_ci_high) == (f.slope_ci_low, f.slope_ci_high)
    other = bootstrap_slope_ci(x, y, seed=7)
    assert other != (f.slope_ci_low, f.slope_ci_high)  # the seed is what makes it repeatable
    tiny = fit_linear(X, Y, name="tiny")
    assert tiny.slope_ci_low <= SLOPE <= tiny.slope_ci_high


def test_fit_refuses_what_it_cannot_fit():
    with pytest.raises(ValueError, match="at least 3"):
        fit_linear([1, 2], [1, 2], name="two")
    with pytest.raises(ValueError, match="all x values are equal"):
        fit_linear([3, 3, 3], [1, 2, 3], name="flat")
    with pytest.raises(ValueError, match="finite"):
        fit_linear([1, 2, float("nan")], [1, 2, 3], name="nan")
    const = fit_linear([1, 2, 3], [5, 5, 5], name="const y")
    assert const.slope == 0 and math.isnan(const.spearman_rho)


def _frames():
    rows = [
        # model, family, gflops, energy J, top1 err, top5 err
        ("a1", "alpha", 1.0, 2.0, 40.0, 18.0),
        ("a2", "alpha", 2.0, 3.0, 35.0, 15.0),
        ("a3", "alpha", 4.0, 5.5, 30.0, 11.0),
        ("b1", "beta", 1.5, 9.0, 25.0, 8.0),
        ("b2", "beta", 3.0, 9.5, 24.0, 7.5),
        ("c1", "gamma", 8.0, 7.0, None, None),
    ]
    f = pl.DataFrame(
        rows,
        schema=["model_name", "family", "gflops", "energy_per_inference_j_mean",
                "top1_err_pct", "top5_err_pct"],
        orient="row",
    )  # fmt: skip
    return f, f.drop("energy_per_inference_j_mean")


def test_fit_sets():
    eff, models = _frames()
    fits, notes = compute_fits(eff, models, exclude_family="beta", n_boot=200)
    by = {f.name: f for f in fits}
    assert set(by) == {
        "energy_vs_gflops_all",
        "energy_vs_gflops_without_beta",
        "energy_vs_gflops_family_alpha",  # beta has 2 models, gamma 1: no family fit
        "top1_err_vs_gflops",
        "top5_err_vs_gflops",
        "top5_err_vs_log10_flops",
        "top5_err_vs_gflops_family_alpha",
    }
    assert notes == []
    assert by["energy_vs_gflops_all"].n == 6
    assert by["energy_vs_gflops_without_beta"].models == ("a1", "a2", "a3", "c1")
    assert by["top1_err_vs_gflops"].n == 5  # c1 has no accuracy: left out, not an error
    ref = fit_linear([1.0, 2.0, 4.0], [2.0, 3.0, 5.5], n_boot=200)
    assert by["energy_vs_gflops_family_alpha"].slope == pytest.approx(ref.slope)
    log = by["top5_err_vs_log10_flops"]
    expect = fit_linear(np.log10(np.array([1.0, 2.0, 4.0, 1.5, 3.0]) * 1e9),
                        [18.0, 15.0, 11.0, 8.0, 7.5], n_boot=200)  # fmt: skip
    assert log.slope == pytest.approx(expect.slope)
    frame = fits_frame(fits)
    assert frame.height == len(fits)
    assert {"slope", "r2", "p_value", "rmse", "mae", "slope_ci_low", "slope_ci_high"} <= set(
        frame.columns
    )


def test_too_few_models_become_notes():
    eff, models = _frames()
    fits, notes = compute_fits(eff.head(2), models.head(2), n_boot=100)
    assert fits == []
    assert any("Energy per inference vs GFLOPs, all models" in n for n in notes)
