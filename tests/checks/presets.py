"""Preset checks: a shipped preset loads as its class and still measures what its metadata records."""

import numpy as np

import artifex_keras as ak


def check_shipped_preset(name, expected_class=None):
    """The preset loads through `ak.from_preset` (and its class's `from_preset`) with its weights; returns it."""
    model = ak.from_preset(name)
    if expected_class is not None:
        assert type(model) is expected_class
        assert type(expected_class.from_preset(name)) is expected_class
    metadata = ak.preset_metadata(name)
    assert metadata["class_name"] == type(model).__name__
    assert metadata["parameters"] == model.count_params()
    return model


def check_preset_metric(name, measured, key, rtol):
    """`measured` (re-measured now, the same protocol) agrees with `metadata.json`'s `metrics[key]` within `rtol`."""
    recorded = ak.preset_metadata(name)["metrics"][key]
    np.testing.assert_allclose(measured, recorded, rtol=rtol, err_msg=f"{name}: {key}")
