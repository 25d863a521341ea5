"""Data sets for the training demo, both without a download.

- scikit-learn's 8x8 digits (shipped inside the package): 1797 images, each a sequence of 64
  steps of one pixel, split 80/20 with a seeded permutation;
- MNIST from local IDX files (`--data DIR`: train-images-idx3-ubyte, train-labels-idx1-ubyte,
  t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally gzipped, `-idx` or `.idx`),
  each image a sequence of 784 / p steps of p pixels.

Pixels are scaled to [0, 1]. A bad file is reported with its path and what is wrong with it.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

IDX_UBYTE = 0x08
MNIST_FILES = {"train_images": "train-images", "train_labels": "train-labels",
               "test_images": "t10k-images", "test_labels": "t10k-labels"}


class DataError(Exception):
    """A data set that cannot be read; the message names the file."""


@dataclass
class Dataset:
    name: str
    train_x: torch.Tensor  # (N, T, features) in [0, 1]
    train_y: torch.Tensor  # (N,) int64
    test_x: torch.Tensor
    test_y: torch.Tensor

    @property
    def steps(self) -> int:
        return self.train_x.shape[1]

    @property
    def features(self) -> int:
        return self.train_x.shape[2]


def digits(seed: int) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise DataError("the digits data set needs scikit-learn (pip install scikit-learn), "
                        "or give MNIST IDX files with --data DIR") from error
    loaded = load_digits()
    images = torch.as_tensor(loaded.images, dtype=torch.float32).reshape(-1, 64, 1) / 16.0
    labels = torch.as_tensor(loaded.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    cut = int(0.8 * len(labels))
    train, test = order[:cut], order[cut:]
    return Dataset("scikit-learn digits 8x8, 64 steps of 1 pixel", images[train], labels[train], images[test],
                   labels[test])


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not) as an array of its declared shape."""
    try:
        raw = path.read_bytes()
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    except EOFError as error:
        raise DataError(f"{path}: truncated gzip stream") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (it must start with two zero bytes)")
    kind, dims = data[2], data[3]
    if kind != IDX_UBYTE:
        raise DataError(f"{path}: IDX element type 0x{kind:02x}; only unsigned bytes (0x08) are MNIST")
    header = 4 + 4 * dims
    if dims == 0 or len(data) < header:
        raise DataError(f"{path}: IDX header truncated ({dims} dimensions declared)")
    shape = struct.unpack(f">{dims}I", data[4:header])
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise DataError(f"{path}: header declares shape {list(shape)} ({expected} bytes), "
                        f"the file holds {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(folder: Path, stem: str, kind: str) -> Path:
    for name in (f"{stem}-{kind}", f"{stem}.{kind}"):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise DataError(f"{folder}: no {stem}-{kind} (or .gz); expected the four MNIST IDX files")


def mnist(folder: Path, pixels_per_step: int) -> Dataset:
    if not folder.is_dir():
        raise DataError(f"{folder}: not a directory")
    arrays: dict[str, np.ndarray] = {}
    paths: dict[str, Path] = {}
    for key, stem in MNIST_FILES.items():
        kind = "idx3-ubyte" if key.endswith("images") else "idx1-ubyte"
        paths[key] = _find(folder, stem, kind)
        arrays[key] = read_idx(paths[key])
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3:
            raise DataError(f"{paths[f'{split}_images']}: images must have 3 dimensions, found {images.ndim}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{paths[f'{split}_labels']}: {labels.shape[0] if labels.ndim else 0} labels "
                            f"for {len(images)} images in {paths[f'{split}_images'].name}")
        if labels.size and labels.max() > 9:
            raise DataError(f"{paths[f'{split}_labels']}: label {int(labels.max())} is not a digit 0-9")
    if arrays["test_images"].shape[1:] != arrays["train_images"].shape[1:]:
        raise DataError(f"{paths['test_images']}: images of {list(arrays['test_images'].shape[1:])} pixels, "
                        f"the training images have {list(arrays['train_images'].shape[1:])}")
    pixels = arrays["train_images"].shape[1] * arrays["train_images"].shape[2]
    if pixels_per_step < 1 or pixels % pixels_per_step:
        raise DataError(f"{paths['train_images']}: {pixels} pixels per image do not split into steps of "
                        f"{pixels_per_step}")

    def sequences(images: np.ndarray) -> torch.Tensor:
        flat = torch.as_tensor(images.reshape(len(images), -1).astype(np.float32) / 255.0)
        return flat.reshape(len(images), pixels // pixels_per_step, pixels_per_step)

    return Dataset(f"MNIST from {folder}, {pixels // pixels_per_step} steps of {pixels_per_step} pixels",
                   sequences(arrays["train_images"]), torch.as_tensor(arrays["train_labels"].astype(np.int64)),
                   sequences(arrays["test_images"]), torch.as_tensor(arrays["test_labels"].astype(np.int64)))
