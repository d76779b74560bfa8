"""An *estimate* of CPU power when no meter can be read: CPU utilisation x the CPU's TDP.

Labelled ``estimate`` end to end (meter kind ``estimate``, meter id ``estimate:<host>``, and a
description starting with ``ESTIMATE``) so no report can pass it off as a measurement.

Power: ``power_w = utilisation x TDP``, with ``utilisation`` the host-wide CPU busy share over the
last sampling window (``psutil.cpu_percent(interval=None)`` / 100 — system-wide, because every busy
core draws power, whoever runs on it). Each reading is the *average* over its window, so it is
stamped at the window's **start**: held until the next reading (zero-order hold), it covers exactly
the window it was measured on.

TDP, in this order:
1. ``--tdp W`` (``tdp_w=``) when given;
2. CodeCarbon's ``data/hardware/cpu_power.csv`` (columns ``Name,TDP``), matched with the CPU model
   name from ``/proc/cpuinfo`` (``model name``), else ``platform.processor()``. Both names are
   normalised (lower case; ``(R)``, ``(TM)``, ``CPU``, ``Processor``, ``N-Core`` and the
   ``@ 2.90GHz`` suffix dropped) and matched
   a. exactly, else
   b. by tokens: a table name whose words all appear in the CPU's name and which has a word with a
      digit (a model number, so ``AMD EPYC`` alone never matches a family); the name with the most
      words wins; equally long names with different TDPs are ambiguous and give no match;
3. else the fallback **4 W per logical CPU** (CodeCarbon's own default per thread), labelled
   ``fallback`` in the meter description and in :attr:`EstimateSensor.tdp_source`.
"""

from __future__ import annotations

import csv
import platform
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flopwatt.profiling.sensors.base import Meter, Sample, Sensor, SensorUnavailable

from flopwatt.core.errors import OptionError

FALLBACK_W_PER_CPU = 4.0
MIN_WINDOW_NS = 10_000_000  # 10 ms: shorter windows give meaningless utilisation; wait for more
_DROP = re.compile(
    r"\(r\)|\(tm\)|®|™|@\s*[\d.]+\s*ghz|\bcpu\b|\bprocessor\b|\b\d+-core\b|\bwith radeon.*$"
)


def normalise(name: str) -> str:
    text = _DROP.sub(" ", name.lower())
    return " ".join(text.replace(",", " ").split())


def default_table_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("codecarbon").joinpath("data/hardware/cpu_power.csv")))


def read_tdp_table(path: Path | str | None = None) -> list[tuple[str, float]]:
    path = Path(path) if path is not None else default_table_path()
    rows: list[tuple[str, float]] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            try:
                rows.append((rec["Name"].strip(), float(rec["TDP"])))
            except (KeyError, TypeError, ValueError):
                continue
    return rows


@dataclass(frozen=True)
class TdpMatch:
    name: str  # the table's name
    tdp_w: float
    how: str  # exact | tokens


def match_tdp(cpu_name: str, table: list[tuple[str, float]]) -> TdpMatch | None:
    """The table row for ``cpu_name`` (see the module docstring), or None."""
    target = normalise(cpu_name)
    if not target:
        return None
    for name, tdp in table:
        if normalise(name) == target:
            return TdpMatch(name, tdp, "exact")
    words = set(target.split())
    best: list[tuple[str, float]] = []
    best_len = 0
    for name, tdp in table:
        toks = normalise(name).split()
        if not toks or not set(toks) <= words or not any(ch.isdigit() for ch in "".join(toks)):
            continue
        if len(toks) > best_len:
            best, best_len = [(name, tdp)], len(toks)
        elif len(toks) == best_len:
            best.append((name, tdp))
    if not best or len({tdp for _, tdp in best}) > 1:
        return None
    return TdpMatch(best[0][0], best[0][1], "tokens")


def cpu_model_name(cpuinfo: Path | str = "/proc/cpuinfo") -> str:
    try:
        for line in Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model Name") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def logical_cpus() -> int:
    import psutil

    return psutil.cpu_count(logical=True) or 1


class EstimateSensor(Sensor):
    name = "estimate"

    def __init__(
        self,
        tdp_w: float | None = None,
        *,
        cpu_name: str | None = None,
        table: list[tuple[str, float]] | None = None,
        cpu_percent: Callable[..., float] | None = None,
        n_cpus: int | None = None,
        host: str | None = None,
    ) -> None:
        if cpu_percent is None:
            try:
                import psutil
            except ImportError as exc:
                raise SensorUnavailable(f"estimate: psutil is not installed ({exc})") from exc
            cpu_percent = psutil.cpu_percent
        self._cpu_percent = cpu_percent
        self.host = host or socket.gethostname()
        self.cpu_name = cpu_name if cpu_name is not None else cpu_model_name()
        self.match: TdpMatch | None = None
        if tdp_w is not None:
            if tdp_w <= 0:
                raise OptionError(f"--tdp must be positive, got {tdp_w} W")
            self.tdp_w = float(tdp_w)
            self.tdp_source = f"--tdp {self.tdp_w:g} W (given)"
        else:
            self.match = match_tdp(self.cpu_name, table if table is not None else read_tdp_table())
            if self.match is not None:
                self.tdp_w = self.match.tdp_w
                self.tdp_source = (
                    f"CodeCarbon cpu_power.csv: {self.match.name!r} {self.tdp_w:g} W "
                    f"({self.match.how} match of {self.cpu_name!r})"
                )
            else:
                n = n_cpus if n_cpus is not None else logical_cpus()
                self.tdp_w = FALLBACK_W_PER_CPU * n
                self.tdp_source = (
                    f"fallback: {self.cpu_name!r} not matched in CodeCarbon cpu_power.csv, "
                    f"{FALLBACK_W_PER_CPU:g} W x {n} logical CPUs = {self.tdp_w:g} W"
                )
        self.meter = Meter(
            meter_id=f"estimate:{self.host}",
            meter_kind="estimate",
            reading="power",
            description=(
                "ESTIMATE, not a measurement: host CPU utilisation x TDP; "
                f"TDP from {self.tdp_source}"
            ),
        )
        self._prev_ns: int | None = None

    @property
    def is_fallback(self) -> bool:
        return self.tdp_source.startswith("fallback")

    def meters(self) -> list[Meter]:
        return [self.meter]

    def start(self, at_ns: int | None = None) -> None:
        self._cpu_percent(interval=None)  # primes psutil's delta; its first value is meaningless
        self._prev_ns = time.monotonic_ns() if at_ns is None else at_ns

    def read(self, at_ns: int | None = None) -> list[Sample]:
        at_ns = time.monotonic_ns() if at_ns is None else at_ns
        if self._prev_ns is None:
            self.start(at_ns)
            return []
        if at_ns - self._prev_ns < MIN_WINDOW_NS:
            return []
        util = max(0.0, min(100.0, float(self._cpu_percent(interval=None))))
        stamp, self._prev_ns = self._prev_ns, at_ns
        return [Sample(self.meter.meter_id, stamp, util / 100.0 * self.tdp_w)]
