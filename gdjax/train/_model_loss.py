"""A supervised loss built from a model: ``loss(model.logits(params, x), y)`` over batches ``(x, y)``.

Any ``loss_fn(params, batch)`` trains; one built by :func:`model_loss` also
tells the engine which model it trains, so that random restarts of a model
with a :class:`~gdjax.models.WideForm` (:func:`gdjax.models.mlp`) train all
copies of a tile side by side, a dense first layer as one wide product a step
(:mod:`gdjax.train._wide`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import jax

from gdjax._checks import check_choice
from gdjax.models import Model

On = Literal["logits", "output"]


@dataclasses.dataclass(frozen=True)
class ModelLoss:
    """``loss(predict(params, x), y)`` for a batch ``(x, y)``; build it with :func:`model_loss`.

    Attributes:
      model: the :class:`~gdjax.models.Model` trained.
      loss: ``loss(predictions, targets) -> scalar``, a mean over examples
        (any of :mod:`gdjax.losses`).
      on: ``"logits"`` feeds the loss the model's logits (for losses on
        logits such as :func:`gdjax.losses.sigmoid_binary_cross_entropy`),
        ``"output"`` its output (:func:`gdjax.losses.binary_cross_entropy`,
        :func:`gdjax.losses.mse`).
    """

    model: Model
    loss: Callable[[jax.Array, jax.Array], Any]
    on: On = "logits"

    def __call__(self, params: Any, batch: Any) -> Any:
        x, y = split_batch(batch)
        return self.loss(self.predict(params, x), y)

    def predict(self, params: Any, x: Any) -> jax.Array:
        """What the loss is computed on: ``model.logits(params, x)`` or ``model.apply(params, x)``."""
        return (self.model.logits if self.on == "logits" else self.model.apply)(params, x)

    def per_copy(self, wide: Any, batch: Any) -> jax.Array:
        """The loss of every copy held in the model's wide layout, shape ``(N,)`` (``on="logits"`` only)."""
        x, y = split_batch(batch)
        return jax.vmap(lambda z: self.loss(z, y))(self.model.wide.logits(wide, x))  # copies on axis 0


def split_batch(batch: Any) -> tuple[Any, Any]:
    """``(x, y)`` of a supervised batch, refused (at trace time) if it is not a pair."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(
            f"a model_loss takes batches (x, y), so the data must be a pair of arrays; got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
            + "."
        )
    return batch[0], batch[1]


def model_loss(model: Model, loss: Callable[[jax.Array, jax.Array], Any], *, on: On = "logits") -> ModelLoss:
    """The loss ``loss_fn(params, (x, y)) = loss(model.logits(params, x), y)`` (``model.apply`` with ``on="output"``).

    The same function a user writes by hand, with the model in view of the
    engine: :func:`gdjax.restarts.restarts` trains the copies of a model with
    a wide form (``gdjax.models.mlp``) in that layout when the optimizer is
    elementwise, there is no penalty and ``on="logits"`` (several times as
    fast on a CPU; the same values up to float rounding).

    >>> import jax, jax.numpy as jnp, gdjax
    >>> model = gdjax.models.mlp([2, 3, 1])
    >>> loss_fn = gdjax.train.model_loss(model, gdjax.losses.sigmoid_binary_cross_entropy)
    >>> params = model.init(jax.random.key(0))
    >>> x, y = jnp.ones((4, 2)), jnp.array([0.0, 1.0, 1.0, 0.0])
    >>> bool(loss_fn(params, (x, y)) == gdjax.losses.sigmoid_binary_cross_entropy(model.logits(params, x), y))
    True
    """
    if not isinstance(model, Model):
        raise ValueError(f"model must be a gdjax.models.Model; got {type(model).__name__}.")
    if not callable(loss):
        raise ValueError(f"loss must be callable loss(predictions, targets) -> scalar; got {loss!r}.")
    check_choice("on", on, ("logits", "output"))
    return ModelLoss(model, loss, on)
