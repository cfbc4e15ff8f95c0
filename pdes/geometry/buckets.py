"""A uniform grid of buckets over axis-aligned boxes, to find the mesh cells or facets that may hold a point.

The grid covers the union of the items' boxes with about one bucket per item; each item is listed in every bucket
its box overlaps. ``candidates(x)`` returns, per point, the items of the bucket that holds it (padded with ``−1``):
every item whose box contains the point is among them (points outside the grid get the nearest bucket's items,
which is harmless since none of their boxes holds such a point).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


class BucketIndex:
    """Buckets over the boxes ``[lo[i], hi[i]]`` (each ``(m, d)``)."""

    def __init__(self, lo: Tensor, hi: Tensor) -> None:
        count, dim = lo.shape
        self.origin = lo.min(dim=0).values
        extent = (hi.max(dim=0).values - self.origin).clamp_min(1e-300)
        per_axis = extent / (extent.prod() / count) ** (1.0 / dim)
        self.shape = torch.clamp(per_axis.round().long(), 1, max(1, math.ceil(count ** (1.0 / dim)) * 4))
        self.width = extent / self.shape
        first, last = self._bucket(lo), self._bucket(hi)
        spans = last - first + 1
        sizes = spans.prod(dim=1)
        item = torch.repeat_interleave(torch.arange(count), sizes)
        offset = torch.arange(len(item)) - torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes, sizes)
        coords = torch.empty(len(item), dim, dtype=torch.long)
        for j in reversed(range(dim)):
            coords[:, j] = first[item, j] + offset % spans[item, j]
            offset = offset // spans[item, j]
        bucket = self._flat(coords)
        order = torch.argsort(bucket, stable=True)
        bucket, item = bucket[order], item[order]
        total = int(self.shape.prod())
        fill = torch.bincount(bucket, minlength=total)
        slot = torch.arange(len(bucket)) - torch.repeat_interleave(torch.cumsum(fill, 0) - fill, fill)
        self.table = torch.full((total, max(int(fill.max()), 1)), -1, dtype=torch.long)
        self.table[bucket, slot] = item

    def _bucket(self, x: Tensor) -> Tensor:
        cell = torch.floor((x - self.origin) / self.width).long()
        return torch.minimum(cell.clamp_min(0), self.shape - 1)

    def _flat(self, coords: Tensor) -> Tensor:
        flat = torch.zeros(len(coords), dtype=torch.long)
        for j in range(coords.shape[1]):
            flat = flat * self.shape[j] + coords[:, j]
        return flat

    def candidates(self, x: Tensor) -> Tensor:
        """``(n, K)`` item indices (``−1``: none) of the bucket holding each point of ``x`` ``(n, d)``."""
        return self.table[self._flat(self._bucket(x))]
