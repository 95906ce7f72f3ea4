r"""Test functions for optimisers, each with its known global minimum and a domain to draw.

Every function takes a point ``x`` of shape ``(dim,)`` and returns a scalar;
it is a pure ``jnp`` function, so it can be differentiated, jitted and
vmapped over many starting points. The 1-D functions take ``x`` of shape
``(1,)``.

=====================  ===  ==============================  ======================
name                   dim  global minimiser(s)             minimum
=====================  ===  ==============================  ======================
``course_quartic``     1    w = 9/4                         -1675/256
``double_well``        1    w ~ -1.0373                     ~ -0.3048
``six_hump_camel``     2    (+-0.0898, -+0.7126)            -1.0316284535
``himmelblau``         2    four points                     0
``rastrigin``          2    (0, 0)                          0
``ackley``             2    (0, 0)                          0
``styblinski_tang``    2    (-2.903534, -2.903534)          -78.33233
``rosenbrock``         2    (1, 1)                          0
``beale``              2    (3, 0.5)                        0
``saddle``             2    (0, +-1)                        -1/4
``ill_conditioned``    2    (0, 0)                          0
=====================  ===  ==============================  ======================

References: Jamil & Yang, *A literature survey of benchmark functions for
global optimisation problems*, 2013; Surjanovic & Bingham, *Virtual Library
of Simulation Experiments* (sfu.ca/~ssurjano).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True, eq=False)  # hashed by identity: a jit cache key that is never rebuilt
class TestFunction:
    """A function to minimise with its known answer.

    Attributes:
      name: short identifier.
      title: name for figures.
      formula: the formula in LaTeX (for captions and the report).
      fn: ``fn(x) -> scalar`` for ``x`` of shape ``(dim,)``.
      dim: number of variables.
      domain: ``((low, high), ...)`` per variable: where starts are drawn and the landscape drawn.
      minimizers: every global minimiser, shape ``(k, dim)``.
      minimum: the global minimum value.
      local_minimizers: other stationary points worth marking (local minima, saddles), shape ``(m, dim)``.
      note: what is special about the landscape.
    """

    __test__ = False  # not a pytest class despite the name

    name: str
    title: str
    formula: str
    fn: Callable[[jax.Array], jax.Array]
    dim: int
    domain: tuple[tuple[float, float], ...]
    minimizers: np.ndarray
    minimum: float
    local_minimizers: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    note: str = ""

    def __call__(self, x):
        return self.fn(x)

    def distance_to_minimizer(self, x) -> np.ndarray:
        """Distance from each point of ``x`` (shape ``(..., dim)``) to the nearest global minimiser."""
        x = np.asarray(x, np.float64)[..., None, :]
        return np.sqrt(((x - self.minimizers) ** 2).sum(-1)).min(-1)

    def uniform_starts(self, key: jax.Array, count: int) -> jax.Array:
        """``count`` starting points drawn uniformly from the domain, shape ``(count, dim)`` (float32)."""
        low = jnp.asarray([lo for lo, _ in self.domain], jnp.float32)
        high = jnp.asarray([hi for _, hi in self.domain], jnp.float32)
        return jax.random.uniform(key, (count, self.dim), jnp.float32, low, high)


def _real_cubic_roots(a: float, b: float, c: float, d: float) -> np.ndarray:
    """The real roots of ``a x^3 + b x^2 + c x + d`` in float64, polished by Newton's method."""
    roots = np.roots([a, b, c, d])
    roots = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    for _ in range(5):
        roots = roots - (((a * roots + b) * roots + c) * roots + d) / ((3 * a * roots + 2 * b) * roots + c)
    return roots


# ----------------------------------------------------------------------- 1-D


def course_quartic(x):
    r"""The course's :math:`L(w) = w^4 - 3w^3 + 2`."""
    w = x[0]
    return w**4 - 3 * w**3 + 2


DOUBLE_WELL_TILT = 0.3


def double_well(x):
    r"""A tilted double well :math:`L(w) = (w^2 - 1)^2 + 0.3\,w`: the left well is the deeper one."""
    w = x[0]
    return (w**2 - 1) ** 2 + DOUBLE_WELL_TILT * w


# Stationary points of the double well: 4 w^3 - 4 w + 0.3 = 0.
_DW_ROOTS = _real_cubic_roots(4.0, 0.0, -4.0, DOUBLE_WELL_TILT)  # left minimum, maximum, right minimum
_dw = lambda w: (w * w - 1) ** 2 + DOUBLE_WELL_TILT * w

# ----------------------------------------------------------------------- 2-D


def six_hump_camel(x):
    r""":math:`(4 - 2.1x^2 + x^4/3)x^2 + xy + (-4 + 4y^2)y^2`: six local minima, two global."""
    u, v = x[0], x[1]
    return (4 - 2.1 * u**2 + u**4 / 3) * u**2 + u * v + (-4 + 4 * v**2) * v**2


def himmelblau(x):
    r""":math:`(x^2 + y - 11)^2 + (x + y^2 - 7)^2`: four global minima at value 0."""
    u, v = x[0], x[1]
    return (u**2 + v - 11) ** 2 + (u + v**2 - 7) ** 2


