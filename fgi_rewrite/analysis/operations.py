"""The operations the analysis knows, by what they do: one table for both readers.

Anything not named here is unknown: the forward reader leaves elementwise-ness unproven
(an unsafe fix) and the backward reader refuses a gradient passed through it. Adding an
operation here is a claim about its semantics; the fixtures, the fuzz test and the
adversarial cases check the claims that were made.
"""

from __future__ import annotations

# --- forward: what an operation does to the shape and dtype of its tensor arguments ------

# Calls and methods whose result is an elementwise function of their tensor arguments, with
# the broadcast shape of those arguments.
ELEMENTWISE = frozenset(
    {
        "abs", "absolute", "neg", "negative", "add", "sub", "subtract", "mul", "multiply", "div",
        "divide", "true_divide", "floor_divide", "remainder", "fmod", "pow", "float_power", "sqrt",
        "rsqrt", "square", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos",
        "tan", "tanh", "sinh", "cosh", "atan", "arctan", "asin", "acos", "atan2", "arctan2",
        "sigmoid", "logit", "erf", "erfc", "reciprocal", "sign", "sgn", "signbit", "heaviside",
        "round", "floor", "ceil", "trunc", "frac", "fix", "clamp", "clip", "clamp_min", "clamp_max",
        "relu", "relu6", "hardtanh", "hardsigmoid", "softsign", "softplus", "leaky_relu", "elu",
        "gelu", "silu", "threshold", "maximum", "minimum", "fmax", "fmin", "where", "lerp",
        "gt", "ge", "lt", "le", "eq", "ne", "greater", "greater_equal", "less", "less_equal",
        "not_equal", "logical_and", "logical_or", "logical_not", "logical_xor", "bitwise_and",
        "bitwise_or", "bitwise_not", "isfinite", "isnan", "isinf", "nan_to_num", "masked_fill",
        "bernoulli", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
        "randn_like", "clone", "detach", "contiguous", "copysign", "hypot", "xlogy", "addcmul",
        "addcdiv", "mul_", "div_", "add_", "sub_", "neg_", "abs_", "clamp_", "clamp_min_",
        "clamp_max_", "masked_fill_", "sign_", "round_", "floor_", "ceil_", "fill_", "zero_",
        "sigmoid_", "tanh_", "exp_", "pow_", "relu_", "bernoulli_", "copy_",
    }
)
# Casts: elementwise, with a fixed dtype (or another tensor's).
FIXED_DTYPE_CASTS = frozenset({"float", "double", "half", "bfloat16", "int", "long", "short", "bool", "byte", "char"})
CASTS_TO_ANOTHER = frozenset({"to", "type", "type_as"})
BOOL_RESULTS = frozenset(
    {"gt", "ge", "lt", "le", "eq", "ne", "greater", "greater_equal", "less", "less_equal", "not_equal",
     "logical_and", "logical_or", "logical_not", "logical_xor", "isfinite", "isnan", "isinf", "signbit", "bool"}
)
# Keep the elements in row-major order under another shape.
LAYOUT = frozenset({"view", "reshape", "flatten", "view_as", "reshape_as"})
# Known to move, mix, drop or add elements of a tensor: never elementwise.
SHAPE_CHANGING = frozenset(
    {
        "sum", "mean", "prod", "norm", "std", "var", "max", "min", "amax", "amin", "argmax", "argmin",
        "cumsum", "cumprod", "cummax", "cummin", "logsumexp", "softmax", "log_softmax", "view", "reshape",
        "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "permute", "t", "movedim", "swapaxes",
        "expand", "expand_as", "repeat", "repeat_interleave", "tile", "broadcast_to", "view_as",
        "reshape_as", "flip", "roll", "rot90", "narrow", "select", "index_select", "gather", "scatter",
        "scatter_add", "take", "masked_select", "nonzero", "split", "chunk", "unbind", "cat", "concat",
        "stack", "hstack", "vstack", "matmul", "mm", "bmm", "mv", "einsum", "tensordot", "outer", "conv1d",
        "conv2d", "conv3d", "linear", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d", "pad",
        "interpolate", "unfold", "fold", "diff", "sort", "topk", "kthvalue", "median", "mode", "diag",
        "tril", "triu", "fft", "rfft", "ifft", "irfft", "all", "any", "count_nonzero", "item", "tolist",
        "numpy", "arange", "linspace", "normalize", "dropout", "layer_norm", "batch_norm",
    }
)
# Fresh tensors whose shape comes from their arguments, not from a tensor input.
FACTORIES = frozenset({"zeros", "ones", "empty", "full", "tensor", "as_tensor"})
NEW_TENSORS = frozenset({"new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"})
SHAPE_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "real", "imag"})
METADATA_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "requires_grad", "is_cuda", "layout", "grad_fn"})
METADATA_METHODS = frozenset({"size", "dim", "numel", "nelement", "ndimension", "stride", "get_device",
                               "is_contiguous", "is_floating_point", "element_size", "data_ptr"})
