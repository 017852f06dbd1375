"""2D keypoint detection. Among its modules: HRNet with the paper's attention modules
(section II.A; ``hrnet``, ``attention``), heatmap targets/loss/decoding (``heatmaps``),
person-crop affine maths (``affine``) and ONNX export (``onnx_export``).

Import the submodules directly; this file stays free of imports so that light users (e.g. the
affine maths) do not pull in torch or onnxruntime.
"""
