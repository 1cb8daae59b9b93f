"""Consistency models: a network that maps any point of the probability-flow ODE to its origin in one step."""

import dataclasses
import functools
import math

import keras
from keras import ops

from artifex_keras import validation
from artifex_keras.ema import ExponentialMovingAverage
from artifex_keras.models.base import GenerativeModel
from artifex_keras.models.diffusion.ddpm import DDPM
from artifex_keras.models.diffusion.ddpm import SCHEDULES as NOISE_SCHEDULES
from artifex_keras.models.diffusion.shared import ClassifierFreeGuidance
from artifex_keras.models.diffusion.shared import GuidedDiffusionFields
from artifex_keras.models.diffusion.shared import RescaleAndEMA
from artifex_keras.models.diffusion.shared import UNetFields
from artifex_keras.models.diffusion.shared import build_unet
from artifex_keras.models.diffusion.shared import validate_unet
from artifex_keras.models.registration import register_model
from artifex_keras.samplers import schedules
from artifex_keras.samplers.consistency import ConsistencySampler
from artifex_keras.samplers.schedules import broadcast_to
from artifex_keras.samplers.schedules import predicted_x0_and_noise

MODES = ("training", "distillation")
SCALES_SCHEDULES = ("fixed", "progressive")
LOSS_METRICS = ("l2", "pseudo_huber")
TEACHER_SOLVERS = ("euler", "heun")
PARAMETERIZATIONS = ("edm", "variance_preserving")
# The fields a student with the "variance_preserving" parameterization takes from its teacher to start as it.
TEACHER_NETWORK_FIELDS = ("channels", "num_res_blocks", "attention_levels", "head_dim", "num_groups")
TEACHER_SCHEDULE_FIELDS = ("schedule", "num_timesteps", "prediction")
# The UNet reads `TIME_SCALE * log(sigma)`: EDM's `c_noise = log(sigma) / 4` stretched to the
# range of timesteps (hundreds) that its sinusoidal embeddings are made for.
TIME_SCALE = 250.0
# Pseudo-Huber constant per square root of the dimension (Song & Dhariwal, 2023, section 3.3).
HUBER_PER_ROOT_DIM = 0.00054


def edm_ode_step(denoiser, x, sigma_from, sigma_to, solver="euler"):
    """One step of the probability-flow ODE `dx/dsigma = (x - D(x, sigma)) / sigma` from `sigma_from` to `sigma_to`.

    Euler, or Heun's second-order correction (Karras et al., 2022, Algorithm 1).

    Args:
        denoiser: `D(x, sigma) -> x0 estimate`, `sigma` `(batch,)`.
        x: the state at `sigma_from`.
        sigma_from: noise levels `(batch,)` of `x`.
        sigma_to: noise levels `(batch,)` to step to (positive).
        solver: "euler" or "heun".
    """
    if solver not in TEACHER_SOLVERS:
        raise ValueError(f"edm_ode_step: `solver` must be one of 'euler', 'heun', got {solver!r}")
    x = ops.cast(x, "float32")
    sigma_from, sigma_to = ops.cast(sigma_from, "float32"), ops.cast(sigma_to, "float32")
    step = broadcast_to(sigma_to - sigma_from, x)
    slope = (x - denoiser(x, sigma_from)) / broadcast_to(sigma_from, x)
    euler = x + step * slope
    if solver == "euler":
        return euler
    slope_to = (euler - denoiser(euler, sigma_to)) / broadcast_to(sigma_to, x)
    return x + step * 0.5 * (slope + slope_to)


def variance_preserving_denoiser(network, schedule, prediction, x, sigma):
    """`D(x, sigma)`: the x0 estimate of a variance-preserving diffusion network at `x = x0 + sigma z`.

    The network `network(x_t, t)` sees `alpha x`, `alpha = 1 / sqrt(1 + sigma^2)`,
    at the fractional timestep of `schedule` whose `sigma_t / alpha_t` is
    `sigma` (clamped to the schedule's range); its output, of kind
    `prediction`, is turned into an x0 estimate.

    Example:
    ```python
    d = variance_preserving_denoiser(ddpm.denoiser_function(), ddpm.schedule, "epsilon", x, sigma)
    ```
    """
    sigma = ops.cast(sigma, "float32")
    alpha = ops.rsqrt(1.0 + ops.square(sigma))
    x_vp = broadcast_to(alpha, x) * ops.cast(x, "float32")
    output = ops.cast(network(x_vp, _timesteps_from_sigma(schedule, sigma)), "float32")
    x0, _ = predicted_x0_and_noise(prediction, output, x_vp, alpha, alpha * sigma)
    return x0


