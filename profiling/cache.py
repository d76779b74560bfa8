"""A JSON cache of profiles, one file per (model, weights, input size, software versions).

The key also holds :data:`METHOD_VERSION`, bumped whenever the counting changes, so a stale count
is never served. Files live under ``.flopwatt/cache/profiles/`` in the project root
(``FLOPWATT_CACHE`` overrides the cache root). A file that cannot be read or whose stored key
differs is treated as a miss and rewritten; writes are atomic (temp file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from flopwatt.core.config import state_dir

#: Bump when the counting method changes (what is counted, how, or the record's fields).
METHOD_VERSION = 1


def cache_root() -> Path:
    env = os.environ.get("FLOPWATT_CACHE")
    return Path(env).expanduser().resolve() if env else state_dir() / "cache"


def software_versions() -> dict[str, str]:
    """torch, torchvision and thop versions (the part of the key that is not the variant)."""
    import torch
    import torchvision
    from flopwatt.profiling.flops import thop_version

    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "thop": thop_version(),
    }


def cache_key(v, versions: dict[str, str]) -> dict[str, Any]:
    return {
        "model_name": v.model_name,
        "weights": v.weights,
        "input_size": v.input_size,
        "versions": dict(sorted(versions.items())),
        "method": METHOD_VERSION,
    }


class ProfileCache:
    """Get/put profile records of variants under ``root`` (default :func:`cache_root`)."""

    def __init__(self, root: Path | str | None = None, versions: dict[str, str] | None = None):
        self.root = (Path(root) if root is not None else cache_root()) / "profiles"
        self.versions = versions if versions is not None else software_versions()
        self.hits = 0
        self.misses = 0

    def path(self, v) -> Path:
        key = cache_key(v, self.versions)
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return self.root / f"{v.model_name}__{v.weights}__{v.input_size}__{digest}.json"

    def get(self, v) -> dict[str, Any] | None:
        path = self.path(v)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.misses += 1
            return None
        if not isinstance(stored, dict) or stored.get("key") != cache_key(v, self.versions):
            self.misses += 1
            return None
        self.hits += 1
        return stored["record"]

    def put(self, v, record: dict[str, Any]) -> Path:
        path = self.path(v)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"key": cache_key(v, self.versions), "record": record}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, sort_keys=True, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
