"""The shipped WaveNet preset: it loads, and re-measures its recorded test likelihood."""

import numpy as np

import artifex_keras as ak
from artifex_keras.models import WaveNet
from tests.checks.presets import check_preset_metric
from tests.checks.presets import check_shipped_preset


def test_wavenet_speech_reproduces_its_test_nll():
    model = check_shipped_preset("wavenet_speech", WaveNet)
    x = ak.data.load("speech", split="test", with_labels=False)
    nats = -model.log_prob(x, batch_size=8)
    check_preset_metric("wavenet_speech", float(nats.mean()), "nll_nats", rtol=1e-5)
    # Far below the 8 bits per sample of a uniform model over the 256 codes.
    assert nats.mean() / x.shape[1] / np.log(2) < 3.5
