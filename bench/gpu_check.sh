#!/usr/bin/env bash
# One-shot GPU measurement for MolTwin's simulation stage (< 8 min on one CUDA GPU).
#
#   bench/gpu_check.sh            on a bare CUDA machine: build the env, measure, write figures
#   bench/gpu_check.sh --quick    CPU smoke mode (seconds): same steps, tiny sizes; run by
#                                 tests/unit/test_gpu_check.py so this script cannot rot
#
# Steps (each under its own `timeout`, so one slow part cannot eat the budget):
#  1. environment: python3.11 venv from the lock (requirements/constraints.txt) plus the
#     openmm-cuda-12 wheel whose version equals the pinned OpenMM (skipped with --quick, or when
#     MOLTWIN_PYTHON points at a ready interpreter);
#  2. platform probe: OpenMM's CUDA platform must create a Context (else stop: no figures are faked);
#  3. bench/md_throughput.py: pocket, whole protein, explicit box; run_md vs bare OpenMM;
#     N concurrent runs on the GPU;
#  4. bench/physics_protocols.py on Tyk2: minimized GBn2 single points + short MD (3 seeds);
#  5. figures under bench/results/ (or $GPU_CHECK_OUT): gpu_check_<platform>_*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1
OUT="${GPU_CHECK_OUT:-bench/results}"
mkdir -p "$OUT"
LOCK=requirements/constraints.txt
OPENMM_VERSION="$(sed -n 's/^OpenMM==\(.*\)$/\1/p' "$LOCK")"
[[ -n "$OPENMM_VERSION" ]] || { echo "no OpenMM pin in $LOCK" >&2; exit 2; }
CUDA_WHEEL="openmm-cuda-12==${OPENMM_VERSION}"
START=$(date +%s)

log() { echo "[gpu_check $(( $(date +%s) - START ))s] $*"; }

# ---- 1. environment --------------------------------------------------------------------
if [[ -n "${MOLTWIN_PYTHON:-}" ]]; then
  PY="$MOLTWIN_PYTHON"
elif [[ $QUICK == 1 ]]; then
  PY="${PYTHON:-python3}"
else
  VENV="${GPU_CHECK_VENV:-.venv-gpu}"
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "building $VENV from $LOCK + $CUDA_WHEEL"
    python3.11 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q -c "$LOCK" -e ".[test]"
  fi
  "$VENV/bin/python" -m pip install -q "$CUDA_WHEEL"
  PY="$VENV/bin/python"
fi
log "python: $PY; lock pins OpenMM $OPENMM_VERSION -> $CUDA_WHEEL"

# ---- 2. platform ---------------------------------------------------------------------
if [[ $QUICK == 1 ]]; then
  PLATFORM=CPU
else
  PLATFORM=CUDA
  command -v nvidia-smi >/dev/null && nvidia-smi > "$OUT/gpu_check_nvidia_smi.txt" || true
fi
TAG="$(echo "$PLATFORM" | tr 'A-Z' 'a-z')"
"$PY" - "$PLATFORM" <<'EOF' | tee "$OUT/gpu_check_${TAG}_platform.txt"
import sys, openmm
name = sys.argv[1]
platform = openmm.Platform.getPlatformByName(name)  # raises when the plugin is missing
system = openmm.System(); system.addParticle(1.0); system.addParticle(1.0)
context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform)
print(f"OpenMM {openmm.__version__}: {name} works",
      {k: platform.getPropertyValue(context, k) for k in platform.getPropertyNames()
       if k in ("DeviceName", "Precision", "CudaCompiler", "Threads")})
EOF

# ---- 3. MD throughput --------------------------------------------------------------------
if [[ $QUICK == 1 ]]; then
  MD_ARGS=(--quick --platform CPU --systems "implicit pocket" --repeats 1 --concurrent 2 --force-concurrency)
  MD_LIMIT=600  # a shared 2-core VM: ~230 s, most of it PDBFixer
else
  MD_ARGS=(--platform CUDA --concurrent 4 --repeats 2)
  MD_LIMIT=240
fi
log "md_throughput ${MD_ARGS[*]}"
timeout "$MD_LIMIT" "$PY" bench/md_throughput.py "${MD_ARGS[@]}" 2>&1 | tee "$OUT/gpu_check_${TAG}_md_throughput.txt"

# ---- 4. Tyk2 protocol ----------------------------------------------------------------
if [[ $QUICK == 1 ]]; then
  PP_ARGS=(--target tyk2 --limit 2 --platform CPU --only min100_GBn2_e1_s0 --md-ps 0.2 --seeds 2)
  PP_LIMIT=600
else
  PP_ARGS=(--target tyk2 --platform CUDA --only minconv_ --md-ps 20 --seeds 3)
  PP_LIMIT=200
fi
log "physics_protocols ${PP_ARGS[*]}"
timeout "$PP_LIMIT" "$PY" bench/physics_protocols.py "${PP_ARGS[@]}" --out-dir "$OUT" \
  --tag "_gpu_check_${TAG}" 2>&1 | tail -n 40 | tee "$OUT/gpu_check_${TAG}_tyk2_protocol.txt"

log "done in $(( $(date +%s) - START )) s; figures in $OUT/gpu_check_${TAG}_*"
