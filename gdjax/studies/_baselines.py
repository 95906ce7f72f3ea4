"""Baselines beside a network's score: logistic regression tuned on the validation rows, and the majority class.

Logistic regression is convex, so it needs no restarts: full-batch gradient
descent from zero weights on the training rows, every learning rate of a small
grid in one vmapped program; the (rate, step) with the lowest validation loss
is kept (early stopping on the validation rows), and the test rows are touched
once, for its score. One small compiled program, so that a study's quick run
can afford the baseline.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax.losses import sigmoid_binary_cross_entropy

LOGISTIC_RATES: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)


class LogisticBaseline(NamedTuple):
    """Logistic regression chosen on the validation rows, scored once on the test rows."""

    rate: float  # full-batch gradient descent's rate
    steps: int  # the step with the lowest validation loss (early stopping)
    val_loss: float
    test_loss: float
    test_accuracy: float


def _loss(params, x, y):
    return sigmoid_binary_cross_entropy(x @ params["w"] + params["b"], y)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _descend(max_steps: int, every: int, rates, x, y, x_val, y_val):
    def one(rate):
        params = {"w": jnp.zeros(x.shape[1], x.dtype), "b": jnp.zeros((), x.dtype)}

        def block(p, _):
            def step(p, _):
                grad = jax.grad(_loss)(p, x, y)
                return jax.tree.map(lambda a, g: a - rate * g, p, grad), None

            p, _ = jax.lax.scan(step, p, None, length=every)
            return p, (p, _loss(p, x_val, y_val))

        _, (kept, val) = jax.lax.scan(block, params, None, length=max_steps // every)
        return kept, val

    return jax.vmap(one)(rates)


def logistic_baseline(
    split: Any, rates: Sequence[float] = LOGISTIC_RATES, *, max_steps: int = 2000, every: int = 10
) -> LogisticBaseline:
    """Logistic regression on ``split`` (``x_train, y_train, x_val, y_val, x_test, y_test``), see the module docs."""
    kept, val = _descend(
        max_steps,
        every,
        jnp.asarray(rates, jnp.float32),
        jnp.asarray(split.x_train),
        jnp.asarray(split.y_train),
        jnp.asarray(split.x_val),
        jnp.asarray(split.y_val),
    )
    val = np.where(np.isfinite(np.asarray(val)), np.asarray(val), np.inf)
    i, k = np.unravel_index(int(np.argmin(val)), val.shape)
    params = jax.tree.map(lambda a: a[i, k], kept)
    logits = np.asarray(split.x_test @ params["w"] + params["b"], np.float64)
    y = np.asarray(split.y_test, np.float64)
    test_loss = float(np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))))
    return LogisticBaseline(
        float(rates[i]),
        int((k + 1) * every),
        float(val[i, k]),
        test_loss,
        float(np.mean((logits >= 0) == (y > 0.5))),
    )


def majority_accuracy(y_train: Any, y_test: Any) -> float:
    """Test accuracy of predicting the training rows' commoner class for everyone."""
    majority = float(np.mean(np.asarray(y_train)) > 0.5)
    return float(np.mean(np.asarray(y_test) == majority))
