"""Repair: the top finding's fix applied as a configuration change, trained, diagnosed, shown before and after."""

import json

import numpy as np
import pytest

from cli_helpers import tunenet
from tunenet.config import RunConfig
from tunenet.diagnose.advice import advise
from tunenet.diagnose.kinds import KINDS, Finding
from tunenet.errors import ConfigError
from tunenet.repair import MANUAL, REPAIRED, _next_change, moved, repair
from tunenet.run import train_run


def test_every_finding_kind_has_a_change_or_says_why_not():
    for config in (RunConfig(), RunConfig(optimizer="sgd", lr=0.1, init="large", activation="tanh",
                                          normalize="none", early_stopping=0, epochs=10)):
        for kind in KINDS:
            text, change, manual = advise(kind, config.to_dict(), lr=config.lr)
            assert change or manual, (kind, config)
            if change:
                config.replace(**change)  # a valid configuration


def test_a_change_already_tried_moves_to_the_next_finding():
    config = RunConfig()
    findings = [Finding("high bias", "warning", None, 5, "e", "f", {"hidden": [512, 256]}),
                Finding("dead units", "warning", None, 5, "e", "f", {"activation": "leaky_relu"}),
                Finding("data mismatch", "warning", None, 5, "e", "f", None, "cannot")]
    tried = [config, config.replace(hidden=[512, 256])]
    finding, change, new = _next_change(findings, config, tried)
    assert finding.kind == "dead units" and new.activation == "leaky_relu"
    assert _next_change(findings[2:], config, tried) is None


def _bv(variance, se=0.01):
    return {"bias_variance": {"avoidable_bias": 0.0, "reducible_variance": variance, "se_dev": se}}


def test_a_change_that_did_not_move_its_finding_is_not_repeated_in_kind():
    """A variance gap that an l2 change left within one standard error: the next remedy is dropout, not more l2."""
    config = RunConfig(early_stopping=0)
    variance = Finding("high variance", "warning", None, 40, "e", "f", {"l2": 1e-3},
                       changes=[{"l2": 1e-3}, {"keep_prob": 0.8}, {"early_stopping": 5}])
    assert moved(variance, [variance], _bv(0.099), _bv(0.095)) == (
        False, "variance 9.9% -> 9.5% (1 standard error 1.0%)")
    assert moved(variance, [variance], _bv(0.099), _bv(0.05))[0]
    assert moved(variance, [], _bv(0.099), {})[0]  # gone
    assert moved(variance, [Finding("high variance", "info", None, 40, "e", "f")], _bv(0.099), _bv(0.09))[0]
    after = config.replace(l2=1e-3)
    again = Finding("high variance", "warning", None, 40, "e", "f", {"l2": 1e-2},
                    changes=[{"l2": 1e-2}, {"keep_prob": 0.8}])
    assert _next_change([again], after, [config, after])[1] == {"l2": 1e-2}  # without the record: l2 again
    _, change, new = _next_change([again], after, [config, after], {"high variance": {frozenset({"l2"})}})
    assert change == {"keep_prob": 0.8} and new.keep_prob == 0.8 and new.l2 == 1e-3
    assert _next_change([again], after, [config, after], {"high variance": {frozenset({"l2"}),
                                                                           frozenset({"keep_prob"})}}) is None
    vanishing = Finding("vanishing gradients", "error", "dense0", 1, "e", "f", {"batchnorm": True}, magnitude=3.0)
    assert not moved(vanishing, [Finding("vanishing gradients", "error", "dense0", 1, "e", "f", magnitude=2.9)],
                     {}, {})[0]


def test_too_little_data_is_refused_with_the_row_count_and_early_stopping_repairs_memorised_noise(tmp_path):
    """Two runs made for it: 180 training rows (no regulariser can win: the repair says so after one try)
    and a wide network memorising 20% label noise (its dev loss rises: early stopping repairs it)."""
    small = tmp_path / "small"
    train_run(RunConfig(data="digits", dev=0.7, hidden=(512,), epochs=40, early_stopping=0, threads=1,
                        reference="on"), small, progress=False, report=False)
    doc = repair(small, max_repairs=3, report=False)
    assert [s["change"] for s in doc["steps"]] == [{"l2": 1e-3}] and not doc["steps"][0]["moved"]
    assert doc["outcome"].startswith(MANUAL) and "training set's size: 180 rows" in doc["outcome"]
    assert "more data is what fixes it" in doc["outcome"]
    assert doc["final_run_dir"] == str(small) and "undone" in doc["steps"][0]["note"]  # the l2 run is not kept

    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(0)
    y = np.where(rng.random(len(d.target)) < 0.2, (d.target + rng.integers(1, 10, len(d.target))) % 10, d.target)
    csv = tmp_path / "noisy.csv"
    np.savetxt(csv, np.column_stack([d.data, y]), delimiter=",", fmt="%g",
               header=",".join([f"x{i}" for i in range(64)] + ["target"]), comments="")
    wide = tmp_path / "wide"
    train_run(RunConfig(data=str(csv), hidden=(1024,), epochs=60, early_stopping=0, threads=1, reference="on"),
              wide, progress=False, report=False)
    doc = repair(wide, max_repairs=3, report=False)
    step = doc["steps"][0]
    assert step["finding"] == "high variance" and step["change"] == {"early_stopping": 5} and step["moved"]
    assert step["after"]["dev_accuracy"] > step["before"]["dev_accuracy"] + 0.03
    assert doc["outcome"] == REPAIRED


def test_repair_of_exploding_gradients_trains_he_init_beside_the_run_and_improves_it(tmp_path):
    run = tmp_path / "large"
    config = RunConfig(data="digits", hidden=(32, 32, 32), init="large", epochs=4, threads=1, early_stopping=0)
    train_run(config, run, progress=False, report=False)
    doc = repair(run, max_repairs=1, report=False)
    step = doc["steps"][0]
    assert step["finding"] == "exploding gradients" and step["change"] == {"init": "he"}
    assert step["run_dir"] == str(tmp_path / "large-repair1")
    assert step["after"]["dev_accuracy"] > step["before"]["dev_accuracy"] + 0.3
    assert step["after"]["dev_loss"] < step["before"]["dev_loss"]
    assert json.loads((run / "repair.json").read_text()) == doc
    assert (tmp_path / "large-repair1" / "config.yaml").read_text().count("init: he") == 1
    assert doc["outcome"] in (REPAIRED, "budget")


def test_repair_cli_prints_the_table_and_refuses_a_bad_budget(tmp_path):
    run = tmp_path / "tiny"
    train_run(RunConfig(data="digits", hidden=(2,), epochs=3, threads=1), run, progress=False, report=False)
    out = tunenet("diagnose", run, "--repair", "--max-repairs", "1", check=0).stdout
    assert "repair of" in out and "high bias" in out and "->" in out and f"wrote {run / 'repair.json'}" in out
    doc = json.loads((run / "repair.json").read_text())
    assert doc["steps"][0]["after"]["train_accuracy"] > doc["steps"][0]["before"]["train_accuracy"]
    tunenet("report", run, check=0)
    assert 'id="repair"' in (run / "report.html").read_text()
    result = tunenet("diagnose", run, "--repair", "--max-repairs", "0", check=2)
    assert result.stderr.startswith("error: ") and "--max-repairs" in result.stderr
    with pytest.raises(ConfigError):
        repair(run, max_repairs=True)
