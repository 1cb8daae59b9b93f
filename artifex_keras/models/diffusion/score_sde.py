"""Score SDE: a UNet score network trained by denoising score matching on a VP, VE or sub-VP SDE."""

import dataclasses
import functools
import math

import keras
import numpy as np
from keras import ops

from artifex_keras import samplers
from artifex_keras import validation
from artifex_keras.bijectors.dequantization import UniformDequantization
from artifex_keras.metrics.likelihood import bits_per_dim as nats_to_bits
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.diffusion.shared import ClassifierFreeGuidance
from artifex_keras.models.diffusion.shared import GuidedDiffusionFields
from artifex_keras.models.diffusion.shared import RescaleAndEMA
from artifex_keras.models.diffusion.shared import UNetFields
from artifex_keras.models.diffusion.shared import build_unet
from artifex_keras.models.diffusion.shared import validate_unet
from artifex_keras.models.registration import register_model
from artifex_keras.samplers import sde as sde_lib
from artifex_keras.samplers.sde import PredictorCorrectorSampler
from artifex_keras.samplers.sde import ProbabilityFlowSampler
from artifex_keras.samplers.sde import SDESampler

SDE_KINDS = ("vp", "ve", "subvp")
WEIGHTINGS = ("sigma2", "likelihood")
# The UNet reads `TIME_SCALE * t`: the timestep range its sinusoidal embedding is made for (as in the paper's code).
TIME_SCALE = 999.0


