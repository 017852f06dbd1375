#!/usr/bin/env bash
# Reproduce the lifter figures in README.md from the shipped weights:
#   accuracy on the held-out CMU subjects 5 and 7, each clip seen by 4 fixed virtual cameras of
#   each test rig ('cells': cameras as mounted in robot cells; 'classic': the aimed landscape
#   cameras of the first lifters), clean and noisy 2D, for every shipped lifter (+ flip
#   test-time augmentation for the causal default), and the speed benchmark.
#   Outputs: results/lifter/<model>-<rig>-<input>.txt (+ a folder with results.json, PNG).
# Needs the shared mocap (../shared/mocap or $LIFTPOSE_MOCAP_DIR). Takes ~40 min on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
L=.venv/bin/liftpose
OUT=results/lifter
mkdir -p "$OUT"
for rig in cells classic; do
  for model in causal_t27 centre_t27 poseformer_causal_t27; do
    ckpt=liftpose_ros/weights/lifter_$model.pt
    for input in clean noisy; do
      flag=(); [ "$input" = noisy ] && flag=(--noisy)
      $L evaluate --checkpoint "$ckpt" --dataset cmu-test --rig "$rig" "${flag[@]}" \
        --out "$OUT/$model-$rig-$input" | tee "$OUT/$model-$rig-$input.txt"
    done
  done
  $L evaluate --checkpoint liftpose_ros/weights/lifter_causal_t27.pt --dataset cmu-test \
    --rig "$rig" --noisy --flip --out "$OUT/causal_t27-$rig-noisy-flip" \
    | tee "$OUT/causal_t27-$rig-noisy-flip.txt"
done
$L bench --checkpoint liftpose_ros/weights/lifter_causal_t27.pt --threads 2 | tee "$OUT/bench.txt"
