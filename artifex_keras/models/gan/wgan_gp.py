"""`WGANGP`: the Wasserstein GAN with gradient penalty of Gulrajani et al."""

import dataclasses

from artifex_keras.models.gan.gan import GAN
from artifex_keras.models.gan.gan import GANConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class WGANGPConfig(GANConfig):
    """Configuration of a `WGANGP`: the Wasserstein loss, penalty weight 10 and 5 critic steps per generator step.

    Args:
        (the fields of `GANConfig`)
    """

    loss: str = "wasserstein"
    gradient_penalty_weight: float = 10.0
    n_critic: int = 5

    def validate(self):
        super().validate()
        if self.loss != "wasserstein":
            self._fail("loss", "'wasserstein'", self.loss)
        if not self.gradient_penalty_weight > 0:
            self._fail("gradient_penalty_weight", "a positive number", self.gradient_penalty_weight)


@register_model("wgan_gp")
class WGANGP(GAN):
    """Wasserstein GAN with gradient penalty: a critic kept 1-Lipschitz by penalising its input gradients.

    The critic (phase `"discriminator"`) minimises `E[D(G(z))] - E[D(x)] +
    lambda * E[(||grad D(x_hat)|| - 1)^2]` at random interpolates `x_hat`;
    the generator steps once per `n_critic` critic steps. Adam(1e-4,
    beta_1=0, beta_2=0.9) per phase, as in the paper.

    Args:
        config: a `WGANGPConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, _ = artifex_keras.data.load("digits")
    gan = WGANGP(input_shape=(8, 8, 1), latent_dim=16, generator_dims=(32, 16), discriminator_dims=(16, 32))
    gan.fit(x, epochs=2, batch_size=64)
    images = gan.generate(16, seed=0)
    ```

    Reference:
        Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    """

    config_class = WGANGPConfig
    optimizer_settings = (1e-4, 0.0, 0.9)
