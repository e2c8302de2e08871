"""How the DLC engine talks to a network (torch only).

:class:`ModelAdapter` owns everything that depends on the model family: how a
batch is passed to the module, how its output is read, which weights are
masked, and where the features of the prototype head are. transformers and
sentence-transformers are recognised by class name, never imported.
"""

import contextlib
import fnmatch
import inspect
from collections.abc import Mapping

import torch
from torch import nn

MASKED_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.MultiheadAttention)
_MHA_WEIGHTS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
# Keys of dict-like outputs (transformers' ModelOutput, sentence-transformers)
# read when no output_key is given, in this order.
OUTPUT_KEYS = ("logits", "sentence_embedding", "last_hidden_state", "pooler_output")


def _is_hf_conv1d(module):
    """transformers' ``Conv1D`` (GPT-2's linear layers), without importing it."""
    return any(
        c.__name__ == "Conv1D" and c.__module__.startswith("transformers")
        for c in type(module).__mro__
    )


def default_masked_layer(name, module):
    """Whether the default rule masks the weights of ``module``.

    ``nn.Conv1d/2d/3d``, ``nn.Linear``, ``nn.MultiheadAttention`` (its
    projection weights) and transformers' ``Conv1D``.
    """
    return isinstance(module, MASKED_TYPES) or _is_hf_conv1d(module)


def _layer_selector(masked_layers):
    """Turn the user's ``masked_layers`` into ``f(name, module) -> bool``."""
    if masked_layers is None:
        return default_masked_layer
    if callable(masked_layers) and not isinstance(masked_layers, type):
        return masked_layers
    items = (
        [masked_layers]
        if isinstance(masked_layers, (str, type))
        else list(masked_layers)
    )
    for item in items:
        if not isinstance(item, (str, type)):
            raise TypeError(
                "masked_layers must be None, a callable f(name, module) -> bool, "
                "or module types and/or name patterns (str, fnmatch style); got "
                f"an item {item!r} of type {type(item).__name__}."
            )
    types = tuple(i for i in items if isinstance(i, type))
    patterns = [i for i in items if isinstance(i, str)]

    def select(name, module):
        return (bool(types) and isinstance(module, types)) or any(
            fnmatch.fnmatchcase(name, p) for p in patterns
        )

    return select


def _weights_of(module):
    """The matrix-like weights a masked layer contributes (never biases/norms)."""
    if isinstance(module, nn.MultiheadAttention):
        names = _MHA_WEIGHTS
    else:
        names = [n for n, _ in module.named_parameters(recurse=False)]
    for n in names:
        p = getattr(module, n, None)
        if (
            isinstance(p, nn.Parameter)
            and p.ndim >= 2
            and (n.endswith("weight") or n in _MHA_WEIGHTS)
        ):
            yield n, p


def _storage_key(p):
    return p.untyped_storage().data_ptr() if p.device.type != "meta" else id(p)


def masked_parameters(module, head=None, masked_layers=None, unused=()):
    """``[(name, parameter)]`` of the weights DLC masks.

    Embedding weights, any weight tied to an embedding (GPT-2's ``lm_head``),
    the head's weights and those of the ``unused`` modules are never masked;
    a weight shared by several layers is listed once.
    """
    select = _layer_selector(masked_layers)
    excluded = {id(p) for m in [head, *unused] if m is not None for p in m.parameters()}
    tied = set()
    for sub in module.modules():
        if isinstance(sub, (nn.Embedding, nn.EmbeddingBag)):
            excluded.add(id(sub.weight))
            tied.add(_storage_key(sub.weight))
    seen, params = set(), []
    for name, sub in module.named_modules():
        if isinstance(sub, (nn.Embedding, nn.EmbeddingBag)) or not select(name, sub):
            continue
        for pname, p in _weights_of(sub):
            if id(p) in excluded or id(p) in seen or _storage_key(p) in tied:
                continue
            seen.add(id(p))
            params.append((f"{name}.{pname}" if name else pname, p))
    return params


def _mean_pool(hidden, mask):
    if mask is None or mask.shape != hidden.shape[:2]:
        return hidden.mean(1)
    m = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1)


def _takes_one_mapping(module, keys):
    """Whether ``module`` takes a dict batch as one argument (sentence-transformers,
    ``nn.Sequential``) rather than as keyword arguments (transformers)."""
    try:
        signature = inspect.signature(module.forward)
    except (TypeError, ValueError):
        return False
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    required = [
        p
        for p in signature.parameters.values()
        if p.kind in positional and p.default is inspect.Parameter.empty
    ]
    return bool(required) and required[0].name not in keys


