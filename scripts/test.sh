#!/usr/bin/env bash
# Lint, then run the test suite once per Keras backend (JAX, TensorFlow, PyTorch), on two workers
# (TEST_WORKERS) so both cores of a small machine compile and run tests; an idle worker takes queued tests
# from the busy one.
set -u
python=${PYTHON:-.venv/bin/python}
status=0
echo "=== ruff check ==="
"$python" -m ruff check . || status=1
for backend in ${BACKENDS:-jax tensorflow torch}; do
  echo "=== KERAS_BACKEND=$backend ==="
  KERAS_BACKEND=$backend "$python" -m pytest -q -p no:cacheprovider -n "${TEST_WORKERS:-2}" --dist worksteal "$@" || status=1
done
exit $status
