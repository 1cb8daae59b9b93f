"""Test configuration: backend markers, seeding, and --run-slow."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The suite compiles hundreds of tiny models once each, so XLA's compile time, not the run time, is most of
# the JAX pass: compiling without most optimisations takes about 40% off it. Set it to 0 to test optimised code.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
# Under pytest-xdist each worker gets its share of the cores for OpenMP (PyTorch's threads). With one OpenMP
# thread per core in every worker, the workers' threads spin against each other: the PyTorch pass of the
# sampler tests took 57 s instead of 18 s on two cores and two workers.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _share = (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _share)))

import keras  # noqa: E402
import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_configure(config):
    config.addinivalue_line("markers", "jax_only: runs only under the JAX backend")


def pytest_collection_modifyitems(config, items):
    backend = keras.backend.backend()
    skip_slow = pytest.mark.skip(reason="slow: pass --run-slow")
    once = pytest.mark.skip(reason="cross-backend comparison runs once, in the jax pass")
    jax_only = pytest.mark.skip(reason=f"needs the jax backend, this pass is {backend}")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip_slow)
        if "cross_backend" in item.keywords and backend != "jax":
            item.add_marker(once)
        if "jax_only" in item.keywords and backend != "jax":
            item.add_marker(jax_only)
    # The guides are the longest tests (up to a minute each): start them first, so that no worker is left
    # running one alone at the end of the pass while the other idles.
    items.sort(key=lambda item: item.path.name != "test_guides.py")


@pytest.fixture(autouse=True)
def _seed_everything():
    keras.utils.set_random_seed(1234)
    yield
