"""The shared argument checks: PRNG keys, device lists, numbers, parameters and data."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gdjax._checks import as_key, check_devices, check_params, check_range
from gdjax.data import as_key as data_as_key
from gdjax.data import check_data, train_test_split, train_test_split_indices


def _data(key):
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key).tolist()


def test_as_key_accepts_seeds_typed_and_raw_keys():
    assert _data(as_key("key", 7)) == _data(jax.random.key(7))
    assert _data(as_key("key", np.int64(7))) == _data(jax.random.key(7))
    assert _data(as_key("key", np.array(7))) == _data(jax.random.key(7))
    assert _data(as_key("key", jnp.int32(7))) == _data(jax.random.key(7))
    assert _data(as_key("key", -(2**63))) == _data(jax.random.key(-(2**63)))
    assert _data(as_key("key", 2**63 - 1)) == _data(jax.random.key(2**63 - 1))
    typed = jax.random.key(3)
    assert as_key("key", typed) is typed
    raw = jax.random.PRNGKey(3)
    assert as_key("key", raw).dtype == jnp.uint32 and _data(as_key("key", raw)) == [0, 3]
    assert _data(as_key("key", np.array([0, 3], np.uint32))) == [0, 3]


def test_as_key_passes_traced_keys_and_seeds_through():
    draw = jax.jit(lambda k: jax.random.uniform(as_key("key", k)))
    assert float(draw(jax.random.key(1))) == float(jax.random.uniform(jax.random.key(1)))
    assert float(draw(jnp.int32(1))) == float(jax.random.uniform(jax.random.key(1)))
    assert float(draw(jax.random.PRNGKey(1))) == float(jax.random.uniform(jax.random.PRNGKey(1)))


@pytest.mark.parametrize(
    "key,message",
    [
        (2**70, r"seed: an integer seed must be in \[-2\*\*63, 2\*\*63 - 1\]; got 1180591620717411303424"),
        (-(2**63) - 1, r"seed: an integer seed must be in \[-2\*\*63, 2\*\*63 - 1\]; got -9223372036854775809"),
        (np.uint64(2**64 - 1), r"seed: an integer seed must be in .*got 18446744073709551615"),
        (True, r"seed must be a PRNG key or an integer seed .*; got True of type bool"),
        (np.bool_(False), r"seed must be a PRNG key .*got False of type bool"),
        (1.0, r"seed must be a PRNG key .*got 1.0 of type float"),
        (jnp.float32(1.0), r"seed must be a PRNG key .*got an array of shape \(\) and dtype float32"),
        (None, r"seed must be a PRNG key .*got None"),
        ("0", r"seed must be a PRNG key .*got '0' of type str"),
        (jax.random.split(jax.random.key(0), 3), r"seed must be a single PRNG key; got a key array of shape \(3,\)"),
        (np.zeros(3, np.uint32), r"seed must be a raw key of shape \(2,\); got a uint32 array of shape \(3,\)"),
        (np.zeros((2, 2), np.uint32), r"seed must be a raw key of shape \(2,\); got a uint32 array of shape \(2, 2\)"),
        (np.zeros(2, np.int32), r"seed must be a PRNG key .*got an array of shape \(2,\) and dtype int32"),
    ],
)
def test_as_key_refuses_bad_keys_naming_the_argument(key, message):
    with pytest.raises(ValueError, match=message):
        as_key("seed", key)


def test_check_devices():
    devices = jax.devices()
    assert check_devices("devices", None) is None
    assert check_devices("devices", devices) == tuple(devices)
    assert check_devices("devices", tuple(devices[:1])) == (devices[0],)
    assert check_devices("devices", np.array(devices)) == tuple(devices)


@pytest.mark.parametrize(
    "devices,message",
    [
        ("cpu", r"devices must be None or a non-empty sequence of jax.Device objects .*got 'cpu'"),
        ([0, 1], r"devices\[0\] must be a jax.Device .*got 0 of type int"),
        ([], r"devices must name at least one device; got an empty sequence"),
        ((), r"devices must name at least one device; got an empty sequence"),
        (5, r"devices must be None or a non-empty sequence of jax.Device objects .*got 5"),
        (jax.devices()[0], r"devices must be None or a non-empty sequence .*got " + re.escape(repr(jax.devices()[0]))),
        ([jax.devices()[0]] * 2, r"devices lists " + re.escape(repr(jax.devices()[0])) + " more than once"),
    ],
)
def test_check_devices_refuses_bad_lists(devices, message):
    with pytest.raises(ValueError, match=message):
        check_devices("devices", devices)


def test_the_data_splits_use_the_shared_key_check():
    with pytest.raises(ValueError, match=r"key: an integer seed must be in .*got 1180591620717411303424"):
        train_test_split_indices(2**70, 10)
    with pytest.raises(ValueError, match=r"key must be a PRNG key .*got 0.5 of type float"):
        train_test_split(0.5, np.arange(10.0))
    with pytest.raises(ValueError, match=r"key must be a single PRNG key; got a key array of shape \(2,\)"):
        train_test_split_indices(jax.random.split(jax.random.key(0)), 10)
    assert _data(data_as_key(4)) == _data(jax.random.key(4))
    a = train_test_split_indices(4, 10).test
    b = train_test_split_indices(jax.random.key(4), 10).test
    np.testing.assert_array_equal(a, b)


# ------------------------------------------- the quick paths agree with the full checks


@pytest.mark.parametrize(
    ("value", "kwargs", "accepted"),
    [
        (0.0, dict(low=0.0), True),
        (0.0, dict(low=0.0, low_inclusive=False), False),
        (1.0, dict(low=0.0, high=1.0, high_inclusive=False), False),
        (0.999, dict(low=0.0, high=1.0, high_inclusive=False), True),
        (3, dict(low=0.0), True),
        (-1, dict(low=0.0), False),
        (float("nan"), dict(), False),
        (float("inf"), dict(low=0.0), False),
        (10**400, dict(low=0.0), False),  # a Python int past float range: the full check says so, no OverflowError
        (np.float32(0.5), dict(low=0.0, high=1.0), True),
    ],
)
def test_check_range_of_python_and_numpy_numbers(value, kwargs, accepted):
    if accepted:
        assert check_range("x", value, **kwargs) is value
    else:
        with pytest.raises(ValueError, match="x must be"):
            check_range("x", value, **kwargs)


def test_check_params_and_check_data_name_the_bad_leaf():
    good = {"w": jnp.ones((2, 3)), "b": 0.5}
    check_params("params", good)
    with pytest.raises(ValueError, match=r"params\['w'\] must be finite; found 1 .* at index \(1, 2\)"):
        check_params("params", {**good, "w": jnp.ones((2, 3)).at[1, 2].set(jnp.nan)})
    with pytest.raises(ValueError, match=r"params\['b'\] must be floating point"):
        check_params("params", {**good, "b": np.arange(2)})
    x = np.ones((4, 2), np.float32)
    assert check_data("data", (x, np.zeros(4))) == 4
    with pytest.raises(ValueError, match=r"data\[1\] must be finite; found 1 .* at index \(3,\)"):
        check_data("data", (x, np.array([0.0, 1.0, 0.0, np.inf])))
    with pytest.raises(ValueError, match=r"same number of examples"):
        check_data("data", (x, np.zeros(5)))
    with pytest.raises(ValueError, match=r"data\[1\] must have a leading example axis"):
        check_data("data", (x, np.float32(1.0)))
