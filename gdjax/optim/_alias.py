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
from gdjax._typing import Params, PyTree
from gdjax.optim import _hyper
from gdjax.optim._base import GradientTransformation, ScalarOrSchedule, chain, identity
from gdjax.optim._blockwise import (
    clip_by_block_rms,
    decay_rate_pow,
    scale_by_factored_rms,
    scale_by_param_block_rms,
    scale_by_trust_ratio,
)
from gdjax.optim._learning_rate import scale_by_learning_rate
from gdjax.optim._recipe import hyperparameters
from gdjax.optim._transforms import (
    add_decayed_weights,
    ema,
    scale,
    scale_by_adadelta,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_lion,
    scale_by_radam,
    scale_by_rms,
    scale_by_sign,
    trace,
)
from gdjax.optim._wrappers import masked


def _momentum(
    momentum: ScalarOrSchedule | None, nesterov: bool, dampening: jax.typing.ArrayLike | None = None, **kw: Any
) -> GradientTransformation:
    nesterov = _hyper.check_bool("nesterov", nesterov)
    if dampening is not None:
        _hyper.check_scalar("dampening", dampening, "closed_unit")
    if momentum is None:
        if nesterov:
            raise ValueError("nesterov=True needs a momentum; got momentum=None.")
        if dampening is not None and not _checks.is_traced(dampening) and dampening != 0:
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


def _weight_decay_unmasked(arguments: dict) -> bool:
    return arguments["weight_decay_mask"] is None


@hyperparameters(static=("dampening",), elementwise=True)
def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: ScalarOrSchedule | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
    *,
    dampening: jax.typing.ArrayLike | None = None,
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
      dampening: PyTorch's :math:`d \in [0, 1]` (keyword only; needs a momentum);
        ``None`` (the default) is :math:`d = 0` with Optax's state.

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
    amsgrad: bool = False,
) -> GradientTransformation:
    r"""Adam: momentum with per-coordinate rates from bias-corrected moment estimates.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}, \\
        u_t = -\eta_t \frac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon}

    With ``nesterov=True`` (NAdam),
    :math:`\hat m_t = \frac{\beta_1 m_t}{1 - \beta_1^{t+1}} + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}`.
    With :math:`\bar\epsilon = 0` (the default) this is ``torch.optim.Adam``;
    ``amsgrad=True`` is ``torch.optim.Adam(amsgrad=True)``: :math:`\hat v_t` is
    replaced by :math:`\max_{\tau \le t} v_\tau / (1 - \beta_2^t)` (see
    :func:`scale_by_amsgrad`, ``correct_max=True``; :func:`amsgrad` is Optax's
    variant).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon \ge 0` outside the root.
      eps_root: :math:`\bar\epsilon \ge 0` inside the root.
      mu_dtype: dtype of the first moment (default: the gradients').
      nesterov: Dozat's Nesterov variant (keyword only, as in Optax).
      amsgrad: PyTorch's AMSGrad option (keyword only; not with ``nesterov``).

    References:
      Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015;
      Dozat, *Incorporating Nesterov Momentum into Adam*, 2016;
      Reddi et al., *On the Convergence of Adam and Beyond*, ICLR 2018.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(_adam_scaling(b1, b2, eps, eps_root, mu_dtype, nesterov, amsgrad), rate)


def _adam_scaling(b1, b2, eps, eps_root, mu_dtype, nesterov, amsgrad) -> GradientTransformation:
    amsgrad = _hyper.check_bool("amsgrad", amsgrad)
    if amsgrad:
        if _hyper.check_bool("nesterov", nesterov):
            raise ValueError("amsgrad=True has no Nesterov variant; got nesterov=True.")
        return scale_by_amsgrad(b1, b2, eps, eps_root, mu_dtype, correct_max=True)
    return scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov)


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
    amsgrad: bool = False,
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
      b1, b2, eps, eps_root, mu_dtype, nesterov, amsgrad: as in :func:`adam`.
      weight_decay: :math:`\lambda \ge 0` or a schedule.
      mask: which leaves to decay (pytree of booleans or ``params -> booleans``);
        e.g. ``lambda p: jax.tree.map(lambda x: x.ndim > 1, p)`` spares biases.
        This is PyTorch's parameter groups with ``weight_decay=0`` for the
        leaves masked out (everything else shared).

    References:
      Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(
        _adam_scaling(b1, b2, eps, eps_root, mu_dtype, nesterov, amsgrad),
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


# --------------------------------------------------------- more optimizers


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    r"""AMSGrad (Optax's variant): Adam with the running maximum of the bias-corrected second moments.

    .. math::

        \hat v^{\max}_t = \max\left(\hat v^{\max}_{t-1}, \frac{v_t}{1 - \beta_2^t}\right), \qquad
        u_t = -\eta_t \frac{\hat m_t}{\sqrt{\hat v^{\max}_t + \bar\epsilon} + \epsilon}

    with :math:`m_t, v_t, \hat m_t` as in :func:`adam`. This is
    ``optax.amsgrad``; PyTorch's ``Adam(amsgrad=True)`` (the maximum of the raw
    moments, corrected afterwards) is ``adam(..., amsgrad=True)``.

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1, b2, eps, eps_root, mu_dtype: as in :func:`adam`.
      bias_correction_mu, bias_correction_nu: see :func:`scale_by_amsgrad`.

    References:
      Reddi et al., *On the Convergence of Adam and Beyond*, ICLR 2018.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(scale_by_amsgrad(b1, b2, eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu), rate)


