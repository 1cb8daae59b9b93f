"""The shared checks catch what they promise to catch (a check that cannot fail protects nothing)."""

import numpy as np
import pytest
from keras import ops

from tests.checks.bijectors import check_bijector
from tests.checks.bijectors import jacobian


class Affine:
    """`y = exp(log_scale) * x + shift` elementwise; `wrong` breaks one of its promises."""

    def __init__(self, size, wrong=None):
        rng = np.random.default_rng(0)
        self.log_scale = rng.normal(size=size).astype("float32")
        self.shift = rng.normal(size=size).astype("float32")
        self.wrong = wrong

    def forward(self, x):
        log_det = ops.sum(self.log_scale) * ops.ones((x.shape[0],))
        return ops.exp(self.log_scale) * x + ops.convert_to_tensor(self.shift), log_det

    def inverse(self, y):
        x = (y - ops.convert_to_tensor(self.shift)) * ops.exp(-self.log_scale)
        if self.wrong == "inverse":
            x = x + 1e-3
        log_det = -ops.sum(self.log_scale) * ops.ones((y.shape[0],))
        return x, -log_det if self.wrong == "sign" else log_det


class Linear:
    """`y = x W` with a dense `W`: the Jacobian has off-diagonal terms; `log |det W|` per example."""

    def __init__(self, size):
        rng = np.random.default_rng(1)
        self.weight = (rng.normal(size=(size, size)) + 2 * np.eye(size)).astype("float32")

    def forward(self, x, context=None):
        y = ops.matmul(x, self.weight) + (0.0 if context is None else ops.convert_to_tensor(context))
        return y, np.linalg.slogdet(self.weight)[1] * ops.ones((x.shape[0],))

    def inverse(self, y, context=None):
        y = y - (0.0 if context is None else ops.convert_to_tensor(context))
        return ops.matmul(y, np.linalg.inv(self.weight)), -np.linalg.slogdet(self.weight)[1] * ops.ones((y.shape[0],))


def _x(shape=(5, 3)):
    return np.random.default_rng(2).normal(size=shape).astype("float32")


def test_jacobian_matches_the_closed_form():
    linear = Linear(3)
    jac = jacobian(lambda t: linear.forward(t)[0], _x())
    np.testing.assert_allclose(jac, np.broadcast_to(linear.weight.T, (5, 3, 3)), rtol=1e-6)


def test_correct_bijectors_pass():
    check_bijector(Affine((2, 2)), _x((4, 2, 2)))
    check_bijector(Linear(3), _x())
    check_bijector(Linear(3), _x(), context=_x())


@pytest.mark.parametrize("wrong, message", [("sign", "inverse log_det != -forward log_det"),
                                            ("inverse", r"inverse\(forward\(x\)\) != x")])  # fmt: skip
def test_broken_bijectors_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_bijector(Affine(3, wrong=wrong), _x())


def test_a_log_det_that_disagrees_with_the_jacobian_fails():
    class HalfLogDet(Affine):
        def forward(self, x):
            y, log_det = super().forward(x)
            return y, 0.5 * log_det

        def inverse(self, y):
            x, log_det = super().inverse(y)
            return x, 0.5 * log_det

    with pytest.raises(AssertionError, match=r"log_det != log\|det J\|"):
        check_bijector(HalfLogDet(3), _x())
