import keras
import numpy as np
import pytest

from artifex_keras.models import BetaVAE
from tests.checks import digits
from tests.checks import run_model_checks

TINY = dict(input_shape=(8, 8, 1), latent_dim=3, hidden_dims=(32,), seed=0)


def test_beta_vae_model_checks(tmp_path):
    run_model_checks(BetaVAE, TINY, digits(), tmp_path=tmp_path)


def test_higgins_objective_weights_kl_by_beta():
    model = BetaVAE(**dict(TINY, beta=4.0))
    model.compile()
    logs = model.evaluate(digits(64), verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], logs["reconstruction"] + 4.0 * logs["kl"], rtol=1e-4)


def test_capacity_grows_linearly_then_saturates():
    model = BetaVAE(**dict(TINY, capacity_max=10.0, capacity_steps=4))
    model.compile()
    assert float(keras.ops.convert_to_numpy(model.capacity())) == 0.0
    model.fit(digits(64), epochs=1, batch_size=32, verbose=0)  # 2 steps
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.capacity()), 5.0, rtol=1e-6)
    model.fit(digits(64), epochs=3, batch_size=32, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.capacity()), 10.0, rtol=1e-6)
    logs = model.evaluate(digits(64), verbose=0, return_dict=True)
    expected = logs["reconstruction"] + model.config.gamma * abs(logs["kl"] - 10.0)
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-4)


def test_bad_capacity_config():
    with pytest.raises(ValueError, match="BetaVAEConfig: `capacity_steps` must be a positive int, got 0"):
        BetaVAE(**dict(TINY, capacity_steps=0))
