"""The ``tunenet`` command line end to end, through subprocess: train, resume, predict, gradcheck, errors."""

import json
import signal
import time

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

from cli_helpers import popen, tunenet
from tunenet.train.checkpoint import checkpoint_path


def test_gradcheck_prints_a_table_and_correct():
    result = tunenet("gradcheck", "--hidden", "32,16", "--activation", "tanh", "--batchnorm", check=0)
    for name in ("dense0.W", "bn0.gamma", "bn1.beta", "dense2.b"):
        assert name in result.stdout
    assert "correct" in result.stdout.splitlines()[-1]


def test_train_digits_with_defaults(tmp_path):
    result = tunenet("train", "--data", "digits", "--run-dir", tmp_path / "run", "--quiet", check=0)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95
    assert "test" in result.stdout and ("variance" in result.stdout or "bias" in result.stdout)
    # the advice fits the run: early stopping is on by default, so it is not suggested (the generic recipe did)
    verdict = metrics["bias_variance"]["verdict"]
    verdict_line = next(line for line in result.stdout.splitlines() if line.startswith(verdict))
    assert "early stopping" not in verdict_line
    findings = json.loads((tmp_path / "run" / "diagnosis.json").read_text())["findings"]
    fitted = [f["fix"] for f in findings if f["kind"] == verdict]
    assert not fitted or verdict_line.endswith("; " + fitted[0])
    for name in ("config.yaml", "history.csv", "steps.csv", "model.safetensors", "curves.png", "metrics.json"):
        assert (tmp_path / "run" / name).is_file(), name
    assert checkpoint_path(tmp_path / "run").is_file()


def test_config_file_with_flags_overriding(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('data = "moons"\nepochs = 3\nhidden = [16, 8]\nlr = 0.01\n')
    tunenet("train", "--config", config, "--epochs", "2", "--run-dir", tmp_path / "r", "--quiet", check=0)
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert saved["epochs"] == 2 and saved["hidden"] == [16, 8] and saved["lr"] == 0.01 and saved["data"] == "moons"


def weights(run_dir):
    return load_file(str(run_dir / "model.safetensors"))


SLOW = ["--data", "digits", "--batch-size", "8", "--epochs", "30", "--keep-prob", "0.8", "--batchnorm",
        "--early-stopping", "10", "--quiet"]


def test_sigkill_and_resume_ends_bit_identical(tmp_path):
    tunenet("train", *SLOW, "--run-dir", tmp_path / "full", check=0)
    proc = popen("train", *SLOW, "--run-dir", tmp_path / "killed")
    ckpt = checkpoint_path(tmp_path / "killed")
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.005)
    # the first checkpoint (epoch 1) is on disk: the run is now inside epoch 2 of 30
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "model.safetensors").exists()
    tunenet("train", "--resume", tmp_path / "killed", "--quiet", check=0)
    full, resumed = weights(tmp_path / "full"), weights(tmp_path / "killed")
    assert full.keys() == resumed.keys()
    for key in full:
        np.testing.assert_array_equal(full[key], resumed[key], err_msg=key)
    assert (tmp_path / "full" / "history.csv").read_text().count("\n") == \
        (tmp_path / "killed" / "history.csv").read_text().count("\n")


def test_divergence_exits_2_and_keeps_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    tunenet("train", "--data", "digits", "--epochs", "2", "--run-dir", run, "--quiet", check=0)
    good = checkpoint_path(run).read_bytes()
    result = tunenet("train", "--resume", run, "--optimizer", "adam", "--lr", "1000", "--epochs", "4",
                     "--init", "he", "--quiet", check=2)
    message = result.stderr.strip()
    assert message.startswith("error: training diverged at epoch 3, step")
    assert "learning rate 1000 is too high" in message and len(message.splitlines()) == 1
    assert checkpoint_path(run).read_bytes() == good


def test_a_fresh_divergence_gives_one_advice_the_lr_range_tests_rate(tmp_path):
    run = tmp_path / "run"
    result = tunenet("train", "--data", "digits", "--optimizer", "sgd", "--lr", "1000", "--epochs", "3",
                     "--run-dir", run, "--quiet", check=2)
    finding = json.loads((run / "diagnosis.json").read_text())["findings"][0]
    assert finding["kind"] == "learning rate too high" and 0 < finding["change"]["lr"] < 1000
    lr = f"--lr {finding['change']['lr']:.2g}"
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: training diverged") and "learning rate 1000 is too high" in error
    assert f"try {lr}, where the lr range test's loss fell fastest" in error and "or lower" not in error
    assert f"({lr})" in result.stdout  # the doctor's fix printed above it names the same rate


