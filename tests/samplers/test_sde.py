"""Score-based SDEs and their samplers, driven by the exact score of Gaussian data: no training, closed forms.

For data `x0 ~ N(mu, Sigma)` and a linear SDE with kernel `N(m(t) x0, s(t)^2 I)`,
`p_t = N(m mu, m^2 Sigma + s^2 I)` and its score is
`-(m^2 Sigma + s^2 I)^{-1} (x - m mu)`. A correct sampler started from the
exact `p_1` draws `p_eps` up to its discretisation error; the probability-flow
ODE is affine in its start, so its output moments are exact from `d + 1`
starting points, and its log-likelihood is the Gaussian's log-density.
"""

import keras
import numpy as np
import pytest
from keras import ops
from scipy import integrate
from scipy import stats

from artifex_keras import samplers
from artifex_keras.samplers import VESDE
from artifex_keras.samplers import VPSDE
from artifex_keras.samplers import EulerMaruyamaSampler
from artifex_keras.samplers import PredictorCorrectorSampler
from artifex_keras.samplers import ProbabilityFlowSampler
from artifex_keras.samplers import ReverseDiffusionSampler
from artifex_keras.samplers import SubVPSDE
from artifex_keras.samplers import sde as sde_lib
from tests.checks.samplers import check_sampler_serialization

MU = np.array([1.0, -0.5])
SIGMA = np.array([[0.5, 0.3], [0.3, 0.8]])
SDES = [VPSDE(), SubVPSDE(), VESDE()]
DRAWS = 20000


def numpy(tensor):
    return ops.convert_to_numpy(tensor).astype(np.float64)


def exact_score(sde, covariance=SIGMA, scale=1.0):
    """`score(x, t)` of `p_t` for Gaussian data; `scale` != 1 is a deliberately wrong score."""
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    q = ops.convert_to_tensor(eigenvectors.astype("float32"))
    lam = ops.convert_to_tensor(eigenvalues.astype("float32"))
    mu = ops.convert_to_tensor(MU.astype("float32"))

    def score(x, t):
        m, s = sde.marginal(t)
        m, s = m[:, None], s[:, None]
        rotated = ops.sum((x - m * mu)[:, :, None] * q[None], axis=1) / (m * m * lam + s * s)
        return -scale * ops.sum(rotated[:, None, :] * q[None], axis=2)

    return score


def closed_form(sde, t):
    """`(m(t), s(t))` in float64 NumPy, written from the paper's formulas (eqs. 29-30)."""
    t = np.asarray(t, dtype=np.float64)
    if isinstance(sde, VESDE):
        sigma = sde.sigma_min * (sde.sigma_max / sde.sigma_min) ** t
        return np.ones_like(t), np.sqrt(sigma**2 - sde.sigma_min**2)
    mean = np.exp(-0.25 * t**2 * (sde.beta_max - sde.beta_min) - 0.5 * t * sde.beta_min)
    return mean, (1.0 - mean**2) if isinstance(sde, SubVPSDE) else np.sqrt(1.0 - mean**2)


def gaussian_at(sde, t, covariance=SIGMA):
    m, s = closed_form(sde, t)
    return m * MU, m * m * covariance + s * s * np.eye(len(MU))


def draws_of_p1(sde, count, seed=0):
    """Exact draws of `p_1` (VP's prior `N(0, I)` is 0.7% off in the mean: a prior mismatch, not a sampler error)."""
    mean, covariance = gaussian_at(sde, 1.0)
    z = np.random.default_rng(seed).standard_normal((count, len(MU)))
    return (mean + z @ np.linalg.cholesky(covariance).T).astype("float32")


def times(values):
    return ops.convert_to_tensor(np.asarray(values, dtype="float32"))


