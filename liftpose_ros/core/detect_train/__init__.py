"""Training, evaluation and export of the 2D heatmap detector (HRNet + the paper's attention
module): COCO-format data and augmentation, Gaussian targets and the loss, the training loop,
OKS evaluation through pycocotools, and ONNX export. The detectors that run in the nodes are
`core.detect`, which imports nothing from here.
"""
