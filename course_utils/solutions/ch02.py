"""Chapter 02 exercises: the convolution output size, and max pooling from scratch."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..exercises import exercise, require


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length along one axis: floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


@exercise("02.1", "the output size of a convolution", solution=conv_output_size)
def _check_output_size(fn) -> None:
    for size in (5, 8, 12, 28, 33):
        for kernel in (1, 2, 3, 5):
            for stride in (1, 2, 3):
                for padding in (0, 1, 2):
                    if kernel > size + 2 * padding:
                        continue
                    want = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel),
                                    stride=stride, padding=padding).shape[-1]
                    got = fn(size, kernel, stride, padding)
                    require(got == want, f"size {size}, kernel {kernel}, stride {stride}, padding {padding}: "
                            f"F.conv2d gives {want}, you gave {got!r} (pad first, then count whole steps)")


def max_pool2d(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Max over every kernel x kernel window of ``x (B, C, H, W)``, windows ``stride`` apart."""
    windows = x.unfold(2, kernel, stride).unfold(3, kernel, stride)  # (B, C, OH, OW, k, k)
    return windows.amax(dim=(-2, -1))                                # (B, C, OH, OW)


@exercise("02.2", "max pooling from scratch", solution=max_pool2d)
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
