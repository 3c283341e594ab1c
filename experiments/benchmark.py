"""Time any config's train step: compile time, steps/s, examples/s, peak memory, input speed.

    python -m experiments.benchmark --config=experiments/configs/toy.py --devices=1,4

Each device count runs in this one process (on CPU the host is split into fake devices), and
every row is also reported as a ratio to the first row. The step is timed on one fixed batch,
blocking on each step, so the figure is the model's; the input pipeline is timed on its own
and reported as its batches/s and as ``data_headroom`` = pipeline batches/s / steps/s (above 1,
the pipeline keeps up; the fraction of a real run spent waiting for data is in the run's
metrics.jsonl as ``time/data_wait_frac``). ``--loop_steps=N`` measures that fraction here:
the real training loop runs N steps on the first device count without and with background
prefetch (``train.prefetch_batches``), in this process; ``--loop_steps_per_call=K`` adds a run
with K steps per device call (``train.steps_per_call``).
"""

import os
import sys


def _requested_devices(argv: list[str]) -> int:
    for arg in argv:
        if arg.startswith("--devices="):
            return max(int(x) for x in arg.split("=", 1)[1].split(","))
    return 1


# Fake CPU devices must be requested before JAX starts; accelerators ignore this flag.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_"
                               f"device_count={_requested_devices(sys.argv)}").strip()

import json  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from affectjax import tasks  # noqa: E402
from affectjax.train import loop, run, sharding  # noqa: E402
from affectjax.train.evaluation import device_part, padded_size_for, put_padded_batch  # noqa: E402
from affectjax.train.schedule import Schedule  # noqa: E402
from affectjax.train.step import make_train_step  # noqa: E402
from affectjax.train.task import DataContext  # noqa: E402
from experiments import common  # noqa: E402

_DEVICES = flags.DEFINE_list("devices", ["1"], "device counts to time, e.g. 1,4")
_STEPS = flags.DEFINE_integer("steps", 20, "timed steps per device count")
_WARMUP = flags.DEFINE_integer("warmup", 3, "untimed steps after compilation")
_DATA_BATCHES = flags.DEFINE_integer("data_batches", 20, "batches read to time the pipeline")
_EVAL_BATCHES = flags.DEFINE_integer("eval_batches", 5, "timed predict calls (0: skip eval)")
_LOOP_STEPS = flags.DEFINE_integer(
    "loop_steps", 0, "also run the real training loop this many steps, without and with "
    "background prefetch, and report its data-wait fraction (0: skip)")
_LOOP_PER_CALL = flags.DEFINE_integer(
    "loop_steps_per_call", 1, "with --loop_steps: also run the loop (without prefetch) with "
    "this many steps per device call (train.steps_per_call; 1: skip)")
_JSON = flags.DEFINE_string("json", None, "also write the rows to this JSON file")


