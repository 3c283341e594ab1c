"""Train the toy Task, the trainer's template: ``python -m experiments.toy --config=...``."""

import functools

from absl import app

from experiments import common

if __name__ == "__main__":
    app.run(functools.partial(common.main, name="toy"))