# The SDEs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sde", SDES, ids=lambda sde: type(sde).__name__)
def test_perturbation_kernel_matches_the_closed_form(sde):
    t = np.array([sde.eps, 1e-3, 0.01, 0.1, 0.5, 0.9, 1.0])
    mean, std = (numpy(value) for value in sde.marginal(times(t)))
    expected_mean, expected_std = closed_form(sde, t)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-5)
    # Relative accuracy down to the tiny std at t = eps (no cancellation in 1 - m^2).
    np.testing.assert_allclose(std, expected_std, rtol=1e-4)
    x0 = np.random.default_rng(0).standard_normal((7, 2, 3)).astype("float32")
    kernel_mean, kernel_std = sde.perturbation_kernel(x0, times(t))
    np.testing.assert_allclose(numpy(kernel_mean), expected_mean[:, None, None] * x0, rtol=1e-5, atol=1e-6)
    assert tuple(kernel_std.shape) == (7, 1, 1)


@pytest.mark.parametrize("sde", SDES, ids=lambda sde: type(sde).__name__)
def test_perturbation_kernel_solves_the_moment_odes(sde):
    # dm/dt = a(t) m, dv/dt = 2 a(t) v + g(t)^2 from m(0) = 1, v(0) = 0, with a and g from the SDE itself.
    def rhs(t, state):
        a = float(numpy(sde.drift_coefficient(times(t))))
        g = float(numpy(sde.diffusion(times(t))))
        return [a * state[0], 2.0 * a * state[1] + g * g]

    t_eval = np.array([0.05, 0.3, 0.7, 1.0])
    solution = integrate.solve_ivp(rhs, (0.0, 1.0), [1.0, 0.0], t_eval=t_eval, rtol=1e-9, atol=1e-12)
    mean, std = (numpy(value) for value in sde.marginal(times(t_eval)))
    np.testing.assert_allclose(mean, solution.y[0], rtol=1e-5)
    np.testing.assert_allclose(std**2, solution.y[1], rtol=1e-4)
    x = np.random.default_rng(1).standard_normal((4, 2)).astype("float32")
    drift = numpy(sde.drift(x, times(t_eval)))
    np.testing.assert_allclose(drift, numpy(sde.drift_coefficient(times(t_eval)))[:, None] * x, rtol=1e-6)


@pytest.mark.parametrize("sde", [VPSDE(), VESDE()], ids=lambda sde: type(sde).__name__)
def test_discrete_steps_carry_the_kernel_exactly(sde):
    # VP (DDPM's step) and VE (SMLD's step): one step from t - h to t maps N(m(t - h), v(t - h)) onto N(m(t), v(t)).
    t, h = times([0.2, 0.6, 1.0]), 0.1
    x = np.ones((3, 1), "float32")
    f, g = sde.discretize(x, t, h)
    scale = 1.0 + numpy(f)[:, 0]
    mean_before, std_before = (numpy(value) for value in sde.marginal(t - h))
    mean, std = (numpy(value) for value in sde.marginal(t))
    np.testing.assert_allclose(scale * mean_before, mean, rtol=1e-5)
    np.testing.assert_allclose(scale**2 * std_before**2 + numpy(g) ** 2, std**2, rtol=1e-4)
    # Small steps: the Euler-Maruyama step (f h, g sqrt(h)).
    f, g = sde.discretize(x, t, 1e-3)
    np.testing.assert_allclose(numpy(f)[:, 0], numpy(sde.drift_coefficient(t)) * 1e-3, rtol=2e-2, atol=1e-7)
    np.testing.assert_allclose(numpy(g), numpy(sde.diffusion(t)) * np.sqrt(1e-3), rtol=2e-2)


