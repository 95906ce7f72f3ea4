"""The model protocol, parameter initialisers and parameter counting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gdjax._typing import Params


class WideForm(NamedTuple):
    """Many copies of a model side by side, for trainings that share their inputs (random restarts).

    ``N`` copies evaluated on the same inputs ``x`` need not be ``N`` small
    products: a dense first layer of every copy is one product of all the
    copies' weights, stacked, with ``x``, which a CPU or an accelerator runs
    near its peak. The wide form holds the copies' parameters in such a
    layout for as long as they train:

    - ``stack(params) -> wide``: parameters with a leading axis of ``N``
      copies (``jax.vmap(model.init)(keys)``) in the wide layout, a pytree
      of the form's own structure (every element of ``params`` held once:
      a rearrangement, so an elementwise optimizer's update is the same in
      either layout; it may add zeros that ``logits`` multiplies by zero
      inputs only, padding a matrix to whole vector registers: their
      gradient is zero, so they change nothing);
    - ``unstack(wide) -> params``: the inverse (``N`` is read off the shapes);
    - ``logits(wide, x) -> (N, n)``: every copy's :attr:`Model.logits` on the
      shared ``x``, copies on axis 0 (``(N, n, k)`` for ``k`` outputs), as
      ``jax.vmap(lambda p: model.logits(p, x))(params)`` would give them.

    The restart engine trains in this layout when the loss is a
    :func:`gdjax.train.model_loss` of the model and the optimizer is
    elementwise (``gdjax.train._wide``); the values are those of the copies
    trained one by one, up to float rounding.
    """

    stack: Callable[[Params], Params]
    unstack: Callable[[Params], Params]
    logits: Callable[[Params, jax.Array], jax.Array]


class Model(NamedTuple):
    """A model as a pair of pure functions, plus its pre-activation output.

    - ``init(key) -> params``: a fresh parameter pytree from a PRNG key.
    - ``apply(params, x, *, key=None) -> output``: the prediction for inputs
      ``x`` of shape ``(n, num_features)``. Models with dropout drop units only
      when a ``key`` is given (training); without one they are deterministic.
    - ``logits(params, x, *, key=None)``: the same network without its output
      activation (the score ``w^T x + b`` of a linear model, the logits of a
      classifier), for numerically stable losses such as
      :func:`gdjax.losses.sigmoid_binary_cross_entropy`.

    - ``wide``: optionally, the :class:`WideForm` that trains many copies
      of the model side by side faster (None: copies are vmapped).

    A model whose output layer has one unit returns shape ``(n,)`` (one number
    per example, like its targets); otherwise ``(n, k)``.
    """

    init: Callable[[jax.Array], Params]
    apply: Callable[..., jax.Array]
    logits: Callable[..., jax.Array]
    wide: WideForm | None = None


def count_params(params: Params) -> int:
    """Total number of scalar parameters in a pytree (Python int)."""
    return int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(params)))


def glorot_uniform(key: jax.Array, fan_in: int, fan_out: int, shape: tuple[int, ...], dtype) -> jax.Array:
    """Glorot/Xavier uniform: ``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``.

    Keeps the activation variance roughly constant through sigmoid/tanh layers
    (Glorot & Bengio, 2010).
    """
    limit = float(np.sqrt(6.0 / (fan_in + fan_out)))
    return jax.random.uniform(key, shape, dtype, -limit, limit)


def he_normal(key: jax.Array, fan_in: int, shape: tuple[int, ...], dtype) -> jax.Array:
    """He/Kaiming normal: ``N(0, 2 / fan_in)``, for ReLU layers (He et al., 2015)."""
    return jax.random.normal(key, shape, dtype) * float(np.sqrt(2.0 / fan_in))  # a Python float keeps dtype


def dense_init(key: jax.Array, fan_in: int, fan_out: int, activation: str, dtype) -> dict[str, jax.Array]:
    """A dense layer ``{"w": (fan_in, fan_out), "b": (fan_out,)}``, biases zero.

    He initialisation before a ReLU, Glorot otherwise.
    """
    shape = (fan_in, fan_out)
    if activation == "relu":
        w = he_normal(key, fan_in, shape, dtype)
    else:
        w = glorot_uniform(key, fan_in, fan_out, shape, dtype)
    return {"w": w, "b": jnp.zeros((fan_out,), dtype)}


def as_features(name: str, x: Any, num_features: int) -> jax.Array:
    """Checks inputs against the model's feature count and returns a 2-D array.

    Accepts ``(n, num_features)``, or ``(n,)`` for a one-feature model (the
    course's ``y = w0 + w1 x`` tables). Runs at trace time, so a mismatch
    raises before anything compiles.
    """
    x = jnp.asarray(x)
    if x.ndim == 1 and num_features == 1:
        return x[:, None]
    if x.ndim != 2 or x.shape[1] != num_features:
        expected = f"(n, {num_features})" + (" or (n,)" if num_features == 1 else "")
        raise ValueError(f"{name} must have shape {expected} for this model; got shape {x.shape}.")
    return x
