"""Chapter 03 exercises: one step of a vanilla RNN cell, and one step of an LSTM cell."""
from __future__ import annotations

import torch

from ..exercises import exercise, require


def rnn_step(x_t: torch.Tensor, h_prev: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor,
             b_h: torch.Tensor) -> torch.Tensor:
    """h_t = tanh(x_t W_xh^T + h_prev W_hh^T + b_h); x_t (B, C), h_prev (B, H) -> (B, H)."""
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)


# Planted mistake: W_hh not transposed.
def _wrong_rnn_step(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh + b_h)


@exercise("03.1", "one step of a vanilla RNN", solution=rnn_step, wrong=_wrong_rnn_step)
def _check_rnn_step(fn) -> None:
    torch.manual_seed(0)
    for batch, c, h in [(4, 3, 5), (1, 8, 2), (16, 10, 32)]:
        cell = torch.nn.RNNCell(c, h)
        x, h0 = torch.randn(batch, c), torch.randn(batch, h)
        want = cell(x, h0)
        got = fn(x, h0, cell.weight_ih.detach(), cell.weight_hh.detach(), (cell.bias_ih + cell.bias_hh).detach())
        require(torch.is_tensor(got) and got.shape == want.shape, f"return a tensor of shape {tuple(want.shape)}")
        gap = (got - want).abs().max().item()
        require(gap < 1e-5, f"for B={batch}, C={c}, H={h} you differ from nn.RNNCell by {gap:.2g} "
                "(weights are stored (out, in): multiply by their transpose)")


def lstm_step(x_t, h_prev, c_prev, W_ih, W_hh, b):
    """One LSTM step; gates stacked in PyTorch's order i, f, g, o. Returns (h_t, c_t), each (B, H)."""
    gates = x_t @ W_ih.T + h_prev @ W_hh.T + b                # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    h_t = torch.sigmoid(o) * torch.tanh(c_t)
    return h_t, c_t


# Planted mistake: input and forget gates swapped.
def _wrong_lstm_step(x_t, h_prev, c_prev, W_ih, W_hh, b):
    i, f, g, o = (x_t @ W_ih.T + h_prev @ W_hh.T + b).chunk(4, dim=1)
    c_t = torch.sigmoid(i) * c_prev + torch.sigmoid(f) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


@exercise("03.2", "one step of an LSTM", solution=lstm_step, wrong=_wrong_lstm_step)
def _check_lstm_step(fn) -> None:
    torch.manual_seed(0)
    for batch, c, h in [(4, 3, 5), (2, 6, 16)]:
        cell = torch.nn.LSTMCell(c, h)
        x, h0, c0 = torch.randn(batch, c), torch.randn(batch, h), torch.randn(batch, h)
        want_h, want_c = cell(x, (h0, c0))
        got = fn(x, h0, c0, cell.weight_ih.detach(), cell.weight_hh.detach(), (cell.bias_ih + cell.bias_hh).detach())
        require(isinstance(got, tuple) and len(got) == 2, "return the pair (h_t, c_t)")
        gap = max((got[0] - want_h).abs().max().item(), (got[1] - want_c).abs().max().item())
        require(gap < 1e-5, f"for B={batch}, C={c}, H={h} your (h, c) differ from nn.LSTMCell by {gap:.2g} "
                "(gate order i, f, g, o; c = f*c_prev + i*g; h = o*tanh(c))")
