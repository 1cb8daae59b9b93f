"""Every bijector and ordering, with small inputs and nontrivial weights, for the shared bijector checks."""

import keras
import numpy as np

from artifex_keras import bijectors as bj

VECTOR = (3,)
IMAGE = (4, 4, 2)
CONTEXT_DIM = 2


def perturb(bijector, scale=0.1, seed=0):
    """Move every trainable weight away from its (often identity) initial value, reproducibly."""
    rng = np.random.default_rng(seed)
    for weight in bijector.trainable_weights:
        value = np.asarray(keras.ops.convert_to_numpy(weight))
        weight.assign(value + scale * rng.standard_normal(value.shape).astype("float32"))
    return bijector


def _vector_cases():
    cases = {
        "permutation": lambda: bj.Permutation([2, 0, 1]),
        "reverse_permutation": lambda: bj.ReversePermutation(),
        "random_permutation": lambda: bj.RandomPermutation(seed=3),
        "invertible_linear": lambda: bj.InvertibleLinear(seed=1),
        "affine": lambda: bj.Affine(),
        "spline": lambda: bj.RationalQuadraticSpline(num_bins=5, bound=2.0),
        "actnorm": lambda: bj.ActNorm(),
        "logit": lambda: bj.Logit(alpha=0.05),
        "chain": lambda: bj.Chain([bj.Affine(), bj.RandomPermutation(seed=1), bj.InvertibleLinear(seed=2)]),
    }
    for mask in ("half", "alternate"):
        for transformer in ("affine", "spline"):
            for parity in (False, True):
                cases[f"coupling_{mask}_{transformer}_{int(parity)}"] = (
                    lambda m=mask, t=transformer, p=parity: bj.Coupling(m, parity=p, hidden_units=(8,), transformer=t)
                )
    for ordering in ("natural", "reversed", "random", [2, 3, 1]):
        name = ordering if isinstance(ordering, str) else "explicit"
        for transformer in ("affine", "spline"):
            cases[f"made_{name}_{transformer}"] = lambda o=ordering, t=transformer: bj.MaskedAutoregressive(
                (8, 8), ordering=o, transformer=t, seed=5
            )
            cases[f"iaf_{name}_{transformer}"] = lambda o=ordering, t=transformer: bj.Invert(
                bj.MaskedAutoregressive((8,), ordering=o, transformer=t, seed=5)
            )
    return cases


def _image_cases():
    return {
        "squeeze": lambda: bj.Squeeze(),
        "conv1x1": lambda: bj.Invertible1x1Conv(seed=0),
        "actnorm_image": lambda: bj.ActNorm(),
        "coupling_checkerboard_affine": lambda: bj.Coupling("checkerboard", hidden_units=(4,)),
        "coupling_checkerboard_spline": lambda: bj.Coupling("checkerboard", parity=True, hidden_units=(4,),
                                                            transformer="spline"),  # fmt: skip
        "coupling_channel_affine": lambda: bj.Coupling("channel", hidden_units=(4,)),
        "coupling_channel_spline": lambda: bj.Coupling(
            "channel", parity=True, hidden_units=(4,), transformer="spline"
        ),
        "split": lambda: bj.Split(bj.Chain([bj.Squeeze(), bj.Coupling("channel", hidden_units=(4,))])),
        "glow_step": lambda: bj.Chain(
            [bj.ActNorm(), bj.Invertible1x1Conv(seed=1), bj.Coupling("channel", hidden_units=(4,))]
        ),
    }


def _context_cases():
    return {
        "coupling_context": lambda: bj.Coupling(
            "half", hidden_units=(8,), transformer="spline", context_dim=CONTEXT_DIM
        ),
        "coupling_image_context": lambda: bj.Coupling("checkerboard", hidden_units=(4,), context_dim=CONTEXT_DIM),
        "made_context": lambda: bj.MaskedAutoregressive((8,), ordering="random", context_dim=CONTEXT_DIM, seed=1),
        "made_context_spline": lambda: bj.MaskedAutoregressive((8,), transformer="spline", context_dim=CONTEXT_DIM),
        "chain_context": lambda: bj.Chain([
            bj.MaskedAutoregressive((8,), context_dim=CONTEXT_DIM), bj.ReversePermutation(),
            bj.Coupling("alternate", hidden_units=(8,), context_dim=CONTEXT_DIM),
        ]),  # fmt: skip
    }


VECTOR_CASES = _vector_cases()
IMAGE_CASES = _image_cases()
CONTEXT_CASES = _context_cases()


def build_case(name):
    """`(bijector, x, context, y)`: a built bijector with perturbed weights, inputs, context and independent outputs."""
    rng = np.random.default_rng(7)
    if name in IMAGE_CASES:
        bijector, shape = IMAGE_CASES[name](), IMAGE
    elif name in CONTEXT_CASES:
        bijector, shape = CONTEXT_CASES[name](), (IMAGE if "image" in name else VECTOR)
    else:
        bijector, shape = VECTOR_CASES[name](), VECTOR
    bijector.build_for(shape)
    perturb(bijector)
    batch = 4
    x = rng.uniform(0.02, 0.98, (batch, *shape)) if name == "logit" else rng.standard_normal((batch, *shape))
    context = rng.standard_normal((batch, CONTEXT_DIM)).astype("float32") if name in CONTEXT_CASES else None
    y = rng.standard_normal((batch, *bijector.output_event_shape(shape))).astype("float32")
    return bijector, x.astype("float32"), context, y
