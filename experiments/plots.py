"""Plots every experiment writes: learning curves, confusion matrices, 2-D feature maps."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_metrics(workdir) -> list[dict]:
    path = pathlib.Path(workdir, "metrics.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def learning_curves(runs: Mapping[str, str], keys: Sequence[str], path) -> None:
    """One panel per metric key, one line per run (label -> workdir)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for label, workdir in runs.items():
            points = [(r["step"], r[key]) for r in read_metrics(workdir) if key in r]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="o", markersize=3, label=label)
        ax.set_xlabel("step")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def confusion(matrix: np.ndarray, classes: Sequence[str], title: str, path) -> None:
    """Row-normalised confusion matrix (rows = true class) with counts in the cells."""
    rows = matrix.sum(1, keepdims=True)
    norm = matrix / np.maximum(rows, 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(classes), 0.8 + 0.7 * len(classes)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """First two principal components (deterministic, no fitting noise)."""
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def feature_maps(panels: Mapping[str, np.ndarray], colour_by: Mapping[str, np.ndarray],
                 names: Mapping[str, Sequence[str]], path) -> None:
    """A PCA scatter per feature set (rows) coloured by each labelling (columns)."""
    fig, axes = plt.subplots(len(panels), len(colour_by),
                             figsize=(4.2 * len(colour_by), 3.8 * len(panels)), squeeze=False)
    for r, (feat_name, x) in enumerate(panels.items()):
        xy = pca_2d(np.asarray(x, np.float64))
        for c, (label_name, labels) in enumerate(colour_by.items()):
            ax = axes[r][c]
            for k, name in enumerate(names[label_name]):
                sel = labels == k
                ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.6, label=name)
            ax.set_title(f"{feat_name}, coloured by {label_name}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