@hyperparameters(complements=("b1",), elementwise=True)
def adamax(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> GradientTransformation:
    r"""Adamax: Adam with the infinity norm.

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \max(\beta_2 v_{t-1}, |g_t| + \epsilon), \quad
        u_t = -\eta_t \frac{m_t}{(1 - \beta_1^t)\, v_t}

    ``torch.optim.Adamax(lr, betas, eps)`` step for step (its coupled
    ``weight_decay`` is ``chain(add_decayed_weights(wd), adamax(...))``).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`.

    References:
      Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015, section 7.1.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(scale_by_adamax(b1, b2, eps), rate)


@hyperparameters(complements=("b1",), elementwise=_unmasked)
def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: PyTree | Callable[[Params], PyTree] | None = None,
) -> GradientTransformation:
    r"""Adamax with decoupled weight decay.

    .. math::  u_t = -\eta_t \left(\frac{m_t}{(1 - \beta_1^t) v_t} + \lambda \theta_{t-1}\right)

    Args:
      learning_rate, b1, b2, eps: as in :func:`adamax`.
      weight_decay: :math:`\lambda \ge 0` or a schedule.
      mask: which leaves to decay (see :func:`adamw`).

    References:
      Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(scale_by_adamax(b1, b2, eps), add_decayed_weights(weight_decay, mask), rate)


@hyperparameters(complements=("b1", "b2"), elementwise=True)
def radam(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
    eps_before_correction: bool = False,
) -> GradientTransformation:
    r"""Rectified Adam (RAdam).

    .. math::

        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \quad
        u_t = -\eta_t \begin{cases} r_t\, \dfrac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon}
        & \rho_t \ge \tau \\ \hat m_t & \text{otherwise} \end{cases}

    with :math:`\rho_\infty = 2 / (1 - \beta_2) - 1` and the rectification
    :math:`r_t` of :func:`scale_by_radam`. ``torch.optim.RAdam(lr, betas, eps)``
    is ``radam(lr, b1, b2, eps, eps_before_correction=True)`` (PyTorch adds
    :math:`\epsilon` to :math:`\sqrt{v_t}` before the bias correction); the
    default is ``optax.radam``.

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1, b2, eps, eps_root: as in :func:`adam`.
      threshold: :math:`\tau`.
      nesterov: Dozat's Nesterov form.
      eps_before_correction: PyTorch's placement of :math:`\epsilon`.

    References:
      Liu et al., *On the Variance of the Adaptive Learning Rate and Beyond*, ICLR 2020.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    scaling = scale_by_radam(
        b1, b2, eps, eps_root, threshold, nesterov=nesterov, eps_before_correction=eps_before_correction
    )
    return chain(scaling, rate)


@hyperparameters(complements=("rho",), elementwise=_weight_decay_unmasked)
def adadelta(
    learning_rate: ScalarOrSchedule | None = None,
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: PyTree | Callable[[Params], PyTree] | None = None,
) -> GradientTransformation:
    r"""Adadelta.

    .. math::

        \tilde g_t = g_t + \lambda \theta_{t-1}, \quad
        E[g^2]_t = \rho E[g^2]_{t-1} + (1 - \rho) \tilde g_t^2, \quad
        \Delta_t = \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}} \tilde g_t, \\
        E[\Delta^2]_t = \rho E[\Delta^2]_{t-1} + (1 - \rho) \Delta_t^2, \quad
        u_t = -\eta_t \Delta_t

    ``torch.optim.Adadelta(lr, rho, eps, weight_decay)`` and ``optax.adadelta``
    step for step (the weight decay is coupled, added to the gradient). A
    ``learning_rate`` of ``None`` is a rate of 1 (PyTorch's default), still a
    descent; (``optax.adadelta(None)`` leaves the sign unflipped and ascends).

    Args:
      learning_rate: :math:`\eta` (> 0), a schedule, or ``None`` for 1.
      rho: :math:`\rho \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`.
      weight_decay: :math:`\lambda \ge 0` or a schedule.
      weight_decay_mask: which leaves to decay (see :func:`adamw`).

    References:
      Zeiler, *ADADELTA: An Adaptive Learning Rate Method*, 2012.
    """
    rate = scale_by_learning_rate(1.0 if learning_rate is None else _lr(learning_rate))
    return chain(
        add_decayed_weights(weight_decay, weight_decay_mask),
        scale_by_adadelta(rho, eps),
        rate,
    )


@hyperparameters(complements=("b1", "b2"), elementwise=_unmasked)
def lion(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any = None,
    weight_decay: ScalarOrSchedule = 1e-3,
    mask: PyTree | Callable[[Params], PyTree] | None = None,
) -> GradientTransformation:
    r"""Lion: the sign of an interpolated momentum, with decoupled weight decay.

    .. math::

        u_t = -\eta_t \left(\operatorname{sign}(\beta_1 m_{t-1} + (1 - \beta_1) g_t) + \lambda \theta_{t-1}\right),
        \qquad m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t

    Optax's defaults (``weight_decay=1e-3``; PyTorch has no Lion). The rate
    suited to Lion is typically 3-10x smaller than AdamW's.

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      mu_dtype: dtype of the momentum.
      weight_decay: :math:`\lambda \ge 0` or a schedule (multiplied by the rate).
      mask: which leaves to decay (see :func:`adamw`).

    References:
      Chen et al., *Symbolic Discovery of Optimization Algorithms*, NeurIPS 2023.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(scale_by_lion(b1, b2, mu_dtype), add_decayed_weights(weight_decay, mask), rate)


@hyperparameters(complements=("b1", "b2"))
def lamb(
    learning_rate: ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-6,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: PyTree | Callable[[Params], PyTree] | None = None,
) -> GradientTransformation:
    r"""LAMB: Adam's direction with decoupled weight decay, rescaled per leaf by the trust ratio.

    .. math::

        r_t = \frac{\hat m_t}{\sqrt{\hat v_t + \bar\epsilon} + \epsilon} + \lambda \theta_{t-1}, \qquad
        u_t = -\eta_t \frac{\lVert \theta_{t-1} \rVert}{\lVert r_t \rVert}\, r_t
        \quad (\text{per leaf; } u_t = -\eta_t r_t \text{ where a norm is } 0)

    ``optax.lamb`` step for step (PyTorch has no LAMB).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      b1, b2, eps, eps_root: as in :func:`adam` (here ``eps`` defaults to 1e-6).
      weight_decay: :math:`\lambda \ge 0` or a schedule.
      mask: which leaves to decay (see :func:`adamw`).

    References:
      You et al., *Large Batch Optimization for Deep Learning: Training BERT
      in 76 minutes*, ICLR 2020.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(
        scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_trust_ratio(),
        rate,
    )


@hyperparameters
def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: PyTree | Callable[[Params], PyTree] = True,
    trust_coefficient: jax.typing.ArrayLike = 0.001,
    eps: jax.typing.ArrayLike = 0.0,
    trust_ratio_mask: PyTree | Callable[[Params], PyTree] = True,
    momentum: jax.typing.ArrayLike = 0.9,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""LARS: SGD with momentum on layer-wise trust-ratio-scaled gradients.

    .. math::

        \tilde g_t = g_t + \lambda \theta_{t-1}, \qquad
        r_t = \frac{c \lVert \theta_{t-1} \rVert}{\lVert \tilde g_t \rVert + \epsilon}\, \tilde g_t
        \ (\text{per leaf}), \qquad
        b_t = \mu b_{t-1} - \eta_t r_t, \quad u_t = b_t \ (\text{Nesterov: } -\eta_t r_t + \mu b_t)

    ``optax.lars`` step for step (PyTorch has no LARS).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      weight_decay: :math:`\lambda \ge 0` or a schedule.
      weight_decay_mask: leaves to decay (``True``: all; see :func:`masked`).
      trust_coefficient: :math:`c > 0`.
      eps: :math:`\epsilon \ge 0`.
      trust_ratio_mask: leaves to rescale (``True``: all).
      momentum: :math:`\mu \in [0, 1)`.
      nesterov: Nesterov's form.

    References:
      You et al., *Large Batch Training of Convolutional Networks*, 2017.
    """
    rate = scale_by_learning_rate(_lr(learning_rate))
    return chain(
        add_decayed_weights(weight_decay, weight_decay_mask),
        masked(scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps), trust_ratio_mask),
        rate,
        trace(momentum, nesterov),
    )


