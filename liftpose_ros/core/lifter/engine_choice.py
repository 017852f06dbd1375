"""The names of the lifter's inference engines (core/lifter/engines.py) and which one runs.

Kept apart from the engines, which need torch, so that parameter declaration and validation
can name the choices without loading torch."""
from __future__ import annotations

ENGINES = ("auto", "torchscript", "onnxruntime", "eager")
# LifterRunner's default: batch work (evaluation, `lift-sample`) runs hundreds of windows a
# call, where ONNX Runtime is no faster than TorchScript (scripts/bench_lifter_engines.py).
DEFAULT_ENGINE = "torchscript"
# The nodes' and `liftpose process`'s default: a few people a call, where ONNX Runtime is the
# fastest on a CPU; it does not run on CUDA.
LIVE_ENGINE = "auto"


def check_engine_name(name: str) -> str:
    """`name`, or ValueError naming the engines there are."""
    if name not in ENGINES:
        raise ValueError(f"lifter engine must be one of {', '.join(ENGINES)}; got {name!r}")
    return name


def resolve_engine(name: str, device_type: str) -> str:
    """The engine `name` stands for on a device of `device_type` ('cpu', 'cuda'): 'auto' is
    onnxruntime on a CPU and torchscript elsewhere; any other name stands for itself."""
    if check_engine_name(name) != "auto":
        return name
    return "onnxruntime" if device_type == "cpu" else "torchscript"
