import pytest

from tests.bijectors.cases import CONTEXT_CASES
from tests.bijectors.cases import IMAGE_CASES
from tests.bijectors.cases import VECTOR_CASES
from tests.bijectors.cases import build_case
from tests.checks.bijectors import check_bijector

# Every bijector class, transformer and ordering once (kept small: eager JAX compiles every op
# for every new shape); all the other combinations run with --run-slow.
DEFAULT = (
    "permutation", "reverse_permutation", "random_permutation", "invertible_linear", "affine", "spline", "actnorm",
    "logit", "chain", "coupling_half_affine_0", "made_natural_affine", "made_reversed_affine", "made_random_affine",
    "made_explicit_affine", "iaf_natural_affine", "squeeze", "conv1x1", "coupling_checkerboard_affine",
    "made_context_spline", "coupling_image_context",
)  # fmt: skip
ALL = sorted(VECTOR_CASES) + sorted(IMAGE_CASES) + sorted(CONTEXT_CASES)


@pytest.mark.parametrize(
    "name", [name if name in DEFAULT else pytest.param(name, marks=pytest.mark.slow) for name in ALL]
)
def test_every_bijector_is_exactly_invertible_with_the_autodiff_log_det(name):
    bijector, x, context, y = build_case(name)
    check_bijector(bijector, x, context=context, y=y)


def test_default_cases_exist():
    assert set(DEFAULT) <= set(ALL)