@hyperparameters(static=("min_dim_size_to_factor",))
def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: jax.typing.ArrayLike = 0.8,
    decay_offset: jax.typing.ArrayLike = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: jax.typing.ArrayLike | None = 1.0,
    momentum: jax.typing.ArrayLike | None = None,
    dtype_momentum: Any = jax.numpy.float32,
    weight_decay_rate: ScalarOrSchedule | None = None,
    eps: jax.typing.ArrayLike = 1e-30,
    factored: bool = True,
    weight_decay_mask: PyTree | Callable[[Params], PyTree] | None = None,
) -> GradientTransformation:
    r"""Adafactor: factored second moments, update clipping and relative steps.

    .. math::

        d_t = \frac{g_t}{\sqrt{\hat V_t}} \ (\text{see } \texttt{scale\_by\_factored\_rms}), \qquad
        c_t = \frac{d_t}{\max(1, \operatorname{rms}(d_t) / d)}, \\
        u_t = -\left(\eta_t \max(\operatorname{rms}(\theta_{t-1}), 10^{-3})\, c_t
        + \lambda \theta_{t-1}\right)

    per leaf, with :math:`d` = ``clipping_threshold`` (no clipping if None),
    the parameter scale only with ``multiply_by_parameter_scale``, an optional
    momentum (:func:`ema` without debiasing) after it and :math:`\lambda` =
    ``weight_decay_rate`` (not multiplied by the rate). ``learning_rate=None``
    is no rate factor (the relative step alone), as in Optax, whose
    ``optax.adafactor`` this equals step for step.

    Args:
      learning_rate: :math:`\eta`, a schedule, or None.
      min_dim_size_to_factor: factor the leaves whose two largest axes both
        have at least this many entries (a Python integer).
      decay_rate: the exponent :math:`c` of :math:`\hat\beta_t = 1 - t^{-c}`.
      decay_offset: the step the decay counts from (fine-tuning).
      multiply_by_parameter_scale: scale by :math:`\max(\operatorname{rms}(\theta), 10^{-3})`.
      clipping_threshold: :math:`d \ge 1`, or None.
      momentum: :math:`\beta_1 \in [0, 1)` or None.
      dtype_momentum: dtype of the momentum.
      weight_decay_rate: :math:`\lambda \ge 0`, a schedule, or None.
      eps: :math:`\epsilon` added to :math:`g^2`.
      factored: factor the second moments.
      weight_decay_mask: which leaves to decay (see :func:`adamw`).

    References:
      Shazeer & Stern, *Adafactor: Adaptive Learning Rates with Sublinear
      Memory Cost*, ICML 2018.
    """
    factored_rms = scale_by_factored_rms(
        factored, decay_rate, decay_offset, min_dim_size_to_factor, eps, decay_rate_pow
    )
    transforms = [factored_rms]
    if clipping_threshold is not None:
        transforms.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        transforms.append(scale_by_learning_rate(_lr(learning_rate), flip_sign=False))
    if _hyper.check_bool("multiply_by_parameter_scale", multiply_by_parameter_scale):
        transforms.append(scale_by_param_block_rms())
    if momentum is not None:
        transforms.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        transforms.append(add_decayed_weights(weight_decay_rate, weight_decay_mask))
    transforms.append(scale(-1.0))
    return chain(*transforms)


