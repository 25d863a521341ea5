"""fgi-rewrite: surrogate-gradient autograd.Function classes to forward gradient injection."""

__version__ = "0.1.0"
