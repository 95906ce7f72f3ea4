"""Corrupt or foreign checkpoint files are refused with one clear ValueError; leftovers of killed writes go away."""

import io
import json
import os
import re
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax._io import atomic_write_text
from gdjax.train import load_checkpoint, read_checkpoint_metadata, save_checkpoint

TREE = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3), "key": jax.random.key(0)}
HINT = "delete it or pass resume=False"


def _refused(path, like=TREE):
    """Both readers refuse ``path`` with a ValueError naming it and saying what to do."""
    named = re.escape(repr(os.fspath(path)))
    with pytest.raises(ValueError, match=rf"{named}.*{HINT}") as from_load:
        load_checkpoint(path, like)
    with pytest.raises(ValueError, match=rf"{named}.*{HINT}") as from_metadata:
        read_checkpoint_metadata(path)
    return str(from_load.value), str(from_metadata.value)


def _rewrite(path, change):
    """Rewrites the archive at ``path`` with ``change(entries)`` applied to its ``{name: bytes}`` entries."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    change(entries)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.fixture
def checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "state.npz", TREE, metadata={"run": 1})


def test_a_good_checkpoint_still_loads(checkpoint):
    tree, metadata = load_checkpoint(checkpoint, TREE)
    assert metadata == {"run": 1} == read_checkpoint_metadata(checkpoint)
    np.testing.assert_array_equal(tree["w"], TREE["w"])


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1, 10])
def test_a_truncated_file_is_refused(checkpoint, keep):
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:keep])
    _refused(checkpoint)


def test_an_empty_file_is_refused(checkpoint):
    checkpoint.write_bytes(b"")
    _refused(checkpoint)


def _member_data_end(data, info):
    """Offset of the last byte of a zip member's stored data (past its local header)."""
    name_length = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_length = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    return info.header_offset + 30 + name_length + extra_length + info.compress_size - 1


@pytest.mark.parametrize("member", ["leaf_0.npy", "leaf_2.npy", "__metadata__.npy"])
def test_flipped_bytes_are_refused(checkpoint, member):
    data = bytearray(checkpoint.read_bytes())
    with zipfile.ZipFile(checkpoint) as archive:
        info = archive.getinfo(member)
    data[_member_data_end(data, info)] ^= 0xFF  # the last byte of the member's array data
    checkpoint.write_bytes(bytes(data))
    if member == "__metadata__.npy":
        _refused(checkpoint)
    else:
        assert read_checkpoint_metadata(checkpoint) is not None  # only the arrays are damaged
        with pytest.raises(ValueError, match=rf"corrupt.*{member[:-4]}.*Bad CRC.*{HINT}"):
            load_checkpoint(checkpoint, TREE)


def test_a_flipped_byte_in_an_npy_header_is_refused(checkpoint):
    def change(entries):
        header = bytearray(entries["leaf_0.npy"])
        header[20] = ord("!")  # inside the header's Python-literal dict
        entries["leaf_0.npy"] = bytes(header)

    _rewrite(checkpoint, change)
    with pytest.raises(ValueError, match=rf"leaf_0.*{HINT}"):
        load_checkpoint(checkpoint, TREE)


def test_a_missing_leaf_is_refused(checkpoint):
    _rewrite(checkpoint, lambda entries: entries.pop("leaf_1.npy"))
    assert read_checkpoint_metadata(checkpoint) == {"run": 1}  # the metadata is intact
    with pytest.raises(ValueError, match=rf"no entry leaf_1.*{HINT}"):
        load_checkpoint(checkpoint, TREE)


@pytest.mark.parametrize(
    "text,reason",
    [
        ('{"format": "gdjax-checkpoint/1", "leaves": [', "not valid JSON"),
        ("[1, 2, 3]", "not a JSON object"),
        ('{"format": "gdjax-checkpoint/1"}', "misses"),
        ('{"format": "gdjax-checkpoint/1", "treedef": 3, "leaves": [], "metadata": null}', "treedef"),
        ('{"format": "gdjax-checkpoint/1", "treedef": "x", "leaves": [{"dtype": 1}], "metadata": null}', "leaf 0"),
    ],
)
def test_bad_metadata_is_refused(checkpoint, text, reason):
    _rewrite(checkpoint, lambda entries: entries.update({"__metadata__.npy": _npy(np.array(text))}))
    with pytest.raises(ValueError, match=rf"{reason}.*{HINT}"):
        load_checkpoint(checkpoint, TREE)
    with pytest.raises(ValueError, match=rf"{reason}.*{HINT}"):
        read_checkpoint_metadata(checkpoint)


