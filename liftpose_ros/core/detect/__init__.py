"""2D keypoint detection at run time: the detector interface and backends (mediapipe, and the
top-down pipeline around HRNet + the paper's attention module or any ONNX heatmap model), the
HRNet model, heatmap decoding, person-crop affine maths, detector checkpoints and drawing.

Training, evaluation and export are `core.detect_train`. Import the submodules directly; this
file stays free of imports so that light users (e.g. the affine maths) do not pull in torch or
onnxruntime.
"""