def rastrigin(x):
    r""":math:`20 + \sum_i (x_i^2 - 10\cos 2\pi x_i)`: a bowl covered in a grid of local minima."""
    return 10.0 * x.shape[0] + jnp.sum(x**2 - 10 * jnp.cos(2 * jnp.pi * x))


def ackley(x):
    r""":math:`-20 e^{-0.2\sqrt{(x^2 + y^2)/2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20`.

    The root is not differentiable at the origin; its gradient there is taken
    as 0 (the minimum-norm subgradient), so the origin is a stationary point.
    """
    r2 = jnp.mean(x**2)
    safe = jnp.where(r2 > 0, r2, 1.0)  # the double-where keeps the gradient finite at 0
    r = jnp.where(r2 > 0, jnp.sqrt(safe), 0.0)
    return -20 * jnp.exp(-0.2 * r) - jnp.exp(jnp.mean(jnp.cos(2 * jnp.pi * x))) + jnp.e + 20


def styblinski_tang(x):
    r""":math:`\tfrac12 \sum_i (x_i^4 - 16x_i^2 + 5x_i)`: four basins, one global."""
    return 0.5 * jnp.sum(x**4 - 16 * x**2 + 5 * x)


_ST_ROOTS = _real_cubic_roots(4.0, 0.0, -32.0, 5.0)  # 1-D stationary points: min, max, min
_st1 = lambda t: 0.5 * (t**4 - 16 * t**2 + 5 * t)


def rosenbrock(x):
    r""":math:`(1 - x)^2 + 100(y - x^2)^2`: a curved, flat-bottomed valley."""
    u, v = x[0], x[1]
    return (1 - u) ** 2 + 100 * (v - u**2) ** 2


def beale(x):
    r""":math:`(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`."""
    u, v = x[0], x[1]
    return (1.5 - u + u * v) ** 2 + (2.25 - u + u * v**2) ** 2 + (2.625 - u + u * v**3) ** 2


def saddle(x):
    r""":math:`x^2 + y^4/4 - y^2/2`: a saddle at the origin between minima at :math:`(0, \pm 1)`."""
    u, v = x[0], x[1]
    return u**2 + v**4 / 4 - v**2 / 2


ILL_CONDITIONED_SCALES = (1.0, 50.0)


def ill_conditioned(x):
    r""":math:`\tfrac12 (x^2 + 50 y^2)`: a quadratic with condition number 50."""
    return 0.5 * (ILL_CONDITIONED_SCALES[0] * x[0] ** 2 + ILL_CONDITIONED_SCALES[1] * x[1] ** 2)


def _camel_minimizer() -> np.ndarray:
    """The camel's global minimiser (0.0898.., -0.7126..) to float64 accuracy, by Newton's method."""
    p = np.array([0.0898, -0.7126])
    for _ in range(20):
        u, v = p
        grad = np.array([8 * u - 8.4 * u**3 + 2 * u**5 + v, u - 8 * v + 16 * v**3])
        hess = np.array([[8 - 25.2 * u**2 + 10 * u**4, 1.0], [1.0, -8 + 48 * v**2]])
        p = p - np.linalg.solve(hess, grad)
    return p


def _himmelblau_minimizers() -> np.ndarray:
    starts = np.array([[3.0, 2.0], [-2.8, 3.1], [-3.8, -3.3], [3.6, -1.8]])
    out = []
    for p in starts:
        for _ in range(30):
            u, v = p
            a, b = u**2 + v - 11, u + v**2 - 7
            grad = np.array([4 * u * a + 2 * b, 2 * a + 4 * v * b])
            hess = np.array([[12 * u**2 + 4 * v - 42, 4 * u + 4 * v], [4 * u + 4 * v, 4 * u + 12 * v**2 - 26]])
            p = p - np.linalg.solve(hess, grad)
        out.append(p)
    return np.array(out)


_CAMEL = _camel_minimizer()

FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in (
        TestFunction(
            "course_quartic",
            "course quartic",
            r"$L(w) = w^4 - 3w^3 + 2$",
            course_quartic,
            1,
            ((-1.5, 3.5),),
            np.array([[9 / 4]]),
            -1675 / 256,
            local_minimizers=np.array([[0.0]]),
            note="one minimum (w = 9/4); w = 0 is a stationary inflection point, a plateau where "
            "gradient descent from the left stalls",
        ),
        TestFunction(
            "double_well",
            "tilted double well",
            r"$L(w) = (w^2 - 1)^2 + 0.3w$",
            double_well,
            1,
            ((-2.0, 2.0),),
            np.array([[_DW_ROOTS[0]]]),
            float(_dw(_DW_ROOTS[0])),
            local_minimizers=np.array([[_DW_ROOTS[2]]]),
            note=f"two wells: global at w = {_DW_ROOTS[0]:.4f}, local at w = {_DW_ROOTS[2]:.4f}",
        ),
        TestFunction(
            "six_hump_camel",
            "six-hump camel",
            r"$(4 - 2.1x^2 + x^4/3)x^2 + xy + (4y^2 - 4)y^2$",
            six_hump_camel,
            2,
            ((-2.0, 2.0), (-1.0, 1.0)),
            np.array([_CAMEL, -_CAMEL]),
            -1.031628453489877,
            note="six local minima, two of them global",
        ),
        TestFunction(
            "himmelblau",
            "Himmelblau",
            r"$(x^2 + y - 11)^2 + (x + y^2 - 7)^2$",
            himmelblau,
            2,
            ((-5.0, 5.0), (-5.0, 5.0)),
            _himmelblau_minimizers(),
            0.0,
            note="four global minima, all at value 0: every start succeeds",
        ),
        TestFunction(
            "rastrigin",
            "Rastrigin",
            r"$20 + \sum_i (x_i^2 - 10\cos 2\pi x_i)$",
            rastrigin,
            2,
            ((-5.12, 5.12), (-5.12, 5.12)),
            np.zeros((1, 2)),
            0.0,
            note="a regular grid of about 100 local minima on the domain",
        ),
        TestFunction(
            "ackley",
            "Ackley",
            r"$-20e^{-0.2\sqrt{(x^2+y^2)/2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20$",
            ackley,
            2,
            ((-5.0, 5.0), (-5.0, 5.0)),
            np.zeros((1, 2)),
            0.0,
            note="a nearly flat plate of ripples around a narrow central funnel",
        ),
        TestFunction(
            "styblinski_tang",
            "Styblinski-Tang",
            r"$\frac{1}{2}\sum_i (x_i^4 - 16x_i^2 + 5x_i)$",
            styblinski_tang,
            2,
            ((-5.0, 5.0), (-5.0, 5.0)),
            np.array([[_ST_ROOTS[0], _ST_ROOTS[0]]]),
            float(2 * _st1(_ST_ROOTS[0])),
            local_minimizers=np.array(
                [[_ST_ROOTS[0], _ST_ROOTS[2]], [_ST_ROOTS[2], _ST_ROOTS[0]], [_ST_ROOTS[2], _ST_ROOTS[2]]]
            ),
            note="four basins, one per quadrant of minima; the global one at x = y = -2.9035",
        ),
        TestFunction(
            "rosenbrock",
            "Rosenbrock",
            r"$(1 - x)^2 + 100(y - x^2)^2$",
            rosenbrock,
            2,
            ((-2.0, 2.0), (-1.0, 3.0)),
            np.array([[1.0, 1.0]]),
            0.0,
            note="a curved, flat-bottomed valley",
        ),
        TestFunction(
            "beale",
            "Beale",
            r"$(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$",
            beale,
            2,
            ((-4.5, 4.5), (-4.5, 4.5)),
            np.array([[3.0, 0.5]]),
            0.0,
            note="flat plateaus and steep ridges; the minimum lies in a narrow curved valley",
        ),
        TestFunction(
            "saddle",
            "saddle",
            r"$x^2 + y^4/4 - y^2/2$",
            saddle,
            2,
            ((-2.0, 2.0), (-2.0, 2.0)),
            np.array([[0.0, 1.0], [0.0, -1.0]]),
            -0.25,
            local_minimizers=np.zeros((1, 2)),
            note="a saddle point at the origin between two minima",
        ),
        TestFunction(
            "ill_conditioned",
            "ill-conditioned quadratic",
            r"$\frac{1}{2}(x^2 + 50y^2)$",
            ill_conditioned,
            2,
            ((-2.0, 2.0), (-1.0, 1.0)),
            np.zeros((1, 2)),
            0.0,
            note="condition number 50, axes aligned with the coordinates",
        ),
    )
}


def get_function(name: str) -> TestFunction:
    """A test function by name; a clear error lists the valid names."""
    if name not in FUNCTIONS:
        raise ValueError(f"unknown test function {name!r}; choose from: {', '.join(FUNCTIONS)}.")
    return FUNCTIONS[name]


def grid_values(function: TestFunction, resolution: int = 200) -> tuple[np.ndarray, ...]:
    """The function on a regular grid over its domain (one vmapped call).

    Returns ``(w, values)`` for a 1-D function and ``(x, y, values)`` (each
    ``(resolution, resolution)``, ``y`` along rows) for a 2-D one.
    """
    axes = [np.linspace(lo, hi, resolution) for lo, hi in function.domain]
    if function.dim == 1:
        points = axes[0][:, None]
        return axes[0], np.asarray(_vmapped(function.fn)(jnp.asarray(points, jnp.float32)))
    x, y = np.meshgrid(*axes)
    points = np.stack([x.ravel(), y.ravel()], axis=1)
    values = np.asarray(_vmapped(function.fn)(jnp.asarray(points, jnp.float32))).reshape(x.shape)
    return x, y, values


_VMAPPED: dict[int, Callable] = {}


def _vmapped(fn: Callable) -> Callable:
    if id(fn) not in _VMAPPED:
        _VMAPPED[id(fn)] = jax.jit(jax.vmap(fn))
    return _VMAPPED[id(fn)]


__all__ = ["FUNCTIONS", "TestFunction", "get_function", "grid_values"]
