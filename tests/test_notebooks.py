"""The reproduction notebooks stay runnable: valid cells, and commands the launchers accept."""

from __future__ import annotations

import importlib
import importlib.util
import json
import pathlib
import re
import shlex

import pytest
from absl import flags

from experiments import bert4cmr, emo_dna, two_att_two_mt

ROOT = pathlib.Path(__file__).parent.parent
NOTEBOOKS = sorted(ROOT.joinpath("experiments", "notebooks").glob("*.ipynb"))
# Values for the notebook's {python} substitutions in shell lines.
PLACEHOLDERS = {"DATA": "/data", "XMARKET": "/data/xmarket", "devices": "1,4"}
KNOWN_ROWS = {
    "experiments.emo_dna": set(emo_dna.ALL_ROWS) | {"all"},
    "experiments.bert4cmr": set(bert4cmr.ROWS) | {"popularity"},
    "experiments.two_att_two_mt": set(two_att_two_mt.ALL_ROWS) | {"all"},
}


def _cells(path: pathlib.Path) -> list[dict]:
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4, f"{path.name}: nbformat {nb['nbformat']}, expected 4"
    return nb["cells"]


def _code(cell: dict) -> str:
    return "".join(cell["source"])


def _commands(path: pathlib.Path) -> list[list[str]]:
    out = []
    for cell in _cells(path):
        for line in _code(cell).splitlines():
            line = line.strip()
            if line.startswith("!python -m experiments."):
                line = re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS[m.group(1)], line[1:])
                out.append(shlex.split(line))
    return out


def test_a_notebook_exists():
    assert NOTEBOOKS, "experiments/notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_compile(path):
    for i, cell in enumerate(c for c in _cells(path) if c["cell_type"] == "code"):
        # IPython lines (!shell, %magic) become no-ops; the rest must be valid Python.
        lines = [re.sub(r"^(\s*)[!%].*$", r"\1pass", ln) for ln in _code(cell).splitlines()]
        compile("\n".join(lines), f"{path.name} code cell {i}", "exec")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_commands_parse(path):
    commands = _commands(path)
    assert commands, f"{path.name} runs no experiment"
    for argv in commands:
        assert argv[:2] == ["python", "-m"], argv
        module = argv[2]
        assert importlib.util.find_spec(module), f"{module} does not exist"
        importlib.import_module(module)  # defines its flags
        args = dict(a[2:].split("=", 1) for a in argv[3:])
        config_path, _, config_arg = args.pop("config").partition(":")
        spec = importlib.util.spec_from_file_location("notebook_config", ROOT / config_path)
        config_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(config_module)
        config = config_module.get_config(config_arg)
        for name in args:
            if name.startswith("config."):
                node = config
                for key in name.split(".")[1:]:
                    assert key in node, f"{' '.join(argv)}: no {name} in the config"
                    node = node[key]
            else:
                assert name in flags.FLAGS, f"{' '.join(argv)}: {module} has no --{name}"
        for row in args.get("rows", "").split(",") if "rows" in args else []:
            assert row in KNOWN_ROWS[module], f"{' '.join(argv)}: unknown row {row!r}"
