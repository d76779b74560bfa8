#!/usr/bin/env bash
# The installed package works on its own: a fresh venv, `pip install <checkout>[torch]` (NOT
# editable), then from an empty folder `flopwatt run` profiles, benches, builds and reports, and
# the generic top-level names of the checkout's folders (ingest, profiling, plots) do not import.
# A step of .ci/run (about 2 minutes to install, half a minute to run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
src="$scratch/src"
# a clean copy of the sources: no stale build/ folder of an earlier build can leak into the wheel
mkdir "$src"
git -C "$root" ls-files -z --cached --others --exclude-standard \
  | (cd "$root" && xargs -0 cp --parents -t "$src" 2>/dev/null || true)

python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q --disable-pip-version-check "$src[torch]"

mkdir "$scratch/empty"
cd "$scratch/empty"
for name in ingest profiling plots; do
  if "$scratch/venv/bin/python" -c "import $name" 2>/dev/null; then
    echo "FAIL: 'import $name' works in the installed package's venv" >&2
    exit 1
  fi
done
env -u FLOPWATT_DB -u FLOPWATT_HOME -u FLOPWATT_REPORTS \
  "$scratch/venv/bin/flopwatt" run --models resnet18,mobilenet_v3_small --duration 2 --idle-s 1 \
  --no-progress
for made in flopwatt.duckdb reports/report.html; do
  [[ -s "$made" ]] || { echo "FAIL: flopwatt run wrote no $made in the current folder" >&2; exit 1; }
done
n=$("$scratch/venv/bin/python" -c "import duckdb; print(duckdb.connect('flopwatt.duckdb', \
  read_only=True).execute('select count(*) from marts.fct_model_efficiency').fetchall()[0][0])")
echo "installed package: fct_model_efficiency has $n model row(s)"
[[ "$n" == 2 ]] || { echo "FAIL: expected 2 model rows" >&2; exit 1; }
