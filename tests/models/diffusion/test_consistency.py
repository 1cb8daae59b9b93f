import math

import keras
import numpy as np
import pytest

import artifex_keras as ak
from artifex_keras.models import DDPM
from artifex_keras.models import ConsistencyModel
from artifex_keras.models.diffusion.consistency import edm_ode_step
from artifex_keras.samplers.consistency import ConsistencySampler
from artifex_keras.samplers.consistency import karras_sigmas
from tests.checks import digits
from tests.checks import run_model_checks
from tests.checks.diffusion import TINY_UNET

TINY = dict(TINY_UNET, num_scales=10, ema_decay=None, seed=0)
SIGMA_MIN, SIGMA_MAX, SIGMA_DATA, RHO = 0.002, 80.0, 0.5, 7.0


def numpy(tensor):
    return np.asarray(keras.ops.convert_to_numpy(tensor), dtype=np.float64)


def randomise(network, seed, scale=0.3):
    """Give every weight of `network` a random value, so its output is far from zero."""
    rng = np.random.default_rng(seed)
    for variable in network.weights:
        variable.assign(rng.normal(0.0, scale, tuple(variable.shape)).astype("float32"))


def images(count, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (count, 8, 8, 1)).astype("float32")


def closed_form_scalings(sigma):
    c_skip = SIGMA_DATA**2 / ((sigma - SIGMA_MIN) ** 2 + SIGMA_DATA**2)
    c_out = SIGMA_DATA * (sigma - SIGMA_MIN) / np.sqrt(SIGMA_DATA**2 + sigma**2)
    c_in = 1.0 / np.sqrt(sigma**2 + SIGMA_DATA**2)
    return c_skip, c_out, c_in


def network_output(network, x, sigma):
    """The raw UNet output at the EDM-scaled input, with the scalings computed in NumPy."""
    _, _, c_in = closed_form_scalings(sigma)
    inputs = (c_in[:, None, None, None] * x).astype("float32")
    return numpy(network(inputs, (250.0 * np.log(sigma)).astype("float32")))


def numpy_consistency(network, x, sigma):
    c_skip, c_out, _ = closed_form_scalings(sigma)
    return c_skip[:, None, None, None] * x + c_out[:, None, None, None] * network_output(network, x, sigma)


def test_karras_sigmas_closed_form_and_tensor_grid():
    for count in (2, 10, 18):
        sigmas = karras_sigmas(count)
        i = np.arange(count)
        want = (SIGMA_MIN ** (1 / RHO) + i / (count - 1) * (SIGMA_MAX ** (1 / RHO) - SIGMA_MIN ** (1 / RHO))) ** RHO
        np.testing.assert_allclose(sigmas, want, rtol=1e-12)
        assert sigmas[0] == SIGMA_MIN and sigmas[-1] == SIGMA_MAX
        assert np.all(np.diff(sigmas) > 0)
    model = ConsistencyModel(**TINY)
    grid = numpy(model.sigma_at(np.arange(10, dtype="float32"), 10.0))
    np.testing.assert_allclose(grid, karras_sigmas(10), rtol=2e-6)
    assert grid[0] == np.float32(SIGMA_MIN) and grid[-1] == np.float32(SIGMA_MAX)
    # The default two-step sampler re-noises to the middle of a three-level grid.
    np.testing.assert_allclose(
        ConsistencySampler(steps=2).intermediate_sigmas(SIGMA_MIN, SIGMA_MAX), karras_sigmas(3)[1:2]
    )


def test_scalings_match_closed_forms_and_the_boundary_condition_is_exact():
    model = ConsistencyModel(**TINY)
    sigma = np.array([SIGMA_MIN, 0.01, 0.5, 3.0, 80.0], dtype="float32")
    for got, want in zip(model.scalings(sigma), closed_form_scalings(sigma.astype(np.float64))):
        np.testing.assert_allclose(numpy(got), want, rtol=1e-6, atol=1e-7)
    c_skip, c_out, _ = (numpy(c) for c in model.scalings(sigma))
    assert c_skip[0] == 1.0 and c_out[0] == 0.0
    randomise(model.online_network, 1)
    x = images(4, seed=2) * 3.0
    at_min = numpy(model(x, sigma=np.full((4,), SIGMA_MIN, "float32")))
    np.testing.assert_array_equal(at_min, x)
    # Elsewhere the network does contribute.
    at_one = numpy(model(x, sigma=np.ones((4,), "float32")))
    np.testing.assert_allclose(at_one, numpy_consistency(model.online_network, x, np.ones(4)), rtol=1e-4, atol=1e-5)
    assert np.abs(at_one - x).max() > 1e-2


