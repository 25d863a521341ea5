"""Evaluation helpers: a hard spike with its own threshold (no surrogate)."""
import torch


def sigmoid_spike(mem: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return (mem > threshold).to(mem.dtype)
