"""`artifex_keras.distribution`: data and model parallel training on an 8-device JAX mesh."""

import os
import pathlib
import subprocess
import sys

import keras
import pytest

import artifex_keras as ak

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.jax_only
def test_data_and_model_parallel_match_one_device():
    """The checks need their own process: XLA's device count is fixed when JAX starts."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "distributed_checks.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "distributed checks passed" in result.stdout


def test_without_jax_every_function_says_distribution_needs_jax(monkeypatch):
    """Runs on every backend: on JAX by pretending Keras lacked the support it has there."""
    monkeypatch.setattr(ak.distribution, "DISTRIBUTION_SUPPORTED", False)
    backend = keras.backend.backend()
    for call in (ak.distribution.data_parallel, ak.distribution.model_parallel, ak.distribution.list_devices):
        with pytest.raises(RuntimeError, match=f"runs on the JAX backend only .* got KERAS_BACKEND='{backend}'"):
            call()
    assert ak.distribution.batch_shards() == 1  # fit and evaluate go on without a distribution


@pytest.mark.jax_only
def test_model_parallel_builds_the_mesh_and_checks_its_arguments():
    devices = ak.distribution.list_devices()
    distribution = ak.distribution.model_parallel(model_axis_size=len(devices))
    assert tuple(distribution.device_mesh.axis_names) == ("batch", "model")
    assert tuple(distribution.device_mesh.shape) == (1, len(devices))
    with pytest.raises(ValueError, match=r"model_parallel: `model_axis_size` must be a positive int .* got 0"):
        ak.distribution.model_parallel(model_axis_size=0)

    class NotALayoutMap:
        def get_layout_map(self, mesh):
            return {}

    with pytest.raises(ValueError, match="NotALayoutMap.get_layout_map\\(mesh\\) must return a keras.distribution"):
        ak.distribution.model_parallel(NotALayoutMap())