@pytest.mark.parametrize("metric", ["l2", "pseudo_huber"])
def test_consistency_training_loss_matches_numpy(metric):
    model = ConsistencyModel(**dict(TINY, loss_metric=metric))
    randomise(model.online_network, 3)
    randomise(model.target_network, 4)
    x, z = images(6, seed=5), np.random.default_rng(6).standard_normal((6, 8, 8, 1)).astype("float32")
    index = np.array([0, 1, 4, 7, 8, 3], dtype="float32")
    loss = float(numpy(model.consistency_loss(x, z, index)))
    sigmas = karras_sigmas(10)
    high, low = sigmas[index.astype(int) + 1], sigmas[index.astype(int)]
    online = numpy_consistency(model.online_network, x + high[:, None, None, None] * z, high)
    target = numpy_consistency(model.target_network, x + low[:, None, None, None] * z, low)
    squared = np.square(online - target).reshape(6, -1)
    if metric == "l2":
        want = squared.mean(axis=1).mean()
    else:
        c = 0.00054 * math.sqrt(64)
        want = (np.sqrt(squared.sum(axis=1) + c**2) - c).mean()
    np.testing.assert_allclose(loss, want, rtol=1e-4)
    # At n = 0 the target is the boundary: f_target(x + sigma_min z, sigma_min) = x + sigma_min z.
    assert np.allclose(target[0], x[0] + SIGMA_MIN * z[0], atol=1e-6)


def oracle_denoiser(x, sigma, variance=1.0):
    """The exact denoiser of N(0, variance) data: `E[x0 | x0 + sigma z = x]`."""
    sigma = keras.ops.reshape(keras.ops.cast(sigma, "float32"), (-1, 1, 1, 1))
    return x * variance / (variance + keras.ops.square(sigma))


def test_edm_ode_step_is_euler_or_heun_of_the_probability_flow():
    x = images(3, seed=7) * 4.0
    s_from = np.array([5.0, 1.0, 0.3], "float32")
    s_to = np.array([3.0, 0.5, 0.002], "float32")
    d = x / (1.0 + s_from[:, None, None, None] ** 2)
    slope = (x - d) / s_from[:, None, None, None]
    euler = x + (s_to - s_from)[:, None, None, None] * slope
    got = numpy(edm_ode_step(oracle_denoiser, x, s_from, s_to, "euler"))
    np.testing.assert_allclose(got, euler, rtol=1e-5, atol=1e-6)
    slope_to = (euler - euler / (1.0 + s_to[:, None, None, None] ** 2)) / s_to[:, None, None, None]
    heun = x + (s_to - s_from)[:, None, None, None] * (slope + slope_to) / 2
    np.testing.assert_allclose(numpy(edm_ode_step(oracle_denoiser, x, s_from, s_to, "heun")), heun, rtol=1e-5)
    # For Gaussian data the ODE scales x by sqrt(1 + sigma^2): Heun is close, Euler less so.
    exact = x * np.sqrt((1.0 + s_to**2) / (1.0 + s_from**2))[:, None, None, None]
    assert np.abs(heun - exact).max() < np.abs(euler - exact).max()


@pytest.fixture(scope="module")
def teacher():
    model = DDPM(**TINY_UNET, num_timesteps=50, ema_decay=None, seed=0)
    randomise(model.denoiser, 8, scale=0.2)
    return model


def test_teacher_denoiser_converts_the_ddpm_prediction(teacher):
    model = ConsistencyModel(**dict(TINY, mode="distillation"), teacher=teacher)
    x = images(4, seed=9) * 2.0
    schedule = teacher.schedule
    # Two levels on the teacher's grid, one between, one below its smallest (clamped to t = 0).
    sigma = np.array([schedule.edm_sigmas[10], schedule.edm_sigmas[31], 0.5 * sum(schedule.edm_sigmas[20:22]), 0.002])
    timesteps = np.clip(schedule.timestep_from_sigma(sigma), 0, None)
    alpha = 1.0 / np.sqrt(1.0 + sigma**2)
    epsilon = numpy(teacher.denoiser((alpha[:, None, None, None] * x).astype("float32"), timesteps.astype("float32")))
    want = x - sigma[:, None, None, None] * epsilon
    got = numpy(model.teacher_denoiser(x, sigma.astype("float32")))
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    assert np.isclose(timesteps[0], 10) and np.isclose(timesteps[1], 31) and timesteps[3] == 0


