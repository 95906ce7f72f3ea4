"""Checkpoints: no pickle, atomic writes, exact round trips, bit-identical resume after an interruption."""

import json
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax.optim as optim
from gdjax.train import EarlyStopping, fit, load_checkpoint, read_checkpoint_metadata, save_checkpoint

RNG = np.random.default_rng(2)
X = RNG.normal(size=(11, 3)).astype(np.float32)
Y = (X @ np.array([0.5, -1.0, 2.0]) + 0.1 * RNG.normal(size=11)).astype(np.float32)
XV, YV = X[:4] + 0.1, Y[:4]
P0 = {"w": np.zeros(3, np.float32), "b": np.zeros((), np.float32)}
OPTIONS = dict(
    optimizer=optim.adam(0.05),
    epochs=9,
    key=jax.random.key(11),
    batch_size=4,
    remainder="pad",
    validation_data=(XV, YV),
    early_stopping=EarlyStopping(patience=50),
    record_step_loss=True,
    chunk_epochs=2,
)


def loss(params, batch):
    x, y = batch
    return 0.5 * jnp.mean((x @ params["w"] + params["b"] - y) ** 2)


def leaves(tree):
    out = []
    for leaf in jax.tree.leaves(tree):
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append(np.asarray(leaf))
    return out


def assert_same(a, b):
    for x, y in zip(leaves(a), leaves(b), strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


class Interrupt(Exception):
    pass


def test_resuming_an_interrupted_run_is_bit_identical(tmp_path):
    uninterrupted = fit(loss, P0, (X, Y), **OPTIONS)
    path = tmp_path / "run.npz"

    def stop_after_epoch_4(partial):
        if partial.epochs >= 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        fit(loss, P0, (X, Y), checkpoint=path, callback=stop_after_epoch_4, **OPTIONS)
    saved, _ = load_checkpoint(path, uninterrupted.state)
    assert int(saved.epoch) == 4  # saved at the chunk boundary before the callback ran
    assert np.isnan(saved.history.train_loss[4:]).all()

    # The resumed run starts from the file: its first chunk ends at epoch 6, not 2.
    reported = []
    resumed = fit(loss, P0, (X, Y), checkpoint=path, callback=lambda r: reported.append(r.epochs), **OPTIONS)
    assert reported == [6, 8, 9]
    assert_same(resumed.state, uninterrupted.state)
    assert resumed.epochs == 9
    # A finished checkpoint resumes to the same result without training.
    again = fit(loss, P0, (X, Y), checkpoint=path, **OPTIONS)
    assert_same(again.state, uninterrupted.state)


def test_resume_false_starts_afresh_and_overwrites(tmp_path):
    path = tmp_path / "run.npz"
    short = dict(OPTIONS, epochs=3)
    fit(loss, P0, (X, Y), checkpoint=path, **short)
    fresh = fit(loss, jax.tree.map(lambda a: a + 1, P0), (X, Y), checkpoint=path, resume=False, **short)
    reference = fit(loss, jax.tree.map(lambda a: a + 1, P0), (X, Y), **short)
    assert_same(fresh.state, reference.state)


def test_a_checkpoint_of_another_training_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    fit(loss, P0, (X, Y), checkpoint=path, **dict(OPTIONS, epochs=3))
    with pytest.raises(ValueError, match="different training.*epochs"):
        fit(loss, P0, (X, Y), checkpoint=path, **dict(OPTIONS, epochs=4))
    with pytest.raises(ValueError, match="key"):
        fit(loss, P0, (X, Y), checkpoint=path, **dict(OPTIONS, epochs=3, key=jax.random.key(12)))


def test_round_trip_keeps_dtypes_keys_and_structure(tmp_path):
    tree = {
        "f32": jnp.arange(3, dtype=jnp.float32),
        "bf16": jnp.array([1.5, -2.25], jnp.bfloat16),
        "i32": jnp.array(7, jnp.int32),
        "flag": jnp.array([True, False]),
        "key": jax.random.key(3),
        "raw_key": jax.random.PRNGKey(4),
        "nested": [jnp.zeros((2, 2)), None, (jnp.ones(1),)],
    }
    path = save_checkpoint(tmp_path / "tree.npz", tree, metadata={"note": "hello", "n": 3})
    restored, metadata = load_checkpoint(path, tree)
    assert metadata == {"note": "hello", "n": 3}
    assert read_checkpoint_metadata(path) == metadata
    assert_same(restored, tree)
    assert jax.tree.structure(restored) == jax.tree.structure(tree)
    assert str(jax.random.key_impl(restored["key"])) == "threefry2x32"
    # A template of shapes (jax.eval_shape) works as well as arrays.
    restored2, _ = load_checkpoint(path, jax.eval_shape(lambda: tree))
    assert_same(restored2, tree)


def test_the_file_is_plain_npy_arrays_and_json(tmp_path):
    path = save_checkpoint(tmp_path / "tree.npz", {"a": jnp.ones(2), "k": jax.random.key(0)})
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["__metadata__.npy", "leaf_0.npy", "leaf_1.npy"]
    with np.load(path, allow_pickle=False) as archive:  # would raise on any pickled object
        header = json.loads(str(archive["__metadata__"]))
        assert header["leaves"][1]["key_impl"] == "threefry2x32"
        assert archive["leaf_1"].dtype == np.uint32


def test_mismatched_templates_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "tree.npz", {"a": jnp.ones(2)})
    with pytest.raises(ValueError, match="tree structure"):
        load_checkpoint(path, {"b": jnp.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        load_checkpoint(path, {"a": jnp.ones(3)})
    with pytest.raises(ValueError, match="dtype"):
        load_checkpoint(path, {"a": jnp.ones(2, jnp.int32)})
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="not a gdjax checkpoint"):
        load_checkpoint(tmp_path / "other.npz", {"a": jnp.ones(2)})


def test_a_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "tree.npz", {"a": jnp.ones(2)})
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"a": jnp.zeros(2)})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["tree.npz"]  # no temporary file left behind
