"""Chapter 00 exercises: gradients by hand, and one Adam update."""
from __future__ import annotations

import math

import torch

from ..exercises import exercise, require


def bce_sigmoid_grads(x: float, y: float, w: float, b: float) -> tuple[float, float]:
    """(dL/dw, dL/db) for L = BCE(sigmoid(w*x + b), y), by the chain rule."""
    a = 1.0 / (1.0 + math.exp(-(w * x + b)))
    dz = a - y  # dL/da * da/dz = (-(y/a) + (1-y)/(1-a)) * a(1-a) simplifies to a - y
    return dz * x, dz


def _autograd_grads(x, y, w, b):
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    a = torch.sigmoid(wt * x + bt)
    loss = torch.nn.functional.binary_cross_entropy(a, torch.tensor(y, dtype=torch.float64))
    loss.backward()
    return wt.grad.item(), bt.grad.item()


# Planted mistake: the two gradients swapped, (dL/db, dL/dw) instead of (dL/dw, dL/db).
def _wrong_grads(x, y, w, b):
    a = 1 / (1 + math.exp(-(w * x + b)))
    return (a - y), (a - y) * x


@exercise("00.1", "gradients of a sigmoid neuron by hand", solution=bce_sigmoid_grads, wrong=_wrong_grads)
def _check_grads(fn) -> None:
    cases = [(1.1, 1.0, 2.2, 0.0), (-0.5, 0.0, 0.3, 0.1), (2.0, 1.0, -1.0, 0.5), (0.7, 0.0, 1.5, -2.0)]
    for x, y, w, b in cases:
        got = fn(x, y, w, b)
        require(isinstance(got, (tuple, list)) and len(got) == 2,
                f"return a pair (dL/dw, dL/db); got {got!r}")
        want = _autograd_grads(x, y, w, b)
        for name, g, t in zip(("dL/dw", "dL/db"), got, want):
            require(abs(float(g) - t) < 1e-6,
                    f"for x={x}, y={y}, w={w}, b={b}: {name} should be {t:.6f}, you gave {float(g):.6f}")


def adam_update(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step on tensors; ``t`` counts steps from 1. Returns the new (p, m, v)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)  # bias correction: m and v start at 0
    v_hat = v / (1 - beta2**t)
    p = p - lr * m_hat / (v_hat.sqrt() + eps)
    return p, m, v


# Planted mistake: no bias correction.
def _wrong_adam(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * m / (v.sqrt() + eps), m, v


@exercise("00.2", "one Adam update", solution=adam_update, wrong=_wrong_adam)
def _check_adam(fn) -> None:
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(5, generator=gen, dtype=torch.float64)
    start = torch.randn(5, generator=gen, dtype=torch.float64)
    ref = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([ref], lr=0.05, betas=(0.8, 0.99), eps=1e-8)
    p, m, v = start.clone(), torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    for t in range(1, 21):
        g = 2 * (p - target) * torch.arange(1, 6, dtype=torch.float64)
        out = fn(p, g, m, v, t, lr=0.05, beta1=0.8, beta2=0.99, eps=1e-8)
        require(isinstance(out, (tuple, list)) and len(out) == 3, "return the triple (p, m, v)")
        p, m, v = (torch.as_tensor(o, dtype=torch.float64) for o in out)
        opt.zero_grad()
        ((ref - target) ** 2 * torch.arange(1, 6, dtype=torch.float64)).sum().backward()
        opt.step()
        gap = (p - ref.detach()).abs().max().item()
        require(gap < 1e-9, f"after step {t} your parameters differ from torch.optim.Adam by {gap:.3g}"
                " (check the bias correction: divide by 1 - beta**t)")