def test_a_student_from_its_teacher_starts_as_the_teacher_denoiser(teacher):
    student = ConsistencyModel.from_teacher(teacher, num_scales=10, ema_decay=0.99, seed=0)
    config = student.config
    assert (config.mode, config.parameterization) == ("distillation", "variance_preserving")
    for name in ("input_shape", "channels", "num_res_blocks", "attention_levels", "head_dim", "num_groups",
                 "schedule", "num_timesteps", "prediction", "num_classes", "rescale"):  # fmt: skip
        assert getattr(config, name) == getattr(teacher.config, name), name
    assert student.teacher is teacher
    for network in (student.online_network, student.target_network, student.ema_network):
        for got, want in zip(network.weights, teacher.denoiser.weights):
            np.testing.assert_array_equal(numpy(got), numpy(want))
    x = images(5, seed=22) * 2.0
    sigma = np.array([SIGMA_MIN, 0.05, 0.5, 3.0, 80.0], "float32")
    denoised = numpy(student.teacher_denoiser(x, sigma))
    s = sigma.astype(np.float64)[:, None, None, None]
    c_skip = SIGMA_DATA**2 / ((s - SIGMA_MIN) ** 2 + SIGMA_DATA**2)
    c_skip_edm = SIGMA_DATA**2 / (s**2 + SIGMA_DATA**2)
    want = c_skip * x + (s - SIGMA_MIN) / s * (denoised - c_skip_edm * x)
    got = numpy(student(x, sigma=sigma))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # The boundary condition holds exactly; above it the student is (nearly) the teacher's denoiser.
    np.testing.assert_array_equal(got[0], x[0])
    np.testing.assert_allclose(got[3:], denoised[3:], atol=0.03 * np.abs(x).max())
    assert np.abs(got[1:] - x[1:]).max() > 0.1


def test_a_student_from_its_teacher_samples_without_it_after_a_keras_round_trip(teacher, tmp_path):
    student = ConsistencyModel.from_teacher(teacher, num_scales=10, ema_decay=0.99, seed=0)
    path = str(tmp_path / "student.keras")
    student.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.teacher is None and loaded.get_config() == student.get_config()
    x = images(3, seed=23)
    sigma = np.array([0.3, 2.0, 20.0], "float32")
    np.testing.assert_array_equal(numpy(loaded(x, sigma=sigma)), numpy(student(x, sigma=sigma)))
    np.testing.assert_array_equal(loaded.generate(4, seed=1, steps=2), student.generate(4, seed=1, steps=2))
    # Continuing to distil keeps the trained weights unless asked otherwise.
    randomise(loaded.online_network, 24, scale=0.1)
    before = numpy(loaded.online_network.weights[0])
    loaded.set_teacher(teacher)
    np.testing.assert_array_equal(numpy(loaded.online_network.weights[0]), before)


def test_starting_from_a_teacher_needs_its_network_and_parameterization(teacher):
    edm = ConsistencyModel(**dict(TINY, mode="distillation"))
    with pytest.raises(ValueError, match=r"set_teacher: `copy_weights=True` needs parameterization='variance_pres"):
        edm.set_teacher(teacher, copy_weights=True)
    wider = dict(TINY, mode="distillation", parameterization="variance_preserving", num_timesteps=50, channels=(16,))
    with pytest.raises(ValueError, match=r"the student's `channels` must be the teacher's \(\(8,\)\), got \(16,\)"):
        ConsistencyModel(**wider, teacher=teacher)
    other_schedule = dict(TINY, mode="distillation", parameterization="variance_preserving", num_timesteps=60)
    with pytest.raises(ValueError, match=r"the student's `num_timesteps` must be the teacher's \(50\), got 60"):
        ConsistencyModel(**other_schedule, teacher=teacher)
    with pytest.raises(ValueError, match=r"from_teacher: `channels`, `mode` come from the teacher and cannot be set"):
        ConsistencyModel.from_teacher(teacher, channels=(16,), mode="training")
    with pytest.raises(ValueError, match=r"from_teacher: `teacher` must be a DDPM with a UNet"):
        ConsistencyModel.from_teacher(edm)
    with pytest.raises(ValueError, match=r"ConsistencyConfig: `parameterization` must be one of"):
        ConsistencyModel(**dict(TINY, parameterization="vp"))


