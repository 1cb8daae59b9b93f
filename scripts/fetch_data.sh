#!/usr/bin/env bash
# Make Fashion-MNIST available offline, from Debian's `dataset-fashion-mnist`.
# Order: already installed; apt-get install (as root); apt-get download + dpkg-deb
# into ~/.cache/artifex_keras (any user). Exit 1 when none works: the caller then
# falls back to data that a PyPI package ships (scikit-learn's digits).
set -u
system_dir=/usr/share/datasets/fashion-mnist
cache_dir="${HOME}/.cache/artifex_keras/fashion-mnist"
have() { [ -f "$1/train-images-idx3-ubyte.gz" ] && [ -f "$1/t10k-labels-idx1-ubyte.gz" ]; }

if have "$system_dir" || have "$cache_dir/usr/share/datasets/fashion-mnist" || have "$cache_dir"; then
  echo "Fashion-MNIST: found"; exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "Fashion-MNIST: apt-get not available"; exit 1; }
if [ "$(id -u)" = 0 ]; then
  apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }
  have "$system_dir" && { echo "Fashion-MNIST: installed with apt-get"; exit 0; }
fi
tmp=$(mktemp -d)
if (cd "$tmp" && apt-get download dataset-fashion-mnist >/dev/null 2>&1); then
  mkdir -p "$cache_dir" && dpkg-deb -x "$tmp"/dataset-fashion-mnist_*.deb "$cache_dir"
fi
rm -rf "$tmp"
have "$cache_dir/usr/share/datasets/fashion-mnist" && { echo "Fashion-MNIST: unpacked into $cache_dir"; exit 0; }
echo "Fashion-MNIST: could not be fetched from the package registry"
exit 1