@dataclasses.dataclass(frozen=True)
class ConsistencyConfig(UNetFields, GuidedDiffusionFields):
    """Configuration of a `ConsistencyModel`.

    Args:
        input_shape: `(height, width, channels)`; height and width must be
            divisible by `2 ** (len(channels) - 1)`.
        mode: "training" (consistency training, from data alone) or
            "distillation" (consistency distillation of a trained `DDPM` teacher).
        sigma_min: smallest noise level `epsilon`, where `f(x, epsilon) = x`.
        sigma_max: largest noise level `T`, where sampling starts.
        sigma_data: standard deviation of the data (in model space), for the EDM scalings.
        rho: exponent of the Karras discretisation.
        num_scales: number `N` of noise levels with `scales_schedule="fixed"`.
        scales_schedule: "fixed" (`N = num_scales`, target decay `target_decay`) or
            "progressive" (the paper's `N(k)` growing from `initial_scales` to
            `final_scales + 1` over `total_steps` steps, target decay
            `mu(k) = exp(initial_scales log(target_decay) / N(k))`).
        initial_scales: `s0` of the progressive schedule.
        final_scales: `s1` of the progressive schedule.
        total_steps: training steps `K` over which `N(k)` grows.
        target_decay: decay `mu` of the target network, the moving average the
            loss's targets come from (0: the online weights, stop-gradient).
        loss_metric: "l2" (mean squared difference) or "pseudo_huber"
            (`sqrt(||a - b||^2 + c^2) - c`).
        huber_c: the pseudo-Huber `c`; None is `0.00054 sqrt(dimension)`.
        teacher_solver: "euler" or "heun": the teacher's ODE step in distillation.
        ema_decay: decay of a second moving average of the weights that
            `generate` samples with; None samples with the online weights.
        sampling_steps: network evaluations of the default sampler, `ConsistencySampler`.
        sampling_sigmas: decreasing levels in `(sigma_min, sigma_max)` that the
            default sampler re-noises to (then `sampling_steps` must be
            `len(sampling_sigmas) + 1`); None: the inner points of a Karras
            grid of `sampling_steps + 1` levels.
        parameterization: how the UNet `F` enters `f`: "edm" (`F` reads
            `c_in x` and `250 log sigma`) or "variance_preserving" (`F` is
            read as a `DDPM` network on the noise schedule below, so a
            distillation student can start from its teacher's weights; see
            `ConsistencyModel.from_teacher`).
        schedule, num_timesteps, prediction: the noise schedule, its steps and
            the network's prediction kind of the "variance_preserving"
            parameterization (those of the teacher).
        (other fields as in `UNetFields` and `GuidedDiffusionFields`)
    """

    input_shape: tuple = (32, 32, 3)
    mode: str = "training"
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    sigma_data: float = 0.5
    rho: float = 7.0
    num_scales: int = 18
    scales_schedule: str = "fixed"
    initial_scales: int = 2
    final_scales: int = 150
    total_steps: int = 100_000
    target_decay: float = 0.95
    loss_metric: str = "l2"
    huber_c: float | None = None
    teacher_solver: str = "heun"
    ema_decay: float | None = 0.9999
    sampling_steps: int = 1
    sampling_sigmas: tuple | None = None
    parameterization: str = "edm"
    schedule: str = "linear"
    num_timesteps: int = 1000
    prediction: str = "epsilon"

    def validate(self):
        self.check_int_tuple("input_shape", length=3)
        validate_unet(self)
        self.check_choice("mode", MODES)
        self.check_number("sigma_max", low=0.0, low_inclusive=False)
        self.check_number("sigma_min", low=0.0, high=self.sigma_max, low_inclusive=False, high_inclusive=False)
        self.check_number("sigma_data", low=0.0, low_inclusive=False)
        self.check_number("rho", low=0.0, low_inclusive=False)
        self.check_positive_int("num_scales", minimum=2)
        self.check_choice("scales_schedule", SCALES_SCHEDULES)
        self.check_positive_int("initial_scales", minimum=2)
        self.check_positive_int("final_scales")
        if self.final_scales < self.initial_scales:
            self._fail("final_scales", f"an int of at least initial_scales ({self.initial_scales})", self.final_scales)
        self.check_positive_int("total_steps")
        self.check_number("target_decay", low=0.0, high=1.0, high_inclusive=False)
        self.check_choice("loss_metric", LOSS_METRICS)
        if self.huber_c is not None:
            self.check_number("huber_c", low=0.0, low_inclusive=False)
        self.check_choice("teacher_solver", TEACHER_SOLVERS)
        self.check_choice("parameterization", PARAMETERIZATIONS)
        self.check_choice("schedule", NOISE_SCHEDULES)
        self.check_positive_int("num_timesteps", minimum=2)
        self.check_choice("prediction", schedules.PREDICTIONS)
        super().validate()
        self.validate_sampling_sigmas()

    def validate_sampling_sigmas(self):
        """Check `sampling_sigmas` against `sigma_min`, `sigma_max` and `sampling_steps`."""
        sigmas = self.sampling_sigmas
        if sigmas is None:
            return
        # The sampler's own checks, reported against this config's field.
        try:
            sampler = ConsistencySampler(sigmas=sigmas)
            sampler.check_range(type(self).__name__, self.sigma_min, self.sigma_max)
        except ValueError:
            expected = f"a strictly decreasing tuple of numbers in ({self.sigma_min}, {self.sigma_max}), or None"
            self._fail("sampling_sigmas", expected, sigmas)
        if self.sampling_steps != sampler.steps:
            self._fail("sampling_steps", f"len(sampling_sigmas) + 1 = {sampler.steps}", self.sampling_steps)


