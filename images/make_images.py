"""Draw the generated diagrams in this folder: `python images/make_images.py`.

Each function writes one PNG next to this script; the notebooks reference them as
``../images/NAME.png``. Re-run after changing a drawing and commit the PNGs.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

HERE = Path(__file__).resolve().parent
BLUE, ORANGE, GREY = "#1f77b4", "#d62728", "#555555"


def _save(fig, name: str) -> Path:
    out = HERE / name
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def _box(ax, xy, text, color=GREY, width=1.9, height=0.9, fontsize=11):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", fc="white", ec=color, lw=1.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, a, b, color=GREY, text=None, offset=0.28, rad=0.0):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color=color, lw=1.6,
                                 connectionstyle=f"arc3,rad={rad}"))
    if text:
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        ax.text(mx, my + offset, text, ha="center", va="center", fontsize=9.5, color=color)


def autograd_graph() -> Path:
    """The worked example x=1.1, y=1, w=2.2, b=0 through sigmoid and binary cross-entropy."""
    x, y, w, b = 1.1, 1.0, 2.2, 0.0
    z = w * x + b
    a = 1 / (1 + math.exp(-z))
    loss = -(y * math.log(a) + (1 - y) * math.log(1 - a))
    dz = a - y
    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4.2)
    ax.axis("off")
    _box(ax, (1.0, 3.2), f"w = {w}")
    _box(ax, (1.0, 2.1), f"x = {x}")
    _box(ax, (1.0, 1.0), f"b = {b}")
    _box(ax, (3.7, 2.1), f"z = w·x + b\n= {z:.2f}", width=2.1)
    _box(ax, (6.3, 2.1), f"a = σ(z)\n= {a:.4f}", width=2.0)
    _box(ax, (9.3, 2.1), f"L = BCE(a, y={y:g})\n= {loss:.4f}", width=2.5)
    for src in [(1.95, 3.2), (1.95, 2.1), (1.95, 1.0)]:
        _arrow(ax, src, (2.65, 2.1))
    _arrow(ax, (4.75, 2.1), (5.3, 2.1))
    _arrow(ax, (7.3, 2.1), (8.05, 2.1))
    ax.text(9.3, 3.35, "dL/da = -y/a + (1-y)/(1-a)\n" f"= {-y / a + (1 - y) / (1 - a):.4f}",
            ha="center", fontsize=9.5, color=ORANGE)
    ax.text(6.3, 3.35, "da/dz = a(1-a)\n" f"dL/dz = a - y = {dz:.4f}", ha="center", fontsize=9.5, color=ORANGE)
    ax.text(3.7, 0.55, f"dL/dw = dL/dz · x = {dz * x:.4f}\ndL/db = dL/dz · 1 = {dz:.4f}",
            ha="center", fontsize=10, color=ORANGE)
    ax.text(0.2, 4.0, "forward: values (black, left to right)   backward: gradients (red, right to left)",
            fontsize=10, color=GREY)
    ax.set_title("Computational graph of one neuron with a sigmoid and binary cross-entropy", fontsize=12)
    return _save(fig, "00_autograd_graph.png")


def training_recipe() -> Path:
    """The six steps of training as a loop."""
    steps = ["1. define the network", "2. initialise the\nparameters", "3. forward:\npredictions",
             "4. loss", "5. backward:\ngradients", "6. update:\nparameters -= lr · grad"]
    centres = [(1.2, 2.0), (3.7, 2.0), (6.3, 3.2), (9.1, 3.2), (9.1, 0.8), (6.3, 0.8)]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.set_xlim(0, 10.4)
    ax.set_ylim(0, 4)
    ax.axis("off")
    for text, c in zip(steps, centres):
        color = ORANGE if text.startswith("6") else (BLUE if text[0] in "345" else GREY)
        _box(ax, c, text, color=color, width=2.2, height=0.95, fontsize=10)
    _arrow(ax, (2.3, 2.0), (2.6, 2.0))
    _arrow(ax, (4.8, 2.3), (5.2, 2.9))
    _arrow(ax, (7.4, 3.2), (8.0, 3.2))
    _arrow(ax, (9.1, 2.7), (9.1, 1.3))
    _arrow(ax, (8.0, 0.8), (7.4, 0.8))
    _arrow(ax, (6.3, 1.3), (6.3, 2.7), color=BLUE)
    ax.text(6.45, 2.0, "repeat for\nevery batch", ha="left", va="center", fontsize=10, color=BLUE)
    ax.set_title("The training recipe: steps 3-6 repeat; learning happens in step 6", fontsize=12)
    return _save(fig, "00_training_recipe.png")


def tensor_ranks() -> Path:
    """Rank 0 to 3 tensors as a number, a row, a grid and a stack of grids."""
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.0), gridspec_kw={"width_ratios": [0.6, 1.4, 1.4, 1.8]})
    titles = ["rank 0: scalar\nshape ()", "rank 1: vector\nshape (4,)", "rank 2: matrix\nshape (3, 4)",
              "rank 3: 3-d tensor\nshape (2, 3, 4)"]
    for ax, title in zip(axes, titles):
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title, fontsize=10.5)

    def grid(ax, rows, cols, dx=0.0, dy=0.0, color="#c6dbef"):
        for r in range(rows):
            for c in range(cols):
                ax.add_patch(plt.Rectangle((c + dx, rows - 1 - r + dy), 1, 1, fc=color, ec="black"))
    grid(axes[0], 1, 1)
    axes[0].set_xlim(-0.2, 1.2)
    axes[0].set_ylim(-1.5, 2.5)
    grid(axes[1], 1, 4)
    axes[1].set_xlim(-0.2, 4.2)
    axes[1].set_ylim(-1.5, 2.5)
    grid(axes[2], 3, 4)
    axes[2].set_xlim(-0.2, 4.2)
    axes[2].set_ylim(-0.5, 3.5)
    grid(axes[3], 3, 4, dx=0.8, dy=0.8, color="#fcbba1")
    grid(axes[3], 3, 4)
    axes[3].set_xlim(-0.2, 5.2)
    axes[3].set_ylim(-0.5, 4.3)
    return _save(fig, "00_tensor_ranks.png")


def mlp_diagram() -> Path:
    """Chapter 01's model: 4 context characters -> embeddings -> hidden tanh layer -> 27 probabilities."""
    fig, ax = plt.subplots(figsize=(11, 4.6))
    ax.set_xlim(-0.8, 11.2)
    ax.set_ylim(-1.0, 5.5)
    ax.axis("off")
    columns = [  # x, number of circles drawn, label
        (0.6, 4, "context: 4 characters\n('.', '.', 'c', 'a')\nids (B, 4)"),
        (3.5, 6, "embeddings, concatenated:\n4 x 12 = 48 numbers\n(B, 48)"),
        (6.6, 7, "hidden layer:\n200 tanh units\n(B, 200)"),
        (9.7, 5, "output: 27 logits\n-> softmax -> P(next)\n(B, 27)"),
    ]
    points = []
    for x, n, label in columns:
        ys = [4.3 - i * (4.0 / max(n - 1, 1)) for i in range(n)]
        points.append([(x, y) for y in ys])
        ax.text(x, -0.55, label, ha="center", va="center", fontsize=9.5)
    for left, right in zip(points[1:-1], points[2:]):
        for a in left:
            for b in right:
                ax.plot([a[0], b[0]], [a[1], b[1]], color=GREY, lw=0.35, alpha=0.6)
    for a, b in zip(points[0], [points[1][0], points[1][2], points[1][3], points[1][5]]):
        ax.annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="-|>", color=BLUE, lw=1.2))
    for column, color in zip(points, ["white", "#c6dbef", "#fdd0a2", "#c7e9c0"]):
        for x, y in column:
            ax.add_patch(plt.Circle((x, y), 0.17, fc=color, ec="black", lw=1, zorder=3))
    for (x, y), ch in zip(points[0], [".", ".", "c", "a"]):
        ax.text(x, y, ch, ha="center", va="center", fontsize=11, zorder=4)
    ax.text(2.05, 4.9, "look up rows of\nC (27 x 12)", ha="center", fontsize=9, color=BLUE)
    ax.text(5.05, 4.9, "W1 (48 x 200): every input\nto every hidden unit", ha="center", fontsize=9)
    ax.text(8.15, 4.9, "W2 (200 x 27)", ha="center", fontsize=9)
    ax.text(7.0, 2.3, "no links\ninside\na layer", ha="left", va="center", fontsize=8.5, color=ORANGE,
            bbox=dict(fc="white", ec="none", pad=1), zorder=5)
    ax.set_title("A character-level MLP: neighbouring layers are fully connected, units within a layer are not",
                 fontsize=11.5)
    return _save(fig, "01_mlp.png")


if __name__ == "__main__":
    for draw in (autograd_graph, training_recipe, tensor_ranks, mlp_diagram):
        print("wrote", draw().relative_to(HERE.parent))
