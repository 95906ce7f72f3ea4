"""Running one pure function over many independent inputs: vmapped, tiled, chunked, sharded.

:func:`map_batched` evaluates ``fn(item, shared)`` for every item of a batch
(a pytree whose leaves share a leading axis of length ``size``):

- **tiles**: ``tile_size`` items are computed together as one ``vmap`` (one
  vectorised program: for a shared mini-batch, the first layer of every
  restart in the tile is a single matrix product);
- **devices**: a chunk of items is split over every device of a one-axis
  :class:`jax.sharding.Mesh` (``jax.shard_map``), each device running its
  tiles one after the other (``lax.map``), the shared arguments replicated;
- **chunks**: ``chunk_size`` items per compiled call bound the memory; every
  chunk has the same shape (the last is padded with copies of item 0 whose
  results are dropped), so one program serves any number of items.

Reproducibility: the program of one tile is the same whatever the chunk size
and the number of devices, so item ``i``'s result is *bit-identical* across
chunk sizes, device counts and processes for a given ``tile_size``
(``tests/restarts/test_devices.py`` checks 1 against 8 devices and two
processes). Changing the tile size changes the width of XLA's matrix kernels,
which may round the last bit differently; the default tile follows the device
count, so give ``tile_size`` to compare machines bit for bit.

On a CPU the program is compiled with :data:`CPU_OPTIONS` (XLA's own loops
for the reductions, YNNPACK for lone products), where XLA knows them; the
same program, so the same bits, on every device and process.

Several processes (``jax.distributed.initialize``): the mesh spans the
devices of every process, each process passes the same global chunk, and the
results are gathered on every process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gdjax._checks import check_devices, check_int

AXIS = "restarts"


def restart_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh named ``"restarts"`` over ``devices`` (default: all devices, all processes)."""
    devices = check_devices("devices", devices)
    return Mesh(np.array(list(jax.devices() if devices is None else devices)), (AXIS,))


DEFAULT_TILE = 1024


