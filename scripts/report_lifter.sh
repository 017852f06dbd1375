#!/usr/bin/env bash
# Reproduce the lifter figures in README.md from the shipped weights:
#   accuracy on the held-out CMU subjects 5 and 7 (4 fixed virtual cameras per clip), clean and
#   noisy 2D, for every shipped lifter (+ flip test-time augmentation for the causal default),
#   and the speed benchmark. Outputs: results/lifter/<model>-<input>.txt (+ results.json, PNG).
# Needs the shared mocap (../shared/mocap or $LIFTPOSE_MOCAP_DIR). Takes ~15 min on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
L=.venv/bin/liftpose
OUT=results/lifter
mkdir -p "$OUT"
for model in causal_t27 centre_t27 poseformer_causal_t27; do
  ckpt=liftpose_ros/weights/lifter_$model.pt
  $L evaluate --checkpoint "$ckpt" --dataset cmu-test --out "$OUT/$model-clean" | tee "$OUT/$model-clean.txt"
  $L evaluate --checkpoint "$ckpt" --dataset cmu-test --noisy --out "$OUT/$model-noisy" | tee "$OUT/$model-noisy.txt"
done
$L evaluate --checkpoint liftpose_ros/weights/lifter_causal_t27.pt --dataset cmu-test --noisy --flip \
  --out "$OUT/causal_t27-noisy-flip" | tee "$OUT/causal_t27-noisy-flip.txt"
$L bench --checkpoint liftpose_ros/weights/lifter_causal_t27.pt --threads 2 | tee "$OUT/bench.txt"
