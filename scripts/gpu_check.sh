#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU: bench two models with --sensor nvml, print per-run
# energy. One short command (~1 minute with the defaults, model builds included):
#
#   scripts/gpu_check.sh                      # resnet50 + mobilenet_v3_small, 10 s each, batch 32
#   MODELS=resnet18,vgg11 DURATION=5 BATCH=64 scripts/gpu_check.sh
#
# Needs torch with CUDA, torchvision and nvidia-ml-py (PYTHON=... to pick the interpreter; default
# .venv/bin/python, else python3). Writes a throwaway warehouse (FLOPWATT_DB, default a temp dir).
# Per-run energy is printed three ways: the bench's own preview, the raw counters read with an
# ASOF join (SQL below), and marts.fct_run_energy when the dbt marts exist and build here.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
MODELS=${MODELS:-resnet50,mobilenet_v3_small}
DURATION=${DURATION:-10}
BATCH=${BATCH:-32}
export FLOPWATT_DB=${FLOPWATT_DB:-$(mktemp -d)/gpu_check.duckdb}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

echo "== GPUs (nvidia-smi)"
nvidia-smi --query-gpu=index,name,uuid,power.draw,power.limit --format=csv || true
"$PY" - <<'EOF'
import torch, torchvision, pynvml
print(f"torch {torch.__version__} cuda={torch.cuda.is_available()} "
      f"torchvision {torchvision.__version__} nvidia-ml-py {pynvml.__version__ if hasattr(pynvml, '__version__') else '?'}")
EOF

echo "== flopwatt bench --sensor nvml ($MODELS, ${DURATION}s each, batch $BATCH) into $FLOPWATT_DB"
"$PY" -m flopwatt bench --models "$MODELS" --sensor nvml --device cuda --duration "$DURATION" \
  --batch-size "$BATCH" --warmup 5 --idle-s 3 --interval-ms 50 --no-progress

echo "== meters"
"$PY" -m flopwatt sql "select meter_id, meter_kind, description from raw.meters"

echo "== per-run energy from the raw NVML counters (ASOF: last reading at or before each bound)"
"$PY" -m flopwatt sql "
with runs as (select * from raw.runs),
     counters as (select meter_id, measured_at, energy_j from raw.energy_counters)
select runs.model_name, runs.phase, runs.meter_id,
       round(epoch(runs.ended_at) - epoch(runs.started_at), 2) as seconds,
       runs.n_inferences,
       round(e1.energy_j - e0.energy_j, 2) as energy_j,
       round((e1.energy_j - e0.energy_j) / (epoch(runs.ended_at) - epoch(runs.started_at)), 1)
         as mean_power_w,
       round(1e3 * (e1.energy_j - e0.energy_j) / nullif(runs.n_inferences, 0), 3) as mj_per_inference
from runs
asof left join counters as e0
  on runs.meter_id = e0.meter_id and runs.started_at >= e0.measured_at
asof left join counters as e1
  on runs.meter_id = e1.meter_id and runs.ended_at >= e1.measured_at
order by runs.started_at"

echo "== power readings (GPUs without an energy counter only)"
"$PY" -m flopwatt sql "select meter_id, count(*) as n, round(avg(power_w), 1) as mean_w,
  round(max(power_w), 1) as max_w from raw.power_readings group by meter_id"

if [ -f models_sql/marts/fct_run_energy.sql ]; then
  echo "== dbt build, then marts.fct_run_energy"
  if "$PY" -m flopwatt build; then
    "$PY" -m flopwatt sql "select * from marts.fct_run_energy order by started_at"
  else
    echo "(dbt build failed here; the raw figures above stand)"
  fi
fi