@pytest.mark.parametrize("sde", SDES, ids=lambda sde: type(sde).__name__)
def test_prior(sde):
    z = np.random.default_rng(2).standard_normal((5, 2, 2)).astype("float32") * 3.0
    expected = stats.norm(0.0, sde.prior_std).logpdf(z.astype(np.float64)).sum(axis=(1, 2))
    np.testing.assert_allclose(numpy(sde.prior_log_prob(z)), expected, rtol=1e-5)
    draws = numpy(sde.prior_sample((4000, 3), keras.random.SeedGenerator(0)))
    assert abs(draws.std() / sde.prior_std - 1.0) < 0.03 and abs(draws.mean()) < 0.05 * sde.prior_std
    # The prior is close to p_1 (VE: data of scale 1 against sigma_max = 50).
    _, covariance = gaussian_at(sde, 1.0)
    np.testing.assert_allclose(np.diag(covariance), sde.prior_std**2, rtol=3e-3)


def test_sdes_serialize_and_reject_bad_arguments():
    for sde in [VPSDE(beta_min=0.2, beta_max=10.0, eps=1e-4), SubVPSDE(), VESDE(sigma_min=0.1, sigma_max=5.0)]:
        assert sde_lib.get(sde_lib.serialize(sde)) == sde
        assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(sde)) == sde
    assert sde_lib.get("vp") == VPSDE() and sde_lib.get("ve") == VESDE() and sde_lib.get("subvp") == SubVPSDE()
    assert VESDE().eps == 1e-5 and VPSDE().eps == 1e-3
    assert sde_lib.list_sdes() == ["subvp", "ve", "vp"]
    with pytest.raises(ValueError, match=r"sde.get: unknown sde 'vpp'.*Did you mean 'vp'"):
        sde_lib.get("vpp")
    with pytest.raises(ValueError, match=r"VPSDE: `beta_min` must be a positive number, got -1"):
        VPSDE(beta_min=-1)
    with pytest.raises(ValueError, match=r"SubVPSDE: `beta_max` must be at least beta_min \(0.1\), got 0.05"):
        SubVPSDE(beta_max=0.05)
    with pytest.raises(ValueError, match=r"VESDE: `sigma_max` must exceed sigma_min \(0.01\), got 0.01"):
        VESDE(sigma_max=0.01)
    with pytest.raises(ValueError, match=r"VPSDE: `eps` must be a number in \(0, 1\), got 1.5"):
        VPSDE(eps=1.5)


# Sampling ---------------------------------------------------------------------------------
def moment_error(sde, sampler, scale=1.0, draws=DRAWS):
    out = numpy(
        sampler.sample(exact_score(sde, scale=scale), sde, draws_of_p1(sde, draws), keras.random.SeedGenerator(0))
    )
    mean, covariance = gaussian_at(sde, sde.eps)
    return max(np.abs(out.mean(0) - mean).max(), np.abs(np.cov(out.T) - covariance).max())


# Monte Carlo error of the covariance with 20000 draws: about 0.008 (one standard error); with 100 steps the
# errors are 0.007 to 0.024 on JAX, and a score 10% off gives 0.06 to 0.13 (below).
@pytest.mark.parametrize(
    "sde, sampler",
    [
        (VPSDE(), EulerMaruyamaSampler(steps=100)),
        (VPSDE(), PredictorCorrectorSampler(steps=100, snr=0.16)),
        (SubVPSDE(), PredictorCorrectorSampler(steps=100, snr=0.16, predictor="euler_maruyama")),
        (VESDE(), EulerMaruyamaSampler(steps=100)),
        (VESDE(), PredictorCorrectorSampler(steps=100, snr=0.16)),
    ],
    ids=lambda value: type(value).__name__,
)
def test_stochastic_samplers_reproduce_the_gaussian(sde, sampler):
    assert moment_error(sde, sampler) < 0.04


def test_a_wrong_coefficient_is_caught():
    # A score 10% too large (the same as a wrong g^2 factor in the reverse drift) moves the moments by 0.06 to 0.12.
    assert moment_error(VPSDE(), EulerMaruyamaSampler(steps=100), scale=1.1) > 0.06