def test_distillation_loss_matches_numpy_with_a_known_teacher(teacher, monkeypatch):
    model = ConsistencyModel(**dict(TINY, mode="distillation", teacher_solver="euler"), teacher=teacher)
    randomise(model.online_network, 10)
    randomise(model.target_network, 11)
    monkeypatch.setattr(model, "teacher_denoiser", lambda x, sigma, labels=None: oracle_denoiser(x, sigma, 0.25))
    x, z = images(5, seed=12), np.random.default_rng(13).standard_normal((5, 8, 8, 1)).astype("float32")
    index = np.array([0, 2, 5, 8, 6], dtype="float32")
    loss = float(numpy(model.consistency_loss(x, z, index)))
    sigmas = karras_sigmas(10)
    high, low = sigmas[index.astype(int) + 1], sigmas[index.astype(int)]
    x_high = x + high[:, None, None, None] * z
    denoised = x_high * 0.25 / (0.25 + high[:, None, None, None] ** 2)
    x_low = x_high + (low - high)[:, None, None, None] * (x_high - denoised) / high[:, None, None, None]
    online = numpy_consistency(model.online_network, x_high, high)
    target = numpy_consistency(model.target_network, x_low, low)
    np.testing.assert_allclose(loss, np.square(online - target).mean(), rtol=1e-4)


def test_target_network_follows_the_moving_average_and_the_progressive_schedule():
    model = ConsistencyModel(**dict(TINY, target_decay=0.9))
    randomise(model.online_network, 14)
    before = [numpy(v) for v in model.target_network.weights]
    online = [numpy(v) for v in model.online_network.weights]
    model.after_training_step()
    for got, old, new in zip(model.target_network.weights, before, online):
        np.testing.assert_allclose(numpy(got), 0.9 * old + 0.1 * new, rtol=1e-5, atol=1e-6)
    progressive = ConsistencyModel(
        **dict(TINY, scales_schedule="progressive", initial_scales=2, final_scales=150, total_steps=1000)
    )
    for k in (0, 1, 10, 250, 999, 1000, 5000):
        kk = min(k, 1000)
        n_want = math.ceil(math.sqrt(kk / 1000 * (151**2 - 4) + 4) - 1) + 1
        n, mu = (float(numpy(v)) for v in progressive.discretisation(k))
        assert n == n_want, (k, n, n_want)
        np.testing.assert_allclose(mu, math.exp(2 * math.log(0.95) / n_want), rtol=1e-6)
    # Before any step N = 2: the only pair is (sigma_min, sigma_max), whose target is the noisy point itself.
    x = images(3, seed=21)
    loss, logs = progressive.compute_generative_loss(x * 0.5 + 0.5, training=False)
    assert np.isfinite(float(numpy(loss))) and float(numpy(logs["loss"])) == float(numpy(loss))


def test_one_and_two_step_sampling_with_an_oracle_for_gaussian_data(monkeypatch):
    # N(0, s^2) data: the exact consistency function scales x by sqrt(s^2 + sigma_min^2) / sqrt(s^2 + sigma^2).
    s = 0.5
    model = ConsistencyModel(**dict(TINY, rescale=False, sigma_data=s))

    def oracle(labels=None, guidance_scale=None, network=None):
        def f(x, sigma):
            sigma = keras.ops.reshape(sigma, (-1, 1, 1, 1))
            return x * keras.ops.sqrt((s**2 + SIGMA_MIN**2) / (s**2 + keras.ops.square(sigma)))

        return f

    monkeypatch.setattr(model, "consistency_function", oracle)
    shrink = (s**2 + SIGMA_MIN**2) / (s**2 + SIGMA_MAX**2)
    one_step = SIGMA_MAX**2 * shrink
    tau = 1.5
    two_step = (one_step + tau**2 - SIGMA_MIN**2) * (s**2 + SIGMA_MIN**2) / (s**2 + tau**2)
    for kwargs, variance in (({}, one_step), ({"sigmas": [tau]}, two_step)):
        samples = model.generate(2000, seed=0, **kwargs)
        # 128000 draws: the variance's standard error is 0.4%.
        np.testing.assert_allclose(samples.var(), variance, rtol=0.02)
        assert abs(samples.mean()) < 0.01
    samples, trajectory = model.generate(6, seed=1, sigmas=[tau], return_trajectory=True)
    assert trajectory.shape == (3, 6, 8, 8, 1)
    np.testing.assert_allclose(trajectory[-1], samples, atol=1e-6)
    np.testing.assert_allclose(trajectory[1], trajectory[0] * math.sqrt(shrink), rtol=1e-4, atol=1e-6)


