"""Shipped weights (float16 state_dict + config; read with torch.load(weights_only=True)).

The lifters were trained on the Bandai Namco Research Motion Dataset and inherit its
CC BY-NC 4.0 licence: non-commercial use only.
"""
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent
DEFAULT_LIFTER = WEIGHTS_DIR / "lifter_causal_t27.pt"  # the live default: causal, T = 27


def shipped_lifter(mode: str = "causal") -> Path:
    """The shipped 27-frame lifter for an output mode ('causal' or 'centre')."""
    if mode not in ("causal", "centre"):
        raise ValueError(f"mode must be 'causal' or 'centre'; got {mode!r}")
    return WEIGHTS_DIR / f"lifter_{mode}_t27.pt"
