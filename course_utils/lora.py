"""LoRA (chapter 09): a frozen linear layer plus a trainable low-rank update, written from scratch.

A frozen weight W (out, in) is adapted as ``W + (alpha / r) * B @ A`` with A (r, in) and B (out, r):
r * (in + out) trainable numbers instead of in * out. B starts at zero, so an adapted model starts
as exactly the base model. :func:`inject` swaps chosen ``nn.Linear`` layers of a model for
:class:`LoRALinear` and freezes everything else; :func:`merge` folds the updates back into plain
linear layers (no extra cost at inference); :func:`adapter_state` / :func:`load_adapter` save and
swap the few adapter tensors on one shared base. :class:`Int8Linear` stores a frozen weight as
int8 with one absmax scale per output row, the idea behind QLoRA (which uses 4 bits).
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

# the GPT's linear layers, by the end of their module names (see course_utils.gpt)
ATTENTION = ("attn.c_attn", "attn.c_proj")
ALL_LINEAR = ATTENTION + ("mlp.c_fc", "mlp.c_proj")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * x @ A.T @ B.T`` for x (..., in) -> (..., out); ``base`` is frozen.

    A (r, in) starts uniform in +-1/sqrt(in) (like ``nn.Linear``'s default), B (out, r) at zero."""

    def __init__(self, base: nn.Module, r: int, alpha: float, generator: torch.Generator | None = None):
        super().__init__()
        if r < 1:
            raise ValueError(f"rank r must be >= 1, got {r}")
        self.base = base.requires_grad_(False)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.r, self.alpha, self.scale = r, alpha, alpha / r
        bound = 1 / math.sqrt(self.in_features)
        self.lora_A = nn.Parameter(torch.empty(r, self.in_features).uniform_(-bound, bound, generator=generator))
        self.lora_B = nn.Parameter(torch.zeros(self.out_features, r))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scale

    def delta_weight(self) -> torch.Tensor:
        """The update (alpha / r) B A, shape (out, in): what merging adds to the base weight."""
        return self.scale * self.lora_B @ self.lora_A

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with weight W + (alpha / r) B A (an int8 base is dequantised first)."""
        base = self.base
        weight = base.dequantize() if isinstance(base, Int8Linear) else base.weight
        out = nn.Linear(self.in_features, self.out_features, bias=base.bias is not None,
                        dtype=self.lora_A.dtype, device=self.lora_A.device)
        with torch.no_grad():
            out.weight.copy_(weight + self.delta_weight())
            if base.bias is not None:
                out.bias.copy_(base.bias)
        return out

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}"


def _targets(model: nn.Module, targets: tuple[str, ...]) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, attribute, module) for each module whose name ends with one of ``targets``."""
    found = []
    for name, module in model.named_modules():
        if any(name == t or name.endswith("." + t) for t in targets):
            parent_name, _, attr = name.rpartition(".")
            found.append((model.get_submodule(parent_name), attr, module))
    if not found:
        raise ValueError(f"no module of the model matches {targets}")
    return found


def inject(model: nn.Module, r: int = 8, alpha: float = 16.0, targets: tuple[str, ...] = ALL_LINEAR,
           seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every layer named by ``targets`` wrapped in :class:`LoRALinear` and
    every other parameter frozen. Its outputs equal the model's until B is trained."""
    model = copy.deepcopy(model).requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    for parent, attr, module in _targets(model, targets):
        if isinstance(module, LoRALinear):
            raise ValueError(f"{attr} already has a LoRA adapter")
        setattr(parent, attr, LoRALinear(module, r, alpha, generator=g))
    return model


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """name -> LoRALinear for every adapted layer of ``model``."""
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}


def merge(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with each LoRALinear replaced by its merged ``nn.Linear``: the same outputs,
    the original architecture, no adapter cost at inference."""
    model = copy.deepcopy(model)
    for name, layer in lora_layers(model).items():
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name), attr, layer.merged())
    return model


def adapter_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapter tensors (``...lora_A`` and ``...lora_B``), copied: what a saved adapter holds."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k.endswith(("lora_A", "lora_B"))}


def load_adapter(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Put a saved adapter into an adapted model in place (the base weights are left alone)."""
    own = adapter_state(model)
    if set(own) != set(state):
        raise ValueError(f"adapter keys do not match the model's: missing {sorted(set(own) - set(state))[:3]}, "
                         f"unexpected {sorted(set(state) - set(own))[:3]}")
    model.load_state_dict(state, strict=False)
    return model


def count_trainable(model: nn.Module) -> int:
    """Number of parameters that receive gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def lora_params(shapes: list[tuple[int, int]], r: int) -> int:
    """Adapter size for linear layers of shapes (out, in) at rank r: sum of r * (in + out)."""
    return sum(r * (i + o) for o, i in shapes)


# ---- int8 weights (the QLoRA idea) --------------------------------------------------------------
def quantize_absmax(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(q, scale): int8 q (out, in) and float scale (out, 1) with weight ~= q * scale; each output
    row is scaled so that its largest |value| maps to 127."""
    scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127
    q = torch.round(weight / scale).clamp(-127, 127).to(torch.int8)
    return q, scale


class Int8Linear(nn.Module):
    """A frozen linear layer stored as int8 + one scale per output row; dequantised when called."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        q, scale = quantize_absmax(linear.weight.detach())
        self.register_buffer("q", q)
        self.register_buffer("scale", scale)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)

    def dequantize(self) -> torch.Tensor:
        return self.q.float() * self.scale                                  # (out, in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.dequantize(), self.bias)


def quantize(model: nn.Module, targets: tuple[str, ...] = ALL_LINEAR) -> nn.Module:
    """A copy of ``model`` with the layers named by ``targets`` stored as :class:`Int8Linear`."""
    model = copy.deepcopy(model)
    for parent, attr, module in _targets(model, targets):
        setattr(parent, attr, Int8Linear(module))
    return model
