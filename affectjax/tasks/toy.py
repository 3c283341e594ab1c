"""A small reference Task: an MLP classifying Gaussian clusters; the trainer's test and template.

It exercises every part of the Task contract a real system uses (dropout RNG, batch-norm
statistics as a non-trained collection, a grain train stream, eval sets and evaluators), so the
trainer's tests and benchmarks run it, and a new system can start from a copy of this file.
"""

from __future__ import annotations

import time

import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from affectjax import metrics
from affectjax.data import pipeline
from affectjax.train.task import DataContext, Task, TrainData


class GaussianClusters:
    """Seeded random-access records: class k ~ N(mu_k, noise^2 I) in ``dim`` dimensions.

    ``read_delay_s`` makes each record slow to read, standing in for a slow disk or decoder.
    """

    def __init__(self, num_examples: int, dim: int, num_classes: int, noise: float, seed: int,
                 split: int, read_delay_s: float = 0.0):
        centres = np.random.default_rng(seed).normal(size=(num_classes, dim))
        rng = np.random.default_rng([seed, split])
        self.labels = rng.integers(0, num_classes, size=num_examples).astype(np.int32)
        self.features = (centres[self.labels]
                         + noise * rng.normal(size=(num_examples, dim))).astype(np.float32)
        self.read_delay_s = read_delay_s

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if self.read_delay_s:
            time.sleep(self.read_delay_s)
        return {"x": self.features[index], "label": self.labels[index]}


class MLP(nn.Module):
    """Dense -> [BatchNorm] -> ReLU -> Dropout, ``depth`` times, then a linear classifier."""

    hidden: int
    depth: int
    num_classes: int
    dropout: float = 0.0
    batch_norm: bool = False

    @nn.compact
    def __call__(self, x, *, train: bool):
        for i in range(self.depth):
            # No bias before batch norm: BN cancels it, its gradient is rounding noise and Adam
            # would amplify that noise into lr-sized steps.
            x = nn.Dense(self.hidden, use_bias=not self.batch_norm, name=f"dense_{i}")(x)
            if self.batch_norm:
                x = nn.BatchNorm(use_running_average=not train, momentum=0.9, name=f"bn_{i}")(x)
            x = nn.relu(x)
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return nn.Dense(self.num_classes, name="head")(x)


def get_config() -> ml_collections.ConfigDict:
    """The toy task's own keys (merged into a trainer config by experiments/configs/toy.py)."""
    c = ml_collections.ConfigDict()
    c.task = "toy"
    c.data = ml_collections.ConfigDict(dict(
        num_train=2048, num_valid=512, dim=16, num_classes=4, noise=1.0, batch_size=64,
        eval_batch_size=128, read_delay_s=0.0, num_threads=0, num_workers=0))
    c.model = ml_collections.ConfigDict(dict(
        hidden=64, depth=2, dropout=0.1, batch_norm=True))
    return c


def build(config: ml_collections.ConfigDict) -> Task:
    d, m = config.data, config.model
    model = MLP(hidden=m.hidden, depth=m.depth, num_classes=d.num_classes, dropout=m.dropout,
                batch_norm=m.batch_norm)

    def source(split: int, n: int, delay: float = 0.0) -> GaussianClusters:
        # The data seed is fixed so that runs with different config.seed see the same problem.
        return GaussianClusters(n, d.dim, d.num_classes, d.noise, seed=1234, split=split,
                                read_delay_s=delay)

    def init(rng, batch):
        return model.init(rng, batch["train"]["x"], train=False)

    def loss(params, variables, batch, rng, step):
        del step
        b = batch["train"]
        logits, updates = model.apply(
            {"params": params, **variables}, b["x"], train=True,
            rngs={"dropout": rng}, mutable=list(variables))
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, b["label"]).mean()
        acc = jnp.mean(jnp.argmax(logits, -1) == b["label"])
        return ce, {"accuracy": acc, "variables": dict(updates)}

    def predict(params, variables, batch):
        logits = model.apply({"params": params, **variables}, batch["x"], train=False)
        return {"logits": logits}

    def train_data(ctx: DataContext) -> TrainData:
        stream = pipeline.train_stream(
            source(0, d.num_train, d.read_delay_s), global_batch_size=d.batch_size, ctx=ctx,
            seed=ctx.seed, num_threads=d.num_threads, num_workers=d.num_workers)
        return TrainData({"train": stream},
                         steps_per_epoch=pipeline.steps_per_epoch(d.num_train, d.batch_size))

    def eval_data(ctx: DataContext):
        return {"valid": pipeline.eval_batches(source(1, d.num_valid), d.eval_batch_size)}

    def classification(predictions, batch):
        y_pred = predictions["logits"].argmax(-1)
        return {"accuracy": metrics.accuracy(batch["label"], y_pred),
                "uar": metrics.uar(batch["label"], y_pred)}

    return Task(name="toy", init=init, loss=loss, predict=predict, train_data=train_data,
                eval_data=eval_data, evaluators={"classification": classification},
                metadata={"num_classes": d.num_classes, "dim": d.dim})
