"""The restarts' programs: compiled with XLA's CPU options where they run faster."""

import jax
import jax.numpy as jnp
import numpy as np

from gdjax.restarts import map_batched
from gdjax.restarts._batched import CPU_OPTIONS, _compiled, compiler_options, restart_mesh


def test_the_cpu_options_are_known_to_this_xla_and_taken_on_a_cpu_only():
    # A jaxlib that drops the option would silently lose the restarts' speed: noticed here.
    assert compiler_options("cpu") == CPU_OPTIONS
    assert compiler_options("gpu") == {} and compiler_options("tpu") == {}


def _row_norms(item, shared):
    return jnp.sum(jnp.square(item["x"] * shared), axis=1)  # short rows, as a tile's units are


def test_the_program_reduces_with_xlas_own_loops_and_computes_the_same():
    items, scale = {"x": jax.random.normal(jax.random.key(0), (8, 64, 16))}, jnp.float32(2.0)
    program = _compiled(_row_norms, restart_mesh(), 8, None).lower(items, scale).compile().as_text()
    plain = jax.jit(jax.vmap(_row_norms, in_axes=(0, None))).lower(items, scale).compile().as_text()
    assert "__ynn_fusion" in plain  # XLA's default: the reduction in a YNNPACK kernel
    assert "__ynn_fusion" not in program  # the restarts' program: in XLA's own loop
    expected = jax.vmap(lambda x: _row_norms({"x": x}, scale))(items["x"])
    np.testing.assert_allclose(map_batched(_row_norms, items, scale), expected, rtol=1e-6)
