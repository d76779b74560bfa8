"""RAPL energy counters through Linux powercap (Intel, and AMD Zen which exposes the same tree).

Layout read (``root`` defaults to ``/sys/class/powercap``; tests pass a temporary directory)::

    intel-rapl:0/      name = package-0   energy_uj  max_energy_range_uj
    intel-rapl:0:0/    name = core        (inside package-0)
    intel-rapl:0:1/    name = uncore      (inside package-0)
    intel-rapl:0:2/    name = dram        (a subzone in sysfs, but RAPL's DRAM domain is separate)
    intel-rapl:1/      name = package-1   (second socket) ...
    intel-rapl:1/      name = psys        (laptops: the whole SoC/platform, *contains* the packages)

Meters kept: every top-level ``package-N`` (meter kind ``cpu_package``) and every ``dram`` domain
(kind ``dram``). ``core``/``uncore`` are parts of their package and ``psys`` contains the packages,
so they are never kept: no energy is counted twice. Package and dram are separate meters (one run
row each); nothing here adds them up.

Counters are stored as read, in J (``energy_uj`` / 1e6), with ``max_energy_range_uj`` / 1e6 as the
wrap range; the dbt layer undoes wraps. Since Linux 5.10 (CVE-2020-8694) ``energy_uj`` is readable
by root only on most distributions: the sensor is then unavailable, and says how to grant access.
Only the ``intel-rapl`` control type is read (``intel-rapl-mmio`` duplicates the package domain).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flopwatt.profiling.sensors.base import Meter, Sensor, SensorUnavailable

DEFAULT_ROOT = Path("/sys/class/powercap")
ZONE_RE = re.compile(r"^intel-rapl:(\d+)((?::\d+)*)$")
PACKAGE_RE = re.compile(r"^package-(\d+)$")


@dataclass(frozen=True)
class Domain:
    zone: str  # directory name, e.g. intel-rapl:0:2
    path: Path
    name: str  # package-0, dram, core, uncore, psys
    socket: int  # the top-level index
    depth: int  # 0 = top-level zone, 1 = subzone
    range_uj: int | None


def _read_text(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()


def scan(root: Path | str = DEFAULT_ROOT) -> list[Domain]:
    """All ``intel-rapl:*`` zones under ``root`` (flat, as /sys/class/powercap lists them)."""
    root = Path(root)
    if not root.is_dir():
        raise SensorUnavailable(f"rapl: {root} does not exist (no powercap support on this kernel)")
    domains: list[Domain] = []
    for path in sorted(root.iterdir()):
        m = ZONE_RE.match(path.name)
        if not m or not (path / "name").exists():
            continue
        try:
            name = _read_text(path / "name")
        except OSError:
            continue
        try:
            range_uj: int | None = int(_read_text(path / "max_energy_range_uj"))
        except (OSError, ValueError):
            range_uj = None
        depth = m.group(2).count(":")
        domains.append(Domain(path.name, path, name, int(m.group(1)), depth, range_uj))
    if not domains:
        raise SensorUnavailable(f"rapl: no intel-rapl:* zones under {root} (no RAPL here)")
    return domains


def select_domains(domains: Iterable[Domain]) -> list[Domain]:
    """Top-level packages and dram domains; never core/uncore (inside a package) or psys."""
    keep = []
    for d in domains:
        if (d.depth == 0 and PACKAGE_RE.match(d.name)) or d.name == "dram":
            keep.append(d)
    return keep


class RaplSensor(Sensor):
    name = "rapl"

    def __init__(self, root: Path | str = DEFAULT_ROOT, host: str | None = None) -> None:
        self.root = Path(root)
        self.host = host or socket.gethostname()
        chosen = select_domains(scan(self.root))
        if not chosen:
            raise SensorUnavailable(
                f"rapl: zones under {self.root} have no package-N or dram domain"
            )
        self._domains: list[tuple[Meter, Path]] = []
        problems: list[str] = []
        for d in chosen:
            energy = d.path / "energy_uj"
            try:
                int(_read_text(energy))
            except PermissionError:
                problems.append(f"{energy} is not readable (permission denied)")
                continue
            except (OSError, ValueError) as exc:
                problems.append(f"{energy} cannot be read ({exc})")
                continue
            if d.name == "dram":
                kind, label = "dram", f"dram-{d.socket}"
            else:
                kind, label = "cpu_package", d.name
            meter = Meter(
                meter_id=f"rapl:{self.host}:{label}",
                meter_kind=kind,
                reading="counter",
                description=f"RAPL {d.name} energy counter ({d.zone}) on {self.host}",
                counter_range_j=d.range_uj / 1e6 if d.range_uj else None,
            )
            self._domains.append((meter, energy))
        if not self._domains:
            hint = ""
            if any("permission" in p for p in problems):
                hint = (
                    "; since Linux 5.10 energy_uj is root-only: run as root, or grant read access "
                    "with `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj`"
                )
            raise SensorUnavailable("rapl: " + "; ".join(problems) + hint)
        self.skipped = problems

    def meters(self) -> list[Meter]:
        return [m for m, _ in self._domains]

    def _read(self, at_ns: int) -> Iterable[tuple[str, float]]:
        for meter, path in self._domains:
            yield meter.meter_id, int(_read_text(path)) / 1e6
