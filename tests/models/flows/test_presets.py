import pytest

import artifex_keras as ak
from artifex_keras.data import toy
from artifex_keras.models.flows import MAF
from artifex_keras.models.flows import NeuralSplineFlow
from tests.checks.presets import check_preset_metric
from tests.checks.presets import check_shipped_preset


@pytest.mark.parametrize(
    "name, cls, data, max_gap",
    [
        ("nsf_eight_gaussians", NeuralSplineFlow, "eight_gaussians", 0.02),
        ("maf_checkerboard", MAF, "checkerboard", 0.2),
    ],
)
def test_toy_preset_measures_its_recorded_nll_near_the_optimum(name, cls, data, max_gap):
    model = check_shipped_preset(name, cls)
    x, _ = ak.data.load(data, split="test")
    nll = float(-model.log_prob(x).mean())
    check_preset_metric(name, nll, "nll_nats", rtol=1e-5)
    reference = ak.preset_metadata(name)["reference"]
    assert reference["optimum_nll_nats"] == toy.entropy(data)
    assert nll - toy.entropy(data) < max_gap