@pytest.mark.parametrize("sde", SDES, ids=lambda sde: type(sde).__name__)
def test_probability_flow_reproduces_the_gaussian_exactly(sde):
    # The flow is affine in its start: exact output moments from the mean and the mean plus each column of L.
    mean_1, covariance_1 = gaussian_at(sde, 1.0)
    starts = (mean_1 + np.concatenate([np.zeros((1, 2)), np.eye(2)]) @ np.linalg.cholesky(covariance_1).T).astype(
        "float32"
    )
    mean, covariance = gaussian_at(sde, sde.eps)
    for scale, agrees in ((1.0, True), (1.1, False)):
        out = numpy(ProbabilityFlowSampler(steps=50).sample(exact_score(sde, scale=scale), sde, starts))
        matrix = (out[1:] - out[0]).T
        error = max(np.abs(out[0] - mean).max(), np.abs(matrix @ matrix.T - covariance).max())
        assert (error < 1e-4) == agrees, (scale, error)


def test_trajectories_and_seeds():
    sde = VPSDE()
    start = draws_of_p1(sde, 8)
    score = exact_score(sde)
    for sampler in (PredictorCorrectorSampler(steps=5), ProbabilityFlowSampler(steps=5, solver="heun")):
        samples, trajectory = sampler.sample(score, sde, start, keras.random.SeedGenerator(3), return_trajectory=True)
        trajectory = numpy(trajectory)
        assert trajectory.shape == (6, 8, 2)
        np.testing.assert_array_equal(trajectory[0], start)
        np.testing.assert_array_equal(trajectory[-1], numpy(samples))
        again = numpy(sampler.sample(score, sde, start, keras.random.SeedGenerator(3)))
        np.testing.assert_allclose(again, trajectory[-1], atol=1e-6)
    # Stochastic: fresh noise at every step and for every seed.
    pc = PredictorCorrectorSampler(steps=5)
    one = numpy(pc.sample(score, sde, start, keras.random.SeedGenerator(1)))
    assert not np.allclose(one, numpy(pc.sample(score, sde, start, keras.random.SeedGenerator(2))))


# Likelihood -------------------------------------------------------------------------------
@pytest.mark.parametrize("sde", SDES, ids=lambda sde: type(sde).__name__)
def test_probability_flow_log_likelihood_is_the_gaussian_log_density(sde):
    mean, covariance = gaussian_at(sde, sde.eps)
    x = (mean + np.random.default_rng(3).standard_normal((6, 2)) @ np.linalg.cholesky(covariance).T).astype("float32")
    truth = stats.multivariate_normal(mean, covariance).logpdf(x.astype(np.float64))
    sampler = ProbabilityFlowSampler(steps=20 if not isinstance(sde, VESDE) else 100)
    log_prob, latent = sampler.log_prob(exact_score(sde), sde, x, estimator="exact", return_latent=True)
    log_prob, latent = numpy(log_prob), numpy(latent)
    # With the exact p_1 at the end instead of the prior: only the solver's error is left.
    divergence = log_prob - numpy(sde.prior_log_prob(latent))
    mean_1, covariance_1 = gaussian_at(sde, 1.0)
    np.testing.assert_allclose(stats.multivariate_normal(mean_1, covariance_1).logpdf(latent) + divergence, truth,
                               atol=2e-3)  # fmt: skip
    # With the prior: its mismatch with p_1 (VP: a mean of 0.0066 mu, not 0; VE: mu, not 0) adds a few hundredths.
    np.testing.assert_allclose(log_prob, truth, atol=0.1)
    # The latent is where the (affine) flow takes x: the solver's output for the same start.
    assert np.all(np.isfinite(latent))


