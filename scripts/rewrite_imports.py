"""Rewrite imports to the one ``flopwatt`` namespace (issue 13): re-runnable, idempotent.

python scripts/rewrite_imports.py [PATH ...]   (default: every tracked *.py)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

RULES = [
    (r"\bingest\.errors\b", "flopwatt.core.errors"),
    (r"\bflopwatt\.config\b", "flopwatt.core.config"),
    (r"\bflopwatt\.db\b", "flopwatt.core.db"),
    (r"\bflopwatt\.errors\b", "flopwatt.core.errors"),
    (r"\bflopwatt\.defaults\b", "flopwatt.core.defaults"),
    (r"\bflopwatt\.cmd_(\w+)", r"flopwatt.cli.\1"),
]
TOP = r"(?<![\w.])(ingest|profiling|plots)(?=[.\s])"


def rewrite(text: str) -> str:
    for pat, rep in RULES:
        text = re.sub(pat, rep, text)
    out = []
    for line in text.splitlines(keepends=True):
        s = line.lstrip()
        if s.startswith(("from ", "import ")) or re.search(
            r"[\"'](ingest|profiling|plots)\.\w", line
        ):
            line = re.sub(
                r"(?<![\w.])(from|import) (ingest|profiling|plots)\b", r"\1 flopwatt.\2", line
            )
            line = re.sub(r"([\"'])(ingest|profiling|plots)\.(\w)", r"\1flopwatt.\2.\3", line)
        out.append(line)
    return "".join(out)


def main(paths: list[str]) -> None:
    if not paths:
        paths = subprocess.run(
            ["git", "ls-files", "*.py"], capture_output=True, text=True, check=True
        ).stdout.split()
    for p in paths:
        path = Path(p)
        if path.name == "rewrite_imports.py" or not path.exists():
            continue
        old = path.read_text(encoding="utf-8")
        new = rewrite(old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {p}")


if __name__ == "__main__":
    main(sys.argv[1:])
