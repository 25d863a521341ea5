"""`fgi-rewrite bench`: time custom-Function spikes against the FGI functions `rewrite` emits.

`bench spike` times one spike function alone; `bench alif` reproduces the FGI paper's timing
study on a recurrent ALIF layer, and `bench alif --train` trains the same model with both
variants from one seed. Everything here imports torch; `bench.cli` imports only click so
that the other commands stay fast.

TorchScript: a custom Function's `apply` cannot be scripted. Users who script a model that
calls one mark the method holding the call `@torch.jit.ignore`, so the scripted model calls
back into Python for the spike; the benchmarks do the same (`make_model` and
`script_ignored_call` in model.py). FGI functions and the paper's hand-written form are
scripted with the model.
"""
