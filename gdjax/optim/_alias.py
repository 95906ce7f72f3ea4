r"""Ready-made optimizers, with Optax's names, keywords and defaults.

Switching from Optax is a change of import. Each optimizer is a
:func:`chain` of transforms ending in :func:`scale_by_learning_rate`, so its
state holds the learning rate in force (:func:`current_learning_rate`). The
extra options (``dampening``, ``eps_in_sqrt`` for Adagrad) reproduce
``torch.optim`` exactly; each docstring says which settings do.

Notation: :math:`\theta_t` the parameters, :math:`g_t = \nabla L(\theta_{t-1})`
the gradient at step :math:`t = 1, 2, \dots`, :math:`\eta_t` the learning rate
(a constant or ``schedule(t - 1)``), :math:`\theta_t = \theta_{t-1} + u_t`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from gdjax import _checks
from gdjax.optim import _hyper
from gdjax.optim._base import GradientTransformation, Params, PyTree, ScalarOrSchedule, chain, identity
from gdjax.optim._learning_rate import scale_by_learning_rate
from gdjax.optim._recipe import hyperparameters
from gdjax.optim._transforms import (
    add_decayed_weights,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_rms,
    trace,
)


def _momentum(
    momentum: ScalarOrSchedule | None, nesterov: bool, dampening: jax.typing.ArrayLike = 0.0, **kw: Any
) -> GradientTransformation:
    nesterov = _hyper.check_bool("nesterov", nesterov)
    _hyper.check_scalar("dampening", dampening, "closed_unit")
    if momentum is None:
        if nesterov:
            raise ValueError("nesterov=True needs a momentum; got momentum=None.")
        if not _checks.is_traced(dampening) and dampening != 0:
            raise ValueError(f"dampening needs a momentum; got momentum=None and dampening={dampening!r}.")
        return identity()
    _hyper.check_scalar_or_schedule("momentum", momentum, "unit")
    return trace(decay=momentum, nesterov=nesterov, dampening=dampening, **kw)


def _lr(learning_rate: Any) -> Any:
    if learning_rate is None:
        raise ValueError("learning_rate must be a positive number or a schedule; got None.")
    return _hyper.check_scalar_or_schedule("learning_rate", learning_rate, "positive")


def _unmasked(arguments: dict) -> bool:
    """Elementwise unless a mask picks leaves by the shape of the tree."""
    return arguments["mask"] is None


@hyperparameters(static=("dampening",), elementwise=True)
def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
    *,
    dampening: jax.typing.ArrayLike = 0.0,
) -> GradientTransformation:
    r"""Stochastic gradient descent, with optional heavy-ball or Nesterov momentum.

    .. math::

        \text{plain:}\quad u_t = -\eta_t g_t; \qquad
        \text{momentum } \mu:\quad b_1 = g_1,\ b_t = \mu b_{t-1} + (1 - d) g_t,\quad
        u_t = -\eta_t \begin{cases} b_t \\ g_t + \mu b_t & \text{(Nesterov)} \end{cases}

    With :math:`d = 0` this is ``optax.sgd``; with any :math:`d` it is
    ``torch.optim.SGD(lr, momentum, dampening, nesterov)`` step for step (for
    PyTorch's coupled ``weight_decay``, put ``add_decayed_weights(wd)`` before it
    in a :func:`chain`).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      momentum: :math:`\mu \in [0, 1)`, a schedule ``count -> mu`` (e.g.
        Sutskever et al.'s increasing momentum), or ``None`` for no momentum
        buffer.
      nesterov: Nesterov's form (needs a momentum).
      accumulator_dtype: dtype of the momentum buffer (default: the gradients').
      dampening: PyTorch's :math:`d \in [0, 1]` (keyword only; needs a momentum).

    References:
      Sutskever et al., *On the importance of initialization and momentum in
      deep learning*, ICML 2013.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(_momentum(momentum, nesterov, dampening, accumulator_dtype=accumulator_dtype), rate)


@hyperparameters(elementwise=True)
def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
    eps_in_sqrt: bool = True,
) -> GradientTransformation:
    r"""Adagrad: per-coordinate rates shrinking with the accumulated squared gradients.

    .. math::

        s_t = s_0 + \sum_{\tau \le t} g_\tau^2, \qquad
        u_t = -\eta_t \frac{g_t}{\sqrt{s_t + \epsilon}}
        \quad\text{or, with } \texttt{eps\_in\_sqrt=False},\quad -\eta_t \frac{g_t}{\sqrt{s_t} + \epsilon}

    (:math:`u_t = 0` where :math:`s_t = 0`). Defaults are Optax's;
    ``torch.optim.Adagrad(lr, eps=e)`` is
    ``adagrad(lr, initial_accumulator_value=0.0, eps=e, eps_in_sqrt=False)``.

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      initial_accumulator_value: :math:`s_0 \ge 0`.
      eps: :math:`\epsilon \ge 0`.
      eps_in_sqrt: :math:`\epsilon` inside the root (Optax) or outside (PyTorch).

    References:
      Duchi et al., *Adaptive Subgradient Methods for Online Learning and
      Stochastic Optimization*, JMLR 2011.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(scale_by_adagrad(initial_accumulator_value, eps, eps_in_sqrt), rate)


@hyperparameters(complements=("decay",), elementwise=True)
def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""RMSProp: gradients divided by the root of an EMA of their squares.

    .. math::

        v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \quad
        m_t = \rho m_{t-1} + (1 - \rho) g_t \ \text{(centered)}, \quad
        \sigma_t^2 = v_t \ \text{or}\ v_t - m_t^2 \ \text{(centered)}, \\
        r_t = -\eta_t \frac{g_t}{\sqrt{\sigma_t^2 + \epsilon}}
        \ \text{or}\ -\eta_t \frac{g_t}{\sqrt{\sigma_t^2} + \epsilon}
        \ (\texttt{eps\_in\_sqrt=False}), \qquad
        u_t = r_t \ \text{or, with momentum } \mu,\ b_t = \mu b_{t-1} + r_t,\ u_t = b_t
        \ (\text{Nesterov: } r_t + \mu b_t)

    with :math:`v_0` = ``initial_scale``. Defaults are Optax's;
    ``torch.optim.RMSprop(lr, alpha, eps, momentum, centered)`` with a constant
    rate is ``rmsprop(lr, decay=alpha, eps=eps, eps_in_sqrt=False,
    centered=centered, momentum=momentum or None)``.

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      decay: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`.
      initial_scale: :math:`v_0 \ge 0`.
      eps_in_sqrt: :math:`\epsilon` inside the root (Optax) or outside (PyTorch).
      centered: normalise by the variance estimate (Graves, 2013).
      momentum: :math:`\mu \in [0, 1)` or ``None``.
      nesterov: Nesterov's form of the momentum.
      bias_correction: divide the EMAs by :math:`1 - \rho^t`.

    References:
      Hinton, *Neural Networks for Machine Learning*, lecture 6e, 2012;
      Graves, *Generating Sequences With Recurrent Neural Networks*, 2013.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(
        scale_by_rms(decay, eps, initial_scale, eps_in_sqrt, bias_correction, centered=centered),
        rate,
        _momentum(momentum, nesterov),
    )


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def adam(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""Adam: momentum with per-coordinate rates from bias-corrected moment estimates.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}, \\
        u_t = -\eta_t \frac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon}

    With ``nesterov=True`` (NAdam),
    :math:`\hat m_t = \frac{\beta_1 m_t}{1 - \beta_1^{t+1}} + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}`.
    With :math:`\bar\epsilon = 0` (the default) this is ``torch.optim.Adam``.

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon \ge 0` outside the root.
      eps_root: :math:`\bar\epsilon \ge 0` inside the root.
      mu_dtype: dtype of the first moment (default: the gradients').
      nesterov: Dozat's Nesterov variant (keyword only, as in Optax).

    References:
      Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015;
      Dozat, *Incorporating Nesterov Momentum into Adam*, 2016.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov), rate)


@hyperparameters(complements=("b1", "b2"), elementwise=_unmasked)
def adamw(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any = None,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: PyTree | Callable[[Params], PyTree] | None = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""Adam with decoupled weight decay (AdamW).

    .. math::  u_t = -\eta_t \left(\frac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon}
               + \lambda\, \theta_{t-1}\right)

    with :math:`\hat m_t, \hat v_t` as in :func:`adam`. The decay is multiplied
    by the learning rate, as in ``torch.optim.AdamW(lr, betas, eps,
    weight_decay)`` which this equals step for step (with
    :math:`\bar\epsilon = 0`).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1, b2, eps, eps_root, mu_dtype, nesterov: as in :func:`adam`.
      weight_decay: :math:`\lambda \ge 0` or a schedule.
      mask: which leaves to decay (pytree of booleans or ``params -> booleans``);
        e.g. ``lambda p: jax.tree.map(lambda x: x.ndim > 1, p)`` spares biases.

    References:
      Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask),
        rate,
    )


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def nadam(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any = None,
) -> GradientTransformation:
    """NAdam: :func:`adam` with ``nesterov=True`` (Dozat, 2016)."""
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=True)


@hyperparameters(complements=("b1", "b2"), elementwise=_unmasked)
def nadamw(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any = None,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: PyTree | Callable[[Params], PyTree] | None = None,
) -> GradientTransformation:
    """NAdamW: :func:`adamw` with ``nesterov=True``."""
    return adamw(learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nesterov=True)
