#!/usr/bin/env bash
# One prepared run on a machine with a CUDA GPU: the trainer's throughput, then the causal
# lifter at the paper's width trained within a wall-clock budget, exported and scored on
# CMU subjects 5 and 7 (held out of training). Everything it prints also goes to OUT_DIR.
#
#   bash scripts/train_on_gpu.sh OUT_DIR [MINUTES] [MOCAP_DIR]
#
# MINUTES: the training's budget (default 5; no epoch starts after it). MOCAP_DIR: the shared
# mocap folder or a copy packed by scripts/pack_mocap.py (default build/mocap_packed, else
# $LIFTPOSE_MOCAP_DIR or ../shared/mocap); a packed copy is unpacked to a temporary folder.
# Needs python3 with torch (CUDA), numpy, PyYAML, tqdm and matplotlib; no virtual environment,
# no network. $PYTHON overrides the interpreter. SMOKE=1 DEVICE=cpu runs every step at a
# token size, to check the script on a machine without a GPU before a GPU's time is spent.
# SPLIT_MB=N also writes the exported lifter (about 20 MB at the paper's width) in parts of at
# most N MB with its sha256, for runners that return only smaller files; join them with
#   cat OUT_DIR/lifter_paper_causal_t27.pt.part-* > lifter_paper_causal_t27.pt
# and check it with sha256sum -c OUT_DIR/lifter_paper_causal_t27.pt.sha256 (in that folder).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash scripts/train_on_gpu.sh OUT_DIR [MINUTES] [MOCAP_DIR]}
MINUTES=${2:-5}
MOCAP=${3:-}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
CONFIG=config/training/paper_causal_t27.yaml
BENCH=(--batch-size 1024 --steps 30)
TRAIN=()
EVAL=(--cameras 4)
if [ "${SMOKE:-0}" = 1 ]; then
    BENCH=(--batch-size 32 --steps 2)
    TRAIN=(--epochs 2 --steps-per-epoch 2 --batch-size 32 --workers 0 --precision fp32)
    EVAL=(--cameras 1 --max-clips 2)
fi
mkdir -p "$OUT"
exec > >(tee -a "$OUT/train_on_gpu.log") 2>&1

if [ -z "$MOCAP" ]; then
    for candidate in build/mocap_packed "${LIFTPOSE_MOCAP_DIR:-}" ../shared/mocap; do
        if [ -n "$candidate" ] && [ -f "$candidate/bandai_h36m17.npz" ]; then
            MOCAP=$candidate
            break
        fi
    done
fi
[ -f "$MOCAP/bandai_h36m17.npz" ] || { echo "no mocap folder found (give MOCAP_DIR)"; exit 2; }
if "$PY" -c 'import sys; from liftpose_ros.core.data.mocap_pack import is_packed
sys.exit(0 if is_packed(sys.argv[1]) else 1)' "$MOCAP/bandai_h36m17.npz"; then
    UNPACKED=$(mktemp -d)
    trap 'rm -rf "$UNPACKED"' EXIT
    "$PY" scripts/pack_mocap.py unpack "$MOCAP" "$UNPACKED"
    MOCAP=$UNPACKED
fi
export LIFTPOSE_MOCAP_DIR=$MOCAP

echo "== $(date -u +%FT%TZ) machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
torch.cuda.get_device_name() if torch.cuda.is_available() else "")'

echo "== $(date -u +%FT%TZ) trainer throughput, paper width"
for args in "--precision fp32" "--precision bf16" "--precision bf16 --workers 8"; do
    # shellcheck disable=SC2086  # the options are meant to split
    "$PY" scripts/bench_trainer.py --config "$CONFIG" --device "$DEVICE" --width paper \
        "${BENCH[@]}" $args
done

echo "== $(date -u +%FT%TZ) training for at most $MINUTES min"
"$PY" -m liftpose_ros.cli train --config "$CONFIG" --out "$OUT/run" --max-minutes "$MINUTES" \
    --device "$DEVICE" "${TRAIN[@]}"
"$PY" -m liftpose_ros.cli export --checkpoint "$OUT/run/best.pt" \
    --out "$OUT/lifter_paper_causal_t27.pt"
if [ "${SPLIT_MB:-0}" -gt 0 ]; then
    (cd "$OUT" && sha256sum lifter_paper_causal_t27.pt > lifter_paper_causal_t27.pt.sha256 &&
     split -b "${SPLIT_MB}m" -d lifter_paper_causal_t27.pt lifter_paper_causal_t27.pt.part-)
    ls -l "$OUT"/lifter_paper_causal_t27.pt.part-*
fi

echo "== $(date -u +%FT%TZ) CMU 5+7, cells cameras, clean and noisy 2D"
"$PY" -m liftpose_ros.cli evaluate --checkpoint "$OUT/lifter_paper_causal_t27.pt" \
    --dataset cmu-test --rig cells "${EVAL[@]}" --device "$DEVICE" --out "$OUT/cmu-cells"
"$PY" -m liftpose_ros.cli evaluate --checkpoint "$OUT/lifter_paper_causal_t27.pt" \
    --dataset cmu-test --rig cells "${EVAL[@]}" --noisy --device "$DEVICE" \
    --out "$OUT/cmu-cells-noisy"
echo "== $(date -u +%FT%TZ) done"
