"""Profile every torchvision classification (model, weights) variant and check the counts.

    .venv/bin/python bench/profile_all.py [--cache-dir DIR] [--table]

Checks, for all 115 variants of torchvision 0.29: convention MACs within 1% of the published
``meta["_ops"]`` (GMACs, rounded to 3 decimals by torchvision: a count that rounds to the published
figure also passes, and is reported), and params == ``meta["num_params"]``. Prints the time of a
cold sweep (empty cache) and a warm one (everything cached), the worst relative error, thop vs the
convention per family, and -- when the reference study's ``models.txt`` is present
(``FLOPWATT_REFERENCE``, default ``../shared/reference``) -- thop against the study's values.
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flopwatt.core.config import CHECKOUT_ROOT

TOLERANCE = 0.01
# families as a prefix pattern; first match wins
FAMILIES = [
    ("efficientnet_v2", r"efficientnet_v2_"),
    ("efficientnet", r"efficientnet_b"),
    ("wide_resnet", r"wide_resnet"),
    ("resnext", r"resnext"),
    ("resnet", r"resnet"),
    ("regnet_x", r"regnet_x"),
    ("regnet_y", r"regnet_y"),
    ("mobilenet_v2", r"mobilenet_v2"),
    ("mobilenet_v3", r"mobilenet_v3"),
    ("swin_v2", r"swin_v2"),
    ("swin", r"swin_"),
    ("vit", r"vit_"),
    ("vgg_bn", r"vgg\d+_bn"),
    ("vgg", r"vgg"),
]


def family(name: str) -> str:
    for fam, pattern in FAMILIES:
        if re.match(pattern, name):
            return fam
    return re.sub(r"[\d_]+.*$", "", name) or name


def reference_models_txt() -> Path:
    root = os.environ.get("FLOPWATT_REFERENCE")
    base = Path(root) if root else CHECKOUT_ROOT.parent / "shared" / "reference"
    return base / "model_hub" / "models.txt"


def sweep(cache_dir: Path) -> tuple[object, float]:
    from flopwatt.profiling.cache import ProfileCache
    from flopwatt.profiling.profile import profile_models

    started = time.perf_counter()
    batch = profile_models(None, all_variants=True, progress=True, cache=ProfileCache(cache_dir))
    return batch, time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache-dir", type=Path, help="cache root (default: a fresh temporary one)")
    ap.add_argument("--table", action="store_true", help="print one line per variant")
    args = ap.parse_args()

    import torch
    import torchvision
    from flopwatt.profiling.profile import results_frame

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, CPU threads "
          f"{torch.get_num_threads()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or Path(tmp)
        batch, cold_s = sweep(cache_dir)
        warm_batch, warm_s = sweep(cache_dir)
    failures: list[str] = []
    if warm_batch.sha256 != batch.sha256:
        failures.append("warm sweep gave different rows than the cold one")
    if warm_batch.options["cache_misses"]:
        failures.append(f"warm sweep counted {warm_batch.options['cache_misses']} variant(s)")
    failures += [f"not profiled: {w}" for w in batch.warnings]

    frame = results_frame(batch)
    worst = (0.0, "")
    by_family: dict[str, list[float]] = {}
    rounding_only: list[str] = []
    if args.table:
        print(f"{'model':<22} {'weights':<26} {'px':>4} {'GMACs':>11} {'_ops':>10} {'err %':>7} "
              f"{'thop':>11} {'thop/conv':>9} params")  # fmt: skip
    for r in frame.iter_rows(named=True):
        label = f"{r['model_name']}:{r['weights']}"
        gmacs, ops = r["macs"] / 1e9, r["published_macs"] / 1e9
        err = gmacs / ops - 1
        thop_rel = r["macs_thop"] / r["macs"] - 1
        by_family.setdefault(family(r["model_name"]), []).append(thop_rel)
        if abs(err) > abs(worst[0]):
            worst = (err, label)
        if abs(err) >= TOLERANCE:
            if abs(gmacs - ops) <= 0.0005 + 1e-12:
                rounding_only.append(f"{label}: {gmacs:.6f} GMACs rounds to published {ops:.3f}")
            else:
                failures.append(f"{label}: {gmacs:.6f} GMACs vs published {ops:.3f} ({err:+.3%})")
        params_ok = r["params"] == r["published_params"]
        if not params_ok:
            failures.append(f"{label}: params {r['params']} != num_params {r['published_params']}")
        if args.table:
            print(f"{r['model_name']:<22} {r['weights']:<26} {r['input_size']:>4} {gmacs:>11.4f} "
                  f"{ops:>10.3f} {err:>+7.3%} {r['macs_thop'] / 1e9:>11.4f} {thop_rel:>+9.2%} "
                  f"{'ok' if params_ok else 'DIFF'}")  # fmt: skip

    print(f"\nvariants: {batch.rows_read}, profiled: {frame.height}")
    print(f"--all cold (empty cache): {cold_s:.1f} s; warm (all cached): {warm_s:.2f} s")
    print(f"worst |convention / _ops - 1|: {worst[0]:+.3%} ({worst[1]})")
    for line in rounding_only:
        print(f"  beyond 1% only through _ops rounding: {line}")
    print("\nthop vs convention MACs per family (thop/convention - 1: min .. max):")
    for fam, rels in sorted(by_family.items(), key=lambda kv: statistics.mean(kv[1])):
        print(f"  {fam:<16} n={len(rels):>2}  {min(rels):+8.2%} .. {max(rels):+8.2%}")

    failures += compare_study(frame)
    if failures:
        print("\nFAILED:")
        for f in failures:
            print(f"  {f}")
        return 1
    print("\nall checks passed")
    return 0


def compare_study(frame) -> list[str]:
    """thop (installed; and with the study-era rules) against the study's models.txt."""
    path = reference_models_txt()
    if not path.exists():
        print(f"\n{path} not found: study comparison skipped")
        return []
    from flopwatt.profiling.catalog import build_model, variant
    from flopwatt.profiling.flops import count_thop, study_thop_rules

    rows = {
        r["model_name"]: r for r in frame.iter_rows(named=True) if r["weights"] == "IMAGENET1K_V1"
    }
    rules = study_thop_rules()
    print(f"\nthop vs the study's {path.name} (relative to the study's MACs):")
    print(f"  {'model':<20} {'study GMACs':>12} {'thop 0.1.1':>10} {'study rules':>11}")
    failures = []
    worst = (0.0, "")
    with path.open(newline="") as fh:
        for s in csv.DictReader(fh):
            name, study = s["model"], float(s["macs"])
            r = rows.get(name)
            if r is None:
                failures.append(f"study model {name} not profiled")
                continue
            v = variant(name, "IMAGENET1K_V1")
            old = count_thop(build_model(v), v.input_size, custom_ops=rules)["macs"]
            rel, rel_old = r["macs_thop"] / study - 1, old / study - 1
            if abs(rel) > abs(worst[0]):
                worst = (rel, name)
            print(f"  {name:<20} {study / 1e9:>12.4f} {rel:>+10.3%} {rel_old:>+11.4%}")
    print(f"  worst installed-thop difference: {worst[0]:+.3%} ({worst[1]})")
    return failures


if __name__ == "__main__":
    sys.exit(main())
