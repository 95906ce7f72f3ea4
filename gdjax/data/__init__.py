"""Data for gdjax: bundled data sets, course tables, generators, batching, CSV files.

Everything the studies train on ships with the package, so a fresh install runs
with no download.

* Heart disease (Cleveland Clinic, UCI; CC BY 4.0, see ``HEART_README.md``):
  :func:`load_heart` (the course's 29 inputs), :func:`load_heart_split` (seeded
  242/61 split, standardised with training statistics), :func:`load_heart_table`
  and :func:`load_cleveland_table` (the raw files).
* Course tables: :func:`line_table`, :func:`course_line_tables`, :func:`truth_table`.
* Generators (key first): :func:`admissions`, :func:`linear_regression`,
  :func:`two_moons`, :func:`circles`, :func:`spirals`, :func:`blobs`.
* Examples: :func:`num_examples`, :func:`check_data` (a data set is a pytree
  of arrays with a leading example axis).
* Batching: :func:`epoch_batches` turns an epoch into a static-shape index
  matrix to scan over inside ``jit``; :func:`num_batches`, :func:`masked_mean`,
  :func:`take`; :func:`permutation` (``jax.random.permutation``'s, faster on a CPU).
* Splitting and scaling: :func:`train_test_split`, :func:`fit_standardizer`.
* A user's CSV file: :func:`load_csv`, :func:`read_csv_table`.
"""

from gdjax.data._batching import Batches, epoch_batches, masked_mean, num_batches, take
from gdjax.data._csv import MISSING_TOKENS, CSVData, load_csv, read_csv_table
from gdjax.data._examples import check_data, num_examples
from gdjax.data._generators import (
    ADMISSIONS_BIAS,
    ADMISSIONS_WEIGHTS,
    admissions,
    blobs,
    circles,
    linear_regression,
    spirals,
    two_moons,
)
from gdjax.data._heart import (
    CLEVELAND_COLUMNS,
    HEART_CATEGORICAL,
    HEART_NUMERIC,
    HEART_TARGET,
    HeartData,
    HeartSplit,
    HeartStratifiedSplit,
    load_cleveland_table,
    load_heart,
    load_heart_split,
    load_heart_stratified_split,
    load_heart_table,
    stratified_counts,
)
from gdjax.data._permutation import permutation
from gdjax.data._split import (
    Split,
    Standardizer,
    as_key,
    fit_standardizer,
    split_sizes,
    train_test_split,
    train_test_split_indices,
)
from gdjax.data._tables import (
    COURSE_LINES,
    COURSE_XS,
    INSURANCE_COLUMNS,
    Dataset,
    course_line_tables,
    line_table,
    load_insurance,
    truth_table,
)

__all__ = [
    "ADMISSIONS_BIAS",
    "ADMISSIONS_WEIGHTS",
    "CLEVELAND_COLUMNS",
    "COURSE_LINES",
    "COURSE_XS",
    "HEART_CATEGORICAL",
    "HEART_NUMERIC",
    "HEART_TARGET",
    "INSURANCE_COLUMNS",
    "MISSING_TOKENS",
    "Batches",
    "CSVData",
    "Dataset",
    "HeartData",
    "HeartSplit",
    "HeartStratifiedSplit",
    "Split",
    "Standardizer",
    "admissions",
    "as_key",
    "blobs",
    "check_data",
    "circles",
    "course_line_tables",
    "epoch_batches",
    "fit_standardizer",
    "line_table",
    "linear_regression",
    "load_cleveland_table",
    "load_csv",
    "load_heart",
    "load_heart_split",
    "load_heart_stratified_split",
    "load_heart_table",
    "load_insurance",
    "masked_mean",
    "num_batches",
    "num_examples",
    "permutation",
    "read_csv_table",
    "spirals",
    "split_sizes",
    "stratified_counts",
    "take",
    "train_test_split",
    "train_test_split_indices",
    "truth_table",
    "two_moons",
]
