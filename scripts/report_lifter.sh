#!/usr/bin/env bash
# Reproduce the lifter figures in README.md from the shipped weights: for every shipped lifter
# and each test rig ('cells': cameras as mounted in robot cells; 'classic': the aimed landscape
# cameras of the first lifters), the held-out CMU subjects 5 and 7 through 4 fixed virtual
# cameras per clip, clean and noisy 2D, and CMU take 01_03 through 2 (scripts/score_lifter.sh);
# flip test-time augmentation for the causal default; the table of all of them with walking
# and dance side by side (walk_dance.txt); and the speed benchmark.
#   Outputs: results/lifter/<model>-<rig>-<clean|noisy|unseen>.txt (+ a folder with
#   results.json, PNG).
# Needs the shared mocap (../shared/mocap or $LIFTPOSE_MOCAP_DIR). Takes ~45 min on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
L=.venv/bin/liftpose
OUT=results/lifter
MODELS=(causal_t27 centre_t27 poseformer_causal_t27)
bash scripts/fetch_registry_motion.sh > /dev/null  # CMU take 01_03 from Debian
for rig in cells classic; do
  for model in "${MODELS[@]}"; do
    bash scripts/score_lifter.sh "liftpose_ros/weights/lifter_$model.pt" "$OUT/$model-$rig" "$rig" 4
  done
  $L evaluate --checkpoint liftpose_ros/weights/lifter_causal_t27.pt --dataset cmu-test \
    --rig "$rig" --noisy --flip --out "$OUT/causal_t27-$rig-noisy-flip" \
    | tee "$OUT/causal_t27-$rig-noisy-flip.txt"
done
# *_e12, *_e40, *_e80, *_e110, *_ft20: earlier budgets (committed outputs; weights in the
# history). causal_t27_e110, _e80, _e40 and _e12 are the causal default's first stage
# (config/training/causal_t27.yaml) at its epochs 110, 80, 40 and 12, before the 20-epoch
# fine-tune on more varied motion (config/training/finetune/varied_motion.yaml); causal_t27_ft20
# is that second stage, before the 22 epochs of finetune/leg_mix_wide_angles.yaml; centre_t27_e40
# the centre lifter before its own such fine-tune; the centre and baseline *_e12 are earlier
# 12-epoch runs of the same configs. For comparisons at equal budget.
.venv/bin/python scripts/ablation_table.py --root "$OUT" \
  --runs {causal_t27,causal_t27_ft20,causal_t27_e110,causal_t27_e80,causal_t27_e40,causal_t27_e12,centre_t27,centre_t27_e40,centre_t27_e12,poseformer_causal_t27,poseformer_causal_t27_e12}-{cells,classic} \
  --title "Shipped lifters (causal default 110 epochs + 20 fine-tuning on varied motion + 22 with legs of other windows and wider joint angles, centre 40 + 22 on varied motion, baseline 40; *_ft20: the causal default before its last 22 epochs; *_e110, *_e80, *_e40, *_e12: its first stage at 110, 80, 40 and 12 epochs; centre_t27_e40: the centre lifter's first stage), CMU 5+7 (4 cameras per clip), take 01_03 (2 cameras)" \
  | tee "$OUT/walk_dance.txt"
$L bench --checkpoint liftpose_ros/weights/lifter_causal_t27.pt --threads 2 | tee "$OUT/bench.txt"
