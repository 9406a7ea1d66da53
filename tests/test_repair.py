"""Repair: the top finding's fix applied as a configuration change, trained, diagnosed, shown before and after."""

import json

import pytest

from cli_helpers import tunenet
from tunenet.config import RunConfig
from tunenet.diagnose.advice import advise
from tunenet.diagnose.kinds import KINDS, Finding
from tunenet.errors import ConfigError
from tunenet.repair import REPAIRED, _next_change, repair
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
