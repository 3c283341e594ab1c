"""The one trainer: generic over a Task, data-parallel over a device mesh, checkpointed."""

from affectjax.train.config import trainer_defaults
from affectjax.train.loop import NonFiniteError, RunResult, load_results, run
from affectjax.train.task import DataContext, Task, TrainData

__all__ = ["DataContext", "NonFiniteError", "RunResult", "Task", "TrainData", "load_results",
           "run", "trainer_defaults"]
