"""The 2D -> 3D pose lifter: config, network and the paper's SA/TA attention modules."""
from .attention_modules import DropPath, SpatialAttention, TemporalAttention
from .config import LifterConfig
from .model import PoseLifter, count_parameters, parameter_report

__all__ = [
    "DropPath",
    "LifterConfig",
    "PoseLifter",
    "SpatialAttention",
    "TemporalAttention",
    "count_parameters",
    "parameter_report",
]
