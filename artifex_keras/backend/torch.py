"""PyTorch trainer: autograd per phase, optimizer updates under `no_grad`."""

import keras
import torch

from artifex_keras.backend.common import apply_updates
from artifex_keras.backend.common import run_evaluation_phases
from artifex_keras.backend.common import run_training_phases


def _phase_gradients(phase, data):
    loss, logs = phase.loss_fn(data, training=True)
    scaled = phase.optimizer.scale_loss(loss)
    # autograd.grad (not backward) so other phases' variables keep no stale .grad
    grads = torch.autograd.grad(scaled, [v.value for v in phase.variables], allow_unused=True)
    return loss.detach(), {k: v.detach() for k, v in logs.items()}, list(grads)


def _apply_without_grad(optimizer, grads, variables):
    with torch.no_grad():
        apply_updates(optimizer, grads, variables)


class TorchPhaseTrainer:
    """Mixin giving a `keras.Model` the phase-based `train_step` on PyTorch."""

    def train_step(self, data):
        with torch.enable_grad():
            return run_training_phases(self, data, _phase_gradients, apply=_apply_without_grad)

    def test_step(self, data):
        with torch.no_grad():
            return run_evaluation_phases(self, data)


class TorchCompiledFunction:
    """PyTorch runs eagerly: the function is called under `torch.no_grad()`, so no autograd graph is built."""

    def __init__(self, fn):
        self.fn = fn
        self.traces = 0

    def __call__(self, variables, seed_generator, *args):
        # As `jax.jit` and `tf.function` do, hand the function tensors, not NumPy arrays.
        args = keras.tree.map_structure(lambda a: a if a is None else keras.ops.convert_to_tensor(a), args)
        with torch.no_grad():
            return self.fn(seed_generator, *args)


def input_gradient(fn, x):
    """Gradient of `sum(fn(x))` with respect to `x`, differentiable again."""
    # Also under `no_grad` (compiled sampling calls): Langevin and HMC samplers need the gradient there.
    with torch.enable_grad():
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        total = fn(x).sum()
        (grad,) = torch.autograd.grad(total, x, create_graph=True)
    return grad


def value_and_input_gradient(fn, x):
    """`(fn(x), gradient of sum(fn(x)) with respect to x)` from one forward pass, both detached."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        values = fn(x)
        (grad,) = torch.autograd.grad(values.sum(), x)
    return values.detach(), grad


def device_name():
    """`"cpu"`, or the name of the first CUDA device."""
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
