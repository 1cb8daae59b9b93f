#!/usr/bin/env bash
# Train a small VAE for a few minutes on CPU; write samples.png and metrics.json.
set -eu
python=${PYTHON:-.venv/bin/python}
out=${DEMO_OUTPUT:-demo_output}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
if bash scripts/fetch_data.sh; then
  "$python" -m artifex_keras train vae_fashion_mnist --epochs "${DEMO_EPOCHS:-10}" --output "$out/vae_fashion_mnist"
else
  echo "Falling back to scikit-learn's 8x8 digits (shipped by the scikit-learn package)."
  "$python" -m artifex_keras train vae --data digits --epochs "${DEMO_EPOCHS:-60}" \
    --set latent_dim=8 --set 'hidden_dims=[128]' --output "$out/vae_digits"
fi
