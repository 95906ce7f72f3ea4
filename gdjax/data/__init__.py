"""Data for gdjax: bundled datasets, course tables, generators, batching, CSV loading.

Batching (``epoch_batches``, ``num_batches``, ``masked_mean``, ``take``) turns an
epoch into a static-shape index matrix that can be scanned over inside ``jit``.
"""

from gdjax.data._batching import Batches, epoch_batches, masked_mean, num_batches, take

__all__ = [
    "Batches",
    "epoch_batches",
    "masked_mean",
    "num_batches",
    "take",
]