def test_hutchinson_estimates_are_unbiased():
    sde = VPSDE()
    score = exact_score(sde)
    sampler = ProbabilityFlowSampler(steps=4)
    x = draws_of_p1(sde, 2, seed=4)
    exact = numpy(sampler.log_prob(score, sde, x, estimator="exact"))
    copies = 1000
    repeated = np.repeat(x, copies, axis=0)
    spreads = {}
    for estimator in ("rademacher", "gaussian"):
        estimates = numpy(
            sampler.log_prob(score, sde, repeated, keras.random.SeedGenerator(5), estimator=estimator)
        ).reshape(2, copies)
        spread = spreads[estimator] = estimates.std(axis=1)
        assert np.all(spread > 0.1), spread  # a correlated covariance: single probes are noisy
        np.testing.assert_array_less(np.abs(estimates.mean(axis=1) - exact), 4 * spread / np.sqrt(copies))
    # Four probes per example average four estimates: the spread halves.
    four = numpy(
        sampler.log_prob(
            score, sde, repeated[:400], keras.random.SeedGenerator(6), estimator="rademacher", num_probes=4
        )
    )
    assert 0.4 < four.std() / spreads["rademacher"][0] < 0.6, four.std()
    # A diagonal covariance has a diagonal Jacobian: Rademacher probes give its trace exactly.
    diagonal = exact_score(sde, covariance=np.diag([0.5, 0.8]))
    rademacher = numpy(sampler.log_prob(diagonal, sde, repeated[:8], keras.random.SeedGenerator(7)))
    np.testing.assert_allclose(rademacher, numpy(sampler.log_prob(diagonal, sde, repeated[:8], estimator="exact")),
                               atol=1e-5)  # fmt: skip


# Settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sampler",
    [
        PredictorCorrectorSampler(steps=7, corrector_steps=2, snr=0.05, predictor="euler_maruyama"),
        EulerMaruyamaSampler(steps=3),
        ReverseDiffusionSampler(steps=4),
        ProbabilityFlowSampler(steps=9, solver="heun"),
    ],
    ids=lambda sampler: type(sampler).__name__,
)
def test_samplers_serialize(sampler):
    check_sampler_serialization(sampler)
    assert sampler.sampler_name in samplers.list_samplers()
    assert isinstance(sampler, samplers.SDESampler)


def test_bad_settings_raise_clear_errors():
    for make in (PredictorCorrectorSampler, EulerMaruyamaSampler, ReverseDiffusionSampler, ProbabilityFlowSampler):
        for steps in (0, -2, 1.5, True):
            with pytest.raises(ValueError, match=rf"{make.__name__}: `steps` must be a positive int, got {steps!r}"):
                make(steps=steps)
    for snr in (0, -0.1, float("nan"), "high"):
        with pytest.raises(ValueError, match=r"PredictorCorrectorSampler: `snr` must be a positive number, got"):
            PredictorCorrectorSampler(snr=snr)
    with pytest.raises(ValueError, match=r"`corrector_steps` must be a non-negative int, got -1"):
        PredictorCorrectorSampler(corrector_steps=-1)
    with pytest.raises(
        ValueError, match=r"`predictor` must be one of 'reverse_diffusion', 'euler_maruyama', got 'ancestral'"
    ):
        PredictorCorrectorSampler(predictor="ancestral")
    with pytest.raises(ValueError, match=r"ProbabilityFlowSampler: `solver` must be one of .*'rk4', got 'rk45'"):
        ProbabilityFlowSampler(solver="rk45")
    x = np.zeros((2, 2), "float32")
    sampler = ProbabilityFlowSampler(steps=2)
    with pytest.raises(ValueError, match=r"ProbabilityFlowSampler: `sde` must be an SDE .*got 'vp'"):
        sampler.sample(exact_score(VPSDE()), "vp", x)
    with pytest.raises(ValueError, match=r"log_prob: `estimator` must be one of .*got 'hutchinson'"):
        sampler.log_prob(exact_score(VPSDE()), VPSDE(), x, estimator="hutchinson")
    with pytest.raises(ValueError, match=r"log_prob: `num_probes` must be a positive int, got 0"):
        sampler.log_prob(exact_score(VPSDE()), VPSDE(), x, keras.random.SeedGenerator(0), num_probes=0)
    with pytest.raises(ValueError, match=r"the 'rademacher' estimator needs a `seed_generator`"):
        sampler.log_prob(exact_score(VPSDE()), VPSDE(), x)