def _peak_memory_mb(devices) -> tuple[float, str]:
    stats = devices[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return sum((d.memory_stats() or {}).get("peak_bytes_in_use", 0)
                   for d in devices) / 2**20, "device"
    # CPU devices keep no allocator statistics: the process's peak resident size instead.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "host RSS"


def time_eval(task, ctx, state, mesh, calls: int) -> dict:
    """Rows/s of the jitted predict on the first batch of the first eval set (padded as in eval)."""
    if calls <= 0:
        return {}
    eval_sets = task.eval_data(ctx)
    if not eval_sets:
        return {}
    set_name, data = next(iter(eval_sets.items()))
    host = device_part(next(iter(data)))
    rows = np.shape(next(iter(host.values())))[0]
    batch = put_padded_batch(host, padded_size_for(rows, mesh), mesh)
    predict = jax.jit(task.predict)
    t0 = time.perf_counter()
    jax.block_until_ready(predict(state.params, state.variables, batch))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(calls):
        jax.block_until_ready(predict(state.params, state.variables, batch))
    call_s = (time.perf_counter() - t0) / calls
    return {"eval_set": set_name, "eval_batch": rows, "eval_compile_s": compile_s,
            "eval_rows_per_s": rows / call_s}


def time_config(config, num_devices: int, steps: int, warmup: int, data_batches: int,
                eval_batches: int = 0) -> dict:
    """One benchmark row for ``config`` on the first ``num_devices`` devices."""
    with config.unlocked():
        config.mesh.num_devices = num_devices
    task = tasks.build(config)
    mesh = sharding.make_mesh(config)
    ctx = DataContext(seed=config.seed, process_index=jax.process_index(),
                      process_count=jax.process_count(), num_devices=mesh.size)
    train_data = task.train_data(ctx)
    iterators = {name: iter(s) for name, s in train_data.streams.items()}
    first = loop.peek(iterators)
    examples = sum(sharding.check_batch_divisible(n, device_part(b), mesh)
                   for n, b in first.items())
    batch = sharding.put_local_batch({k: device_part(b) for k, b in first.items()}, mesh)
    total = Schedule.from_config(config.train, train_data.steps_per_epoch).total_steps
    state, tx = loop.init_train_state(task, config, batch, mesh, total,
                                      train_data.steps_per_epoch)
    step = jax.jit(make_train_step(task, tx), donate_argnums=(0,))

    t0 = time.perf_counter()
    compiled = step.lower(state, batch).compile()
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        state, metrics = compiled(state, batch)
        jax.block_until_ready(metrics)
    t0 = time.perf_counter()
    for _ in range(steps):
        state, metrics = compiled(state, batch)
        jax.block_until_ready(metrics)  # CPU collectives need it; it also makes timing honest
    step_s = (time.perf_counter() - t0) / steps

    t0 = time.perf_counter()
    for _ in range(data_batches):
        loop.next_batch(iterators, mesh)
    data_s = (time.perf_counter() - t0) / data_batches
    eval_row = time_eval(task, ctx, state, mesh, eval_batches)
    memory, memory_kind = _peak_memory_mb(mesh.devices.flat)
    return {**eval_row,
        "task": task.name, "devices": num_devices, "platform": jax.devices()[0].platform,
        "global_batch": examples, "compile_s": compile_s, "steps_per_s": 1 / step_s,
        "examples_per_s": examples / step_s, "data_batches_per_s": 1 / data_s,
        "data_headroom": step_s and data_s and (1 / data_s) / (1 / step_s),
        "peak_memory_mb": memory, "memory_kind": memory_kind,
    }


def time_loop(config, num_devices: int, steps: int, prefetch: int, workdir: str,
              steps_per_call: int = 1) -> dict:
    """The real training loop for ``steps`` steps: its steps/s and data-wait fraction.

    Unlike ``time_config`` (one fixed batch), every step here draws its batch from the task's
    pipeline as training does, with ``train.prefetch_batches=prefetch`` and
    ``train.steps_per_call=steps_per_call``; no periodic eval or
    checkpoint, one log line at the end (compile and first step excluded, as in training).
    """
    config = config.copy_and_resolve_references()
    with config.unlocked():
        config.mesh.num_devices = num_devices
        t = config.train
        t.prefetch_batches, t.total_steps, t.total_epochs = prefetch, steps, None
        t.steps_per_call = steps_per_call
        t.log_every_steps, t.progress = steps, False
        t.eval_every_steps = t.eval_every_epochs = None
        t.checkpoint_every_steps = t.checkpoint_every_epochs = None
        config.early_stop.metric = None
        config.init_from.path = None
    run(tasks.build(config), config, workdir)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        last = [json.loads(line) for line in f][-1]
    return {"task": config.task, "devices": num_devices, "prefetch": prefetch,
            "steps_per_call": steps_per_call, "steps": steps,
            "loop_steps_per_s": last["time/steps_per_sec"],
            "data_wait_frac": last["time/data_wait_frac"]}


def _print_table(rows: list[dict]) -> None:
    base = rows[0]
    width = max(len("task"), *(len(r["task"]) for r in rows))
    print(f"{'task':{width}} {'dev':>3} {'batch':>5} {'compile_s':>9} {'steps/s':>9} {'ex/s':>10} "
          f"{'x base':>6} {'data b/s':>9} {'headroom':>8} {'peak MB':>8} {'eval rows/s':>11}")
    for r in rows:
        print(f"{r['task']:{width}} {r['devices']:>3} {r['global_batch']:>5} "
              f"{r['compile_s']:>9.2f} "
              f"{r['steps_per_s']:>9.2f} {r['examples_per_s']:>10.1f} "
              f"{r['steps_per_s'] / base['steps_per_s']:>6.2f} {r['data_batches_per_s']:>9.1f} "
              f"{r['data_headroom']:>8.2f} {r['peak_memory_mb']:>8.0f} "
              f"{r.get('eval_rows_per_s', float('nan')):>11.1f}")
    print(f"platform: {base['platform']} ({jax.device_count()} devices visible); peak memory is "
          f"{base['memory_kind']}; 'x base' = steps/s relative to the first row")


def main(argv) -> None:
    del argv
    common.setup_logging()
    config = common.config_flag().value
    if config is None:
        raise SystemExit("usage: python -m experiments.benchmark --config=<file>[:args] "
                         "[--devices=1,4]")
    rows = []
    for n in (int(d) for d in _DEVICES.value):
        if n > jax.device_count():
            raise SystemExit(f"--devices asks for {n} but only {jax.device_count()} are visible")
        rows.append(time_config(config, n, _STEPS.value, _WARMUP.value, _DATA_BATCHES.value,
                                _EVAL_BATCHES.value))
    _print_table(rows)
    loops = []
    if _LOOP_STEPS.value:
        # The same loop without and with background prefetch, in this process, on the first
        # device count: the data-wait fraction a real run sees, and what prefetch buys.
        n = int(_DEVICES.value[0])
        with tempfile.TemporaryDirectory() as tmp:
            variants = [(0, 1), (config.train.prefetch_batches or 2, 1)]
            if _LOOP_PER_CALL.value > 1:
                variants.append((0, _LOOP_PER_CALL.value))
            for prefetch, per_call in variants:
                loops.append(time_loop(config, n, _LOOP_STEPS.value, prefetch,
                                       os.path.join(tmp, f"prefetch_{prefetch}_call_{per_call}"),
                                       per_call))
        base = loops[0]["loop_steps_per_s"]
        for r in loops:
            print(f"training loop, {r['devices']} dev, prefetch_batches={r['prefetch']}, "
                  f"steps_per_call={r['steps_per_call']}: "
                  f"{r['loop_steps_per_s']:.1f} steps/s ({r['loop_steps_per_s'] / base:.2f}x), "
                  f"data wait {100 * r['data_wait_frac']:.1f} % of {r['steps']} steps")
    if _JSON.value:
        with open(_JSON.value, "w") as f:
            # Step rows, then the loop rows (marked by their "prefetch" key).
            json.dump(rows + loops, f, indent=2)


if __name__ == "__main__":
    app.run(main)