def test_keras_file_keeps_generate_and_leaves_the_teacher_out(teacher, tmp_path):
    model = ConsistencyModel(**dict(TINY, mode="distillation", ema_decay=0.99), teacher=teacher)
    randomise(model.online_network, 15, scale=0.1)
    randomise(model.ema_network, 16, scale=0.1)
    # Online, target and sampling networks; no teacher weights.
    assert len(model.weights) == 3 * len(model.online_network.weights)
    path = str(tmp_path / "consistency.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is ConsistencyModel and loaded.teacher is None
    assert loaded.get_config() == model.get_config()
    fixed = ConsistencyModel(**dict(TINY, sampling_steps=3, sampling_sigmas=[5.0, 0.5]))
    assert fixed.config.sampling_sigmas == (5.0, 0.5)
    assert fixed.default_sampler() == ConsistencySampler(sigmas=(5.0, 0.5))
    randomise(fixed.online_network, 25, scale=0.1)
    chosen = fixed.generate(3, seed=4, sigmas=[5.0, 0.5])
    np.testing.assert_array_equal(fixed.generate(3, seed=4), chosen)
    assert not np.allclose(fixed.generate(3, seed=4, steps=3), chosen, atol=1e-3)
    before = model.generate(5, seed=3, steps=2)
    np.testing.assert_array_equal(loaded.generate(5, seed=3, steps=2), before)
    # The sampling moving average, not the online weights, is what generate uses.
    randomise(model.online_network, 17)
    np.testing.assert_array_equal(model.generate(5, seed=3, steps=2), before)
    with pytest.raises(ValueError, match=r"ConsistencyModel.fit: mode='distillation' needs a teacher"):
        loaded.fit(digits(32), epochs=1, verbose=0)
    loaded.set_teacher(teacher)
    assert loaded.teacher is teacher


@pytest.mark.slow
def test_short_fit_lowers_the_loss():
    x = digits(128)
    model = ConsistencyModel(**dict(TINY, num_scales=6, target_decay=0.5))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x, epochs=6, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0], history
    samples = model.generate(4, seed=0, steps=2)
    assert samples.shape == (4, 8, 8, 1) and samples.min() >= 0.0 and samples.max() <= 1.0
    assert "consistency_model" in ak.list_models()


@pytest.mark.slow
def test_distillation_fit_lowers_the_loss(teacher):
    x = digits(128)
    model = ConsistencyModel(**dict(TINY, mode="distillation", num_scales=6, target_decay=0.5), teacher=teacher)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x, epochs=6, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0], history


