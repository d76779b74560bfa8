#!/usr/bin/env bash
# Check the import-linter contracts of pyproject.toml (layers point down only).
# import-linter walks a package's folder, but ingest/, profiling/ and plots/ install as
# flopwatt.ingest/.profiling/.plots through package-dir mapping; so the check runs over a scratch
# folder that lays the package out as installed (symbolic links to the checkout's files).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lint_imports="${LINT_IMPORTS:-$root/.venv/bin/lint-imports}"
layout="$(mktemp -d)"
trap 'rm -rf "$layout"' EXIT
mkdir "$layout/flopwatt"
for entry in "$root"/flopwatt/*; do
  case "$(basename "$entry")" in dbt_project|__pycache__) continue ;; esac
  ln -s "$entry" "$layout/flopwatt/"
done
for sub in ingest profiling plots; do
  ln -s "$root/$sub" "$layout/flopwatt/$sub"
done
cd "$layout"
PYTHONPATH="$layout" "$lint_imports" --no-cache "$root/pyproject.toml" "$@"