TORCH_ROOTS = ("torch", "torch.nn.functional", "torch.special")

# --- backward: what an operation does to a value linear in grad_output -------------------

# Methods on a gradient that leave it unchanged.
GRADIENT_IDENTITY = frozenset({"clone", "contiguous", "view_as", "reshape_as", "expand_as", "data"})
# Methods that only borrow their argument's shape or dtype.
TEMPLATE_METHODS = frozenset({"view_as", "reshape_as", "expand_as", "type_as"})
# Methods that can spread a tensor over more elements.
EXPANDING = frozenset({"expand", "expand_as", "broadcast_to", "repeat", "repeat_interleave", "tile"})
# Methods that make a gradient non-linear in grad_output.
NONLINEAR = frozenset(
    {
        "abs", "abs_", "absolute", "clamp", "clamp_", "clip", "clip_", "clamp_min", "clamp_max",
        "pow", "pow_", "square", "sqrt", "rsqrt", "exp", "exp_", "log", "log_", "sign", "sgn",
        "tanh", "sigmoid", "relu", "relu_", "maximum", "minimum", "max", "min", "round", "floor",
        "ceil", "trunc", "reciprocal", "add", "add_", "sub", "sub_", "fill_", "gt", "lt", "ge",
        "le", "eq", "ne", "sin", "cos", "softmax", "log_softmax", "nan_to_num", "heaviside",
    }
)
# Methods/functions that mix elements.
MIXING_ELEMENTS = frozenset(
    {
        "mean", "norm", "cumsum", "cumprod", "flip", "roll", "matmul", "mm", "bmm", "mv", "t",
        "transpose", "permute", "einsum", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
        "conv_transpose2d", "linear", "prod", "std", "var", "softmax", "gather", "index_select",
        "scatter", "scatter_add", "unfold", "fold", "fft", "rfft", "irfft", "ifft", "sort",
        "topk", "cross", "diff", "avg_pool1d", "avg_pool2d", "max_pool2d", "interpolate", "pad",
        "amax", "amin", "logsumexp", "tensordot", "outer", "kron", "mT", "T", "H",
    }
)
# Questions about the gradient's metadata, or fresh tensors shaped like it.
SHAPE_QUESTIONS = frozenset(
    {"size", "dim", "numel", "nelement", "ndimension", "stride", "is_contiguous", "get_device",
     "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "zero_"}
)
BROADCAST_REDUCTIONS = frozenset({"sum", "sum_to_size"})
RANDOM_DRAWS = frozenset(
    {
        "rand", "randn", "rand_like", "randn_like", "randint", "randint_like", "randperm",
        "bernoulli", "bernoulli_", "normal", "normal_", "uniform_", "exponential_", "geometric_",
        "cauchy_", "log_normal_", "random_", "multinomial", "poisson", "dropout", "random",
        "uniform", "choice", "shuffle", "gauss", "randrange", "feature_alpha_dropout", "rrelu",
    }
)
MASK_FUNCTIONS = frozenset(
    {"gt", "lt", "ge", "le", "eq", "ne", "greater", "less", "greater_equal", "less_equal",
     "logical_and", "logical_or", "logical_not", "isfinite", "heaviside"}
)
TAKES_SEQUENCES = frozenset({"stack", "cat", "concat", "hstack", "vstack", "broadcast_tensors", "einsum", "meshgrid",
                              "tensor", "as_tensor", "block_diag", "cartesian_prod"})
MASK_PRESERVING_CASTS = frozenset({"float", "double", "half", "bfloat16", "to", "type", "type_as", "bool"})
TORCH_PREFIXES = ("torch.", "F.", "torch.nn.functional.", "nn.functional.")

# --- kinds of forward (classification only) ----------------------------------------------

STEP_FUNCTIONS = frozenset(
    {
        "gt", "ge", "lt", "le", "eq", "ne", "greater", "greater_equal", "less", "less_equal",
        "heaviside", "sign", "sgn", "round", "floor", "ceil", "trunc", "frac", "bernoulli",
        "argmax", "argmin", "signbit", "step",
    }
)
# Piecewise-linear ops autograd differentiates itself; with a mask gradient they are smooth ops.
PIECEWISE_LINEAR = frozenset({"clamp", "clip", "relu", "hardtanh", "relu6", "clamp_min", "clamp_max", "abs"})
STOCHASTIC = frozenset({"bernoulli", "rand", "rand_like", "randn_like", "randn", "multinomial", "poisson"})

# --- dtype questions asked of emitted factors --------------------------------------------

CAST_METHODS = frozenset({"float", "double", "half", "bfloat16", "to", "type", "type_as", "bool", "int", "long"})
FIXED_DTYPE_FACTORIES = frozenset({"where", "tensor", "full", "ones", "zeros", "as_tensor", "empty"})