@hyperparameters(elementwise=True)
def sign_sgd(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    r"""SignSGD: :math:`u_t = -\eta_t \operatorname{sign}(g_t)`.

    ``optax.sign_sgd`` step for step (PyTorch has no SignSGD).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.

    References:
      Bernstein et al., *signSGD: Compressed Optimisation for Non-Convex
      Problems*, ICML 2018.
    """
    return chain(scale_by_sign(), scale_by_learning_rate(_lr(learning_rate)))


@hyperparameters(complements=("beta",), elementwise=True)
def signum(
    learning_rate: ScalarOrSchedule,
    beta: jax.typing.ArrayLike = 0.9,
    accumulator_dtype: Any = None,
) -> GradientTransformation:
    r"""Signum: the sign of a momentum.

    .. math::  m_t = \beta m_{t-1} + (1 - \beta) g_t, \qquad u_t = -\eta_t \operatorname{sign}(m_t)

    ``optax.signum`` step for step (the EMA is not debiased: only its sign counts).

    Args:
      learning_rate: :math:`\eta` (> 0) or a schedule.
      beta: :math:`\beta \in [0, 1)`.
      accumulator_dtype: dtype of the momentum.

    References:
      Bernstein et al., *signSGD: Compressed Optimisation for Non-Convex
      Problems*, ICML 2018.
    """
    return chain(
        ema(beta, debias=False, accumulator_dtype=accumulator_dtype),
        scale_by_sign(),
        scale_by_learning_rate(_lr(learning_rate)),
    )
