import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.conditioning import SourceImages
from artifex_keras.data import edge_map
from artifex_keras.models.gan import Pix2Pix
from artifex_keras.models.gan.translation_networks import build_unet_generator
from tests.checks import check_compiled_sampling
from tests.checks import check_config_round_trip
from tests.checks import check_keras_round_trip
from tests.checks import check_phases_update_their_variables
from tests.checks import check_preset_round_trip
from tests.checks import digits

TINY = dict(
    input_shape=(8, 8, 1),
    generator_filters=4,
    generator_depth=2,
    dropout=0.0,
    discriminator_filters=4,
    discriminator_layers=1,
    norm="none",
    seed=0,
)
TARGETS = digits(64)
SOURCES = edge_map(TARGETS)


def _numpy(value):
    return np.array(keras.ops.convert_to_numpy(value))


def _softplus(x):
    return np.logaddexp(0.0, x)


def test_registered_and_config_round_trip():
    assert "pix2pix" in ak.list_models() and ak.models.Pix2Pix is Pix2Pix
    model = check_config_round_trip(Pix2Pix, {**TINY, "output_channels": 3, "lambda_l1": 10.0})
    assert model.data_shape == (8, 8, 3) and model.source_shape == (8, 8, 1)
    assert model.condition_spec() == SourceImages((8, 8, 1), (0.0, 1.0))


@pytest.mark.parametrize("num_scales", [1, 2])
def test_losses_equal_a_hand_computation(num_scales):
    size = 8 if num_scales == 1 else 16
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 1, (4, size, size, 1)).astype("float32")
    target = rng.uniform(0, 1, (4, size, size, 1)).astype("float32")
    model = Pix2Pix(**{**TINY, "input_shape": (size, size, 1), "num_scales": num_scales, "lambda_l1": 7.5})
    fake = _numpy(model.generator(source))
    maps = model.discriminator(np.concatenate([fake, source], axis=-1))
    maps = [_numpy(m) for m in (maps if num_scales > 1 else [maps])]
    adversarial = np.mean([np.mean(_softplus(-m)) for m in maps])  # non-saturating: -log sigmoid(D(s, G(s)))
    expected = adversarial + 7.5 * np.mean(np.abs(target - fake))
    loss, logs = model.generator_loss((source, target), training=False)
    np.testing.assert_allclose(_numpy(loss), expected, rtol=1e-5)
    np.testing.assert_allclose(_numpy(logs["adversarial_loss"]), adversarial, rtol=1e-5)
    np.testing.assert_allclose(_numpy(logs["l1_loss"]), np.mean(np.abs(target - fake)), rtol=1e-6)
    real_maps = model.discriminator(np.concatenate([target, source], axis=-1))
    real_maps = [_numpy(m) for m in (real_maps if num_scales > 1 else [real_maps])]
    d_expected = np.mean([np.mean(_softplus(-r)) + np.mean(_softplus(f)) for r, f in zip(real_maps, maps)])
    np.testing.assert_allclose(_numpy(model.discriminator_loss((source, target), training=False)[0]), d_expected,
                               rtol=1e-5)  # fmt: skip


def test_each_phase_updates_only_its_network_and_a_keras_file_translates_identically(tmp_path):
    model = Pix2Pix(**{**TINY, "dropout": 0.5, "norm": "batch"})
    assert len(model.discriminator.trainable_variables) and len(model.generator.trainable_variables)
    check_phases_update_their_variables(model, (SOURCES, TARGETS))
    model.compile()
    model.fit(SOURCES, TARGETS, epochs=1, batch_size=32, verbose=0)
    loaded = check_keras_round_trip(model, SOURCES[:16], tmp_path, {"source": SOURCES[:5]})
    translated = model.translate(SOURCES[:7], batch_size=4)
    assert translated.shape == (7, 8, 8, 1) and translated.dtype == np.float32
    np.testing.assert_array_equal(loaded.translate(SOURCES[:7], batch_size=4), translated)
    np.testing.assert_allclose(model.generate(7, source=SOURCES[:7]), translated, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(translated, _numpy(model.generator(SOURCES[:7])), rtol=1e-5, atol=1e-6)
    check_preset_round_trip(model, tmp_path, {"source": SOURCES[:5]})
    check_compiled_sampling(model, {"source": SOURCES[:5]})


def test_fit_lowers_the_l1_loss():
    model = Pix2Pix(**{**TINY, "lambda_l1": 100.0})
    model.compile(optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5))
    before = model.evaluate(SOURCES, TARGETS, batch_size=32, verbose=0, return_dict=True)["l1_loss"]
    model.fit(SOURCES, TARGETS, epochs=6, batch_size=16, verbose=0)
    after = model.evaluate(SOURCES, TARGETS, batch_size=32, verbose=0, return_dict=True)["l1_loss"]
    assert np.isfinite(after) and after < 0.9 * before, (before, after)


