"""Training objectives of diffusion models: prediction targets, loss weightings, timestep sampling.

A network predicts one of three targets at `x_t = alpha_t x0 + sigma_t eps`:
`"epsilon"` (the noise), `"x0"` (the data) or `"v" = alpha_t eps - sigma_t x0`.
Whatever the target, its squared error is a multiple of the x0 error:
`|eps_hat - eps|^2 = SNR |x0_hat - x0|^2` and `|v_hat - v|^2 = (SNR + 1) |x0_hat - x0|^2`.
A weighting is a weight `w(SNR)` on the x0 error, divided by that multiple,
so it means the same thing for every target:

* `"uniform"`: weight 1 on the target's own squared error (the "simple" loss of DDPM with epsilon);
* `"snr"`: `w = SNR` (with epsilon, the same as uniform);
* `"min_snr"`: `w = min(SNR, gamma)` (Hang et al., 2023);
* `"edm"`: `w = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2 = SNR + 1 / sigma_data^2`, EDM's
  `lambda(sigma)` with `sigma^2 = 1 / SNR` (Karras et al., 2022, table 1).

Example:
```python
from artifex_keras.models.diffusion import objectives
t = objectives.sample_timesteps("logit_normal", 1000, batch, seed_generator)
weight = objectives.loss_weight("min_snr", "v", schedule.snr(t), min_snr_gamma=5.0)
```
"""

import keras
from keras import ops

from artifex_keras.samplers.schedules import PREDICTIONS
from artifex_keras.samplers.schedules import predicted_x0_and_noise
from artifex_keras.samplers.schedules import prediction_target

WEIGHTINGS = ("uniform", "snr", "min_snr", "edm")
TIMESTEP_SAMPLINGS = ("uniform", "logit_normal")

__all__ = [
    "PREDICTIONS",
    "TIMESTEP_SAMPLINGS",
    "WEIGHTINGS",
    "loss_weight",
    "predicted_x0_and_noise",
    "prediction_target",
    "sample_timesteps",
    "target_scale",
]


def target_scale(prediction, snr):
    """`|target_hat - target|^2 / |x0_hat - x0|^2` for `prediction`: SNR, 1 or SNR + 1."""
    if prediction == "epsilon":
        return snr
    if prediction == "x0":
        return ops.ones_like(snr)
    if prediction == "v":
        return snr + 1.0
    raise ValueError(
        f"target_scale: `prediction` must be one of {', '.join(map(repr, PREDICTIONS))}, got {prediction!r}"
    )


def loss_weight(weighting, prediction, snr, min_snr_gamma=5.0, sigma_data=0.5):
    """Per-example weight of the squared error on `prediction`'s target, given the SNR of each example.

    Args:
        weighting: "uniform", "snr", "min_snr" or "edm" (see the module docstring).
        prediction: "epsilon", "x0" or "v".
        snr: `alpha_t^2 / sigma_t^2` per example.
        min_snr_gamma: the clip `gamma` of "min_snr".
        sigma_data: the data's standard deviation in "edm".
    """
    snr = ops.cast(snr, "float32")
    if weighting == "uniform":
        return ops.ones_like(snr)
    if weighting == "snr":
        x0_weight = snr
    elif weighting == "min_snr":
        x0_weight = ops.minimum(snr, min_snr_gamma)
    elif weighting == "edm":
        x0_weight = snr + 1.0 / sigma_data**2
    else:
        raise ValueError(
            f"loss_weight: `weighting` must be one of {', '.join(map(repr, WEIGHTINGS))}, got {weighting!r}"
        )
    return x0_weight / target_scale(prediction, snr)


def sample_timesteps(kind, num_timesteps, batch_size, seed_generator, logit_mean=0.0, logit_std=1.0):
    """Float32 training timesteps `(batch_size,)` in `[0, num_timesteps - 1]`.

    `"uniform"`: integers drawn uniformly (DDPM). `"logit_normal"`:
    `u = sigmoid(m + s n)`, `n ~ N(0, 1)`, `t = u (num_timesteps - 1)`,
    fractional (the schedule interpolates), which spends more training on the
    middle noise levels (Esser et al., 2024, section 3.1).
    """
    if kind == "uniform":
        steps = keras.random.randint((batch_size,), 0, num_timesteps, seed=seed_generator)
        return ops.cast(steps, "float32")
    if kind == "logit_normal":
        normal = keras.random.normal((batch_size,), seed=seed_generator)
        return ops.sigmoid(logit_mean + logit_std * normal) * float(num_timesteps - 1)
    raise ValueError(
        f"sample_timesteps: `kind` must be one of {', '.join(map(repr, TIMESTEP_SAMPLINGS))}, got {kind!r}"
    )
