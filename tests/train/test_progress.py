"""The progress bar: advances within an epoch on a terminal; a line per epoch elsewhere; what is being written."""

import os
import pty
import select
import subprocess
import sys

import numpy as np

from tunenet.nn import mlp
from tunenet.optim import make_optimizer
from tunenet.train import Trainer
from tunenet.train.callbacks import ProgressBar


def test_the_bar_advances_by_batch_fractions_after_the_first_epoch(monkeypatch):
    from rich.progress import Progress

    completed = []
    original = Progress.update

    def record(self, task_id, **kwargs):
        if "completed" in kwargs:
            completed.append(kwargs["completed"])
        return original(self, task_id, **kwargs)

    monkeypatch.setattr(Progress, "update", record)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 4)).astype(np.float32), rng.integers(0, 2, 200)
    model = mlp(4, [8], 2, seed=0)
    bar = ProgressBar(force=True, refresh=0.0)
    Trainer(model, make_optimizer("adam", model, 1e-3), epochs=3, batch_size=20, callbacks=[bar]).fit(X, y)
    fractions = [c for c in completed if c != int(c)]
    # 10 batches an epoch: epochs 2 and 3 show 1.1 ... 1.999 and 2.1 ... 2.999 (the first epoch's length is learnt;
    # an epoch is complete only once its dev evaluation is done)
    expected = [e + min(k / 10, 0.999) for e in (1, 2) for k in range(1, 11)]
    assert np.allclose(fractions, expected)
    assert completed[-1] == 3


def test_not_a_terminal_prints_one_line_per_epoch(capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)).astype(np.float32), rng.integers(0, 2, 40)
    model = mlp(4, [8], 2, seed=0)
    Trainer(model, make_optimizer("adam", model, 1e-3), epochs=2, batch_size=20,
            callbacks=[ProgressBar(force=False, log_every=1)]).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]


def test_on_a_terminal_train_says_what_it_writes(tmp_path):
    primary, replica = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "tunenet.cli", "train", "--data", "moons", "--hidden", "8",
                             "--epochs", "2", "--run-dir", str(tmp_path / "r")], stdout=replica, stderr=replica,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(replica)
    out = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(primary)
    assert proc.wait(timeout=120) == 0
    text = out.decode("utf-8", "replace")
    assert "epoch 2/2" in text and "writing report.html" in text
    assert (tmp_path / "r" / "report.html").is_file()
