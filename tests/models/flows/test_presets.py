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


def test_conditional_preset_reaches_the_conditional_optimum_and_samples_the_requested_square():
    model = check_shipped_preset("conditional_nsf_checkerboard", NeuralSplineFlow)
    x, labels = ak.data.load("checkerboard", split="test")
    nll = float(-model.log_prob(x, labels=labels).mean())
    check_preset_metric("conditional_nsf_checkerboard", nll, "nll_nats", rtol=1e-5)
    optimum = toy.conditional_entropy("checkerboard")
    assert ak.preset_metadata("conditional_nsf_checkerboard")["reference"]["optimum_nll_nats"] == optimum
    assert nll - optimum < 0.05
    # The wrong square is far less likely: the condition is used, not ignored.
    wrong = float(-model.log_prob(x, labels=(labels + 1) % 8).mean())
    assert wrong > nll + 3.0
    # Samples of square 5 (column 1, row 1: x in [-2, 0], y in [2, 4]) fall in that square.
    samples = model.generate(2000, labels=5, seed=0)
    inside = (samples[:, 0] > -2) & (samples[:, 0] < 0) & (samples[:, 1] > 2) & (samples[:, 1] < 4)
    assert inside.mean() > 0.97
