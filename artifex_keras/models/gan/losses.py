"""Adversarial losses: what the discriminator and the generator each minimise, from the discriminator's logits.

Every function takes raw discriminator outputs (logits for the
probabilistic losses, scores for the Wasserstein and hinge losses) and
returns a scalar batch mean in float32.

Example:
```python
from artifex_keras.models.gan import losses
d_loss = losses.discriminator_loss("hinge", real_logits, fake_logits)
g_loss = losses.generator_loss("hinge", fake_logits)
```
"""

from keras import ops

# Names of the adversarial losses, as `GANConfig.loss` takes them.
LOSSES = ("vanilla", "non_saturating", "least_squares", "wasserstein", "hinge")
# Losses that compare outputs with real/fake targets, so label smoothing applies.
SMOOTHABLE = ("vanilla", "non_saturating", "least_squares")


def _float(values):
    return ops.cast(values, "float32")


def check_loss(owner, loss, label_smoothing=0.0):
    """Raise a clear error for an unknown loss name or label smoothing it cannot use."""
    if loss not in LOSSES:
        raise ValueError(f"{owner}: `loss` must be one of {', '.join(LOSSES)}, got {loss!r}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"{owner}: `label_smoothing` must lie in [0, 1), got {label_smoothing!r}")
    if label_smoothing and loss not in SMOOTHABLE:
        raise ValueError(
            f"{owner}: `label_smoothing` applies to the {', '.join(SMOOTHABLE)} losses only; "
            f"the {loss} loss has no targets to smooth, got label_smoothing={label_smoothing!r}"
        )


def binary_cross_entropy_with_logits(logits, target):
    """Per-element `-t log sigmoid(l) - (1 - t) log sigmoid(-l)`, stable for large `|l|`."""
    logits = _float(logits)
    return target * ops.softplus(-logits) + (1.0 - target) * ops.softplus(logits)


def discriminator_loss(loss, real_logits, fake_logits, label_smoothing=0.0):
    """The discriminator's (critic's) loss for `loss` in `LOSSES`.

    Args:
        loss: the loss name.
        real_logits: discriminator outputs on real data.
        fake_logits: discriminator outputs on generated data.
        label_smoothing: one-sided smoothing: real targets become
            `1 - label_smoothing` (Salimans et al. 2016); only for the
            losses in `SMOOTHABLE`.
    """
    check_loss("discriminator_loss", loss, label_smoothing)
    real, fake = _float(real_logits), _float(fake_logits)
    real_target = 1.0 - label_smoothing
    if loss in ("vanilla", "non_saturating"):
        return ops.mean(binary_cross_entropy_with_logits(real, real_target)) + ops.mean(
            binary_cross_entropy_with_logits(fake, 0.0)
        )
    if loss == "least_squares":
        # Mao et al. 2017, eq. 2 with a = 0, b = 1 (b = 1 - smoothing).
        return 0.5 * ops.mean(ops.square(real - real_target)) + 0.5 * ops.mean(ops.square(fake))
    if loss == "wasserstein":
        return ops.mean(fake) - ops.mean(real)
    # Hinge (Lim & Ye 2017; Miyato et al. 2018).
    return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))


def generator_loss(loss, fake_logits):
    """The generator's loss for `loss` in `LOSSES`, from the discriminator's outputs on generated data.

    `"vanilla"` is the saturating minimax loss `E[log(1 - D(G(z)))]` of
    Goodfellow et al. 2014; `"non_saturating"` is `-E[log D(G(z))]`.
    """
    check_loss("generator_loss", loss)
    fake = _float(fake_logits)
    if loss == "vanilla":
        # log(1 - sigmoid(l)) = -softplus(l).
        return -ops.mean(ops.softplus(fake))
    if loss == "non_saturating":
        return ops.mean(ops.softplus(-fake))
    if loss == "least_squares":
        # Mao et al. 2017, eq. 2 with c = 1.
        return 0.5 * ops.mean(ops.square(fake - 1.0))
    return -ops.mean(fake)
