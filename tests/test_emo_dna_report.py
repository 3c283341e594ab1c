"""experiments.emo_dna.report: the cross-task table and the spec §11.3 checks from summary.json."""

import json

import pytest

from experiments import emo_dna


def _write(root, name, task, rows, k=7):
    d = root / name
    d.mkdir(parents=True)
    summary = {"task": task, "classes": [f"c{i}" for i in range(k)], "seeds": [0, 1],
               "rows": {r: {"uar": list(v), "war": list(v)} for r, v in rows.items()},
               "command": f"python -m experiments.emo_dna ... {name}", "commit": "abc1234",
               "hardware": "test"}
    (d / "summary.json").write_text(json.dumps(summary))


def _add(root, name, **fields):
    """Fields that newer launchers write into a summary (older ones lack them)."""
    path = root / name / "summary.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | fields))


def test_shift_checks_oracle_check_and_labels(tmp_path):
    for i, task in enumerate(emo_dna.SHIFT_TASKS):
        so = 0.6 - 0.1 * i  # falls with shift: s0 − s100 = 40 points, ρ = −1
        _write(tmp_path, task, task, {"source_only": [so, so], "oracle": [0.7, 0.7],
                                      "emo_dna": [so + 0.05, so + 0.05],
                                      "emo_dna-spec_loss": [1 / 7, 1 / 7]})
    _write(tmp_path, "emodb_m2f", "emodb_m2f", {"source_only": [0.3, 0.32], "oracle": [0.2, 0.2],
                                          "oracle-target_only": [0.4, 0.4]})
    text = emo_dna.report(str(tmp_path))
    assert "source-only UAR s0 − s100: 40.0 points" in text
    assert "Spearman ρ(shift, source-only UAR): -1.00" in text
    both, target_only = emo_dna.row_label("oracle"), emo_dna.row_label("oracle-target_only")
    assert f"- emodb_m2f: {both} ≥ source-only: NO" in text
    assert f"- emodb_m2f: {target_only} ≥ source-only: yes" in text
    assert f"- synth_s0: {both} ≥ source-only: yes" in text
    assert "EMO-DNA §4 loss as specified (w_pl 1, no L_div)" in text
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    assert header.split("|")[2].strip() == "synth_s0" and "emodb_m2f" in header


def test_a_column_names_its_directory_where_that_is_not_the_task(tmp_path):
    _write(tmp_path, "pl0.1", "synth_s50", {"emo_dna": [0.35, 0.37]})
    _write(tmp_path, "pl0.01", "synth_s50", {"emo_dna": [0.38, 0.40]})
    _write(tmp_path, "jtalk2emodb_speaker_norm", "jtalk2emodb", {"emo_dna": [0.3, 0.3]}, k=4)
    _write(tmp_path, "emodb2jtalk", "emodb2jtalk", {"emo_dna": [0.3, 0.3]}, k=4)
    text = emo_dna.report(str(tmp_path))
    assert "synth_s50 [pl0.1]" in text and "synth_s50 [pl0.01]" in text
    assert "| jtalk2emodb [jtalk2emodb_speaker_norm] |" in text and "| emodb2jtalk |" in text
    assert "36.0 ± 1.4" in text and "39.0 ± 1.4" in text
    assert "not all five were run" in text


def test_no_summaries_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="no summary.json"):
        emo_dna.report(str(tmp_path))


def test_per_speaker_tables_follow_the_main_table(tmp_path):
    _write(tmp_path, "synth_s0", "synth_s0", {"source_only": [0.5, 0.5]})
    _add(tmp_path, "synth_s0",
         by_speaker={"speakers": ["spk1", "spk2"], "uar": {"source_only": [0.3, 0.7]}})
    _write(tmp_path, "emodb_m2f", "emodb_m2f", {"source_only": [0.3, 0.3]})  # older: no speakers
    text = emo_dna.report(str(tmp_path))
    section = text[text.index("## UAR per target speaker"):text.index("## Provenance")]
    assert "### synth_s0" in section and "### emodb_m2f" not in section
    assert "| source-only | 30.0 | 70.0 |" in section


def test_uar_by_step_tables_only_for_tasks_that_logged_them(tmp_path):
    _write(tmp_path, "synth_s50", "synth_s50", {"source_only": [0.5, 0.5]})
    _add(tmp_path, "synth_s50", by_step={"source_only": {"steps": [200, 400], "uar": [0.25, 0.2]}})
    _write(tmp_path, "emodb_m2f", "emodb_m2f", {"source_only": [0.3, 0.3]})  # older: no curve
    text = emo_dna.report(str(tmp_path))
    section = text[text.index("## Target UAR during training"):text.index("## Provenance")]
    assert "### synth_s50" in section and "### emodb_m2f" not in section
    assert "| source-only | 25.0 | 20.0 |" in section


def test_cells_give_mean_std_or_say_one_seed(tmp_path):
    _write(tmp_path, "a", "emodb2jtalk", {"source_only": [0.30, 0.34], "emo_dna": [0.25]}, k=4)
    text = emo_dna.report(str(tmp_path))
    assert "| source-only | 32.0 ± 2.8 (32.0 ± 2.8) |" in text
    assert "| EMO-DNA | 25.0 (25.0; 1 seed) |" in text
