"""Data for gdjax: bundled datasets, course tables, generators, batching, CSV loading.

Batching (``epoch_batches``, ``num_batches``, ``masked_mean``, ``take``) turns an
epoch into a static-shape index matrix that can be scanned over inside ``jit``.
"""

from gdjax.data._batching import Batches, epoch_batches, masked_mean, num_batches, take
from gdjax.data._split import (
    Split,
    Standardizer,
    as_key,
    fit_standardizer,
    split_sizes,
    train_test_split,
    train_test_split_indices,
)

__all__ = [
    "Batches",
    "Split",
    "Standardizer",
    "as_key",
    "epoch_batches",
    "fit_standardizer",
    "masked_mean",
    "num_batches",
    "split_sizes",
    "take",
    "train_test_split",
    "train_test_split_indices",
]
