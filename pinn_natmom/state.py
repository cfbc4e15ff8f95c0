"""Optimizer and loop state — nested dicts, lists and tuples of tensors and numbers — moved and compared whole."""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor inside dicts, lists and tuples moved to ``device``."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def identical(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` hold the same values: tensors equal element for element (shape and dtype too), dicts
    with the same keys, lists and tuples item for item, other values by ``==`` (NaN equal to NaN)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(identical(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(identical, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)
