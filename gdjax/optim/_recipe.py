"""Optimizers as data: the call that built a transformation, split into its structure and its values.

Every public factory of ``gdjax.optim`` is decorated with :func:`hyperparameters`.
The transformation (or schedule) it returns remembers the call that built it, a
:class:`Recipe`, which is a pytree: its *leaves* are the numeric hyperparameter
values and its *structure* (the tree definition) is everything else, the
factory, the static options (booleans, dtypes, masks, labels, and the arguments
a factory declares static because they decide the shape of its state), and the
recipes nested in it (the transforms of a :func:`chain`, a schedule given as a
learning rate). So::

    >>> from gdjax.optim import adam, merge, split
    >>> values, structure = split(adam(1e-3))
    >>> values  # learning rate, b1 and 1 - b1, b2 and 1 - b2, eps, eps_root
    [0.001, 0.9, 0.09999999999999998, 0.999, 0.0010000000000000009, 1e-08, 0.0]
    >>> split(adam(3e-3))[1] == structure  # same structure, other values
    True
    >>> split(merge(structure, values))[0] == values  # adam(1e-3) again, built anew
    True

and a compiled program can take ``values`` as runtime inputs and rebuild the
transformation inside the trace (:func:`merge` with traced values): a new
``adam(3e-3)`` then reuses the program compiled for ``adam(1e-3)``. This is what
:func:`gdjax.fit` and :func:`gdjax.sweep` do.

Precision: the values enter the program as arrays of the default float dtype
(float32 unless float64 is enabled), which is how a Python number enters a
computation anyway. The one derived constant that would lose digits, the
complement ``1 - b`` of a decay rate (``1 - float32(0.999)`` is 1.3e-5 off
``float32(0.001)``), travels beside its rate, computed exactly from the Python
number (:class:`gdjax.optim._hyper.Complemented`); integer powers such as a
cosine schedule's ``exponent`` are structure, so ``x ** 1`` stays exact. The
rebuilt optimizer then equals the one with constants compiled in to the last
bit but for XLA folding compile-time constants together, a rounding of ~1e-7.

Objects without a recipe (an Optax transformation, a hand-written schedule)
are part of the structure, compared by identity.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import jax
import numpy as np

from gdjax.optim._hyper import Complemented, complemented

_ATTRIBUTE = "__gdjax_recipe__"


class Static:
    """A structural value inside a recipe: a pytree node with no leaves, compared by value when hashable."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def _key(self) -> Any:
        value = self.value
        try:
            hash(value)
        except TypeError:
            # Unhashable containers (a mask dict of booleans): their flattened form.
            leaves, treedef = jax.tree.flatten(value)
            try:
                return ("tree", treedef, tuple(leaves))
            except TypeError:
                return ("id", id(value))
        return ("value", type(value), value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Static):
            return NotImplemented
        try:
            return bool(self._key() == other._key())
        except Exception:  # e.g. arrays compared elementwise
            return self.value is other.value

    def __hash__(self) -> int:
        try:
            return hash(self._key())
        except TypeError:
            return id(self.value)

    def __repr__(self) -> str:
        return f"Static({self.value!r})"


jax.tree_util.register_pytree_node(Static, lambda s: ((), s), lambda s, _: s)


class Recipe:
    """A factory call ``factory(*args, **kwargs)`` as a pytree (see the module docs).

    Attributes:
      factory: the public factory (the decorated function).
      arguments: ``{name: value}`` for every parameter of the factory's
        signature, defaults filled in, values turned into recipe nodes:
        nested recipes, :class:`Static` for structural values, and numbers or
        arrays as leaves.
    """

    __slots__ = ("arguments", "factory")

    def __init__(self, factory: Callable[..., Any], arguments: dict[str, Any]):
        self.factory = factory
        self.arguments = arguments

    def build(self) -> Any:
        """Calls the factory again with these arguments (leaves may be tracers)."""
        signature = inspect.signature(self.factory)
        bound = inspect.BoundArguments(signature, {k: _from_node(v) for k, v in self.arguments.items()})
        return self.factory(*bound.args, **bound.kwargs)

    @property
    def elementwise(self) -> bool:
        """Whether the transformation treats every element alike, independently of the tree's shape.

        Such a transformation gives the same updates on the flattened
        parameters (one vector) as on the tree, so an engine may run it on
        one vector (fewer, larger fused operations).
        """
        rule = getattr(self.factory, "_elementwise", False)
        arguments = {k: _from_static(v) for k, v in self.arguments.items()}
        if not (rule(arguments) if callable(rule) else rule):
            return False
        if any(_is_transformation(v) for v in jax.tree.leaves(arguments, is_leaf=_is_transformation)):
            return False  # a transformation without a recipe (Optax's): unknown
        return all(child.elementwise for child in _child_recipes(self.arguments))

    def __repr__(self) -> str:
        inside = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"Recipe({self.factory.__name__}, {inside})"


def _flatten_recipe(recipe: Recipe):
    names = tuple(recipe.arguments)
    return tuple(recipe.arguments[name] for name in names), (recipe.factory, names)


def _unflatten_recipe(aux, children) -> Recipe:
    factory, names = aux
    return Recipe(factory, dict(zip(names, children, strict=True)))


