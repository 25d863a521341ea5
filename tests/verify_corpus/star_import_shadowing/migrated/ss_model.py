"""A model module that takes its evaluation spike from ss_readout and the surrogates by star
import: it relies on `sigmoid_spike` being ss_readout's."""
import torch

from ss_readout import sigmoid_spike
from ss_surrogates import *  # noqa: F403


def train_spikes(mem: torch.Tensor) -> torch.Tensor:
    return SigmoidSpike.apply(mem, 5.0)  # noqa: F405


def eval_spikes(mem: torch.Tensor) -> torch.Tensor:
    return sigmoid_spike(mem, 0.5)
