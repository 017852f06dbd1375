"""Building config dataclasses from YAML mappings, strictly: a typo never falls back silently
to a default. Shared by the lifter and detector training configs."""
from __future__ import annotations

from dataclasses import fields
from typing import Any


def build_section(kind: type, raw: Any, section: str) -> Any:
    """Construct dataclass `kind` from mapping `raw` (lists become tuples), refusing keys it
    does not have and non-mappings, with the section named in the error."""
    if not isinstance(raw, dict):
        raise ValueError(f"config section '{section}' must be a mapping")
    names = {f.name for f in fields(kind)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"unknown key(s) in section '{section}': {sorted(unknown)} "
                         f"(known: {sorted(names)})")
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