@pytest.mark.parametrize(
    "shape, depth, outputs",
    [((28, 28, 1), 2, (7, 7)), ((32, 32, 3), 5, (1, 1))],
)
def test_unet_generator_sizes_and_skips(shape, depth, outputs):
    generator = build_unet_generator(shape, 2, 4, depth, 0.5, "instance", "tanh", "unet")
    assert generator.output_shape == (None, *shape[:2], 2)
    bottleneck = generator.get_layer(f"unet_down_act_{depth - 1}").output.shape
    assert tuple(bottleneck[1:3]) == outputs
    assert len([layer for layer in generator.layers if isinstance(layer, keras.layers.Concatenate)]) == depth - 1
    assert len([layer for layer in generator.layers if isinstance(layer, keras.layers.Dropout)]) == min(3, depth - 1)


def test_bad_inputs_raise_clear_errors():
    model = Pix2Pix(**TINY)
    with pytest.raises(ValueError, match=r"`y` \(the target image of each source in `x`\) is required"):
        model.fit(SOURCES, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="`x` and `y` must hold the same number of images.*got 64 and 63"):
        model.fit(SOURCES, TARGETS[:63], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must have shape \(batch, 8, 8, 1\), got shape \(64, 8, 8, 3\)"):
        model.fit(SOURCES, np.repeat(TARGETS, 3, axis=-1), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`x` must have shape \(batch, 8, 8, 1\), got shape \(64, 4, 4, 1\)"):
        model.fit(SOURCES[:, :4, :4], TARGETS, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must lie in \[0.0, 1.0\]"):
        model.fit(SOURCES, TARGETS * 255.0, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Pix2Pix.generate: `source` is required"):
        model.generate(3)
    with pytest.raises(ValueError, match="Pix2Pix.generate: `source` must hold 3 images, got 2"):
        model.generate(3, source=SOURCES[:2])
    with pytest.raises(ValueError, match=r"Pix2Pix.translate: `x` must have shape \(batch, 8, 8, 1\)"):
        model.translate(np.zeros((2, 16, 16, 1), "float32"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input_shape=(28, 28, 1), generator_depth=3), r"divisible by 8 \(2 \*\* generator_depth.*depth <= 2"),
        (dict(input_shape=(30, 30, 1), generator="resnet", generator_depth=2), "divisible by 4.*resnet"),
        (dict(input_shape=(8, 8, 1), discriminator_layers=2), "at least 12 for a PatchGAN discriminator"),
        (dict(input_shape=(8, 8, 1), num_scales=2, discriminator_layers=1), "at least 12 .* at 2 scales"),
        (dict(input_shape=(8, 8)), "`input_shape` must be a tuple of 3 positive ints"),
        (dict(norm="layer"), "`norm` must be one of 'instance', 'batch', 'none'"),
        (dict(lambda_l1=-1.0), "`lambda_l1` must be a finite number in"),
        (dict(dropout=1.0), "`dropout` must be a finite number in"),
        (dict(generator="vit"), "`generator` must be one of 'unet', 'resnet'"),
    ],
)
def test_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Pix2Pix(**{**TINY, **kwargs})


def test_source_images_spec():
    spec = SourceImages((4, 4, 1), (-1.0, 1.0))
    examples = spec.examples(3)
    assert examples.shape == (3, 4, 4, 1) and examples.dtype == np.float32
    assert examples.min() >= -1.0 and examples.max() <= 1.0
    np.testing.assert_array_equal(spec.examples(3), examples)
    np.testing.assert_array_equal(spec.check("Owner", examples, 3), examples)
    with pytest.raises(ValueError, match=r"Owner: `source` must lie in \[-1.0, 1.0\]"):
        spec.check("Owner", examples * 3.0, 3)
    with pytest.raises(ValueError, match="must be a floating-point array"):
        spec.check("Owner", np.zeros((3, 4, 4, 1), "uint8"), 3)
    assert SourceImages((2, 2, 1)).examples(1).shape == (1, 2, 2, 1)
