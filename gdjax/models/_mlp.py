"""The multilayer perceptron (dense feed-forward network)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from gdjax._checks import check_choice, check_int, check_range
from gdjax.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from gdjax.models._model import Model, WideForm, as_features, dense_init


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

    The model's :class:`~gdjax.models.WideForm` lays ``N`` copies out for
    restarts on shared batches: the first layers' weights side by side as one
    ``(sizes[0], N * sizes[1])`` matrix (one product a step for all copies),
    a one-unit output layer as ``(N, sizes[-2])`` rows, other layers batched.
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

    return Model(init, apply, logits, _wide_form(sizes, hidden_fn))


def _wide_form(sizes: tuple[int, ...], hidden_fn) -> WideForm:
    """The wide layout of N copies of ``mlp(sizes)`` (see :class:`~gdjax.models.WideForm`)."""

    def copies(wide) -> int:
        return wide[0]["b"].shape[0] // sizes[1]

    def stack(params):
        w, b = params[0]["w"], params[0]["b"]
        n = w.shape[0]
        wide = [{"w": jnp.transpose(w, (1, 0, 2)).reshape(sizes[0], n * sizes[1]), "b": b.reshape(n * sizes[1])}]
        for i, layer in enumerate(params[1:], start=1):
            if sizes[i + 1] == 1:  # a column per copy is a row per copy: (N, fan_in), no unit axis of size 1
                wide.append({"w": layer["w"][..., 0], "b": layer["b"][..., 0]})
            else:
                wide.append({"w": layer["w"], "b": layer["b"]})
        return wide

    def unstack(wide):
        n = copies(wide)
        w = jnp.transpose(wide[0]["w"].reshape(sizes[0], n, sizes[1]), (1, 0, 2))
        params = [{"w": w, "b": wide[0]["b"].reshape(n, sizes[1])}]
        for i, layer in enumerate(wide[1:], start=1):
            if sizes[i + 1] == 1:
                params.append({"w": layer["w"][..., None], "b": layer["b"][..., None]})
            else:
                params.append({"w": layer["w"], "b": layer["b"]})
        return params

    def logits(wide, x):
        if len(wide) != len(sizes) - 1:
            raise ValueError(f"wide params must hold {len(sizes) - 1} layers for sizes {sizes}; got {len(wide)}.")
        a = as_features("x", x, sizes[0])
        n = copies(wide)
        z = (a @ wide[0]["w"] + wide[0]["b"]).reshape(a.shape[0], n, sizes[1])  # [rows, copies, units]
        for i, layer in enumerate(wide[1:], start=1):
            h = hidden_fn(z)
            if sizes[i + 1] == 1:
                z = jnp.einsum("rci,ci->rc", h, layer["w"]) + layer["b"]
            else:
                z = jnp.einsum("rci,cio->rco", h, layer["w"]) + layer["b"]
        return z[..., 0] if (len(sizes) == 2 and sizes[1] == 1) else z

    return WideForm(stack, unstack, logits)