class _Frozen:
    """A plain holder, so the teacher is neither tracked as a sub-layer nor saved with the student."""

    def __init__(self, model):
        self.model = model


@register_model("consistency_model")
class ConsistencyModel(RescaleAndEMA, ClassifierFreeGuidance, GenerativeModel):
    """Consistency model: `f(x, sigma)` maps a noisy point straight to the clean end of its ODE trajectory.

    `f(x, sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, 250 log sigma)`
    with a UNet `F` and the scalings `c_skip = sigma_data^2 / ((sigma -
    sigma_min)^2 + sigma_data^2)`, `c_out = sigma_data (sigma - sigma_min) /
    sqrt(sigma_data^2 + sigma^2)`, `c_in = 1 / sqrt(sigma^2 + sigma_data^2)`,
    so `f(x, sigma_min) = x` exactly (the boundary condition). With
    `parameterization="variance_preserving"`, `F` is a `DDPM` network whose
    x0 estimate `D(x, sigma)` (see `variance_preserving_denoiser`) enters as
    `f = c_skip x + (sigma - sigma_min) / sigma (D - c_skip_edm x)`, EDM's
    `c_skip_edm = sigma_data^2 / (sigma^2 + sigma_data^2)`: the same form
    (`c_out` times EDM's network output), so a student that starts from its
    teacher's weights (`from_teacher`) starts as the teacher's denoiser. Training
    draws a level index `n` on the Karras grid of `N` levels and noise `z`,
    and pulls `f(x + sigma_{n+1} z, sigma_{n+1})` towards the target
    network's (a moving average with decay `mu`, under stop-gradient)
    output at a point one step down the trajectory: `x + sigma_n z` in
    consistency training, or a frozen `DDPM` teacher's Euler/Heun step of
    the probability-flow ODE from `x + sigma_{n+1} z` in consistency
    distillation. `generate` takes one step from `sigma_max` noise, or
    several with re-noising (`steps=`, `sigmas=` or a `ConsistencySampler`).

    The teacher is held outside the model's tracked state: it is not part of
    the weights, `.keras` files or presets; set it again with
    `set_teacher(ddpm)` after loading to continue distilling.

    Args:
        config: a `ConsistencyConfig`, or pass its fields as keyword arguments.
        teacher: a trained `DDPM` (or subclass) for `mode="distillation"`.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")
    small = dict(input_shape=(8, 8, 1), channels=(16, 32), num_groups=8, head_dim=8, attention_levels=())
    model = ConsistencyModel(**small, num_scales=18)
    model.compile()
    model.fit(x, epochs=2, batch_size=64)
    one_step = model.generate(16, seed=0)
    two_step = model.generate(16, seed=0, steps=2)
    student = ConsistencyModel(**small, mode="distillation", teacher=trained_ddpm)
    warm = ConsistencyModel.from_teacher(trained_ddpm, num_scales=18)   # starts as the teacher
    ```

    Reference:
        Song, Dhariwal, Chen & Sutskever, "Consistency Models", ICML 2023;
        Karras, Aittala, Aila & Laine, "Elucidating the Design Space of Diffusion-Based
        Generative Models", NeurIPS 2022; Song & Dhariwal, "Improved Techniques for
        Training Consistency Models", 2023 (pseudo-Huber loss).
    """

    config_class = ConsistencyConfig
    family = "diffusion"
    metric_names = ("loss",)
    accepted_samplers = (ConsistencySampler,)

    def __init__(self, config=None, *, teacher=None, **kwargs):
        super().__init__(config, **kwargs)
        self._teacher = _Frozen(None)
        if teacher is not None:
            self.set_teacher(teacher, copy_weights=self.starts_from_teacher)

    @classmethod
    def from_teacher(cls, teacher, **fields):
        """A distillation student that starts as `teacher` (a trained `DDPM` with a UNet).

        The student takes the teacher's data shape, UNet, noise schedule,
        prediction kind, labels and data range, reads its network the way
        the teacher does (`parameterization="variance_preserving"`), and
        starts from the teacher's sampling weights; `fields` set the other
        config fields.

        Example:
        ```python
        student = ConsistencyModel.from_teacher(ddpm, num_scales=18, ema_decay=0.999)
        student.compile(optimizer=keras.optimizers.Adam(2e-4))
        student.fit(x, epochs=2)
        ```
        """
        owner = f"{cls.__name__}.from_teacher"
        fixed = {"mode": "distillation", "parameterization": "variance_preserving"}
        inherited = cls.fields_from_teacher(teacher, fixed, owner)
        clashes = sorted(name for name in fields if name in inherited or name in fixed)
        if clashes:
            raise ValueError(
                f"{owner}: {', '.join(f'`{name}`' for name in clashes)} come from the teacher and cannot be set, "
                f"got {', '.join(f'{name}={fields[name]!r}' for name in clashes)}"
            )
        return cls(**inherited, **fixed, **fields, teacher=teacher)

    @classmethod
    def fields_from_teacher(cls, teacher, fields, owner=None):
        """The config fields a new student with config `fields` (a dict) takes from `teacher`.

        A student with `parameterization="variance_preserving"` starts from the
        teacher's weights, so it takes the teacher's data shape, UNet, noise
        schedule, prediction kind, labels and data range; other students take nothing.

        Example:
        ```python
        fields = {"mode": "distillation", "parameterization": "variance_preserving"}
        student = ConsistencyModel(**ConsistencyModel.fields_from_teacher(ddpm, fields), **fields, teacher=ddpm)
        ```
        """
        if fields.get("parameterization") != "variance_preserving":
            return {}
        owner = owner or f"{cls.__name__}.fields_from_teacher"
        if not isinstance(teacher, DDPM) or not all(hasattr(teacher.config, name) for name in TEACHER_NETWORK_FIELDS):
            raise ValueError(f"{owner}: `teacher` must be a DDPM with a UNet, got {teacher!r}")
        taken = ("input_shape", *TEACHER_NETWORK_FIELDS, *TEACHER_SCHEDULE_FIELDS, "num_classes", "rescale")
        return {name: getattr(teacher.config, name) for name in taken}

    @property
    def starts_from_teacher(self):
        """Whether a new student of this config starts from its teacher's weights (the "variance_preserving" kind)."""
        return self.config.parameterization == "variance_preserving"

    def build_networks(self):
        config = self.config
        if self.starts_from_teacher:
            self.network_schedule = schedules.get(
                {"class_name": config.schedule, "config": {"num_timesteps": config.num_timesteps}}
            )
        self.online_network = build_unet(config, "online_network")
        self.target_network = build_unet(config, "target_network")
        # The target's decay may change with the step (progressive schedule): `after_training_step` averages.
        self.target_average = ExponentialMovingAverage(self.online_network, self.target_network)
        self.target_average.copy()
        self.ema_network = self.moving_average(
            self.online_network, functools.partial(build_unet, config), "ema_network"
        )

    @property
    def sampling_network(self):
        """The network `generate` samples with: the sampling moving average when there is one."""
        return self.online_network if self.ema_network is None else self.ema_network

    # Teacher ----------------------------------------------------------------------
    @property
    def teacher(self):
        """The frozen `DDPM` teacher of distillation, or None."""
        return self._teacher.model

    def set_teacher(self, teacher, copy_weights=False):
        """Use `teacher` (a trained `DDPM`, same data shape, labels and data range) for distillation.

        The teacher is not trained and not saved with this model.

        Args:
            teacher: the trained `DDPM`.
            copy_weights: also start every network of this model (online,
                target, sampling average) from the teacher's sampling
                weights; needs `parameterization="variance_preserving"` and the
                teacher's UNet, schedule and prediction kind. Leave it False
                to continue distilling a trained student.
        """
        owner = f"{type(self).__name__}.set_teacher"
        if not isinstance(teacher, DDPM):
            raise ValueError(f"{owner}: `teacher` must be a DDPM (or a subclass such as DiT), got {teacher!r}")
        if tuple(teacher.diffusion_shape) != tuple(teacher.data_shape):
            raise ValueError(
                f"{owner}: `teacher` must diffuse the data itself, got a {type(teacher).__name__} that diffuses "
                f"latents of shape {tuple(teacher.diffusion_shape)}"
            )
        if tuple(teacher.data_shape) != self.data_shape:
            raise ValueError(
                f"{owner}: `teacher` must take the student's input_shape {self.data_shape}, "
                f"got a teacher with input_shape {tuple(teacher.data_shape)}"
            )
        mine, theirs = self.label_spec(), teacher.label_spec()
        classes = [None if spec is None else spec.num_classes for spec in (mine, theirs)]
        if classes[0] != classes[1]:
            raise ValueError(f"{owner}: `teacher` must have the student's num_classes ({classes[0]}), got {classes[1]}")
        if teacher.data_range != self.data_range:
            raise ValueError(
                f"{owner}: `teacher` must map data to the model space as the student does (rescale), "
                f"got data_range {teacher.data_range} for the student's {self.data_range}"
            )
        if copy_weights:
            self._copy_teacher_weights(owner, teacher)
        self._teacher = _Frozen(teacher)
        # A new teacher's weights enter the training step: trace it again.
        self.train_function = None
        self.test_function = None

    def _copy_teacher_weights(self, owner, teacher):
        """Give the online, target and sampling networks the teacher's sampling weights."""
        if not self.starts_from_teacher:
            raise ValueError(
                f"{owner}: `copy_weights=True` needs parameterization='variance_preserving' (the teacher's way "
                f"of reading its network), got parameterization={self.config.parameterization!r}"
            )
        for name in (*TEACHER_NETWORK_FIELDS, *TEACHER_SCHEDULE_FIELDS):
            mine, theirs = getattr(self.config, name), getattr(teacher.config, name, None)
            if mine != theirs:
                raise ValueError(
                    f"{owner}: to start from the teacher's weights the student's `{name}` must be the teacher's "
                    f"({theirs!r}), got {mine!r}; ConsistencyModel.from_teacher(teacher) builds such a student"
                )
        # Copies, not the teacher's buffers: JAX would donate one buffer for several variables.
        values = [ops.convert_to_numpy(v) for v in teacher.sampling_network.weights]
        for network in {id(n): n for n in (self.online_network, self.target_network, self.sampling_network)}.values():
            if [tuple(v.shape) for v in network.weights] != [value.shape for value in values]:
                raise ValueError(f"{owner}: `teacher` must have the student's UNet, got different weight shapes")
            for target, value in zip(network.weights, values):
                target.assign(value)

    def teacher_denoiser(self, x, sigma, labels=None):
        """The teacher's EDM denoiser `D(x, sigma)`: its x0 estimate at a point `x = x0 + sigma z` of model space.

        See `variance_preserving_denoiser`; under stop-gradient.
        """
        teacher = self.teacher
        if teacher is None:
            raise ValueError(self._no_teacher_message(f"{type(self).__name__}.teacher_denoiser"))
        # Reading the teacher's prediction kind: DDPM offers no accessor for it.
        x0 = variance_preserving_denoiser(
            teacher.denoiser_function(labels), teacher.schedule, teacher.config.prediction, x, sigma
        )
        return ops.stop_gradient(x0)

    def teacher_step(self, x, sigma_from, sigma_to, labels=None):
        """The teacher's ODE step (`teacher_solver`) from `sigma_from` to `sigma_to`, under stop-gradient."""
        step = edm_ode_step(
            lambda value, sigma: self.teacher_denoiser(value, sigma, labels),
            x,
            sigma_from,
            sigma_to,
            self.config.teacher_solver,
        )
        return ops.stop_gradient(step)

    def _no_teacher_message(self, owner):
        return (
            f"{owner}: mode='distillation' needs a teacher: pass `teacher=` (a trained DDPM) to the "
            "constructor or call set_teacher(ddpm), got None"
        )

    # The consistency function -------------------------------------------------------
    def scalings(self, sigma):
        """`(c_skip, c_out, c_in)` float32 tensors at noise levels `sigma`."""
        config = self.config
        sigma = ops.cast(sigma, "float32")
        data2 = config.sigma_data**2
        offset = sigma - config.sigma_min
        c_skip = data2 / (ops.square(offset) + data2)
        c_out = config.sigma_data * offset * ops.rsqrt(data2 + ops.square(sigma))
        c_in = ops.rsqrt(ops.square(sigma) + data2)
        return c_skip, c_out, c_in

    def noise_input(self, sigma):
        """What the UNet reads as its timestep: `250 log(sigma)`."""
        return TIME_SCALE * ops.log(ops.cast(sigma, "float32"))

    def consistency_output(self, network, x, sigma, labels=None, training=False):
        """`f(x, sigma) = c_skip x + c_out network(c_in x, 250 log sigma)`, `sigma` `(batch,)`.

        With `parameterization="variance_preserving"`: `c_skip x + (sigma -
        sigma_min) / sigma (D - c_skip_edm x)`, `D` the network's x0 estimate.
        """
        config = self.config
        x = ops.cast(x, "float32")
        sigma = ops.cast(sigma, "float32")
        c_skip, c_out, c_in = (broadcast_to(c, x) for c in self.scalings(sigma))
        if not self.starts_from_teacher:
            output = network(c_in * x, self.noise_input(sigma), labels, training=training)
            return c_skip * x + c_out * ops.cast(output, "float32")
        denoised = variance_preserving_denoiser(
            lambda x_t, t: network(x_t, t, labels, training=training),
            self.network_schedule,
            config.prediction,
            x,
            sigma,
        )
        data2 = config.sigma_data**2
        c_skip_edm = broadcast_to(data2 / (ops.square(sigma) + data2), x)
        weight = broadcast_to((sigma - config.sigma_min) / sigma, x)
        return c_skip * x + weight * (denoised - c_skip_edm * x)

    def consistency_function(self, labels=None, guidance_scale=None, network=None):
        """`f(x, sigma)` for the sampler, with classifier-free guidance if asked (see `guided_function`)."""
        network = network or self.sampling_network

        def function(x, sigma, labels=None):
            return self.consistency_output(network, x, sigma, labels)

        return self.guided_function(function, labels, guidance_scale)

    # Discretisation -------------------------------------------------------------------
    def discretisation(self, step):
        """`(N, mu)` float32 tensors at training step `step`: the number of levels and the target's decay.

        Progressive: `N(k) = ceil(sqrt(k / K ((s1 + 1)^2 - s0^2) + s0^2) - 1) + 1` and
        `mu(k) = exp(s0 log(mu0) / N(k))` (Song et al., 2023, appendix C).
        """
        config = self.config
        if config.scales_schedule == "fixed":
            return ops.convert_to_tensor(float(config.num_scales)), ops.convert_to_tensor(config.target_decay)
        k = ops.clip(ops.cast(step, "float32"), 0.0, float(config.total_steps))
        s0, s1 = float(config.initial_scales), float(config.final_scales)
        grown = ops.sqrt(k / config.total_steps * ((s1 + 1.0) ** 2 - s0**2) + s0**2)
        # A hair below the exact value, so float32 rounding of a whole number does not add a level.
        num_scales = ops.ceil(grown - 1.0 - 1e-4) + 1.0
        num_scales = ops.maximum(num_scales, 2.0)
        mu = ops.exp(s0 * math.log(config.target_decay) / num_scales) if config.target_decay > 0 else 0.0 * k
        return num_scales, mu

    def sigma_at(self, index, num_scales):
        """The Karras level `index` (0: `sigma_min`) of a grid of `num_scales` levels, as float32 tensors."""
        config = self.config
        index = ops.cast(index, "float32")
        low, high = config.sigma_min ** (1.0 / config.rho), config.sigma_max ** (1.0 / config.rho)
        sigma = ops.power(low + index / (num_scales - 1.0) * (high - low), config.rho)
        sigma = ops.where(index <= 0.0, config.sigma_min, sigma)
        return ops.where(index >= num_scales - 1.0, config.sigma_max, sigma)

    def _training_step(self):
        optimizer = getattr(self, "optimizer", None)
        return 0 if optimizer is None else ops.cast(optimizer.iterations, "float32")

    # Training -----------------------------------------------------------------------
    def check_training_data(self, x, y, method):
        if self.config.mode == "distillation" and self.teacher is None:
            raise ValueError(self._no_teacher_message(f"{type(self).__name__}.{method}"))
        super().check_training_data(x, y, method)

    def distance(self, a, b):
        """Per-example distance `(batch,)` of the loss: mean squared difference, or pseudo-Huber."""
        difference = ops.cast(a, "float32") - ops.cast(b, "float32")
        axes = tuple(range(1, len(difference.shape)))
        if self.config.loss_metric == "l2":
            return ops.mean(ops.square(difference), axis=axes)
        c = self.huber_c
        return ops.sqrt(ops.sum(ops.square(difference), axis=axes) + c**2) - c

    @property
    def huber_c(self):
        """The pseudo-Huber constant: the config's, or `0.00054 sqrt(dimension)`."""
        if self.config.huber_c is not None:
            return float(self.config.huber_c)
        return HUBER_PER_ROOT_DIM * math.sqrt(math.prod(self.data_shape))

    def consistency_loss(self, x, noise, index, labels=None, num_scales=None, training=False):
        """Mean over the batch of `d(f(x + sigma_{n+1} z, sigma_{n+1}), f_target(x_n, sigma_n))`.

        `x_n = x + sigma_n z` (training) or the teacher's ODE step from
        `x + sigma_{n+1} z` (distillation); `sigma_n` is level `index` `(batch,)`
        of the Karras grid of `num_scales` levels (default `num_scales` of the config).
        """
        num_scales = float(self.config.num_scales) if num_scales is None else num_scales
        x = ops.cast(x, "float32")
        noise = ops.cast(noise, "float32")
        sigma_low = self.sigma_at(index, num_scales)
        sigma_high = self.sigma_at(ops.cast(index, "float32") + 1.0, num_scales)
        x_high = x + broadcast_to(sigma_high, x) * noise
        if self.config.mode == "training":
            x_low = x + broadcast_to(sigma_low, x) * noise
        else:
            x_low = self.teacher_step(x_high, sigma_high, sigma_low, labels)
        online = self.consistency_output(self.online_network, x_high, sigma_high, labels, training=training)
        target = ops.stop_gradient(self.consistency_output(self.target_network, x_low, sigma_low, labels))
        return ops.mean(self.distance(online, target))

    def compute_generative_loss(self, data, training=True):
        x, labels = self.unpack_batch(data)
        batch = ops.shape(x)[0]
        num_scales, _ = self.discretisation(self._training_step())
        # n uniform on {0, ..., N - 2}: the pair (sigma_n, sigma_{n+1}).
        uniform = keras.random.uniform((batch,), seed=self.seed_generator)
        index = ops.minimum(ops.floor(uniform * (num_scales - 1.0)), num_scales - 2.0)
        noise = keras.random.normal(ops.shape(x), seed=self.seed_generator)
        loss = self.consistency_loss(x, noise, index, self.drop_condition(labels), num_scales, training=training)
        return loss, {"loss": loss}

    def after_training_step(self):
        # The optimizer has counted this step already: its decay is that of step `iterations - 1`.
        _, mu = self.discretisation(self._training_step() - 1.0)
        for source, target, averaged in self.target_average.pairs():
            value = ops.stop_gradient(source.value)
            if averaged:
                value = mu * target.value + (1.0 - mu) * value
            target.assign(ops.cast(value, target.dtype))
        super().after_training_step()

    def call(self, inputs, sigma=None, training=False):
        """`f(x, sigma)` of the online network at `inputs` (`x` or `(x, labels)`, model space), `sigma` default 1."""
        x, labels = self.call_inputs(inputs)
        if sigma is None:
            sigma = ops.ones((ops.shape(x)[0],), dtype="float32")
        return self.consistency_output(self.online_network, x, sigma, labels, training=training)

    # Sampling -----------------------------------------------------------------------
    def default_sampler(self):
        return ConsistencySampler(steps=self.config.sampling_steps, sigmas=self.config.sampling_sigmas)

    def check_sampler(self, owner, sampler):
        sampler.check_range(owner, self.config.sigma_min, self.config.sigma_max)

    def generate(self, num_samples, seed=None, batch_size=1024, sampler=None, steps=None, sigmas=None, **kwargs):
        """Draw `num_samples` samples (NumPy); `steps=` or `sigmas=` choose a `ConsistencySampler`.

        Args:
            steps: network evaluations (1: one step from `sigma_max` noise).
            sigmas: decreasing intermediate levels to re-noise to (Algorithm 1).
            (the other arguments as `ClassifierFreeGuidance.generate`)

        Example:
        ```python
        model.generate(16, seed=0)                   # one step
        model.generate(16, steps=2)                  # one re-noising
        model.generate(16, sigmas=[10.0, 1.0])       # three evaluations
        ```
        """
        owner = f"{type(self).__name__}.generate"
        if steps is not None or sigmas is not None:
            if sampler is not None:
                raise ValueError(f"{owner}: pass `sampler` or `steps`/`sigmas`, not both, got sampler={sampler!r}")
            if steps is not None:
                validation.check_positive_int(owner, "steps", steps)
            sampler = ConsistencySampler(steps=steps, sigmas=sigmas)
        return super().generate(num_samples, seed=seed, batch_size=batch_size, sampler=sampler, **kwargs)

    def sample(
        self, num_samples, seed_generator, sampler=None, labels=None, guidance_scale=None, return_trajectory=False
    ):
        config = self.config
        sampler = sampler or self.default_sampler()
        noise = keras.random.normal((num_samples, *config.input_shape), seed=seed_generator)
        result = sampler.sample(
            self.consistency_function(labels, guidance_scale),
            noise,
            seed_generator,
            config.sigma_min,
            config.sigma_max,
            config.rho,
            return_trajectory=return_trajectory,
        )
        return self.samples_from_model_space(result, return_trajectory)


def _timesteps_from_sigma(schedule, sigma):
    """Fractional timesteps of a `NoiseSchedule` whose EDM level is `sigma` (log-linear, clamped), as tensors."""
    table = ops.convert_to_tensor(schedule.log_edm_sigmas.astype("float32"))
    size = schedule.num_timesteps
    log_sigma = ops.log(ops.reshape(sigma, (-1, 1)))
    # The first table entry above log(sigma), kept inside [1, size - 1].
    above = ops.sum(ops.cast(table[None, :] <= log_sigma, "int32"), axis=1)
    high = ops.clip(above, 1, size - 1)
    low = high - 1
    low_value, high_value = ops.take(table, low), ops.take(table, high)
    weight = ops.clip((ops.reshape(log_sigma, (-1,)) - low_value) / (high_value - low_value), 0.0, 1.0)
    return ops.cast(low, "float32") + weight