jax.tree_util.register_pytree_node(Recipe, _flatten_recipe, _unflatten_recipe)


def _is_transformation(obj: Any) -> bool:
    return callable(getattr(obj, "init", None)) and callable(getattr(obj, "update", None))


def recipe_of(obj: Any) -> Recipe | None:
    """The recipe an object was built from, or None (not built by a gdjax factory)."""
    return getattr(obj, _ATTRIBUTE, None)


def _is_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, complex, np.number)):
        return True
    dtype = getattr(value, "dtype", None)
    if dtype is None or not hasattr(value, "shape"):
        return False
    return np.issubdtype(dtype, np.number) and not jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _as_node(value: Any) -> Any:
    """A factory argument as a recipe node: nested recipe, container of nodes, leaf, or Static."""
    nested = recipe_of(value)
    if nested is not None:
        return nested
    if _is_number(value):
        return value
    if isinstance(value, Complemented):
        return Complemented(*(_as_node(v) for v in value))
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_as_node(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_node(v) for k, v in value.items()}
    return Static(value)


def _from_node(node: Any) -> Any:
    if isinstance(node, Recipe):
        return node.build()
    if isinstance(node, Static):
        return node.value
    if isinstance(node, Complemented):
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_from_node(v) for v in node)
    if isinstance(node, dict):
        return {k: _from_node(v) for k, v in node.items()}
    return node


def _from_static(node: Any) -> Any:
    """The argument as given, without building nested recipes (for the elementwise rules)."""
    if isinstance(node, Static):
        return node.value
    if isinstance(node, Complemented):
        return node
    if isinstance(node, (list, tuple)) and not isinstance(node, Recipe):
        return type(node)(_from_static(v) for v in node)
    if isinstance(node, dict):
        return {k: _from_static(v) for k, v in node.items()}
    return node


def _child_recipes(node: Any) -> Iterable[Recipe]:
    if isinstance(node, Recipe):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _child_recipes(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _child_recipes(value)


def _attach(obj: Any, recipe: Recipe) -> Any:
    if isinstance(obj, tuple) and hasattr(obj, "_fields") and not hasattr(obj, "__dict__"):
        obj = _carrier(type(obj))(*obj)
    try:
        setattr(obj, _ATTRIBUTE, recipe)
    except (AttributeError, TypeError):
        pass  # a plain number (e.g. a scaled constant rate): nothing to remember
    return obj


@functools.cache
def _carrier(cls: type) -> type:
    """A subclass of a NamedTuple (``GradientTransformation``) whose instances can carry a recipe."""
    return type(cls.__name__, (cls,), {"__doc__": cls.__doc__, "__module__": cls.__module__})


def hyperparameters(
    factory: Callable[..., Any] | None = None,
    *,
    static: tuple[str, ...] = (),
    complements: tuple[str, ...] = (),
    elementwise: bool | Callable[[dict[str, Any]], bool] = False,
) -> Any:
    """Decorates a factory so that what it returns remembers its :class:`Recipe`.

    Args:
      static: names of numeric arguments that decide the structure of the
        state or the Python control flow of the factory (e.g. a dampening of
        exactly 0 needs no step count), so they belong to the structure.
        Booleans, strings, dtypes, ``None``, masks and callables without a
        recipe are structural anyway.
      complements: names of decay rates ``b`` the factory uses as ``1 - b``
        (through ``_hyper.complement``): a Python number is recorded with its
        exact complement (:class:`gdjax.optim._hyper.Complemented`), so the
        optimizer rebuilt from traced values computes with the same constants.
      elementwise: whether the transformation acts on every element alike
        (see :attr:`Recipe.elementwise`), or a predicate of the arguments.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)
        for name in static + complements:
            if name not in signature.parameters:
                raise ValueError(f"static argument {name!r} is not a parameter of {fn.__name__}.")

        @functools.wraps(fn)
        def build(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = {}
            for name, value in bound.arguments.items():
                if name in static:
                    arguments[name] = Static(value)
                elif name in complements:
                    arguments[name] = _as_node(complemented(value))
                else:
                    arguments[name] = _as_node(value)
            return _attach(result, Recipe(build, arguments))

        build._elementwise = elementwise
        return build

    return decorate if factory is None else decorate(factory)


def split(obj: Any) -> tuple[list[Any], Any]:
    """``(values, structure)`` of a transformation or schedule (see the module docs).

    For an object without a recipe, ``values`` is empty and the structure is
    the object itself (compared by identity).
    """
    recipe = recipe_of(obj)
    if recipe is None:
        return [], Static(obj)
    values, structure = jax.tree.flatten(recipe)
    return values, structure


def merge(structure: Any, values: Any) -> Any:
    """The object of :func:`split` rebuilt from its structure and (possibly traced) values."""
    if isinstance(structure, Static):
        return structure.value
    return jax.tree.unflatten(structure, list(values)).build()


def is_elementwise(obj: Any) -> bool:
    """Whether a transformation built by gdjax acts on every element alike (False when unknown)."""
    recipe = recipe_of(obj)
    return recipe is not None and recipe.elementwise
