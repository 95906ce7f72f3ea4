"""The multilayer perceptron (dense feed-forward network)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from gdjax._checks import check_choice, check_int, check_range
from gdjax.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from gdjax.models._model import Model, as_features, dense_init


def mlp(
    sizes: Sequence[int],
    *,
    hidden: str = "relu",
    output: str = "sigmoid",
    dropout: float = 0.0,
    dtype=jnp.float32,
) -> Model:
    """A dense network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Each layer computes ``a_{l+1} = f(a_l W_l + b_l)`` with ``f`` the hidden
    activation, and the last one the output activation. The course's heart
    disease network is ``mlp([29, 16, 1], hidden="relu", output="sigmoid")``
    with ``29*16 + 16 + 16*1 + 1 = 497`` parameters.

    Params are a list of layers ``{"w": (n_in, n_out), "b": (n_out,)}``.
    Weights are He-normal before ReLU layers and Glorot-uniform otherwise
    (the output layer always Glorot); biases start at zero.

    Dropout (inverted dropout, Srivastava et al. 2014) zeroes each hidden unit
    with probability ``dropout`` and scales the survivors by ``1/(1 - dropout)``,
    so the expected activation is unchanged. It is applied only when ``apply``
    is given a ``key``; without one the network is deterministic (evaluation).
    """
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size; got {sizes!r}.")
    for i, size in enumerate(sizes):
        check_int(f"sizes[{i}]", size, minimum=1)
    check_choice("hidden", hidden, HIDDEN_ACTIVATIONS)
    check_choice("output", output, OUTPUT_ACTIVATIONS)
    check_range("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    if output == "softmax" and sizes[-1] < 2:
        raise ValueError(f"output='softmax' needs at least 2 output units; got sizes[-1]={sizes[-1]}.")
    hidden_fn = HIDDEN_ACTIVATIONS[hidden]
    output_fn = OUTPUT_ACTIVATIONS[output]
    keep = 1.0 - float(dropout)
    num_layers = len(sizes) - 1

    def init(key: jax.Array):
        keys = jax.random.split(key, num_layers)
        return [
            dense_init(keys[i], sizes[i], sizes[i + 1], hidden if i < num_layers - 1 else output, dtype)
            for i in range(num_layers)
        ]

    def logits(params, x, *, key=None):
        if len(params) != num_layers:
            raise ValueError(f"params must hold {num_layers} layers for sizes {sizes}; got {len(params)}.")
        a = as_features("x", x, sizes[0])
        for _i, layer in enumerate(params[:-1]):
            a = hidden_fn(a @ layer["w"] + layer["b"])
            if key is not None and dropout > 0:
                key, sub = jax.random.split(key)
                kept = jax.random.bernoulli(sub, keep, a.shape)
                a = jnp.where(kept, a / keep, 0).astype(a.dtype)
        z = a @ params[-1]["w"] + params[-1]["b"]
        return z[:, 0] if sizes[-1] == 1 else z

    def apply(params, x, *, key=None):
        return output_fn(logits(params, x, key=key))

    return Model(init, apply, logits)