def test_metadata_that_is_not_a_string_is_refused(checkpoint):
    _rewrite(checkpoint, lambda entries: entries.update({"__metadata__.npy": _npy(np.arange(3))}))
    _refused(checkpoint)


def test_a_leaf_with_an_unknown_dtype_is_refused(checkpoint):
    with np.load(checkpoint) as archive:
        header = json.loads(str(archive["__metadata__"]))
    header["leaves"][0]["dtype"] = "float1000"
    _rewrite(checkpoint, lambda entries: entries.update({"__metadata__.npy": _npy(np.array(json.dumps(header)))}))
    with pytest.raises(ValueError, match=rf"leaf 0.*float1000.*{HINT}"):
        load_checkpoint(checkpoint, TREE)


def test_a_leaf_whose_size_disagrees_with_its_dtype_is_refused(checkpoint):
    _rewrite(checkpoint, lambda entries: entries.update({"leaf_1.npy": _npy(np.ones(3, np.uint8))}))
    with pytest.raises(ValueError, match=rf"leaf 1.*{HINT}"):
        load_checkpoint(checkpoint, TREE)


def test_a_pickled_leaf_is_refused_without_unpickling(checkpoint):
    _rewrite(checkpoint, lambda entries: entries.update({"leaf_0.npy": _npy(np.array([{"x": 1}], dtype=object))}))
    with pytest.raises(ValueError, match=rf"leaf_0.*{HINT}"):
        load_checkpoint(checkpoint, TREE)


def test_a_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.ones(2))
    load_message, _ = _refused(path)
    assert "not a gdjax checkpoint" in load_message


def test_a_plain_npy_file_is_refused(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as file:
        np.save(file, np.ones(3))
    _refused(path)


def test_a_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello\n")
    _refused(path)


def test_a_checkpoint_of_another_model_is_refused(checkpoint):
    with pytest.raises(ValueError, match=rf"(?s)different tree structure.*{HINT}"):
        load_checkpoint(checkpoint, {"w": jnp.zeros((2, 3))})
    with pytest.raises(ValueError, match=rf"leaf 2 has shape \(2, 3\).*expected shape \(4, 3\).*{HINT}"):
        load_checkpoint(checkpoint, {**TREE, "w": jnp.zeros((4, 3))})
    with pytest.raises(ValueError, match=rf"raw data where a PRNG key is expected.*{HINT}"):
        load_checkpoint(checkpoint, {**TREE, "b": jax.random.key(1)})


def test_a_directory_is_refused(tmp_path):
    folder = tmp_path / "state.npz"
    folder.mkdir()
    _refused(folder)


def test_a_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "absent.npz", TREE)


def test_leftover_temporary_files_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "state.npz"
    killed = [tmp_path / ".state.npz.a1b2c3d4.tmp", tmp_path / ".state.npz.zz_9x0y1.tmp"]
    for leftover in killed:
        leftover.write_bytes(b"half a checkpoint")
    others = [tmp_path / ".other.npz.a1b2c3d4.tmp", tmp_path / ".state.npz.tmp", tmp_path / ".state.npz.x.y.tmp"]
    for other in others:
        other.write_bytes(b"not ours")
    (tmp_path / ".state.npz.dir1.tmp").mkdir()
    save_checkpoint(target, TREE)
    assert not any(leftover.exists() for leftover in killed)
    assert all(other.exists() for other in others)  # other targets' files and names atomic_write never makes
    assert (tmp_path / ".state.npz.dir1.tmp").is_dir()
    assert load_checkpoint(target, TREE)[1] is None
    # the same for every atomic write (summaries, reports)
    (tmp_path / ".summary.json.k7k7k7k7.tmp").write_text("{")
    atomic_write_text(tmp_path / "summary.json", "{}\n")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".summary")) == []