def resolve_sizes(size: int, chunk_size: int | None, tile_size: int | None, num_devices: int) -> tuple[int, int]:
    """``(chunk, tile)``: items per compiled call and per vectorised tile, validated.

    The tile defaults to the items split evenly over the devices, at most
    1024 (``min(ceil(size / num_devices), 1024)``): 256 restarts on 4 devices
    are 4 tiles of 64, not one tile of 256 on the first device and padding on
    the others. A chunk holds a whole number of
    tiles on every device: ``chunk_size`` must be a positive multiple of
    ``tile_size * num_devices``; None runs everything in one chunk (``size``
    rounded up to such a multiple).
    """
    size = check_int("num_restarts", size, minimum=1)
    if tile_size is None:
        tile = min(-(-size // num_devices), DEFAULT_TILE)
    else:
        tile = check_int("tile_size", tile_size, minimum=1)
    step = tile * num_devices
    whole = -(-size // step) * step
    if chunk_size is None:
        return whole, tile
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    if chunk_size % step:
        raise ValueError(
            f"chunk_size must be a multiple of tile_size x devices = {tile} x {num_devices} = {step} so every "
            f"device runs whole tiles; got {chunk_size}."
        )
    return min(chunk_size, whole), tile


def _gather(tree: Any) -> Any:
    """Device results as host NumPy arrays, also when they span several processes."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.tree.map(np.asarray, tree)


def _chunk(batched: Any, start: int, chunk: int, size: int) -> Any:
    """Items ``[start, start + chunk)``, padded with item 0 past ``size`` (results dropped).

    As JAX arrays: across processes, jit takes NumPy inputs only when
    replicated. All items in one chunk are the arrays themselves; otherwise
    one compiled gather takes the rows of every leaf (indexing leaf by leaf
    from Python costs ~1 ms a leaf).
    """
    if start == 0 and chunk == size:
        return jax.tree.map(jnp.asarray, batched)
    index = np.arange(start, start + chunk)
    index = np.where(index < size, index, 0)
    return _take_rows(jax.tree.map(jnp.asarray, batched), index)


@jax.jit
def _take_rows(tree: Any, index: jax.Array) -> Any:
    return jax.tree.map(lambda leaf: leaf[index], tree)


def map_batched(
    fn: Callable[[Any, Any], Any],
    batched: Any,
    shared: Any = None,
    *,
    chunk_size: int | None = None,
    tile_size: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: Callable[[int], None] | None = None,
    axis_name: str | None = None,
) -> Any:
    """``[fn(item, shared) for item in batched]``, stacked, computed as described in the module docs.

    Args:
      fn: a pure function of one item and the shared arguments.
      batched: a pytree of arrays (or typed PRNG keys) with a common leading axis.
      shared: a pytree given whole to every item (replicated on every device).
      chunk_size: items per compiled call, a multiple of ``tile_size`` times
        the device count; None for all at once.
      tile_size: items vectorised together (default: split evenly over the devices, at most 1024).
      devices: the devices to shard over (default: all).
      progress: called with the number of items finished after each chunk.
      axis_name: a name for the ``vmap`` axis over a tile's items, so that
        ``fn`` may use collectives over its tile (``lax.psum(x, axis_name)``);
        a tile's items are the same whatever the chunk size and devices.

    Returns:
      ``fn``'s outputs as NumPy arrays with a leading axis of length ``size``.
    """
    leaves = jax.tree.leaves(batched)
    if not leaves:
        raise ValueError("batched must hold at least one array with a leading restart axis; got none.")
    size = int(np.shape(leaves[0])[0])
    for leaf in leaves:
        if np.shape(leaf)[:1] != (size,):
            raise ValueError(
                f"every leaf of batched must have the same leading axis ({size}); got shape {np.shape(leaf)}."
            )
    mesh = restart_mesh(devices)
    chunk, tile = resolve_sizes(size, chunk_size, tile_size, mesh.size)
    run = _compiled(fn, mesh, tile, axis_name)

    outputs = []
    for start in range(0, size, chunk):
        result = _gather(run(_chunk(batched, start, chunk, size), shared))
        outputs.append(jax.tree.map(lambda leaf: leaf[: min(chunk, size - start)], result))
        if progress is not None:
            progress(min(start + chunk, size))
    if len(outputs) == 1:
        return outputs[0]
    return jax.tree.map(lambda *parts: np.concatenate(parts), *outputs)


def _compiled(fn: Callable[[Any, Any], Any], mesh: Mesh, tile: int, axis_name: str | None) -> Callable[[Any, Any], Any]:
    """The program for ``fn``, compiled once per (function, mesh, tile): pass the same ``fn`` object to reuse it."""
    try:
        return _compiled_cached(fn, mesh, tile, axis_name)
    except TypeError:  # an unhashable callable gets a fresh program
        return _build(fn, mesh, tile, axis_name)


@functools.lru_cache(maxsize=32)
def _compiled_cached(
    fn: Callable[[Any, Any], Any], mesh: Mesh, tile: int, axis_name: str | None
) -> Callable[[Any, Any], Any]:
    return _build(fn, mesh, tile, axis_name)


def _build(fn: Callable[[Any, Any], Any], mesh: Mesh, tile: int, axis_name: str | None) -> Callable[[Any, Any], Any]:
    """``jit`` of: shard items over the mesh; per device, ``lax.map`` over tiles of ``vmap(fn)``."""
    vectorised = jax.vmap(fn, in_axes=(0, None), axis_name=axis_name)

    def per_device(items, shared):
        local = jax.tree.leaves(items)[0].shape[0]
        tiles = jax.tree.map(lambda leaf: leaf.reshape((local // tile, tile) + leaf.shape[1:]), items)
        out = jax.lax.map(lambda t: vectorised(t, shared), tiles)
        return jax.tree.map(lambda leaf: leaf.reshape((local,) + leaf.shape[2:]), out)

    sharded = jax.shard_map(
        per_device,
        mesh=mesh,
        in_specs=(PartitionSpec(AXIS), PartitionSpec()),
        out_specs=PartitionSpec(AXIS),
        check_vma=False,
    )
    items = NamedSharding(mesh, PartitionSpec(AXIS))
    replicated = NamedSharding(mesh, PartitionSpec())
    options = compiler_options(mesh.devices.flat[0].platform)
    return jax.jit(sharded, in_shardings=(items, replicated), out_shardings=items, compiler_options=options)


#: XLA's CPU options for the restarts' programs: YNNPACK kernels for single products only, not
#: for the fusions around them. Its reductions are slow on the short rows of a tile (a
#: restart's units, a batch of examples): XLA's own loops run the heart network's 1024
#: restarts ~1.4x as fast (experiments/RESULTS.md).
CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}


@functools.cache
def compiler_options(platform: str) -> dict[str, str]:
    """The options :data:`CPU_OPTIONS` on a CPU whose XLA knows them, else none."""
    if platform != "cpu":
        return {}
    try:
        jax.jit(lambda x: x + 1, compiler_options=CPU_OPTIONS).lower(np.float32(0)).compile()
    except jax.errors.JaxRuntimeError:  # an XLA without the option (older or newer jaxlib): its defaults
        return {}
    return dict(CPU_OPTIONS)
