"""Sharding over emulated CPU devices and over two processes (``jax.distributed`` on loopback)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("sharded_worker.py")


def _run(out: Path, devices: int, *extra: str, wait: bool = True):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    command = [sys.executable, str(WORKER), str(out), str(devices), *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait:
        output, _ = process.communicate(timeout=240)
        assert process.returncode == 0, output
    return process


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "one.npz"
    _run(out, 1)
    return np.load(out)


def test_eight_devices_match_one_device(single, tmp_path):
    _run(tmp_path / "eight.npz", 8)
    eight = np.load(tmp_path / "eight.npz")
    assert int(eight["device_count"]) == 8
    assert eight["final_loss"].shape == (2, 6)
    # chunks on the same devices: bit-identical
    np.testing.assert_array_equal(eight["final_loss"], eight["chunked_final_loss"])
    np.testing.assert_array_equal(eight["w"], eight["chunked_w"])
    # one device against eight, with the same tile: the very same per-tile program, bit for bit
    np.testing.assert_array_equal(eight["final_loss"], single["final_loss"])
    np.testing.assert_array_equal(eight["w"], single["w"])
    np.testing.assert_array_equal(eight["x"], single["x"])
    # restarts in the wide layout: a tile is one program too
    np.testing.assert_array_equal(eight["wide_w"], single["wide_w"])


def test_two_processes_on_loopback_run_one_sharded_sweep(single, tmp_path):
    with socket.socket() as s:  # a free port on this machine only
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    workers = [_run(tmp_path / f"p{i}.npz", 2, str(i), "2", port, wait=False) for i in range(2)]
    for worker in workers:
        output, _ = worker.communicate(timeout=240)
        assert worker.returncode == 0, output
    for i in range(2):
        result = np.load(tmp_path / f"p{i}.npz")
        assert int(result["process_count"]) == 2 and int(result["device_count"]) == 4
        np.testing.assert_array_equal(result["final_loss"], result["chunked_final_loss"])
        np.testing.assert_array_equal(result["final_loss"], single["final_loss"])
        np.testing.assert_array_equal(result["x"], single["x"])
        np.testing.assert_array_equal(result["wide_w"], single["wide_w"])