def describe_batch(xb):
    """Shape (or keys and shapes) of a batch, for error messages."""
    if isinstance(xb, Mapping):
        return "keys " + ", ".join(
            f"{k!r}: {tuple(v.shape) if hasattr(v, 'shape') else type(v).__name__}"
            for k, v in xb.items()
        )
    if hasattr(xb, "shape"):
        return f"shape {tuple(xb.shape)}"
    return f"type {type(xb).__name__}"


class ModelAdapter:
    """One network as the engine sees it.

    Parameters
    ----------
    module : torch.nn.Module
        The network, on its compute device.
    owner : str
        Name of the estimator, for error messages.
    head_layer : str, optional
        Name of the head submodule; None detects it (:meth:`resolve_head`).
    output_key : str, optional
        Key (or attribute) to read from a dict-like output; None tries
        :data:`OUTPUT_KEYS` in order.
    masked_layers : None, callable, type, str or list of them
        Which layers' weights are masked; see :func:`masked_parameters`.
    """

    def __init__(
        self, module, *, owner, head_layer=None, output_key=None, masked_layers=None
    ):
        self.module = module
        self.owner = owner
        self.head_layer = head_layer
        self.output_key = output_key
        self.masked_layers = masked_layers
        self.head_name, self.head = None, None
        self.unused = set()
        self._one_mapping = None
        self._tap = None
        self._called = False
        self.tuple_length = None

    # -- batches in, outputs out -------------------------------------------

    def call(self, xb):
        """Run the module on one batch (tensor, ``**dict``, or one dict)."""
        if isinstance(xb, Mapping):
            if self._one_mapping is None:
                self._one_mapping = _takes_one_mapping(self.module, set(xb))
            if self._one_mapping:
                return self.module(dict(xb))
            return self.module(**xb)
        return self.module(xb)

    def checked_call(self, xb):
        """:meth:`call` whose failure says what went in, until a call succeeds.

        Only a failure before any successful forward call is about the input
        (its shape, dtype or keys); later ones (a hook, a masked subnet, one
        bad sample) pass through with their own type, as do out-of-memory
        errors and interrupts.
        """
        if self._called:
            return self.call(xb)
        try:
            out = self.call(xb)
        except torch.OutOfMemoryError:
            raise
        except Exception as exc:
            raise ValueError(
                f"{self.owner}: the network failed on the first samples of X "
                f"({describe_batch(xb)}): {type(exc).__name__}: {exc}"
            ) from exc
        self._called = True
        return out

    def read(self, output, xb=None):
        """The tensor of a raw network output that the engine works on.

        A tensor is used as is; a tuple or list gives its first element; a
        dict-like output (transformers' ``ModelOutput``, sentence-transformers)
        gives ``output_key`` or the first of :data:`OUTPUT_KEYS` it holds
        (``last_hidden_state`` is mean-pooled over the attention mask).
        """
        if isinstance(output, torch.Tensor):
            return output
        if isinstance(output, (tuple, list)) and output:
            self.tuple_length = len(output)
            index = self.output_key if isinstance(self.output_key, int) else 0
            if not -len(output) <= index < len(output):
                raise ValueError(
                    f"{self.owner}: output_key={index} is out of range for the "
                    f"network's output, a {type(output).__name__} of "
                    f"{len(output)} elements."
                )
            return self.read(output[index], xb)
        if isinstance(output, Mapping):
            keys = (
                [self.output_key] if isinstance(self.output_key, str) else OUTPUT_KEYS
            )
            for key in keys:
                value = output.get(key)
                if value is None:
                    continue
                if key == "last_hidden_state" and value.ndim == 3:
                    mask = xb.get("attention_mask") if isinstance(xb, Mapping) else None
                    return _mean_pool(value, mask)
                return self.read(value, xb)
            raise TypeError(
                f"{self.owner}: the network's output of type "
                f"{type(output).__name__} has none of the keys {list(keys)} "
                f"(it has {list(output.keys())}); pass output_key='<key>'."
            )
        raise TypeError(
            f"{self.owner}: cannot read a network output of type "
            f"{type(output).__name__}; expected a tensor, a tuple whose first "
            "element is one, or a dict-like output (pass output_key for it)."
        )

    # -- head and features ---------------------------------------------------

    def resolve_head(self, xb):
        """Find the head (``head_layer``, else detected) and the unused layers.

        One forward pass with gradients on two samples of ``xb`` records which
        layers with weights feed which. The detected head is the
        ``nn.Linear`` whose output reaches the network's (read) output
        through parameter-free operations only, such as a softmax or a
        reshape. A layer whose output does not reach the output (an unused
        pooler) is never taken, and its weights are not masked: they would
        only dilute the global sparsity. When no Linear feeds the output
        directly (a headless backbone: the output comes from a norm, a
        pooling of hidden states, a convolution...), ``head`` stays None and
        the prototype head works on the network's own output.
        """
        named = dict(self.module.named_modules())
        if self.head_layer is not None and self.head_layer not in named:
            raise ValueError(
                f"head_layer={self.head_layer!r} is not a submodule of the "
                f"network; expected one of {sorted(n for n in named if n)}."
            )
        direct, self.unused = self._probe(xb)
        if self.head_layer is not None:
            self.head_name, self.head = self.head_layer, named[self.head_layer]
            return self
        if isinstance(self.module, nn.Linear):
            direct = {""}  # a bare Linear is all head
        linears = [n for n in direct if isinstance(named[n], nn.Linear)]
        if linears and len(direct) == 1:
            self.head_name, self.head = linears[0], named[linears[0]]
        elif linears:
            raise ValueError(
                f"{self.owner}: cannot tell the head of the network: its output "
                f"depends directly on several layers with weights {sorted(direct)}. "
                "Pass head_layer='<name of the head submodule>'."
            )
        return self

    def _probe(self, xb):
        """``(direct, unused)`` names of submodules with weights of their own.

        ``direct``: those whose outputs reach the output through
        parameter-free operations; ``unused``: those that ran but whose
        outputs never reach it. Each such module's output is replaced by a
        leaf tensor of the same values, so a walk of the autograd graph from
        any tensor stops at the leaves of the modules that feed it directly.
        """
        leaves, feeds, hooks = {}, {}, []

        def hook(module, args, out, name):
            if not (isinstance(out, torch.Tensor) and out.is_floating_point()):
                return None
            feeds.setdefault(name, set()).update(_fed_by(out, leaves))
            leaf = out.detach().requires_grad_(True)
            leaves[id(leaf)] = (leaf, name)
            return leaf

        for name, sub in self.module.named_modules():
            # The root is skipped: replacing its output would hide the head.
            if name and any(True for _ in sub.parameters(recurse=False)):
                hooks.append(
                    sub.register_forward_hook(
                        lambda m, a, o, name=name: hook(m, a, o, name)
                    )
                )
        small = _head_rows(xb, 2)
        try:
            with torch.enable_grad():
                out = self.read(self.checked_call(small), small)
        finally:
            for h in hooks:
                h.remove()
        direct = _fed_by(out, leaves)
        reaching, stack = set(), list(direct)
        while stack:
            name = stack.pop()
            if name not in reaching:
                reaching.add(name)
                stack.extend(feeds.get(name, ()))
        return direct, set(feeds) - reaching

    @contextlib.contextmanager
    def features_tapped(self):
        """Record the input of the head at every forward pass while active."""
        if self.head is None:
            yield self
            return
        handle = self.head.register_forward_pre_hook(self._record)
        try:
            yield self
        finally:
            handle.remove()
            self._tap = None

    def _record(self, module, args):
        self._tap = args[0]

    def features(self, output, n_rows):
        """Feature rows of the last batch: the head's input, else the output."""
        z = self._tap if self.head is not None else output
        return z.reshape(n_rows, -1).float()

    def masked_parameters(self):
        named = dict(self.module.named_modules())
        unused = [named[n] for n in sorted(self.unused)]
        return masked_parameters(self.module, self.head, self.masked_layers, unused)


def _fed_by(tensor, leaves):
    """Names of the probe leaves that ``tensor`` is computed from directly."""
    if id(tensor) in leaves:
        return {leaves[id(tensor)][1]}
    found, stack, visited = set(), [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in visited:
            continue
        visited.add(node)
        variable = getattr(node, "variable", None)
        if variable is not None and id(variable) in leaves:
            found.add(leaves[id(variable)][1])
        stack.extend(n for n, _ in node.next_functions)
    return found


def _head_rows(xb, n):
    if isinstance(xb, Mapping):
        return {k: _head_rows(v, n) for k, v in xb.items()}
    return xb[:n] if isinstance(xb, torch.Tensor) else xb
