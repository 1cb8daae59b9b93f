"""DiT: the DDPM objective, schedules and samplers with a Transformer on image patches as the denoiser."""

import dataclasses

from artifex_keras.layers.dit import DiTBackbone
from artifex_keras.models.diffusion.ddpm import DDPM
from artifex_keras.models.diffusion.ddpm import DiffusionConfig
from artifex_keras.models.registration import register_model


@dataclasses.dataclass(frozen=True)
class DiTConfig(DiffusionConfig):
    """Configuration of a `DiT`: the backbone's fields (the diffusion fields are `DiffusionConfig`'s).

    Args:
        input_shape: `(height, width, channels)`; height and width must be
            divisible by `patch_size`.
        patch_size: side of the square patches that become tokens.
        hidden_size: size of the tokens (divisible by `num_heads` and by 4).
        depth: number of Transformer blocks.
        num_heads: attention heads per block.
        mlp_ratio: MLP hidden units per token feature.
        (other fields as in `DiffusionConfig`)
    """

    input_shape: tuple = (32, 32, 4)
    patch_size: int = 2
    hidden_size: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0

    def validate(self):
        super().validate()
        self.check_positive_int("patch_size")
        height, width = self.input_shape[:2]
        if height % self.patch_size or width % self.patch_size:
            self._fail(
                "patch_size", f"a divisor of the height and width of input_shape ({height}x{width})", self.patch_size
            )
        self.check_positive_int("hidden_size")
        if self.hidden_size % 4:
            self._fail("hidden_size", "a multiple of 4 (the 2-D sin-cos positions)", self.hidden_size)
        self.check_positive_int("depth")
        self.check_positive_int("num_heads")
        if self.hidden_size % self.num_heads:
            self._fail("num_heads", f"a divisor of hidden_size ({self.hidden_size})", self.num_heads)
        self.check_number("mlp_ratio", low=0.0, low_inclusive=False)
        if int(self.hidden_size * self.mlp_ratio) < 1:
            self._fail("mlp_ratio", f"at least 1 / hidden_size ({self.hidden_size})", self.mlp_ratio)


@register_model("dit")
class DiT(DDPM):
    """Diffusion Transformer: `DDPM`'s training and sampling with a DiT backbone (adaLN-Zero blocks on patches).

    Everything but the network is `DDPM`'s: the schedule, the prediction
    target and loss weighting, the moving average `generate` samples with,
    any `DiffusionSampler`, and, with `num_classes`, label dropout in
    training and classifier-free guidance `eps_u + w (eps_c - eps_u)` in
    `generate(n, labels=..., guidance_scale=w)`. The network (`DiTBackbone`)
    cuts `x_t` into `patch_size` patches, runs `depth` Transformer blocks
    whose layer norms and residual gates are regressed from the timestep
    and class embedding, and outputs exactly zero before training.

    Args:
        config: a `DiTConfig`, or pass its fields as keyword arguments.

    Example:
    ```python
    x, y = artifex_keras.data.load("digits")
    model = DiT(input_shape=(8, 8, 1), patch_size=2, hidden_size=32, depth=2, num_heads=4, num_classes=10)
    model.compile()
    model.fit(x, y, epochs=2, batch_size=64)
    samples = model.generate(10, labels=np.arange(10), guidance_scale=3.0, seed=0)
    ```

    Reference:
        Peebles & Xie, "Scalable Diffusion Models with Transformers", ICCV 2023;
        Ho & Salimans, "Classifier-Free Diffusion Guidance", 2022.
    """

    config_class = DiTConfig
    guidance_requirement = "a class-conditional {name} (num_classes set)"

    @property
    def context_shape(self):
        """None: the DiT backbone conditions on labels only."""
        return None

    def build_denoiser(self, name):
        config = self.config
        backbone = DiTBackbone(
            out_channels=config.input_shape[-1],
            patch_size=config.patch_size,
            hidden_size=config.hidden_size,
            depth=config.depth,
            num_heads=config.num_heads,
            mlp_ratio=config.mlp_ratio,
            num_classes=config.num_classes,
            name=name,
        )
        # Build now: on JAX, variables created inside a traced step are lost.
        labels_shape = None if config.num_classes is None else (None,)
        backbone.build((None, *config.input_shape), (None,), labels_shape)
        return backbone
