"""Chapter 02 exercises: the receptive field of a stack of layers, and max pooling from scratch."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..exercises import exercise, require


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """Side of the input window one output of a stack of (kernel, stride) layers depends on."""
    size, jump = 1, 1                    # jump: input pixels between neighbouring outputs so far
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size


def _measured_receptive_field(layers) -> int:
    """Ask autograd which input pixels one output of the stack depends on (all-ones kernels)."""
    x = torch.ones(1, 1, 64, 64, requires_grad=True)
    h = x
    for kernel, stride in layers:
        h = F.conv2d(h, torch.ones(1, 1, kernel, kernel), stride=stride)
    h[0, 0, 0, 0].backward()
    rows = (x.grad[0, 0].abs().sum(dim=1) > 0).nonzero()
    return int(rows.max() - rows.min() + 1)


# Planted mistake: ignores the strides.
def _wrong_receptive_field(layers):
    return 1 + sum(kernel - 1 for kernel, _ in layers)


@exercise("02.1", "the receptive field of a stack of layers", solution=receptive_field,
          wrong=_wrong_receptive_field)
def _check_receptive_field(fn) -> None:
    for layers in ([(3, 1)], [(3, 1), (3, 1)], [(3, 1), (2, 2)], [(3, 1), (2, 2), (3, 1)],
                   [(5, 2), (3, 2), (3, 1)], [(2, 2), (2, 2), (2, 2)], [(7, 1), (1, 3), (3, 1)]):
        want = _measured_receptive_field(layers)
        got = fn(layers)
        require(got == want, f"for (kernel, stride) layers {layers} one output sees a {want}x{want} window, "
                f"you gave {got!r} (each layer adds (kernel - 1) times the product of the earlier strides)")


def max_pool2d(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Max over every kernel x kernel window of ``x (B, C, H, W)``, windows ``stride`` apart."""
    windows = x.unfold(2, kernel, stride).unfold(3, kernel, stride)  # (B, C, OH, OW, k, k)
    return windows.amax(dim=(-2, -1))                                # (B, C, OH, OW)


# Planted mistake: average, not max.
def _wrong_max_pool(x, kernel, stride):
    return x.unfold(2, kernel, stride).unfold(3, kernel, stride).mean(dim=(-2, -1))


@exercise("02.2", "max pooling from scratch", solution=max_pool2d, wrong=_wrong_max_pool)
def _check_max_pool(fn) -> None:
    gen = torch.Generator().manual_seed(0)
    for shape, kernel, stride in [((2, 3, 8, 8), 2, 2), ((1, 4, 12, 12), 2, 1), ((3, 2, 9, 7), 3, 2),
                                  ((2, 1, 6, 6), 3, 3)]:
        x = torch.randn(*shape, generator=gen)
        want = F.max_pool2d(x, kernel, stride)
        got = fn(x, kernel, stride)
        require(torch.is_tensor(got) and got.shape == want.shape,
                f"for input {shape}, kernel {kernel}, stride {stride} the output shape should be "
                f"{tuple(want.shape)}, got {tuple(got.shape) if torch.is_tensor(got) else type(got).__name__}")
        require(torch.equal(got, want), f"for input {shape}, kernel {kernel}, stride {stride} the values "
                "differ from F.max_pool2d (take the maximum of each window, per image and channel)")
