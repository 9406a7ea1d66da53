"""``tunenet tune`` and ``tunenet worker`` end to end: real processes, real storage."""

import json
import os
import signal
import uuid

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from cli_helpers import popen, tunenet, wait_for
from tunenet.tune.study import make_storage

QUICK = ["--data", "moons", "--epochs", "4", "--quiet"]


def study_trials(study_dir, storage=None):
    storage = make_storage(storage, study_dir)
    return optuna.load_study(study_name=study_dir.name, storage=storage).get_trials()


def test_tune_two_rounds_writes_best_config_report_and_importance(tmp_path):
    tunenet("tune", *QUICK, "--trials", "8", "--rounds", "2", "--workers", "2", "--study", "s", "--root",
            tmp_path, cwd=tmp_path, check=0)
    study_dir = tmp_path / "s"
    trials = study_trials(study_dir)
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 8
    assert [t.user_attrs["round"] for t in trials if t.state == TrialState.COMPLETE].count(1) == 4
    summary = json.loads((study_dir / "summary.json").read_text())
    r1, r2 = summary["rounds"][0]["space"], summary["rounds"][1]["space"]
    assert r1["lr"] == "loguniform(0.0001, 0.1)" and set(r2) == set(r1)  # round 2 refined (4 trials: barely)
    best = summary["best"]
    assert {"test_accuracy", "dev_accuracy"} <= set(best["metrics"])
    assert best["retrained"] is False and (study_dir / "best-model" / "model.safetensors").is_file()
    assert (study_dir / "report.html").is_file() and (study_dir / "parameters.png").is_file()
    # trials draw no learning curves (a plot costs more than a small trial); the kept best model has them
    assert not list((study_dir / "trials").glob("*/curves.png"))
    assert (study_dir / "best-model" / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert summary["importance_basis"] == {"round": 1, "trials": 4, "minimum": 20, "indicative": True}
    assert "fANOVA over 4 trials of round 1; indicative: fewer than 20" in (study_dir / "report.html").read_text()
    assert "# best trial #" in (study_dir / "best.yaml").read_text()  # comments; the file still loads (below)
    # best.yaml reproduces the best trial
    config = yaml.safe_load((study_dir / "best.yaml").read_text())
    assert config["seed"] != 0 and config["split_seed"] == 0 and config["threads"] is None
    out = tunenet("train", "--config", study_dir / "best.yaml", "--run-dir", tmp_path / "again", "--quiet",
                  cwd=tmp_path, check=0)
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["dev_accuracy"] == pytest.approx(best["metrics"]["dev_accuracy"])
    assert "test" in out.stdout
    # the study can be shown and exported
    shown = tunenet("study", "show", study_dir, cwd=tmp_path, check=0)
    assert "complete" in shown.stdout
    csv = tunenet("study", "export", study_dir, cwd=tmp_path, check=0).stdout
    assert csv.count("\n") == len(trials) + 1


def test_refit_trains_the_best_configuration_on_train_and_dev_for_its_best_epoch_count(tmp_path):
    tunenet("tune", *QUICK, "--trials", "2", "--rounds", "1", "--workers", "1", "--study", "s", "--root",
            tmp_path, cwd=tmp_path, check=0)
    study_dir = tmp_path / "s"
    kept = json.loads((study_dir / "summary.json").read_text())["best"]
    assert kept["refit"] is None and "dev_accuracy" in kept["metrics"]
    # --resume --refit on the finished study: no new trial, the best configuration refit on train + dev
    out = tunenet("tune", "--resume", study_dir, "--refit", "--quiet", cwd=tmp_path, check=0).stdout
    assert len(study_trials(study_dir)) == 2
    # a resumed study says what it reads, as a fresh one does
    assert out.startswith("data: moons, 1,000 rows; target y -> classification, 2 classes (0, 1)\nfeatures: 2\n")
    assert f"best configuration: trial #{kept['trial']}\n" in out  # a line, not a title wrapped to the table
    best = json.loads((study_dir / "summary.json").read_text())["best"]
    assert best["trial"] == kept["trial"] and best["retrained"] is True
    trial = next(t for t in study_trials(study_dir) if t.number == best["trial"])
    curve = trial.user_attrs["curve"]
    assert best["refit"]["epochs"] == curve.index(max(curve)) + 1
    assert best["metrics"]["epochs"] == best["refit"]["epochs"]
    assert "dev_accuracy" not in best["metrics"] and "test_accuracy" in best["metrics"]
    config = yaml.safe_load((study_dir / "best.yaml").read_text())
    assert config["dev"] == 0 and config["early_stopping"] == 0 and config["epochs"] == best["refit"]["epochs"]
    assert config["threads"] is None  # best.yaml: any machine's cores; the refit itself used the trials' count
    assert yaml.safe_load((study_dir / "best-model" / "config.yaml").read_text())["threads"] == 1
    assert f"refit on train + dev for {best['refit']['epochs']} epochs" in out
    # the refit model trained on more rows than the trial's model
    trial_rows = json.loads((study_dir / "trials" / f"{best['trial']:04d}" / "metrics.json").read_text())
    refit_rows = json.loads((study_dir / "best-model" / "metrics.json").read_text())
    assert refit_rows["steps"] > trial_rows["steps"] * best["refit"]["epochs"] / trial_rows["epochs"]


def test_tune_errors_exit_2_with_one_line(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("lr: loguniform(0, 1)\n")
    result = tunenet("tune", *QUICK, "--space", space, "--root", tmp_path, cwd=tmp_path, check=2)
    assert result.stderr.strip().startswith("error: ") and "space.yaml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tunenet("tune", *QUICK, "--prune", "sometimes", "--root", tmp_path, cwd=tmp_path, check=2)
    refused = tunenet("tune", *QUICK, "--prune", "median", "--prune-min-trials", "0", "--root", tmp_path,
                      cwd=tmp_path, check=2)
    assert refused.stderr.strip() == "error: --prune-min-trials must be a positive integer, got 0"
    cold = tunenet("tune", *QUICK, "--warm-start", "no-such-study", "--root", tmp_path, cwd=tmp_path, check=2)
    assert cold.stderr.strip().startswith("error: --warm-start no-such-study: no study there")
    assert tunenet("tune", *QUICK, "--trials", "1", "--rounds", "2", cwd=tmp_path, check=2)
    assert tunenet("tune", "--data", "no-such-dataset", cwd=tmp_path, check=2)


@pytest.mark.parametrize("flag, value", [("--trials", "5"), ("--rounds", "1"), ("--sampler", "tpe"),
                                         ("--prune", "asha"), ("--lr", "0.1"), ("--epochs", "9")])
def test_resume_refuses_options_of_a_new_study_instead_of_ignoring_them(flag, value, tmp_path):
    study_dir = tmp_path / "s"
    study_dir.mkdir()
    r = tunenet("tune", "--resume", study_dir, flag, value, cwd=tmp_path, check=2)
    assert r.stderr == (f"error: {flag} applies to a new study; tunenet tune --resume {study_dir} continues the "
                        f"study with its own budget, space and base configuration (see tunenet study show "
                        f"{study_dir}); to search further from it, start a new one: tunenet tune --warm-start "
                        f"{study_dir} --trials N\n")


def test_sigkill_of_a_worker_loses_only_its_trial(tmp_path):
    """Five times: kill one of two workers mid-study; only its running trial is lost, failed within 60 s,
    retried once, and the study reaches its trial count."""
    space = tmp_path / "space.yaml"
    space.write_text("lr: loguniform(1e-3, 1e-2)\n")
    slow = ["--data", "digits", "--hidden", "128,128", "--batch-size", "8", "--epochs", "15", "--early-stopping",
            "0", "--quiet", "--space", space, "--rounds", "1", "--workers", "2"]
    lost_trials = 0
    for rep in range(5):
        root = tmp_path / f"rep{rep}"
        proc = popen("tune", *slow, "--trials", "5", "--study", "kill", "--root", root, cwd=tmp_path)
        study_dir = root / "kill"

        def running_after_a_completion(study_dir=study_dir):
            if not (study_dir / "journal.log").exists():
                return None
            trials = study_trials(study_dir)
            if not any(t.state == TrialState.COMPLETE for t in trials):
                return None
            return next((t for t in trials if t.state == TrialState.RUNNING and "pid" in t.user_attrs), None)

        victim = wait_for(running_after_a_completion, 120)
        completed_before = {t.number for t in study_trials(study_dir) if t.state == TrialState.COMPLETE}
        pid = victim.user_attrs["pid"]
        os.kill(pid, signal.SIGKILL)

        def nothing_running_on(study_dir=study_dir, pid=pid):
            return not any(t.state == TrialState.RUNNING and t.user_attrs.get("pid") == pid
                           for t in study_trials(study_dir))

        # the killed worker's trial must be marked failed within 60 s (wait_for raises otherwise)
        wait_for(nothing_running_on, 60)
        proc.communicate(timeout=300)
        trials = study_trials(study_dir)
        if sum(t.state == TrialState.COMPLETE for t in trials) < 5:
            tunenet("tune", "--resume", study_dir, "--workers", "2", "--quiet", cwd=tmp_path, check=0)
            trials = study_trials(study_dir)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        assert len(complete) == 5, [(t.number, t.state) for t in trials]
        assert completed_before <= {t.number for t in complete}, "a finished trial was lost"
        assert len({t.number for t in trials}) == len(trials)
        # the trial the kill interrupted (none if the kill landed just as its trial completed)
        lost = [t for t in trials if t.user_attrs.get("pid") == pid and t.state == TrialState.FAIL]
        assert len(lost) <= 1
        for t in lost:
            lost_trials += 1
            # failed by the coordinator seeing the process die, or (on a starved machine) by the stale heartbeat
            reason = t.user_attrs["fail_reason"]
            assert reason == "worker process died" or reason.startswith("worker lost: no heartbeat"), reason
            retries = [r for r in trials if r.user_attrs.get("retry_of") == t.number]
            assert len(retries) == 1, "the lost trial is retried exactly once"
    assert lost_trials >= 3, "most kills should land mid-trial"


POSTGRES = os.environ.get("TUNENET_TEST_POSTGRES")


@pytest.mark.skipif(not POSTGRES, reason="needs a PostgreSQL server: .ci/run starts one on loopback and sets "
                                         "TUNENET_TEST_POSTGRES=postgresql://USER:PASSWORD@127.0.0.1/DB")
def test_two_workers_share_a_postgresql_study(tmp_path):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    tunenet("tune", *QUICK, "--trials", "6", "--rounds", "1", "--workers", "0", "--study", name, "--storage",
            POSTGRES, cwd=tmp_path, check=0)
    workers = [popen("worker", "--study", name, "--storage", POSTGRES, "--worker-index", str(i), cwd=tmp_path)
               for i in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name=name, storage=POSTGRES)
    states = [t.state for t in study.get_trials()]
    assert states.count(TrialState.COMPLETE) == 6
    assert states.count(TrialState.RUNNING) == 0
    hosts = {(t.user_attrs["host"], t.user_attrs["pid"]) for t in study.get_trials() if t.state == TrialState.COMPLETE}
    assert len(hosts) == 2, "both workers took trials"


def test_tune_with_no_arguments_reaches_97_percent_on_digits(tmp_path):
    """The README's main command: defaults only."""
    result = tunenet("tune", cwd=tmp_path, check=0)
    (study_dir,) = (tmp_path / "studies").iterdir()
    summary = json.loads((study_dir / "summary.json").read_text())
    assert summary["trials"]["complete"] + summary["trials"].get("pruned", 0) == 30
    assert summary["best"]["metrics"]["test_accuracy"] >= 0.97
    assert "test" in result.stdout and (study_dir / "best.yaml").is_file()


def test_one_and_two_workers_run_the_same_trials(tmp_path):
    """Same seed, same space: the trials' results do not depend on --workers (each trial trains with the
    same BLAS thread count, 1 by default, however many workers share the cores)."""
    space = tmp_path / "space.yaml"
    space.write_text("lr: loguniform(1e-3, 1e-2)\nunits: int(460, 600)\n")  # two layers; K >= 450 splits
    results = []
    for workers in ("1", "2"):
        tunenet("tune", "--data", "digits", "--epochs", "3", "--early-stopping", "0", "--batch-size", "128",
                "--space", space, "--trials", "4", "--rounds", "1", "--workers", workers, "--quiet",
                "--study", f"w{workers}", "--root", tmp_path, cwd=tmp_path, check=0)
        trials = study_trials(tmp_path / f"w{workers}")
        assert sum(t.state == TrialState.COMPLETE for t in trials) == 4
        results.append({t.number: (t.user_attrs["values"], t.value, t.user_attrs["dev_loss"], t.user_attrs["curve"])
                        for t in trials})
    assert results[0] == results[1]
