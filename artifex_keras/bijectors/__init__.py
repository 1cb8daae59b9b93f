"""Invertible transforms with log-determinants: the building blocks of normalizing flows.

Every bijector is a Keras layer with `forward(x, context=None) -> (y, log_det)`
and `inverse(y, context=None) -> (x, log_det)`; compose them with `Chain` and
put a base distribution under them to get a flow.

Example:
```python
from artifex_keras import bijectors

flow = bijectors.Chain([
    bijectors.MaskedAutoregressive(hidden_units=(64, 64), transformer="spline"),
    bijectors.ReversePermutation(),
    bijectors.MaskedAutoregressive(hidden_units=(64, 64), transformer="spline"),
]).build_for((2,))
z, log_det = flow.forward(x)
log_p = bijectors.DiagonalGaussian((2,)).log_prob(z) + log_det
```
"""

from artifex_keras.bijectors.actnorm import ActNorm
from artifex_keras.bijectors.actnorm import data_initialization
from artifex_keras.bijectors.autoregressive import MaskedAutoregressive
from artifex_keras.bijectors.base import Bijector
from artifex_keras.bijectors.chain import Chain
from artifex_keras.bijectors.coupling import Coupling
from artifex_keras.bijectors.coupling import coupling_mask
from artifex_keras.bijectors.dequantization import UniformDequantization
from artifex_keras.bijectors.dequantization import VariationalDequantization
from artifex_keras.bijectors.distributions import ConditionalDiagonalGaussian
from artifex_keras.bijectors.distributions import DiagonalGaussian
from artifex_keras.bijectors.elementwise import Affine
from artifex_keras.bijectors.elementwise import RationalQuadraticSpline
from artifex_keras.bijectors.invert import Invert
from artifex_keras.bijectors.linear import Invertible1x1Conv
from artifex_keras.bijectors.linear import InvertibleLinear
from artifex_keras.bijectors.logit import Logit
from artifex_keras.bijectors.made import MaskedDense
from artifex_keras.bijectors.permutation import Permutation
from artifex_keras.bijectors.permutation import RandomPermutation
from artifex_keras.bijectors.permutation import ReversePermutation
from artifex_keras.bijectors.splines import rational_quadratic_spline
from artifex_keras.bijectors.split import Split
from artifex_keras.bijectors.squeeze import Squeeze

__all__ = [
    "ActNorm",
    "Affine",
    "Bijector",
    "Chain",
    "ConditionalDiagonalGaussian",
    "Coupling",
    "DiagonalGaussian",
    "Invert",
    "Invertible1x1Conv",
    "InvertibleLinear",
    "Logit",
    "MaskedAutoregressive",
    "MaskedDense",
    "Permutation",
    "RandomPermutation",
    "RationalQuadraticSpline",
    "ReversePermutation",
    "Split",
    "Squeeze",
    "UniformDequantization",
    "VariationalDequantization",
    "coupling_mask",
    "data_initialization",
    "rational_quadratic_spline",
]