@dataclasses.dataclass(frozen=True)
class ScoreSDEConfig(UNetFields, GuidedDiffusionFields):
    """Configuration of a `ScoreSDE`.

    Args:
        input_shape: `(height, width, channels)`; height and width must be
            divisible by `2 ** (len(channels) - 1)`.
        sde: "vp" (variance preserving), "ve" (variance exploding) or "subvp".
        beta_min: `beta(0)` of the VP and sub-VP SDEs.
        beta_max: `beta(1)` of the VP and sub-VP SDEs.
        sigma_min: `sigma(0)` of the VE SDE.
        sigma_max: `sigma(1)` of the VE SDE.
        eps: smallest time of training, sampling and likelihoods (None: 1e-3
            for VP and sub-VP, 1e-5 for VE).
        loss_weighting: "sigma2" (`lambda(t) = s(t)^2`, the simple noise
            regression) or "likelihood" (`lambda(t) = g(t)^2`, which makes
            the loss a bound on the negative log-likelihood).
        rescale: as in `GuidedDiffusionFields`; likelihoods are then of
            dequantised 8-bit pixels.
        sampling_steps: steps of the default sampler, `PredictorCorrectorSampler`.
        snr: signal-to-noise ratio of the default sampler's Langevin corrector.
        (other fields as in `UNetFields` and `GuidedDiffusionFields`)
    """

    input_shape: tuple = (32, 32, 3)
    sde: str = "vp"
    beta_min: float = 0.1
    beta_max: float = 20.0
    sigma_min: float = 0.01
    sigma_max: float = 50.0
    eps: float | None = None
    loss_weighting: str = "sigma2"
    sampling_steps: int = 1000
    snr: float = 0.16

    def validate(self):
        self.check_int_tuple("input_shape", length=3)
        validate_unet(self)
        self.check_choice("sde", SDE_KINDS)
        for name in ("beta_min", "beta_max", "sigma_min", "sigma_max"):
            self.check_number(name, low=0.0, low_inclusive=False)
        if self.beta_max < self.beta_min:
            self._fail("beta_max", f"a number of at least beta_min ({self.beta_min})", self.beta_max)
        if self.sigma_max <= self.sigma_min:
            self._fail("sigma_max", f"a number above sigma_min ({self.sigma_min})", self.sigma_max)
        if self.eps is not None:
            self.check_number("eps", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        self.check_choice("loss_weighting", WEIGHTINGS)
        super().validate()
        self.check_number("snr", low=0.0, low_inclusive=False)

    def make_sde(self):
        """The `SDE` these fields describe."""
        if self.sde == "ve":
            return sde_lib.VESDE(sigma_min=self.sigma_min, sigma_max=self.sigma_max, eps=self.eps)
        kind = sde_lib.VPSDE if self.sde == "vp" else sde_lib.SubVPSDE
        return kind(beta_min=self.beta_min, beta_max=self.beta_max, eps=self.eps)


def _column(coefficient, x):
    return ops.reshape(ops.cast(coefficient, x.dtype), (-1,) + (1,) * (len(x.shape) - 1))


@register_model("score_sde")
class ScoreSDE(RescaleAndEMA, ClassifierFreeGuidance, GenerativeModel):
    """Score-based generative model of an SDE: a UNet score network, SDE samplers and ODE likelihoods.

    Training draws `t ~ U(eps, 1)` and `x_t = m(t) x0 + s(t) z` from the
    SDE's perturbation kernel; the network predicts `z` and the score is
    `-network(x_t, t) / s(t)`, so denoising score matching
    `lambda(t) ||score + z / s(t)||^2` is `||network - z||^2` with the `s^2`
    weighting and `(g^2 / s^2) ||network - z||^2` with the likelihood
    weighting. A moving average of the weights (`ema_decay`) is what
    `generate` samples with, through any `SDESampler`: predictor-corrector
    (the default), Euler-Maruyama, reverse diffusion, or the probability-flow
    ODE. `log_prob` and `bits_per_dim` integrate the probability-flow ODE
    with Hutchinson's trace estimator. With `num_classes`, the model is
    class-conditional with classifier-free guidance on the predicted noise,
    as `DDPM`.

    Args:
        config: a `ScoreSDEConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")
    model = ScoreSDE(input_shape=(8, 8, 1), channels=(16, 32), num_groups=8, head_dim=8, sde="subvp")
    model.compile()
    model.fit(x, epochs=2, batch_size=64)
    samples = model.generate(16, seed=0, sampler=artifex_keras.samplers.PredictorCorrectorSampler(steps=200))
    bits = model.bits_per_dim(x[:64], num_probes=2)
    ```

    Reference:
        Song et al., "Score-Based Generative Modeling through Stochastic Differential Equations",
        ICLR 2021; Song et al., "Maximum Likelihood Training of Score-Based Diffusion Models", NeurIPS 2021.
    """

    config_class = ScoreSDEConfig
    family = "diffusion"
    metric_names = ("loss",)
    accepted_samplers = (SDESampler,)

    def build_networks(self):
        config = self.config
        self.sde = config.make_sde()
        self.dequantizer = UniformDequantization(256)
        self.score_network = build_unet(config, "score_network")
        self.ema_score_network = self.moving_average(
            self.score_network, functools.partial(build_unet, config), "ema_score_network"
        )

    @property
    def sampling_network(self):
        """The network `generate` and `log_prob` use: the moving average when there is one."""
        return self.score_network if self.ema_score_network is None else self.ema_score_network

    @property
    def dequantization_scale(self):
        """How `log_prob`'s density relates to 8-bit data (`metrics.bits_per_dim`'s `data_scale`); None for raw data."""
        return "unit" if self.config.rescale else None

    # Training ---------------------------------------------------------------------
    def score_matching_loss(self, x0, t, noise, labels=None, training=False):
        """Weighted denoising score matching at times `t` `(batch,)` with standard normal `noise`, model-space `x0`."""
        x0 = ops.convert_to_tensor(x0, "float32")
        t = ops.convert_to_tensor(t, "float32")
        mean, std = self.sde.perturbation_kernel(x0, t)
        x_t = mean + std * noise
        output = ops.cast(self.score_network(x_t, TIME_SCALE * t, labels, training=training), "float32")
        squared_error = ops.mean(ops.square(output - noise), axis=tuple(range(1, len(x0.shape))))
        if self.config.loss_weighting == "likelihood":
            # lambda = g^2 on ||score + z / s||^2 = ||output - z||^2 / s^2.
            _, s = self.sde.marginal(t)
            g = self.sde.diffusion(t)
            squared_error = squared_error * ops.square(g / s)
        return ops.mean(squared_error)

    def compute_generative_loss(self, data, training=True):
        x0, labels = self.unpack_batch(data)
        batch = ops.shape(x0)[0]
        eps = self.sde.eps
        t = eps + (1.0 - eps) * keras.random.uniform((batch,), seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
        loss = self.score_matching_loss(x0, t, noise, self.drop_condition(labels), training=training)
        return loss, {"loss": loss}

    def call(self, inputs, t=None, training=False):
        """The trained network's score at `inputs` (`x_t`, or `(x_t, labels)`, model space), times `t` in [eps, 1].

        `t` defaults to 0.5.
        """
        x, labels = self.call_inputs(inputs)
        if t is None:
            t = ops.full((ops.shape(x)[0],), 0.5)
        return self.score_function(network=self.score_network)(x, ops.cast(t, "float32"), labels)

    # Sampling ---------------------------------------------------------------------
    def default_sampler(self):
        return PredictorCorrectorSampler(steps=self.config.sampling_steps, corrector_steps=1, snr=self.config.snr)

    def score_function(self, labels=None, guidance_scale=None, network=None):
        """`score(x, t)` for the samplers, `t` in [eps, 1], with classifier-free guidance if asked.

        Without `labels`, the function also takes them as a third argument.

        Args:
            labels: class ids `(batch,)` of a conditional model, or None.
            guidance_scale: None or `w` for `out_u + w (out_c - out_u)` on the predicted noise.
            network: the UNet to call (default `sampling_network`).
        """
        network = network or self.sampling_network

        def timed(x, t, labels=None):
            return network(x, TIME_SCALE * t, labels)

        guided = self.guided_function(timed, labels, guidance_scale)

        def score(x, t, extra_labels=None):
            output = guided(x, t) if extra_labels is None else timed(x, t, extra_labels)
            _, std = self.sde.marginal(t)
            return -ops.cast(output, "float32") / _column(std, x)

        return score

    def sample(
        self, num_samples, seed_generator, sampler=None, labels=None, guidance_scale=None, return_trajectory=False
    ):
        sampler = sampler or self.default_sampler()
        noise = self.sde.prior_sample((num_samples, *self.config.input_shape), seed_generator)
        result = sampler.sample(
            self.score_function(labels, guidance_scale), self.sde, noise, seed_generator, return_trajectory
        )
        return self.samples_from_model_space(result, return_trajectory)

    # Likelihood -------------------------------------------------------------------
    def log_prob(self, x, labels=None, sampler=None, estimator="rademacher", num_probes=1, batch_size=256, seed=0):
        """Log-likelihood of each example in nats through the probability-flow ODE, NumPy `(N,)`.

        With `rescale`, it is the density of the dequantised pixels
        `(k + u) / 256` in [0, 1) (one uniform draw per pixel from `seed`),
        whose expectation bounds the discrete log-likelihood (see
        `bits_per_dim`); without, the density of `x` itself. Both are of
        `p_eps`, the SDE at its smallest time.

        Args:
            x: data `(N, *input_shape)`.
            labels: class ids of a conditional model (`log p(x | y)`).
            sampler: a `ProbabilityFlowSampler` (default 100 RK4 steps).
            estimator: "rademacher" or "gaussian" (Hutchinson) or "exact" (one pass per dimension).
            num_probes: Hutchinson probes per example, averaged.
            batch_size: most examples per compiled call.
            seed: seed of the probes and the dequantisation (None: a fresh draw).

        Example:
        ```python
        nll = -model.log_prob(x_test, sampler=ProbabilityFlowSampler(steps=50, solver="heun")).mean()
        ```
        """
        owner = f"{type(self).__name__}.log_prob"
        validation.check_batch(owner, "x", x, self.data_shape, self.data_range)
        if not len(x):
            raise ValueError(f"{owner}: `x` must hold at least one example, got shape {np.shape(x)}")
        batch_size = validation.check_positive_int(owner, "batch_size", batch_size)
        num_probes = validation.check_positive_int(owner, "num_probes", num_probes)
        seed = validation.check_seed(owner, seed)
        if estimator not in sde_lib.ESTIMATORS:
            choices = ", ".join(map(repr, sde_lib.ESTIMATORS))
            raise ValueError(f"{owner}: `estimator` must be one of {choices}, got {estimator!r}")
        sampler = self._likelihood_sampler(owner, sampler)
        conditions = self.check_conditions(owner, {"labels": labels}, len(x))
        labels = conditions.get("labels")
        dims = math.prod(self.data_shape)
        copies = dims if estimator == "exact" else num_probes

        def log_prob(generator, xb, yb):
            xb = ops.cast(xb, "float32")
            if self.config.rescale:
                xb = self.dequantizer.dequantize(xb, generator)
            if yb is None:
                score = self.score_function()
            else:
                # The sampler calls the score on `copies` stacked copies of the batch.
                tiled = ops.concatenate([ops.cast(ops.reshape(yb, (-1,)), "int32")] * copies, axis=0)
                plain = self.score_function()

                def score(y, t):
                    return plain(y, t, tiled)

            density = sampler.log_prob(score, self.sde, self.to_model_space(xb), generator, estimator, num_probes)
            # y = 2 x - 1: the density of x gains log 2 per dimension.
            return density + (dims * math.log(2.0) if self.config.rescale else 0.0)

        key = ("log_prob", sampler.cache_key(), estimator, num_probes, labels is not None)
        return self.map_compiled(
            key,
            log_prob,
            batch_size,
            np.asarray(x, "float32"),
            labels,
            seed_generator=keras.random.SeedGenerator(seed),
        )

    def bits_per_dim(self, x, labels=None, sampler=None, estimator="rademacher", num_probes=1, batch_size=256, seed=0):
        """Bits per dimension of 8-bit images in [0, 1]: `(-log p(y) + D log 256) / (D log 2)`, NumPy `(N,)`.

        `y` are the dequantised pixels of `log_prob` (same arguments).

        Example:
        ```python
        print(model.bits_per_dim(x_test[:256], num_probes=4).mean())
        ```
        """
        owner = f"{type(self).__name__}.bits_per_dim"
        if not self.config.rescale:
            raise ValueError(
                f"{owner}: bits/dim needs 8-bit image data in [0, 1] (rescale=True), got rescale=False; "
                "use -log_prob(x) (nats) for continuous data"
            )
        nats = -self.log_prob(x, labels, sampler, estimator, num_probes, batch_size, seed)
        return nats_to_bits(nats, math.prod(self.data_shape), num_bins=256, data_scale="unit")

    def _likelihood_sampler(self, owner, sampler):
        if sampler is None:
            return ProbabilityFlowSampler(steps=100, solver="rk4")
        try:
            sampler = samplers.get(sampler)
        except ValueError as error:
            raise ValueError(f"{owner}: `sampler` is not a sampler: {error}") from None
        if not isinstance(sampler, ProbabilityFlowSampler):
            raise ValueError(
                f"{owner}: `sampler` must be a ProbabilityFlowSampler (likelihoods need the ODE), got {sampler!r}"
            )
        return sampler
