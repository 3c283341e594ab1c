"""The one training loop: any Task, one jitted data-parallel step, checkpoints, evaluation."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import jax
import ml_collections
import numpy as np

from affectjax.train import optim, outputs, sharding
from affectjax.train.checkpoint import Checkpointer, load_init_from
from affectjax.train.early_stop import EarlyStopping
from affectjax.train.evaluation import device_part, evaluate
from affectjax.train.prefetch import BatchPrefetcher
from affectjax.train.run_clock import RunClock
from affectjax.train.schedule import Schedule
from affectjax.train.state import TrainState
from affectjax.train.step import make_multi_step, make_train_step
from affectjax.train.task import DataContext, Task

log = logging.getLogger(__name__)

RESULTS_FILE = "results.json"


class NonFiniteError(FloatingPointError):
    """Training produced a non-finite loss or gradient; names the step and the last checkpoint."""

    def __init__(self, step: int, checkpoint: str | None):
        self.step, self.checkpoint = step, checkpoint
        where = (f"the last good checkpoint is {checkpoint}" if checkpoint
                 else "no checkpoint was saved before it")
        super().__init__(
            f"non-finite loss or gradients at step {step}; training stopped and {where} "
            "(rerun with the same workdir to resume from it, e.g. after lowering optim.lr)")


@dataclasses.dataclass
class RunResult:
    """What ``run`` returns: the final state (best if early stopping restored it) and metrics."""

    state: TrainState
    metrics: dict[str, float]
    step: int
    workdir: str


def peek(iterators: dict[str, Any]) -> dict[str, Any]:
    """The next batch of every stream without consuming it (iterator state rewound)."""
    first = {}
    for name, it in list(iterators.items()):
        if hasattr(it, "get_state") and hasattr(it, "set_state"):
            saved = it.get_state()
            first[name] = next(it)
            it.set_state(saved)
        else:
            first[name] = next(it)
            iterators[name] = itertools.chain([first[name]], it)
    return first


def _draw(iterators: dict[str, Any]) -> dict[str, Any]:
    local = {}
    for name, it in iterators.items():
        try:
            local[name] = device_part(next(it))
        except StopIteration:
            raise RuntimeError(f"training stream {name!r} ended; training streams must be "
                               "infinite (repeat the dataset)") from None
    return local


def next_batch(iterators: dict[str, Any], mesh, steps: int | None = None) -> dict[str, Any]:
    """The next global batch of every stream; ``steps=n``: the next n, stacked on a new axis 0."""
    if steps is None:
        return sharding.put_local_batch(_draw(iterators), mesh)
    drawn = [_draw(iterators) for _ in range(steps)]
    return sharding.put_local_batch(jax.tree.map(lambda *xs: np.stack(xs), *drawn), mesh,
                                    stacked=True)


def _host_scalars(metrics: list[dict]) -> dict[str, float]:
    """Mean of each scalar metric over the steps since the last log line.

    Each entry is one call's metrics: scalars, or one value per step of a multi-step call.
    """
    fetched = jax.device_get(metrics)
    return {f"train/{k}": float(np.mean(np.concatenate([np.ravel(m[k]) for m in fetched])))
            for k in fetched[0]}


def call_sizes(schedule: Schedule, start: int, end: int, steps_per_call: int):
    """Steps run by each call into the device from ``start`` to ``end`` (Schedule.next_call)."""
    step = start
    while step < end:
        n = schedule.next_call(step, steps_per_call, end)
        yield n
        step += n


def init_train_state(task: Task, config, example, mesh, schedule_steps: int, steps_per_epoch):
    """A fresh TrainState placed on ``mesh`` and the optimizer that updates it."""
    rng = jax.random.PRNGKey(config.seed)
    init_rng, train_rng = jax.random.split(rng)
    variables = jax.jit(task.init)(init_rng, example)
    variables = dict(variables)
    if "params" not in variables:
        raise ValueError(f"task {task.name!r}: init must return a dict with a 'params' entry")
    variables = jax.device_put(
        variables, sharding.param_shardings(mesh, variables, config.mesh.param_rules))
    params = variables.pop("params")
    tx = optim.make_optimizer(config, params, schedule_steps, steps_per_epoch)
    opt_state = jax.jit(tx.init)(params)  # moments inherit the params' shardings
    state = TrainState.create(params, opt_state, variables, train_rng)
    return sharding.onto_mesh(state, mesh), tx


def run(task: Task, config: ml_collections.ConfigDict, workdir: str) -> RunResult:
    """Train ``task`` as ``config`` says, writing everything to ``workdir``.

    Resume order: this workdir's newest checkpoint, else ``config.init_from``, else scratch.
    """
    clock = RunClock(time.monotonic())
    sharding.maybe_initialize_distributed(config)
    mesh = sharding.make_mesh(config)
    primary = jax.process_index() == 0
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    log.info("task %s: %d processes, %d devices (%s), mesh %s", task.name, jax.process_count(),
             mesh.size, jax.devices()[0].platform, dict(mesh.shape))
    if primary:
        outputs.write_config(config, workdir)

    ctx = DataContext(seed=config.seed, process_index=jax.process_index(),
                      process_count=jax.process_count(), num_devices=mesh.size)
    train_data = task.train_data(ctx)
    iterators = {name: iter(stream) for name, stream in train_data.streams.items()}
    first = peek(iterators)
    examples_per_step = sum(
        sharding.check_batch_divisible(name, device_part(b), mesh) for name, b in first.items())
    schedule = Schedule.from_config(config.train, train_data.steps_per_epoch)
    example = sharding.put_local_batch({k: device_part(b) for k, b in first.items()}, mesh)
    state, tx = init_train_state(task, config, example, mesh, schedule.total_steps,
                            train_data.steps_per_epoch)
    state_sharding = jax.tree.map(lambda x: x.sharding, state)

    ckpt = Checkpointer(workdir, config.train.keep_checkpoints)
    writer = outputs.MetricsWriter(workdir, primary)
    early = EarlyStopping.from_config(config.early_stop)
    trainer_meta = {"task": task.name, "task_metadata": dict(task.metadata)}
    resumed = ckpt.restore_latest(state, iterators)
    # A resume adds the earlier invocations' time up to their last checkpoint, so the run
    # reports its whole time (work lost after that checkpoint is redone, and counted, here).
    if resumed is not None:
        state, saved_meta = resumed
        early.load_state_dict(saved_meta.get("early_stop", {}))
        clock.resume_from(saved_meta)
        writer.truncate_after(int(state.step))
    elif config.init_from.path:
        state = load_init_from(config, state, task.metadata, mesh)
    start = int(jax.device_get(state.step))
    if int(jax.device_get(state.nonfinite_step)) >= 0:
        raise NonFiniteError(int(jax.device_get(state.nonfinite_step)), ckpt.latest_path())

    per_call = config.train.steps_per_call
    if per_call < 1:
        raise ValueError(f"train.steps_per_call={per_call}: must be ≥ 1")
    # One jitted function per call size; a multi-step call scans over stacked batches.
    train_call = jax.jit(make_train_step(task, tx) if per_call == 1 else make_multi_step(task, tx),
                         donate_argnums=(0,),
                         out_shardings=(state_sharding, sharding.replicated(mesh)))
    predict = jax.jit(task.predict)
    eval_sets = task.eval_data(ctx)
    sync = config.train.sync_every_step
    if sync is None:
        sync = jax.devices()[0].platform == "cpu"

    def save(which: str) -> None:
        check_finite()
        meta = {**trainer_meta, "early_stop": early.state_dict(), **clock.state_dict()}
        ckpt.save(which, state, meta, feeder.checkpoint_iterators() if which == "last" else None)

    def check_finite() -> None:
        bad = int(jax.device_get(state.nonfinite_step))
        if bad >= 0:
            ckpt.wait()
            raise NonFiniteError(bad, ckpt.latest_path())

    unknown = set(config.train.final_only_eval_sets) - set(eval_sets)
    if unknown:
        raise ValueError(f"train.final_only_eval_sets names {sorted(unknown)}, but the task's "
                         f"eval sets are {sorted(eval_sets)}")
    periodic_sets = {k: v for k, v in eval_sets.items()
                     if k not in config.train.final_only_eval_sets}

    def run_eval(step: int) -> dict[str, float]:
        metrics = evaluate(predict, state.params, state.variables, periodic_sets,
                           task.evaluators, mesh)
        if early.enabled and early.update(step, metrics):
            save("best")
        if early.enabled:
            metrics["early_stop/best"] = early.best_value
            metrics["early_stop/best_step"] = early.best_step
        return metrics

    # Started after the restore above: from here on only the prefetch thread draws batches.
    depth = config.train.prefetch_batches
    if depth is None:
        depth = 0 if jax.devices()[0].platform == "cpu" else 2
    # A run that early-stopped but died before writing results.json resumes straight to the
    # end: training on would change the result an uninterrupted run reported.
    end = start if resumed is not None and early.should_stop else schedule.total_steps
    if end < schedule.total_steps:
        log.info("resumed an early-stopped run at step %d: not training further", start)
    # The feeder makes each call's batches in the plan's order (the prefetch thread included).
    plan = call_sizes(schedule, start, end, per_call)

    def make_call(its):
        n = next(plan)
        return n, next_batch(its, mesh, None if per_call == 1 else n)

    feeder = BatchPrefetcher(iterators, make_call, depth)
    timer = outputs.StepTimer()
    bar = outputs.progress_bar(schedule.total_steps, start, config.train.progress and primary)
    pending: list[dict] = []
    last_saved = start if resumed is not None else None
    step = start
    t_first = None
    try:
        while step < end:
            with timer.data():
                n, batch = feeder.next()
            t0 = time.perf_counter()
            state, metrics = train_call(state, batch)
            if sync or not pending:
                jax.block_until_ready(metrics)
            else:  # keep one step in flight: the host prepares the next batch meanwhile
                jax.block_until_ready(pending[-1])
            if t_first is None:
                t_first = time.perf_counter() - t0  # compile + first call; kept out of rates
                timer.reset()
            else:
                timer.steps += n
            step += n
            pending.append(metrics)
            bar.update(n)
            if sync:
                check_finite()

            logged = {}
            if Schedule.due(step, schedule.log_every) or step == schedule.total_steps:
                check_finite()
                logged.update(_host_scalars(pending))
                logged.update(timer.summary(examples_per_step))
                if t_first is not None and step == start + n or not timer.steps:
                    logged["time/first_step_s"] = t_first
                pending, _ = [], timer.reset()
                bar.set_postfix(loss=f"{logged['train/loss']:.4g}",
                                wait=f"{logged.get('time/data_wait_frac', 0):.0%}")
            if Schedule.due(step, schedule.eval_every):
                logged.update(run_eval(step))
            if logged:
                writer.write(step, logged)
            if Schedule.due(step, schedule.checkpoint_every):
                save("last")
                last_saved = step
            if early.should_stop:
                log.info("early stopping at step %d (best %s=%.4g at step %s)", step,
                         early.metric, early.best_value, early.best_step)
                break
        check_finite()
        if last_saved != step:
            save("last")
        ckpt.wait()
    finally:
        feeder.close()
        bar.close()

    final_state = state
    if early.enabled and config.early_stop.restore_best:
        best = ckpt.restore_best_model(state)
        if best is not None:
            final_state = best
    final = {}
    if eval_sets:
        final = evaluate(predict, final_state.params, final_state.variables, eval_sets,
                         task.evaluators, mesh)
    ckpt.close()
    result = {"step": step, "task": task.name, "final": final,
              "early_stop": early.state_dict() if early.enabled else None,
              "first_step_s": t_first, **clock.result()}
    if primary:
        with open(os.path.join(workdir, RESULTS_FILE), "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
        if task.finalize is not None:
            task.finalize(workdir, result)
    return RunResult(state=final_state, metrics=final, step=step, workdir=workdir)


def load_results(workdir: str) -> Mapping[str, Any]:
    with open(os.path.join(workdir, RESULTS_FILE)) as f:
        return json.load(f)
