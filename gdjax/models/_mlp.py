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
    restarts on shared batches: the first layer's weights and biases of
    every copy stacked in one ``(N * sizes[1], sizes[0] + 1)`` matrix (one
    product a step for all copies; zero columns may pad it to whole vector
    registers), a one-unit output layer as ``(N, sizes[-2])`` rows, other
    layers batched.
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
    """The wide layout of N copies of ``mlp(sizes)`` (see :class:`~gdjax.models.WideForm`).

    The first layer of copy ``c`` is rows ``c * u .. (c + 1) * u - 1`` (``u =
    sizes[1]``) of one ``(N * u, sizes[0] + 1)`` matrix ``[W_c^T | b_c]``: one
    product with the inputs and a column of ones, ``[W^T | b] [x | 1]^T``,
    computes every copy's pre-activations, units by rows and examples by
    columns, and its gradient ``delta^T [x | 1]`` holds the weights' and the
    biases' in one product. Examples stay the minor axis through the later
    layers, so a one-unit output layer (rows ``(N, u)``) is a sum over the
    middle axis of ``(N, u, rows)``.

    The matrix is padded with zero columns to a width the vector units
    divide (:func:`_aligned_width`), matched by zero columns of the inputs:
    the padding multiplies zeros, so its gradient is zero and an elementwise
    optimizer leaves it at zero. The gradient product's output rows are then
    whole vectors (heart network, 1024 copies: ``(16384, 32) @ (32, 30)``
    430 us, ``@ (32, 32)`` 270 us on a 2-core AVX-512 CPU).
    """
    fan_in = sizes[0]
    width = _aligned_width(fan_in + 1)

    def stack(params):
        w, b = params[0]["w"], params[0]["b"]  # (N, fan_in, units), (N, units)
        n = w.shape[0]
        pad = jnp.zeros((n, sizes[1], width - fan_in - 1), w.dtype)
        first = jnp.concatenate([jnp.swapaxes(w, 1, 2), b[..., None], pad], axis=2).reshape(n * sizes[1], width)
        wide = [{"wb": first}]
        for i, layer in enumerate(params[1:], start=1):
            if sizes[i + 1] == 1:  # a column per copy is a row per copy: (N, fan_in), no unit axis of size 1
                wide.append({"w": layer["w"][..., 0], "b": layer["b"][..., 0]})
            else:
                wide.append({"w": layer["w"], "b": layer["b"]})
        return wide

    def unstack(wide):
        first = wide[0]["wb"]
        n = first.shape[0] // sizes[1]
        first = first.reshape(n, sizes[1], width)
        params = [{"w": jnp.swapaxes(first[..., :fan_in], 1, 2), "b": first[..., fan_in]}]
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
        first = wide[0]["wb"]
        n = first.shape[0] // sizes[1]
        ones, pad = jnp.ones((a.shape[0], 1), a.dtype), jnp.zeros((a.shape[0], width - fan_in - 1), a.dtype)
        inputs = jnp.concatenate([a, ones, pad], axis=1)
        z = (first @ inputs.T).reshape(n, sizes[1], a.shape[0])  # [copies, units, rows]
        for i, layer in enumerate(wide[1:], start=1):
            h = hidden_fn(z)
            if sizes[i + 1] == 1:
                z = jnp.sum(h * layer["w"][:, :, None], axis=1) + layer["b"][:, None]  # [copies, rows]
            else:
                z = jnp.einsum("cir,cio->cor", h, layer["w"]) + layer["b"][:, :, None]
        if z.ndim == 3:
            return z[:, 0] if sizes[-1] == 1 else jnp.swapaxes(z, 1, 2)  # [copies, rows(, outputs)]
        return z

    return WideForm(stack, unstack, logits)


def _aligned_width(width: int) -> int:
    """``width`` rounded up to a multiple of 16 (or else 8) lanes, where that adds at most 1/8 more columns.

    16 float32 fill an AVX-512 register (8 an AVX2 one); a product whose rows
    end on a whole register needs no remainder loop. Narrow matrices stay as
    they are: padding 3 columns to 8 would more than double the optimizer's work.
    """
    for lanes in (16, 8):
        aligned = -(-width // lanes) * lanes
        if 8 * (aligned - width) <= width:
            return aligned
    return width
