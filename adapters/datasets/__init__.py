"""Image datasets available offline, as float32 arrays of shape (n, 1, H, W) in [0, 1].

- :func:`load_digits_images`: scikit-learn's 8x8 digits (ships with scikit-learn), upsampled.
- :func:`load_fashion_mnist`: Fashion-MNIST IDX files from a local root (Debian's
  ``dataset-fashion-mnist`` installs them in ``/usr/share/datasets/fashion-mnist``).
- :mod:`transfergraph.adapters.datasets.shifts`: domain shifts (rotation, inversion, noise, blur, scale).
"""
from transfergraph.adapters.datasets.digits import load_digits_images
from transfergraph.adapters.datasets.fashion_mnist import DEFAULT_FASHION_MNIST_ROOT, fashion_mnist_available, load_fashion_mnist

__all__ = [
    "load_digits_images",
    "load_fashion_mnist",
    "fashion_mnist_available",
    "DEFAULT_FASHION_MNIST_ROOT",
]
