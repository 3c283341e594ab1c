"""2Att-2Mt results list spec §11.3/§11.5 targets next to the measured values, per model size."""

from experiments import two_att_two_mt as launcher
from experiments import two_att_two_mt_checks as checks
from experiments.configs import two_att_two_mt as config_lib


def _summary(data: str, final: list[dict], stage1: list[dict], model: tuple | None) -> dict:
    summary = {"data": data, "protocol": "p", "classes": ["a"], "seeds": [0, 1],
               "command": "cmd", "commit": "c", "hardware": "h",
               "rows": {"full": {"description": "2Att-2Mt", "two_stage": True,
                                 "final_stage": "categorical" if data == "fer2013"
                                 else "dimensional", "dims": ["v", "a"], "categorical": True,
                                 "final": final, "stage1": stage1, "rundirs": ["x"]}}}
    if model:
        summary["model"] = dict(zip(("backbone", "width", "image_size"), model))
    return summary


def _model_of(arg: str) -> tuple | None:
    return checks.model_key({"model": checks.model_record(config_lib.get_config(arg))})


def test_the_configs_record_the_models_the_targets_were_set_for():
    assert _model_of("size=tiny") == checks.TINY
    assert _model_of("size=default") == checks.DEFAULT
    assert _model_of("size=default,data=fer2013,root=/x") == checks.FER2013


def test_synthetic_tiny_targets_and_the_class_mean_comparison():
    final = [{"test/v_ccc": 0.15, "test/a_ccc": 0.6, "test/accuracy": 0.3, "test/mean_ccc": 0.375},
             {"test/v_ccc": 0.27, "test/a_ccc": 0.5, "test/accuracy": 0.4, "test/mean_ccc": 0.385}]
    stage1 = [{"test/classmean_mean_ccc": 0.40}, {"test/classmean_mean_ccc": 0.38}]
    intro, lines = checks.checks(_summary("synthetic_faces", final, stage1, checks.TINY), "full")
    assert "tiny CPU run" in intro and "resnet18 width 16 @64 px" in intro
    assert lines == [
        "- test V CCC 0.210 (mean of 2 seed(s)); asked > 0.20: met",
        "- test A CCC 0.550 (mean of 2 seed(s)); asked > 0.20: met",
        "- test accuracy 0.350 (mean of 2 seed(s)); asked > 0.19: met",
        "- test mean CCC 0.380 vs the class-mean predictor 0.390: NOT above"]
    # The same numbers against the ResNet-18 @96 targets fail them.
    _, lines = checks.checks(_summary("synthetic_faces", final, stage1, checks.DEFAULT), "full")
    assert lines[0] == "- test V CCC 0.210 (mean of 2 seed(s)); asked ≥ 0.85: NOT met"
    # Another model, or none recorded: no synthetic targets apply.
    assert checks.checks(_summary("synthetic_faces", final, stage1, ("resnet50", 64, 224)),
                         "full") == ("", [])
    assert checks.checks(_summary("synthetic_faces", final, stage1, None), "full") == ("", [])


def test_fer2013_targets_name_the_model_they_were_set_for():
    final = [{"test/accuracy": 0.29, "test/macro_f1": 0.21, "test/majority_accuracy": 0.25},
             {"test/accuracy": 0.31, "test/macro_f1": 0.23, "test/majority_accuracy": 0.25}]
    intro, lines = checks.checks(_summary("fer2013", final, [], ("resnet18", 16, 64)), "full")
    assert "for resnet18 width 64 @64 px; this table's model: resnet18 width 16 @64 px" in intro
    assert lines == ["- test accuracy 0.300 (mean of 2 seed(s)); asked ≥ 0.30: met",
                     "- test macro-F1 0.220 (mean of 2 seed(s)); asked ≥ 0.20: met",
                     "- test accuracy 0.300 vs the majority class 0.250: above"]
    intro, _ = checks.checks(_summary("fer2013", final, [], None), "full")
    assert "this table's model: not recorded (see the command)" in intro
    text = launcher.render(_summary("fer2013", final, [], checks.FER2013))
    assert text.index("## Checks (spec §11)") < text.index("## Provenance")
