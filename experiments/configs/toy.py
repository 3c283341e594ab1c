"""Toy MLP on Gaussian clusters: the trainer's smoke test, benchmark and Task template.

    python -m experiments.toy --config=experiments/configs/toy.py --workdir=runs/toy

Expected: valid/accuracy above 0.9 after 200 steps (a few seconds on CPU).
Args (``:key=value,...``): ``size=tiny`` for tests (smaller data and model, 20 steps).
"""

from __future__ import annotations

from affectjax.tasks import toy
from affectjax.train import trainer_defaults
from experiments.configs import args as config_args


def get_config(arg: str = ""):
    a = config_args.parse(arg, size="default")
    c = trainer_defaults()
    c.update(toy.get_config())
    c.train.total_steps = 200
    c.train.log_every_steps = 20
    c.train.eval_every_steps = 100
    c.train.checkpoint_every_steps = 100
    if a.size == "tiny":
        c.data.num_train, c.data.num_valid, c.data.batch_size = 256, 64, 16
        c.model.hidden = 16
        c.train.total_steps, c.train.log_every_steps = 20, 5
        c.train.eval_every_steps, c.train.checkpoint_every_steps = 10, 10
    elif a.size != "default":
        raise ValueError(f"toy config: size={a.size!r}, expected tiny or default")
    c.lock()
    return c
