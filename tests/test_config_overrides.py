"""Sequence-valued config fields can be overridden on the command line, as launchers parse it."""

from __future__ import annotations

import importlib
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from absl import flags
from jax.sharding import Mesh, PartitionSpec
from ml_collections import config_flags

from affectjax import tasks
from affectjax.train import load_results, run, sharding
from affectjax.train.optim import make_optimizer
from tests.conftest import REPO

CONFIGS = REPO / "experiments" / "configs"
# Every config file with the arguments that change which sequence fields it sets.
CONFIG_ARGS = {"toy": ["", "size=tiny"],
               "two_att_two_mt": ["", "stage=dimensional,size=default", "real_check=/x",
                                  "data=fer2013"],
               "bert4cmr": ["size=tiny"], "emo_dna": ["size=tiny"]}


def parse(spec: str, *overrides: str) -> ml_collections.ConfigDict:
    """The config as ``python -m experiments.X --config=<spec> <overrides>`` would build it.

    Same flag definition as ``experiments.common`` (a config file, locked), on a private
    FlagValues so the process-wide flags stay unparsed for the other tests.
    """
    argv = ["launcher", f"--config={CONFIGS / spec}", *overrides]
    values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", None, "config file", flag_values=values,
                                    lock_config=True, sys_argv=argv)
    values(argv)
    return values.config


def lists_in(config: ml_collections.ConfigDict, prefix: str = ""):
    for key, value in config.items():
        if isinstance(value, ml_collections.ConfigDict):
            yield from lists_in(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            yield f"{prefix}{key}"


@pytest.mark.parametrize("name", sorted(CONFIG_ARGS))
def test_no_config_field_is_a_list(name):
    # config_flags rejects list fields ("Type <class 'list'> ... is not supported for
    # overriding"); tuples take a Python literal.
    module = importlib.import_module(f"experiments.configs.{name}")
    for arg in CONFIG_ARGS[name]:
        assert not list(lists_in(module.get_config(arg))), (name, arg)


def test_freeze_and_final_only_eval_sets_from_the_command_line():
    default = parse("toy.py:size=tiny")
    assert (default.freeze, default.train.final_only_eval_sets) == ((), ())
    c = parse("toy.py:size=tiny", "--config.freeze=('dense_0/.*', 'head/.*')",
              "--config.train.final_only_eval_sets=('valid',)")
    assert c.freeze == ("dense_0/.*", "head/.*")
    assert c.train.final_only_eval_sets == ("valid",)
    # One bare regex is a one-entry tuple; a repeated flag collects its entries.
    c = parse("toy.py:size=tiny", "--config.freeze=dense_0/.*", "--config.freeze=head/.*",
              "--config.train.final_only_eval_sets=valid")
    assert c.freeze == ("dense_0/.*", "head/.*")
    assert c.train.final_only_eval_sets == ("valid",)
    # A config file's own values are replaced, and "()" clears them.
    stage1 = parse("two_att_two_mt.py:stage=categorical", "--config.freeze=()",
                   "--config.train.final_only_eval_sets=('test',)")
    assert stage1.freeze == () and stage1.train.final_only_eval_sets == ("test",)
    assert parse("two_att_two_mt.py:real_check=/x").train.final_only_eval_sets == (
        "test", "shifted", "fer2013")
    # bert4cmr's config file assigns a list; the field's tuple type converts it.
    assert parse("bert4cmr.py:size=tiny",
                 "--config.train.final_only_eval_sets=()").train.final_only_eval_sets == ()


def test_overridden_freeze_and_final_only_sets_reach_the_trainer(tmp_path):
    argv = ("--config.freeze=dense_0/.*", "--config.train.final_only_eval_sets=valid",
            "--config.train.progress=False", "--config.train.checkpoint_every_steps=5")
    runs = {}
    for steps in (0, 10):  # 0 steps: the parameters as initialised (same seed)
        config = parse("toy.py:size=tiny", *argv, f"--config.train.total_steps={steps}")
        runs[steps] = run(tasks.build(config), config, str(tmp_path / str(steps))).state.params
    np.testing.assert_array_equal(runs[10]["dense_0"]["kernel"], runs[0]["dense_0"]["kernel"])
    assert not np.array_equal(runs[10]["head"]["kernel"], runs[0]["head"]["kernel"])
    workdir = tmp_path / "10"
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").open()]
    assert records and not any(k.startswith("valid/") for r in records for k in r), (
        "valid is final-only")
    assert "valid/accuracy" in load_results(workdir)["final"]
    saved = json.loads((workdir / "config.json").read_text())
    assert saved["freeze"] == ["dense_0/.*"]
    assert saved["train"]["final_only_eval_sets"] == ["valid"]


def tree():
    return {"backbone": {"kernel": jnp.ones((8, 3))}, "head": {"kernel": jnp.ones((3, 2)),
                                                            "bias": jnp.zeros(2)}}


def test_nested_pairs_from_the_command_line():
    """lr_mults and mesh.param_rules: the whole tuple of pairs in one flag, trailing commas."""
    c = parse("toy.py:size=tiny", "--config.optim.lr_mults=(('head/.*', 0.5),)",
              "--config.mesh.param_rules=(('backbone/kernel', ('data', None)), "
              "('head/.*', (None,)))",
              "--config.optim.weight_decay_exclude=.*/bias",
              "--config.init_from.dont_load=('head/.*',)")
    assert c.optim.lr_mults == (("head/.*", 0.5),)
    assert c.mesh.param_rules == (("backbone/kernel", ("data", None)), ("head/.*", (None,)))
    assert c.optim.weight_decay_exclude == (".*/bias",)
    assert c.init_from.dont_load == ("head/.*",)
    params = tree()
    make_optimizer(c, params, total_steps=10, steps_per_epoch=None).init(params)
    mesh = Mesh(np.array(jax.devices()), (sharding.DATA_AXIS,))
    specs = jax.tree.map(lambda s: s.spec, sharding.param_shardings(mesh, params,
                                                                    c.mesh.param_rules))
    assert specs["backbone"]["kernel"] == PartitionSpec("data", None)
    assert specs["head"]["kernel"] == PartitionSpec(None)


def test_a_pair_without_its_trailing_comma_is_a_clear_error():
    # "('head/.*', 0.5)" is read as the two entries 'head/.*' and 0.5, not as one pair.
    c = parse("toy.py:size=tiny", "--config.optim.lr_mults=('head/.*', 0.5)",
              "--config.mesh.param_rules=('backbone/kernel', ('data', None))")
    assert c.optim.lr_mults == ("head/.*", 0.5)
    with pytest.raises(ValueError, match=r"optim.lr_mults: expected \(regex, value\) pairs.*"
                                         r"trailing commas"):
        make_optimizer(c, tree(), total_steps=10, steps_per_epoch=None)
    mesh = Mesh(np.array(jax.devices()), (sharding.DATA_AXIS,))
    with pytest.raises(ValueError, match=r"mesh.param_rules: expected \(regex, value\) pairs"):
        sharding.param_shardings(mesh, tree(), c.mesh.param_rules)
    with pytest.raises(ValueError, match=r"names mesh axes \['model'\]"):
        sharding.param_shardings(mesh, tree(), (("head/.*", ("model",)),))
