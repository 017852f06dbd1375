"""The models a node runs, loaded from its validated parameters.

The nodes and `liftpose process` load them here, so a bad checkpoint, backend or mode fails the
same way everywhere: one `StartupError` line saying what is wrong with which file.
"""
from __future__ import annotations

from liftpose_ros.core.detect.interface import KeypointDetector, create_detector
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.ros.node_runner import StartupError
from liftpose_ros.ros.parameters import KeypointParams, LifterParams


def lifter_from_params(params: LifterParams) -> LifterRunner:
    """The lifter of `params`, or StartupError saying what is wrong with which file."""
    path = params.checkpoint_path
    try:
        runner = LifterRunner.from_checkpoint(path, device=params.device, engine=params.engine)
    except ValueError as exc:  # select_device: CUDA requested but absent
        raise StartupError(f"parameter 'device': {exc}") from exc
    except Exception as exc:  # CheckpointError, and anything a corrupt file provokes
        raise StartupError(f"cannot load lifter checkpoint {path}: {exc}") from exc
    trained = runner.config.output
    if trained != params.mode:
        raise StartupError(
            f"parameter 'mode' is '{params.mode}' but checkpoint {path} was trained for "
            f"'{trained}' output; set mode:={trained} or use a '{params.mode}' checkpoint")
    return runner


def detector_from_params(params: KeypointParams) -> KeypointDetector:
    """The backend of `params`, or StartupError saying why it cannot run."""
    options = params.detector_options()
    try:
        return create_detector(params.backend, **options)
    except NotImplementedError as exc:  # registered, but its module is not written/installed
        raise StartupError(f"parameter 'backend': {exc}") from exc
    except Exception as exc:  # unknown options, missing model file, CUDA absent, ...
        raise StartupError(f"cannot start keypoint backend '{params.backend}' with options "
                           f"{options}: {exc}") from exc
