import torch


def heaviside(x, thr):
    """Hard threshold used for evaluation (no surrogate)."""
    return (x > thr).to(x.dtype) * 2.0
