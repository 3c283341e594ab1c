"""Train the toy Task, the trainer's template: ``python -m experiments.toy --config=...``."""

from absl import app

from experiments import common

if __name__ == "__main__":
    app.run(common.main)