def test_bad_inputs_raise_clear_errors(teacher):
    model = ConsistencyModel(**TINY)
    with pytest.raises(ValueError, match=r"ConsistencyModel.generate: `steps` must be a positive int, got 0"):
        model.generate(2, steps=0)
    with pytest.raises(ValueError, match=r"ConsistencySampler: `sigmas` must decrease strictly"):
        model.generate(2, sigmas=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"ConsistencySampler `sigmas` must lie in \(0.002, 80.0\), got \(100.0,\)"):
        model.generate(2, sigmas=[100.0])
    with pytest.raises(ValueError, match=r"ConsistencyConfig: `sigma_min` must be a finite number in \(0.0, 1.0\)"):
        ConsistencyModel(**dict(TINY, sigma_min=2.0, sigma_max=1.0))
    with pytest.raises(ValueError, match=r"`sampling_sigmas` must be a strictly decreasing tuple of numbers in "
                       r"\(0.002, 80.0\), or None, got \(1.0, 2.0\)"):  # fmt: skip
        ConsistencyModel(**dict(TINY, sampling_steps=3, sampling_sigmas=(1.0, 2.0)))
    with pytest.raises(ValueError, match=r"`sampling_sigmas` must be .*, got \(90.0, 2.0\)"):
        ConsistencyModel(**dict(TINY, sampling_steps=3, sampling_sigmas=(90.0, 2.0)))
    with pytest.raises(ValueError, match=r"`sampling_steps` must be len\(sampling_sigmas\) \+ 1 = 3, got 2"):
        ConsistencyModel(**dict(TINY, sampling_steps=2, sampling_sigmas=(5.0, 1.0)))
    with pytest.raises(ValueError, match=r"ConsistencyConfig: `mode` must be one of"):
        ConsistencyModel(**dict(TINY, mode="distill"))
    student = ConsistencyModel(**dict(TINY, mode="distillation"))
    with pytest.raises(ValueError, match=r"ConsistencyModel.fit: mode='distillation' needs a teacher"):
        student.fit(digits(32), epochs=1, verbose=0)
    other = DDPM(**dict(TINY_UNET, input_shape=(16, 16, 1)), num_timesteps=10, sampling_steps=5, ema_decay=None)
    with pytest.raises(ValueError, match=r"`teacher` must take the student's input_shape \(8, 8, 1\), got a teacher "):
        student.set_teacher(other)
    with pytest.raises(ValueError, match=r"`teacher` must be a DDPM"):
        ConsistencyModel(**dict(TINY, mode="distillation"), teacher=model)
    labelled = ConsistencyModel(**dict(TINY, mode="distillation", num_classes=3))
    with pytest.raises(ValueError, match=r"`teacher` must have the student's num_classes \(3\), got None"):
        labelled.set_teacher(teacher)


def test_labels_steer_a_conditional_model():
    model = ConsistencyModel(**dict(TINY, num_classes=3))
    randomise(model.online_network, 18, scale=0.1)
    labels = np.array([0, 1, 2, 0])
    plain = model.generate(4, seed=5, labels=labels)
    assert not np.allclose(model.generate(4, seed=5, labels=(labels + 1) % 3), plain, atol=1e-3)
    x, y = images(4, seed=19), labels
    index = np.array([1, 2, 3, 4], dtype="float32")
    z = np.random.default_rng(20).standard_normal((4, 8, 8, 1)).astype("float32")
    assert float(numpy(model.consistency_loss(x, z, index, y))) != float(numpy(model.consistency_loss(x, z, index)))


@pytest.mark.slow
def test_consistency_model_checks(tmp_path):
    run_model_checks(ConsistencyModel, dict(TINY, num_scales=6, target_decay=0.5), digits(), tmp_path=tmp_path,
                     value_range=(0.0, 1.0), epochs=6)  # fmt: skip


def test_train_preset_distils_from_a_teacher_preset(teacher, tmp_path):
    teacher.save_to_preset(tmp_path / "teacher")
    run = ak.train_preset("consistency_model", tmp_path / "student", data="digits", epochs=1, batch_size=16,
                          limit=32, overrides=dict(TINY, mode="distillation"), teacher=tmp_path / "teacher",
                          verbose=0)  # fmt: skip
    assert run.metadata["training"]["teacher"] == str(tmp_path / "teacher")
    for loaded, original in zip(run.model.teacher.weights, teacher.weights):
        np.testing.assert_array_equal(numpy(loaded), numpy(original))
    # The teacher is not part of the student's preset.
    student = ak.from_preset(tmp_path / "student")
    assert student.teacher is None and student.count_params() == run.model.count_params()
    # A student that reads its network as the teacher does takes its architecture and starts from its weights.
    overrides = dict(mode="distillation", parameterization="variance_preserving", num_scales=10, ema_decay=None)
    warm = ak.train_preset("consistency_model", tmp_path / "warm", data="digits", epochs=1, batch_size=16,
                           limit=16, learning_rate=1e-4, overrides=overrides, teacher=tmp_path / "teacher",
                           verbose=0)  # fmt: skip
    moved = [np.abs(numpy(a) - numpy(b)).max() for a, b in zip(warm.model.online_network.weights, teacher.weights)]
    assert max(moved) < 1e-3, max(moved)
    assert warm.model.config.num_timesteps == 50 and warm.model.config.channels == teacher.config.channels
