"""How a lifter's forward pass runs at inference: eager PyTorch, TorchScript or ONNX Runtime.

Why there is a choice: the shipped lifters are small (2.6M parameters) and run one call per
camera frame for a handful of people, so the cost is in many small operations, not in
arithmetic, and the way they are dispatched decides the latency:

- eager: every op dispatched from Python, holding the interpreter lock between them. Beside a
  busy Python thread (a detector in the same process) one call of 12 ms takes about 1 s.
- torchscript: a traced, frozen copy; the graph runs without the lock (LifterRunner's
  default, for batch work: evaluation, `lift-sample`).
- onnxruntime: the model exported to ONNX in memory and run by ONNX Runtime on the CPU, which
  fuses the layer norms, GELUs and attention arithmetic: the fastest on CPU for a few people
  (`scripts/bench_lifter_engines.py`), not for hundreds. CPU only.
- auto: onnxruntime on a CPU, torchscript on CUDA (the nodes' default).

Every engine other than eager is checked against eager mode when it is built, on batch sizes
other than the example it was built from (a batch of people of any size must give the same
poses); one that differs by more than `MATCH_TOLERANCE`, or cannot be built, is not used and
the next one down (onnxruntime -> torchscript -> eager) runs, with the reason in
`Engine.note`, so callers can say so at start-up.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from liftpose_ros.core.lifter.engine_choice import DEFAULT_ENGINE, resolve_engine
from liftpose_ros.core.lifter.model import PoseLifter

MATCH_TOLERANCE = 1e-4  # m; an engine farther than this from eager mode is not used
_FALLBACK = {"onnxruntime": "torchscript", "torchscript": "eager"}

Forward = Callable[[torch.Tensor], torch.Tensor]  # (B, T, J, C_in) -> (B, J, 3)


class EngineUnavailable(RuntimeError):
    """An engine cannot run this model here; the message says why."""


@dataclass(frozen=True)
class Engine:
    """The forward pass that runs, which engine it is, and why it is not the one asked for
    ('' when it is)."""

    name: str
    forward: Forward = field(repr=False)
    note: str = ""


def _example(model: PoseLifter, batch: int, device: torch.device,
             generator: torch.Generator | None = None) -> torch.Tensor:
    cfg = model.config
    shape = (batch, cfg.num_frames, cfg.num_joints, cfg.in_channels)
    if generator is None:
        return torch.zeros(shape, device=device)
    return torch.rand(shape, generator=generator).to(device)  # (B, T, J, C_in)


@torch.inference_mode()
def _check_against_eager(forward: Forward, model: PoseLifter, device: torch.device,
                         name: str) -> None:
    """EngineUnavailable when `forward` does not give eager mode's poses on batches of 1 and 3
    people (the engines are built from a batch of 2)."""
    generator = torch.Generator().manual_seed(0)
    for batch in (1, 3):
        probe = _example(model, batch, device, generator)
        error = (forward(probe) - model(probe)).abs().max().item()
        if not error <= MATCH_TOLERANCE:  # NaN included
            raise EngineUnavailable(f"{name} gives poses {error:.2g} m from eager mode's "
                                    f"(tolerance {MATCH_TOLERANCE} m)")


@torch.inference_mode()
def torchscript_forward(model: PoseLifter, device: torch.device) -> Forward:
    """The model traced and frozen. torch 2.13 marks torch.jit as deprecated in favour of
    torch.compile, which needs a compiler and tens of seconds at start; if a later torch drops
    torch.jit, this raises EngineUnavailable and eager mode runs."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks: constants
            warnings.simplefilter("ignore", DeprecationWarning)  # see the docstring
            traced = torch.jit.trace(model, _example(model, 2, device), check_trace=False)
            return torch.jit.freeze(traced.eval())
    except Exception as exc:  # an op tracing cannot record: eager mode still works
        raise EngineUnavailable(f"torchscript: tracing failed ({exc})") from exc


def onnx_model_bytes(model: PoseLifter) -> bytes:
    """The model as an ONNX graph (opset 17, any batch size), built in memory: nothing is
    written to disk, so the graph always matches the weights that were loaded."""
    buffer = io.BytesIO()
    example = _example(model, 2, next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # legacy exporter and tracer notices
            torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=17,
                              input_names=["windows"], output_names=["poses"],
                              dynamic_axes={"windows": {0: "people"}, "poses": {0: "people"}},
                              do_constant_folding=True)
    finally:
        model.train(was_training)
    return buffer.getvalue()


def onnxruntime_forward(model: PoseLifter, device: torch.device, threads: int) -> Forward:
    """The model run by ONNX Runtime's CPU provider on `threads` intra-op threads (without
    spinning: on a small CPU an idle thread must leave its core to the detector)."""
    if device.type != "cpu":
        raise EngineUnavailable(f"onnxruntime runs the lifter on the CPU only, not on {device}")
    try:
        import onnxruntime
    except ImportError as exc:
        raise EngineUnavailable("onnxruntime is not installed (pip install "
                                "onnxruntime==1.22.1)") from exc
    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(onnx_model_bytes(model), options,
                                               providers=["CPUExecutionProvider"])
    except Exception as exc:  # an op the exporter or the runtime does not support
        raise EngineUnavailable(f"onnxruntime: the model could not be exported or loaded "
                                f"({exc})") from exc

    def forward(windows: torch.Tensor) -> torch.Tensor:
        inputs = np.ascontiguousarray(windows.detach().cpu().numpy(), dtype=np.float32)
        (poses,) = session.run(None, {"windows": inputs})  # (B, J, 3)
        return torch.from_numpy(poses)

    return forward


def _build(model: PoseLifter, device: torch.device, name: str) -> Forward:
    if name == "eager":
        return model
    forward = (torchscript_forward(model, device) if name == "torchscript"
               else onnxruntime_forward(model, device, torch.get_num_threads()))
    _check_against_eager(forward, model, device, name)
    return forward


def build_engine(model: PoseLifter, device: torch.device, name: str = DEFAULT_ENGINE) -> Engine:
    """The forward pass of `name` ('auto': `engine_choice.resolve_engine`) for `model` (in eval
    mode, on `device`), or the next engine down when it cannot be built or does not match
    eager mode (see the module docstring)."""
    name = resolve_engine(name, device.type)
    reasons: list[str] = []
    while True:
        try:
            forward = _build(model, device, name)
        except EngineUnavailable as exc:
            reasons.append(str(exc))
            name = _FALLBACK[name]
            continue
        note = f"{'; '.join(reasons)}: using {name}" if reasons else ""
        return Engine(name, forward, note)
