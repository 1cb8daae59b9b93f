"""Beta-VAE with optional Burgess capacity annealing."""

import dataclasses

from keras import ops

from artifex_keras.models.registration import register_model
from artifex_keras.models.vae.vae import VAE
from artifex_keras.models.vae.vae import VAEConfig


@dataclasses.dataclass(frozen=True)
class BetaVAEConfig(VAEConfig):
    """Configuration of a `BetaVAE`.

    Args:
        beta: KL weight of the Higgins objective (used when `capacity_max` is 0).
        capacity_max: target KL capacity `C` in nats; when positive, the
            Burgess objective `recon + gamma * |KL - C|` is used instead.
        capacity_steps: steps over which `C` grows linearly from 0 to
            `capacity_max`.
        gamma: weight of the capacity term.
        (other fields as in `VAEConfig`)
    """

    beta: float = 4.0
    capacity_max: float = 0.0
    capacity_steps: int = 10000
    gamma: float = 100.0

    def validate(self):
        super().validate()
        self.check_number("capacity_max", low=0.0)
        self.check_positive_int("capacity_steps")
        self.check_number("gamma", low=0.0)


@register_model("beta_vae")
class BetaVAE(VAE):
    """Beta-VAE: a VAE whose KL term is re-weighted to favour disentangled latents.

    With `capacity_max == 0` it minimises `recon + beta * KL` (Higgins et al.);
    with `capacity_max > 0` it minimises `recon + gamma * |KL - C(t)|`, where the
    capacity `C(t)` grows linearly to `capacity_max` (Burgess et al., eq. 8).

    Args:
        config: a `BetaVAEConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    model = BetaVAE(input_shape=(8, 8, 1), latent_dim=6, capacity_max=25.0, capacity_steps=2000)
    model.compile()
    model.fit(x, epochs=1)
    ```

    Reference:
        Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a
        Constrained Variational Framework", ICLR 2017; Burgess et al.,
        "Understanding disentangling in beta-VAE", 2018.
    """

    config_class = BetaVAEConfig
    metric_names = ("loss", "reconstruction", "kl", "capacity")

    def capacity(self):
        """Current KL capacity `C(t)` in nats."""
        if self.optimizer is None:
            return ops.convert_to_tensor(self.config.capacity_max, "float32")
        progress = ops.cast(self.optimizer.iterations, "float32") / self.config.capacity_steps
        return self.config.capacity_max * ops.minimum(1.0, progress)

    def objective(self, reconstruction, kl):
        if self.config.capacity_max > 0:
            return reconstruction + self.config.gamma * ops.abs(kl - self.capacity())
        return super().objective(reconstruction, kl)

    def compute_generative_loss(self, data, training=True):
        loss, logs = super().compute_generative_loss(data, training=training)
        return loss, {**logs, "capacity": self.capacity()}