def test_resume_refuses_a_changed_table_option_before_reading_any_data(tmp_path):
    data = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    data.write_text("id,a,b,y\n" + "".join(f"{i},{a:.3f},{b:.3f},{int(a > b)}\n"
                                           for i, (a, b) in enumerate(rng.normal(size=(40, 2)))))
    run = tmp_path / "run"
    tunenet("train", "--data", data, "--drop", "id", "--hidden", "4", "--epochs", "2", "--run-dir", run, "--quiet",
            check=0)
    r = tunenet("train", "--resume", run, "--drop", "a", check=2)
    assert r.stdout == "" and r.stderr.startswith(f"error: {run}: --drop (the run has id, asked a) cannot change on "
                                                  "--resume")
    r = tunenet("train", "--resume", run, "--data", "digits", check=2)
    assert r.stdout == "" and "--data (the run has" in r.stderr  # no summary of the data it would not use


def test_resume_with_changed_hyperparameters_continues(tmp_path):
    run = tmp_path / "run"
    tunenet("train", "--data", "moons", "--epochs", "3", "--run-dir", run, "--quiet", "--early-stopping", "0",
            check=0)
    tunenet("train", "--resume", run, "--epochs", "5", "--lr", "0.0005", "--quiet", check=0)
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 5
    lrs = [float(line.split(",")[5]) for line in history[1:]]
    assert lrs[:3] == [0.001] * 3 and lrs[3:] == [0.0005] * 2
    assert yaml.safe_load((run / "config.yaml").read_text())["lr"] == 0.0005


def test_predict_writes_labels_and_probabilities(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["x1,x2,color,label"]
    for _ in range(200):
        a, b = rng.normal(size=2)
        color = rng.choice(["red", "blue"])
        rows.append(f"{a:.3f},{b:.3f},{color},{'yes' if a + b + (color == 'red') > 0.5 else 'no'}")
    data = tmp_path / "data.csv"
    data.write_text("\n".join(rows) + "\n")
    tunenet("train", "--data", data, "--target", "label", "--epochs", "20", "--run-dir", tmp_path / "r", "--quiet",
            check=0)
    new = tmp_path / "new.csv"
    new.write_text("x1,x2,color\n2.0,2.0,red\n-2.0,-2.0,blue\n")
    out = tunenet("predict", tmp_path / "r", new, check=0).stdout.splitlines()
    assert out[0] == "prediction,p_no,p_yes"
    assert out[1].startswith("yes,") and out[2].startswith("no,")
    tunenet("predict", tmp_path / "r", new, "--output", tmp_path / "p.csv", check=0)
    assert (tmp_path / "p.csv").read_text().splitlines() == out
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("x1,x2,color\n1,2,green\n")
    err = tunenet("predict", tmp_path / "r", unseen, check=2).stderr
    assert "line 2" in err and "'color'" in err and "'green'" in err


@pytest.mark.parametrize("args,message", [
    (["train", "--data", "digits", "--keep-prob", "1.5"], "option 'keep_prob' is 1.5; expected a number in (0, 1]"),
    (["train", "--data", "digits", "--init", "kaiming"], "unknown init 'kaiming'"),
    (["train", "--data", "digits", "--activation", "swish"], "option 'activation' is 'swish'"),
    (["train", "--data", "digits", "--schedule", "sometimes"], "schedule"),
    (["train", "--data", "digits", "--dev", "0"], "option 'monitor' is 'dev_loss' but dev is 0 (no dev set)"),
    (["train", "--data", "nosuch"], "nosuch"),
    (["train", "--resume", "not-a-run"], "not-a-run: no such run directory"),
    (["gradcheck", "--init", "kaiming"], "unknown init 'kaiming'"),
])
def test_user_mistakes_exit_2_with_one_line(tmp_path, args, message):
    result = tunenet(*args, "--quiet" if args[0] == "train" else "--seed", *([] if args[0] == "train" else ["0"]),
                     cwd=tmp_path, check=2)
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("runs/*/model.safetensors"))


def test_bad_config_file_names_the_file(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("lr: fast\n")
    err = tunenet("train", "--config", config, "--quiet", cwd=tmp_path, check=2).stderr
    assert "bad.yaml" in err and "'lr'" in err
    config.write_text("learning_rate: 0.1\n")
    err = tunenet("train", "--config", config, "--quiet", cwd=tmp_path, check=2).stderr
    assert "unknown option 'learning_rate'" in err
