"""Generate docs/diagnosis.md and docs/figures/diagnosis/*.png from real, deliberately broken runs.

Run from the repository root::

    python docs/make_diagnosis_doc.py            # about a minute on one core
    python docs/make_diagnosis_doc.py --section benchmark --section estimators   # only those, in place

Every number, excerpt and figure in docs/diagnosis.md comes from this script:
each scenario trains a network on scikit-learn's digits (or two moons) with
the health monitor, writes a run directory, diagnoses it and renders its
report; the findings, the per-layer table and a plot from that report go into
the page. The prose around them is the template below.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from sklearn.datasets import load_digits, make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from tunenet.diagnose import HealthMonitor, bias_variance, diagnose_run, lr_range_test
from tunenet.diagnose.reference import fit_reference
from tunenet.errors import DivergenceError
from tunenet.nn import Dense, mlp, save
from tunenet.optim import make_optimizer
from tunenet.report import (
    confusion_matrix,
    plot_activation_health,
    plot_gradient_health,
    plot_learning_curves,
    plot_lr_range,
    write_report,
)
from tunenet.train import History, Trainer, evaluate

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures" / "diagnosis"
PAGE = ROOT / "docs" / "diagnosis.md"


@dataclass
class Scenario:
    name: str
    title: str
    setup: str
    hidden: list[int]
    activation: str = "relu"
    init: str = "he"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 5
    n_train: int | None = None
    bias: float | None = None
    data: str = "digits"
    figure: str = "gradients"
    expect: list[str] = field(default_factory=list)


SCENARIOS = [
    Scenario("vanishing", "Vanishing gradients: a deep sigmoid network with small random weights",
             "six Dense layers (five hidden sigmoid layers of 64 units), `init=random` (N(0,1)*0.01), SGD lr 0.5",
             [64] * 5, activation="sigmoid", init="random", optimizer="sgd", lr=0.5, figure="gradients",
             expect=["vanishing gradients"]),
    Scenario("exploding", "Exploding gradients: a deep ReLU network with large weights",
             "four hidden ReLU layers of 64 units, `init=large` (N(0,1)*10), Adam lr 1e-3", [64] * 4,
             init="large", figure="activations", expect=["exploding gradients"]),
    Scenario("dead", "Dead units: a ReLU network with a large negative bias",
             "two hidden ReLU layers of 64 units, He init, every hidden bias set to -5, Adam lr 1e-3", [64, 64],
             bias=-5.0, figure="activations", expect=["dead units"]),
    Scenario("high_bias", "High bias: a tiny network on digits",
             "one hidden layer of 2 ReLU units, Adam lr 1e-2, 15 epochs", [2], lr=1e-2, epochs=15,
             figure="curves", expect=["high bias"]),
    Scenario("high_variance", "High variance: a wide unregularised network on 200 samples",
             "one hidden layer of 512 ReLU units, no L2 or dropout, 200 training samples, Adam lr 1e-3, 40 epochs",
             [512], epochs=40, n_train=200, figure="curves", expect=["high variance"]),
    Scenario("lr_high", "Learning rate 10: too high",
             "two hidden ReLU layers of 64 units, He init, Adam with lr 10", [64, 64], lr=10.0, epochs=3,
             figure="gradients", expect=["learning rate too high"]),
    Scenario("overfitting", "Overfitting: the dev loss turns up",
             "two moons (200 points, noise 0.3, half for dev), two hidden ReLU layers of 128 units, Adam lr 1e-2, "
             "120 epochs", [128, 128], lr=1e-2, epochs=120, data="moons", figure="curves", expect=["overfitting"]),
    Scenario("healthy", "For contrast: a healthy run",
             "the default network (hidden layers of 256 and 128 ReLU units), He init, Adam lr 1e-3, 10 epochs",
             [256, 128], epochs=10, figure="gradients"),
]


def load(data: str):
    if data == "moons":
        X, y = make_moons(200, noise=0.3, random_state=0)
        X_tr, X_dev, y_tr, y_dev = train_test_split(X.astype(np.float32), y, test_size=0.5, random_state=0)
        return X_tr, y_tr, X_dev, y_dev
    d = load_digits()
    X_tr, X_dev, y_tr, y_dev = train_test_split(d.data, d.target, test_size=0.3, random_state=0, stratify=d.target)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr).astype(np.float32), y_tr, scaler.transform(X_dev).astype(np.float32), y_dev


def run_scenario(s: Scenario, run_dir: Path) -> tuple[list, dict, object]:
    """Train, write the run directory, diagnose and report; returns (findings, metrics, health log)."""
    X, y, X_dev, y_dev = load(s.data)
    X, y = X[:s.n_train], y[:s.n_train]
    n_classes = int(y.max()) + 1
    run_dir.mkdir(parents=True)
    config = {"data": s.data, "hidden": s.hidden, "activation": s.activation, "init": s.init,
              "optimizer": s.optimizer, "lr": s.lr, "epochs": s.epochs, "batch_size": 64, "seed": 0}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    model = mlp(X.shape[1], s.hidden, n_classes, activation=s.activation, init=s.init, seed=0)
    if s.bias is not None:
        for layer in model.layers[:-1]:
            if isinstance(layer, Dense):
                layer.b.value[...] = s.bias
    monitor = HealthMonitor(every=10)
    trainer = Trainer(model, make_optimizer(s.optimizer, model, s.lr), epochs=s.epochs, batch_size=64,
                      callbacks=[monitor], seed=0, threads=1)
    try:
        trainer.fit(X, y, X_dev, y_dev)
    except DivergenceError as exc:
        print(f"  {s.name}: {exc}")
    trainer.history.save(run_dir)
    monitor.save(run_dir)
    metrics: dict = {"epochs": trainer.epoch, "steps": trainer.step}
    if len(trainer.history):
        for split, A, b in (("train", X, y), ("dev", X_dev, y_dev)):
            metrics[f"{split}_loss"], metrics[f"{split}_accuracy"] = evaluate(model, A, b)
        metrics["confusion_matrix"] = {"split": "dev", "classes": [str(c) for c in range(n_classes)],
                                       "matrix": confusion_matrix(y_dev, model.predict(X_dev), n_classes).tolist()}
        save(model, run_dir / "model.safetensors")
        metrics["n_dev"] = len(X_dev)
        metrics["reference"] = fit_reference(X, y, X_dev, y_dev, seed=0)  # as `tunenet train` does
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    findings = diagnose_run(run_dir)
    write_report(run_dir)
    return findings, metrics, monitor.log


def figure(s: Scenario, run_dir: Path, log) -> str:
    path = FIGURES / f"{s.name}.png"
    if s.figure == "curves":
        plot_learning_curves(History.read_csv(run_dir / "history.csv"), path, title=s.title, smooth_beta=0.6)
    elif s.figure == "activations":
        plot_activation_health(log, path, title=s.title)
    else:
        plot_gradient_health(log, path, title=s.title)
    return f"figures/diagnosis/{path.name}"


def excerpt(findings) -> str:
    lines = []
    for f in findings:
        where = ", ".join(x for x in (f.layer, f"epoch {f.epoch}" if f.epoch else None) if x)
        lines += [f"> **{f.severity.upper()}: {f.kind}**" + (f" ({where})" if where else "") + "  ",
                  f"> {f.evidence}  ", f"> *Fix:* {f.fix}", ">"]
    return "\n".join(lines[:-1]) if lines else "> no problems found"


def layer_table(log) -> str:
    rows = ["| layer | activation | gradient norm | update/weight | activation std | dead | saturated |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for layer in log.layers:
        name = layer["name"]
        values = []
        for metric, fmt in (("grad_norm", "{:.2e}"), ("update_ratio", "{:.2e}"), ("act_std", "{:.2e}"),
                            ("dead", "{:.0%}"), ("saturated", "{:.0%}")):
            series = log.series(name, metric)
            series = series[np.isfinite(series)]
            values.append(fmt.format(float(np.median(series))) if series.size else "-")
        rows.append(f"| {name} | {layer['activation'] or '(logits)'} | " + " | ".join(values) + " |")
    return "\n".join(rows)


def lr_find_section() -> str:
    """The table ``tunenet lr-find --data digits --optimizer NAME --threads 1`` prints, then 30 epochs at its lr.

    The same pipeline as the CLI (tunenet's own split and standardisation, the
    default network), so the suggested rates are the ones a user gets.
    """
    from tunenet.config import RunConfig
    from tunenet.run import build_model, build_optimizer, prepare_data

    rows = ["| optimiser | suggested lr | search range | loss lowest at | test accuracy (30 epochs) |",
            "|---|---:|---|---:|---:|"]
    for name in ("adam", "sgd", "momentum", "rmsprop"):
        config = RunConfig(data="digits", optimizer=name, threads=1)
        data = prepare_data(config)
        result = lr_range_test(build_model(config, data.X_train.shape[1], data.n_out, data.output), data.X_train,
                               data.y_train, batch_size=config.batch_size, seed=config.seed, threads=1,
                               optimizer=lambda net, lr, c=config: build_optimizer(c.replace(lr=lr), net))
        if name == "adam":
            plot_lr_range(result, FIGURES / "lr_range.png",
                          title="learning-rate range test: digits, mlp [256, 128], Adam")
        model = build_model(config, data.X_train.shape[1], data.n_out, data.output)
        Trainer(model, build_optimizer(config.replace(lr=float(f"{result.suggested:.3g}")), model), epochs=30,
                batch_size=64, seed=0, threads=1).fit(data.X_train, data.y_train, data.X_dev, data.y_dev)
        lo, hi = result.search_range
        rows.append(f"| {name} | {result.suggested:.3g} | [{lo:.2g}, {hi:.2g}] | {result.min_lr:.3g} | "
                    f"{evaluate(model, data.X_test, data.y_test)[1]:.1%} |")
    return "\n".join(rows)


def screenshot(run_dir: Path) -> str | None:
    """A screenshot of one report, when Chromium is installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    out = FIGURES / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
                        "--window-size=1200,1500", f"--screenshot={out}", (run_dir / "report.html").as_uri()],
                       capture_output=True, timeout=120, check=False)
    return "figures/diagnosis/report.png" if out.is_file() else None


def benchmark_line() -> str:
    path = ROOT / "benchmarks" / "results" / "health.json"
    if not path.is_file():
        return "Run `python benchmarks/bench_health.py` to measure it on your machine."
    r = json.loads(path.read_text())
    every = r["every"]
    rows = ["| problem shape | network | ms per step without | time in the monitor | end to end | "
            "sampling every step |", "|---|---|---:|---:|---:|---:|"]
    for name, s in r["shapes"].items():
        rows.append(f"| {name} | {s['model']} | {s['ms_per_step']['plain']:.2f} | {s['overhead_in_hooks']:+.1%} | "
                    f"{s['overhead_median'][f'every {every}']:+.1%} | {s['overhead_median']['every 1']:+.0%} |")
    return (f"`HealthMonitor()` samples one step in {every} (its default); a sampled step costs a few vector "
            "operations over the parameters and activations. Measured with `python benchmarks/bench_health.py` "
            f"on {r['machine']['cpu']} ({r['threads']} BLAS thread, medians of {r['repeats']} interleaved runs, "
            "Adam, batch 64):\n\n" + "\n".join(rows) + "\n\n*Time in the monitor* is the time spent inside its "
            "hooks relative to the rest of training, the direct and steady measure of its cost; *end to end* "
            "compares whole runs in process CPU time, where a shared machine's noise moves a few percent either "
            "way. The target is under 5% at the default interval; sampling every step (`every=1`) costs "
            "roughly ten to twenty times more.")


CRITERIA = [
    ("vanishing gradients", "the first layer's median gradient norm is below 1e-2 x the output layer's (error "
     "below 1e-4); every layer under the ratio is named", "ReLU + He init (Xavier for tanh), batch norm, fewer layers"),
    ("exploding gradients", "the first layer's gradient norm is over 100 x the last's, or a median norm above 1e3, "
     "or activations growing over 10x per layer, or a divergence while the gradients were already huge",
     "He/Xavier instead of large weights, gradient clipping, batch norm, lower lr"),
    ("dead units", ">= 50% of a ReLU layer's units output 0 on every sample of the batch (median over the last "
     "third of training; error from 90%)", "He init and zero biases, lower lr, leaky ReLU, batch norm"),
    ("saturation", ">= 25% of a tanh/sigmoid layer's outputs where the slope is below 5% of its peak (error from "
     "50%)", "Xavier init, normalised inputs, batch norm, lower lr, ReLU"),
    ("learning rate too high", "divergence from sane gradients; the smoothed loss (bias-corrected EWA, beta 0.9) "
     "above 2x its start; an update larger than the weights (ratio > 1); the epoch loss rising in >= 20% of epochs "
     "(at least twice, by > 5%); a median update/weight ratio > 0.1",
     "lr / 10 (or `tunenet lr-find`), clipping, a decay schedule"),
    ("learning rate too low", "every layer with a gradient has a median update/weight ratio < 3e-4 and the smoothed "
     "loss fell by < 50%", "lr x 10, Adam"),
    ("overfitting", "the smoothed dev loss (EWA beta 0.5) ends > 10% above its minimum while the train loss kept "
     "falling; names the best epoch", "early stopping, L2, dropout, more data"),
    ("frozen network", "a layer's weight gradient is exactly 0 on every sampled step and its weights never change "
     "(zero init: the 0/0 gradient ratios no longer drop out), or every unit of a layer has the same weights "
     "(constant init: symmetric units stay identical); error", "random init (He for ReLU, Xavier for tanh)"),
    ("unscaled inputs", "the inputs as the network sees them (`metrics.json` `input_scale`) have a column std or mean "
     "above 10 (error from 100), or every column's std below 0.01; bias/variance are then its consequence",
     "`--normalize standard`, batch norm (never L2)"),
    ("learning rate too low, late or in one layer", "the lr fell below 1e-3 x its start and the last third's "
     "largest median update ratio is < 3e-5 (a schedule decaying to nothing); or a hidden layer's median update "
     "ratio is < 3e-4 and 10x below the fastest layer's. Not reported beside vanishing, saturated, dead or frozen "
     "units", "a slower decay (`--schedule none`), Adam, batch norm"),
    ("overfitting after early stopping", "the same, when early stopping restored the best epoch: information",
     "L2, dropout, more data (not early stopping)"),
    ("still improving", "the dev loss is lowest at the last epoch and fell > 1% over the last fifth of the epochs "
     "(information)", "train longer (epochs x 2)"),
    ("high bias / high variance / data mismatch", "`bias_variance(train_error, dev_error, human_error, "
     "train_dev_error, n_dev=..., reference_error=...)` against the human-level error or the reference model: a gap "
     "above 2 points and above 2 standard errors of the dev error (a warning from 5 points); information only "
     "under an error-level training finding",
     "bigger network, train longer / regularise, more data / make the training data like the dev data"),
]


def blobs_run(label_noise: float) -> dict:
    """Overlapping Gaussian blobs (Bayes error 16%), optionally with flipped labels: a run at the Bayes limit."""
    rng = np.random.default_rng(0)

    def draw(n):
        y = rng.integers(0, 2, n)
        X = rng.normal(size=(n, 4)).astype(np.float32)
        X[:, 0] += 2 * y - 1  # means 2 apart: Bayes error Phi(-1) = 15.9%
        flip = rng.random(n) < label_noise
        return X, np.where(flip, 1 - y, y)

    (X, y), (X_dev, y_dev) = draw(2000), draw(500)
    model = mlp(4, [32], 2, seed=0)
    trainer = Trainer(model, make_optimizer("adam", model, 1e-2), epochs=20, batch_size=64, seed=0, threads=1)
    trainer.fit(X, y, X_dev, y_dev)
    (_, train_acc), (_, dev_acc) = evaluate(model, X, y), evaluate(model, X_dev, y_dev)
    return {"train_error": 1 - train_acc, "dev_error": 1 - dev_acc, "n_dev": len(X_dev),
            "reference": fit_reference(X, y, X_dev, y_dev, seed=0)}


def reference_section() -> str:
    """Old verdict (human 0, no noise) against the new one (reference, standard error), on runs built for it."""
    cases = [("overlapping blobs (Bayes error 16%), 2,000 rows", blobs_run(0.0)),
             ("the same blobs with 40% of the labels flipped", blobs_run(0.4))]
    # the issue's example: 114 dev rows, 7 errors; a train error of 0.9%
    issue = {"train_error": 0.009, "dev_error": 7 / 114, "n_dev": 114, "reference": {"dev_error": 6 / 114}}
    cases.append(("a 5.2-point gap on 114 dev rows; logistic regression makes 6 errors there (the issue's case)",
                  issue))
    rows = ["| run | train error | dev error ± SE | reference error | old verdict (human 0, no SE) | verdict |",
            "|---|---:|---:|---:|---|---|"]
    for name, c in cases:
        old = bias_variance(c["train_error"], c["dev_error"])
        new = bias_variance(c["train_error"], c["dev_error"], n_dev=c["n_dev"],
                            reference_error=c["reference"]["dev_error"], reference="reference")
        rows.append(f"| {name} | {c['train_error']:.1%} | {c['dev_error']:.1%} ± {new.se_dev:.1%} | "
                    f"{c['reference']['dev_error']:.1%} | {old.verdict} | {new.verdict} |")
    return "\n".join(rows)


REFERENCE_TEXT = """## Bias and variance against a reference and against noise

Avoidable bias is the distance to the error the task allows, not to zero: a
run at the Bayes limit (overlapping classes, noisy labels, Fashion-MNIST's
~10% for MLPs) has nothing to gain from a bigger network. tunenet measures it
against

* `human_error` when you know it (`--human-error 0.05`, `human_error: 0.05`
  in a config, the same flag for `tunenet tune`), else
* an **estimate of the achievable error**: a reference model from
  scikit-learn (logistic regression on standardised inputs, at most 20,000
  training rows) trained on the run's own training split and scored on its
  own dev split. A model reached that error, so the Bayes error is no
  higher; the findings call it "a proxy for the achievable error". When the
  reference overfits too (its own train/dev gap beyond 3 standard errors: few
  rows for many features), its dev error measures the shortage of data rather
  than the task, and its train error is the estimate instead. With
  `reference: auto` (the default) it is fitted when no `human_error` is given
  and its estimated cost is under 10% of the training time or under a second
  (0.1 s on digits); `--reference on` fits it anyway, `--reference off` never.

The dev error rests on a finite dev set: on `n` rows its standard error is
`sqrt(p (1 - p) / n)` with `p = (errors + 1) / (n + 2)`. The findings state it
("dev error 6.1% ± 2.2% (1 standard error over 114 dev rows)") and call a gap
only when it exceeds 2 points **and** 2 standard errors. The variance that
regularisation can remove is `dev error - max(train error, reference error)`:
a network whose train error is below the reference cannot beat it on dev
either. (`bias_variance(train_error, dev_error, human_error, n_dev=...,
reference_error=...)` in Python.)

{table}

When a training finding is an error (exploding gradients, divergence, dead
units ...) or the inputs are unscaled, high bias and variance are reported as
information, "most likely a consequence of" it: fix that first. Findings of
the same severity put the training dynamics (learning rate, gradients,
units, inputs) before the outcomes they cause (bias, variance, overfitting),
and are otherwise ordered by their magnitude (how far past its warning
threshold each is, on a log scale where 1 is its error threshold), and a
one-step loss spike that training recovers from is no longer "learning rate
too high".

## What `tunenet train` prints, and advice that fits the run

Every `tunenet train` ends with the doctor's errors and warnings (and a
"still improving: train longer" note when the best epoch was the last), one
line each, in full; a run that diverges prints them before its one-line
`error:`. The fixes name only options the run did not already use: no "use
Adam" on Adam, no "try early stopping" with early stopping on (an
overfitting run whose best epoch early stopping restored is told so, as
information), no `--normalize standard` when standardised, no He
initialisation when He was used. A divergence (or a learning rate too low)
runs the lr range test on the run's own training split and suggests its
value, not a blind factor of 10. Each finding in `diagnosis.json` carries
`change`, the configuration change of its first alternative
(`{"init": "he"}`), or `manual`, why none can be applied automatically
("more data").

```console
$ tunenet train --data digits --init large --hidden 32,32,32,32 --epochs 2
...
the doctor found 1 error and 0 warnings (details: tunenet diagnose runs/digits-...):
[error] exploding gradients (dense0, ..., epoch 1): gradient norms are huge in 5 of 5 layers ... Fix: use He
initialisation instead of large weights (--init he), or clip gradients (--clip norm:1), or add batch
normalisation (--batchnorm), or lower the learning rate (--lr 0.0001)
```
"""


BENCH = ROOT / "benchmarks" / "results" / "doctor.json"
#: the documented examples, as benchmark cases (the same faults, trained through run.py so --repair can retrain them)
REPAIR_EXAMPLES = [("vanishing gradients", "digits-sigmoid-deep"), ("exploding gradients", "digits-init-large"),
                   ("dead units / frozen", "digits-init-zeros-relu"), ("learning rate too high", "digits-lr-high-adam"),
                   ("high bias", "digits-tiny-network"), ("high variance", "digits-noise20-wide"),
                   ("high variance: too little data", "digits-too-little-data")]


def _acc(v) -> str:
    return "-" if v is None else f"{v:.1%}"


def benchmark_section() -> str:
    """The benchmark of faulty runs (from benchmarks/results/doctor.json) and the repairs of the examples."""
    if not BENCH.is_file():
        return ("## The benchmark of faulty runs\n\n`python benchmarks/bench_doctor.py` has not been run here "
                "(no `benchmarks/results/doctor.json`).\n")
    doc = json.loads(BENCH.read_text())
    s, results = doc["summary"], {r["name"]: r for r in doc["results"]}
    out = ["## The benchmark of faulty runs", "",
           "`python benchmarks/bench_doctor.py` (cases in `benchmarks/doctor_cases/*.yaml`; "
           f"{s['seconds']:.0f} s on this machine) trains {s['faults']} faulty and {s['healthy']} healthy runs "
           "on digits, the 2-D toys, scikit-learn's breast-cancer and wine tables (as CSV, raw units) and a "
           "3,000-image Fashion-MNIST subset. The faults are DeepCrime's mutation operators (learning rate, "
           "optimiser, initialisation, activation, batch size, epochs, regularisation) and AutoTrainer's symptom "
           "classes (vanishing and exploding gradients, dying/frozen units, slow convergence), plus unscaled "
           "inputs, 40% label noise, too little data and too small a network. Each case names the acceptable "
           "finding kinds, and the benchmark checks from the run's files, without the doctor, that the fault "
           f"showed (it did in {s['faults_that_showed']} of {s['faults']}). Then `repair(RUN_DIR, "
           f"max_repairs={s['max_repairs']})` (what `tunenet diagnose --repair` runs) applies the fixes.", "",
           "| measure | measured | target |", "|---|---:|---:|",
           f"| recall: an acceptable finding among the errors and warnings | {s['recall']:.0%} | >= 90% |",
           f"| top-1: the first finding is acceptable | {s['top1']:.0%} | >= 80% |",
           f"| false positives: healthy runs with an error or warning | {s['false_positives']} of {s['healthy']} "
           "| <= 1 in 10 |",
           f"| repair: within 2 points of the dataset's healthy dev accuracy (or rightly short of it, label noise) "
           f"| {s['repair_rate']:.0%} | >= 80% |", "",
           "| case | acceptable | found (errors and warnings) | repair: changes | dev accuracy before -> after "
           "(healthy) |", "|---|---|---|---|---|"]
    for r in doc["results"]:
        if r["healthy"]:
            out.append(f"| {r['name']} (healthy) | nothing | {', '.join(r['findings']) or 'nothing'} | - | "
                       f"{_acc(r['metrics'].get('dev_accuracy'))} |")
            continue
        rep = r["repair"]
        changes = "; ".join(", ".join(f"{k}={v}" for k, v in st["change"].items())
                            + (" (undone: did not move it)" if st.get("moved") is False else "")
                            for st in rep["steps"]) or rep["outcome"]
        name = r["name"] + ("" if r["showed"] else " (the fault did not show: not scored)")
        out.append(f"| {name} | {', '.join(r['accept'])} | {', '.join(r['findings'][:3]) or 'nothing'} | "
                   f"{changes} | {_acc(r['metrics'].get('dev_accuracy'))} -> {_acc(rep['final_dev_accuracy'])} "
                   f"({_acc(r.get('reference_dev_accuracy'))}) |")
    out += ["", "### `tunenet diagnose --repair` on the documented examples", "",
            "The examples above are hand-built (a bias set to -5 is not a configuration option), so their repairs "
            "run on the same faults made through configuration, from the benchmark. The high-variance example is "
            "two runs: a wide network (1,024 units, no early stopping, 60 epochs) memorising the 20% of the "
            "labels that are flipped, which the repair fixes, and the too-little-data run (180 training rows), "
            "which no configuration trains away and the repair says so.", "",
            "```console", "$ tunenet diagnose runs/digits-init-large --repair --max-repairs "
            f"{s['max_repairs']}", "```", "",
            "| example | case | step | finding | change | train accuracy | dev accuracy | dev loss | moved it? "
            "| still found |", "|---|---|---:|---|---|---|---|---|---|---|"]
    outcomes = []
    for title, name in REPAIR_EXAMPLES:
        r = results.get(name)
        if not r:
            continue
        for i, st in enumerate(r["repair"].get("steps", []), 1):
            b, a = st["before"], st["after"]
            loss = f"{b['dev_loss']:.3g} -> {a['dev_loss']:.3g}" if b.get("dev_loss") is not None and \
                a.get("dev_loss") is not None else "-"
            measured = st.get("measured") or ""
            moved = "-" if st.get("moved") is None else measured if measured.startswith("not measured") else \
                ("yes" if st["moved"] else "no") + (f" ({measured})" if measured else "")
            out.append(f"| {title if i == 1 else ''} | {name if i == 1 else ''} | {i} | {st['finding']} | "
                       + ", ".join(f"{k}={v}" for k, v in st["change"].items())
                       + f" | {_acc(b.get('train_accuracy'))} -> {_acc(a.get('train_accuracy'))} | "
                       f"{_acc(b.get('dev_accuracy'))} -> {_acc(a.get('dev_accuracy'))} | {loss} | {moved} | "
                       f"{', '.join(st['remaining']) or 'nothing'} |")
        outcomes.append(f"* {name}: {r['repair']['outcome']}")
    out += ["", "Outcomes (`repair.json`'s `outcome`):", "", *outcomes, "",
            "A change that did not move the finding it targeted is undone (the next change starts from the run "
            "before it, and the last run kept is the repair's result) and not repeated in kind. The repair "
            "measures it (`tunenet/repair.py`, `moved`): the finding gone or less severe; for high bias and high "
            "variance the gap narrowed by more than one standard error of the dev error; for the per-layer ratios "
            "(vanishing, saturation, dead units, unscaled inputs, learning rate too low) the magnitude down by a "
            "quarter decade; a divergence, exploding or frozen network has no size to compare and counts while "
            "its fix steps on (the lr range test's next learning rate). Otherwise the next alternative of the "
            "finding's fix of another kind is tried (dropout after "
            "an L2 that did nothing, then early stopping, a smaller network, augmentation for images), and a "
            "high variance on a split where the reference model overfits too and the network's dev error is "
            "within two standard errors of the reference's stops with the training set's row count: more data is "
            "what fixes it. High variance with a rising dev loss (overfitting found too) tries early stopping "
            "first. Before this rule the too-little-data run raised l2 0.001 -> 0.01 -> 0.1 for 90.1% -> 90.5% and "
            "ended on the budget."]
    return "\n".join(out) + "\n"


ESTIMATOR_TEXT = """## The doctor on the scikit-learn estimators

`MLPClassifier` and `MLPRegressor` take `human_error=None` (the error the task
allows, in [0, 1]; validated with the other parameters in `fit`, kept by
`get_params`/`set_params`/`clone`, ignored by training) and
`monitor_health=False` (True: a `HealthMonitor` every 20 steps, an int: every
N, its record in `health_`; off, the fit is the plain one). A fitted
estimator's `diagnose(X_dev, y_dev)` returns these findings: the train error
from the fit's last epoch (the epoch `early_stopping` restored), the dev error
from `(X_dev, y_dev)`, else from `early_stopping`'s validation split, bias and
variance against `human_error` (no reference model: the estimator keeps no
training data, so without `human_error` the evidence says it measured against
a perfect model), the loss-curve findings from `history_` and the per-layer
ones from `health_`. The regressor's errors are `1 - R^2`. Details, outputs
and what is not available (the dev-loss findings) in
[estimators.md](estimators.md#the-doctor-diagnose); `tests/test_estimators_doctor.py`
builds a noisy dataset whose high bias disappears at `human_error` = the noise
rate, a tiny network that `diagnose` calls high bias, and a deep sigmoid network
whose vanishing gradients only `monitor_health` shows.

"""

TUNER_TEXT = """## The doctor inside the tuner

`tunenet tune --prune doctor` (or `--prune asha+doctor`) stops a trial the
doctor finds broken a few epochs in -- frozen, exploding, diverging (learning
rate too high), vanishing, dead or saturated -- and records the finding as
the reason: the trial is pruned, its note says `doctor: <kind> at epoch e:
<evidence>`, and the study report and `tunenet study show` count the trials
stopped per finding ("The doctor stopped 10 trials: 8 saturation, 2 learning
rate too high."). The findings are the ones above, computed by `diagnose` on
the trial's live health record; only error-severity findings of those kinds
stop a trial, plus a vanishing, dead-unit or saturation warning seen at two
epoch ends in a row (details in [tuning.md](tuning.md)).
`tests/tune/test_doctor_pruner.py` runs a study over a space with lr up to 10,
init large and sigmoid up to 6 layers deep: every stopped trial lies in a bad
region and is stopped with a finding that region causes, and every healthy
trial (He init, ReLU, lr <= 0.02) completes.

Measured with `python benchmarks/run_all.py --only doctor_pruning --no-doc`
(`benchmarks/bench_doctor_pruning.py`): the same study, 20 trials of 20
epochs on digits over lr loguniform(1e-4, 10), init he|large, ReLU|sigmoid,
1-6 layers of 64 units, one worker and one thread, `--prune none` and
`--prune doctor` interleaved, medians of 3 runs (2-core machine shared with
other jobs):

| --prune | best dev accuracy | trials | wall | CPU |
| --- | --- | ---: | ---: | ---: |
| none | 0.9666 (trial #3) | 20 complete, 3 failed (diverged) | 9.42 s | 9.12 s |
| doctor | 0.9666 (trial #3) | 5 complete, 15 pruned by the doctor, 3 failed | 2.55 s | 2.38 s |

The doctor stopped 15 trials: 10 saturation, 2 dead units, 1 vanishing
gradients, 1 exploding gradients, 1 learning rate too high. The same best
trial and dev accuracy in **0.27x the wall time** (0.26x the CPU time); the
target was at most 0.6x.

"""

#: the generated sections that ``--section NAME`` rewrites in place in docs/diagnosis.md
SECTIONS = {"benchmark": ("## The benchmark of faulty runs", lambda: benchmark_section()),
            "estimators": ("## The doctor on the scikit-learn estimators", lambda: ESTIMATOR_TEXT),
            "tuner": ("## The doctor inside the tuner", lambda: TUNER_TEXT)}


def splice(page: str, heading: str, text: str, after: str) -> str:
    """``page`` with the section starting at ``heading`` (up to the next level-2 heading) replaced by ``text``;
    a section not there yet goes before the heading ``after``."""
    text = text.rstrip("\n") + "\n\n"
    if heading in page:
        start = page.index(heading)
        end = page.find("\n## ", start + len(heading))
        return page[:start] + text + (page[end + 1:] if end >= 0 else "")
    at = page.index(after)
    return page[:at] + text + page[at:]


def criteria_table() -> str:
    rows = ["| finding | triggered when (thresholds in `tunenet/diagnose/findings.py`) | suggested fix |",
            "|---|---|---|"]
    return "\n".join(rows + [f"| {a} | {b} | {c} |" for a, b, c in CRITERIA])


HEADER = """# Diagnosis: why a network does not learn

*Generated by `python docs/make_diagnosis_doc.py`; every number, excerpt and
figure below comes from the runs that script trains. Do not edit by hand.*

tunenet answers "what is wrong with my network, and what should I change?"
from measurements:

* **`HealthMonitor(every=20)`**, a training callback, records per layer every
  20 steps (and on the first) the activations' mean and spread, the fraction of dead ReLUs and
  saturated tanh/sigmoid outputs, the gradient norm of every parameter and
  the update-to-weight ratio `||lr * update|| / ||W||`, and writes
  `health.json`;
* **`diagnose(history, health, metrics)`** / `tunenet diagnose RUN_DIR` turns
  the history, the per-step losses, the health record and the final metrics
  into findings (what, where, since when, the evidence with its numbers, the
  fix) and writes `diagnosis.json`; in a terminal it prints a table, in a log
  or a pipe one line per finding (`[info] high variance (epoch 29): ... Fix:
  ...`), so a fix's command is never split across lines;
* **`tunenet diagnose RUN_DIR --repair`** applies the top finding's fix as a
  configuration change, trains it through the same pipeline in
  `RUN_DIR-repair1` (then `-repair2` ...), diagnoses it and repeats up to
  `--max-repairs` (3), printing and writing (`repair.json`, the report's
  Repair section) each change with the train/dev accuracy and loss before
  and after, and whether it moved the finding it targeted; a change that did
  not is not repeated in kind (the next alternative is tried instead), and it
  stops when nothing is left to fix or when no fix can be applied
  automatically, saying why ("the gap is the training set's size: 180 rows");
* **`tunenet report RUN_DIR`** writes one self-contained `report.html`
  (findings, metrics, learning curves, per-layer plots, confusion matrix,
  configuration; every plot embedded, no network needed);
* **`tunenet lr-find`** runs the learning-rate range test and suggests a
  learning rate and a log-scale range for the tuner.

```python
from tunenet.diagnose import HealthMonitor, diagnose, diagnose_run, lr_range_test
from tunenet.report import write_report

monitor = HealthMonitor()     # every 20 steps
history = fit(model, None, optimizer, (X, y), (X_dev, y_dev), callbacks=[monitor])
for finding in diagnose(history, monitor.log):
    print(finding.summary())
monitor.save(run_dir)          # health.json, next to history.csv and metrics.json
diagnose_run(run_dir)          # diagnosis.json
write_report(run_dir)          # report.html
```

```console
$ tunenet diagnose runs/digits-20240101-120000
$ tunenet diagnose runs/digits-20240101-120000 --repair --max-repairs 3
$ tunenet report runs/digits-20240101-120000
$ tunenet lr-find --data digits --optimizer adam --hidden 256,128
```

## The criteria

{criteria}

The healthy update-to-weight ratio is about 1e-3 (Karpathy's rule of thumb):
each step changes the weights by a thousandth of their size.

## Deliberately broken runs

Each run below trains on scikit-learn's digits (1,257 training and 540 dev
images of 8x8 pixels, standardised) unless said otherwise, with the health
monitor sampling every 10 steps, and is then diagnosed exactly as `tunenet
diagnose` does. The tests in `tests/diagnose/test_findings.py` assert the same
diagnoses.
"""


def main() -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    parts = [HEADER.replace("{criteria}", criteria_table())]
    with tempfile.TemporaryDirectory() as tmp:
        shot = None
        for i, s in enumerate(SCENARIOS, 1):
            print(f"[{i}/{len(SCENARIOS)}] {s.name}", flush=True)
            run_dir = Path(tmp) / s.name
            findings, metrics, log = run_scenario(s, run_dir)
            kinds = {f.kind for f in findings}
            missing = [k for k in s.expect if k not in kinds]
            if missing:
                sys.exit(f"{s.name}: expected {missing}, got {sorted(kinds)}")
            image = figure(s, run_dir, log)
            accuracy = (f"train accuracy {metrics['train_accuracy']:.1%}, dev accuracy {metrics['dev_accuracy']:.1%} "
                        f"after {metrics['epochs']} epochs" if "dev_accuracy" in metrics else
                        f"training stopped at step {metrics['steps'] + 1}")
            parts.append(f"### {i}. {s.title}\n\n*Setup:* {s.setup}; {accuracy}.\n\n"
                         f"*Report excerpt* (`tunenet diagnose`):\n\n{excerpt(findings)}\n\n"
                         f"*Per layer* (medians over the sampled steps, from `health.json`):\n\n{layer_table(log)}\n\n"
                         f"![{s.title}]({image})\n")
            if s.name == "dead":
                shot = screenshot(run_dir)
    print("reference", flush=True)
    parts.append(REFERENCE_TEXT.replace("{table}", reference_section()))
    parts.append(benchmark_section())
    parts.append(TUNER_TEXT)
    parts.append(ESTIMATOR_TEXT)
    print("lr-find", flush=True)
    parts.append("## The learning-rate range test\n\n"
                 "`lr_range_test(model, X, y)` (and `tunenet lr-find`) trains a copy of the model for at most 100 "
                 "mini-batches while the learning rate grows exponentially from 1e-6 to 10, smooths the loss with "
                 "the bias-corrected EWA (beta 0.9) and stops once the smoothed loss is 4x its minimum. The "
                 "suggestion is the learning rate at the minimum divided by 10; the range for the tuner is "
                 "[suggested / 10, suggested x 3], sampled on a log scale. On digits (tunenet's 60/20/20 split and "
                 "standardisation, the default network `mlp [256, 128]`, batch 64: what `tunenet lr-find --data "
                 "digits --optimizer NAME --threads 1` prints), a 30-epoch run at the suggested rate:\n\n"
                 + lr_find_section()
                 + "\n\n![the range test on digits with Adam](figures/diagnosis/lr_range.png)\n\n"
                 "In the plot, lr 10 (scenario 6) lies far to the right of the explosion.\n")
    parts.append("## The report\n\n`tunenet report RUN_DIR` writes `RUN_DIR/report.html`: findings first, then the "
                 "final metrics, learning curves (raw and smoothed with the bias-corrected EWA), the per-layer "
                 "table and plots from `health.json`, the confusion matrix on the dev set, and the configuration. "
                 "Plots are PNGs embedded as `data:` URIs, so the file opens from disk, offline, and can be mailed "
                 "on its own. `tests/report/test_report_browser.py` opens it in headless Chromium with the network "
                 "cut off and checks that every image loads and every finding is visible."
                 + (f"\n\nThe report of the dead-units run (top):\n\n![report.html in Chromium]({shot})\n"
                    if shot else "\n")
                 + "\n" + REPORT_SCREENSHOTS)
    parts.append("## Cost\n\n" + benchmark_line() + "\n")
    PAGE.write_text("\n".join(parts))
    print(f"wrote {PAGE}")


#: the three reports as docs/make_report_screenshots.py shows them
REPORT_SCREENSHOTS = (
    "A regression run's report shows R², RMSE and MAE (in the target's units) instead of accuracy, the "
    'dev R² curve beside the loss, `(linear output)` for the last layer and no confusion matrix. '
    '`docs/make_report_screenshots.py` trains digits and diabetes and runs a short study as a user would,'
    ' and screenshots the three pages in headless Chromium; `tests/report/test_report_browser.py` checks '
    'in the same browser that every image of the classification, regression and study reports loads '
    '(`naturalWidth > 0`) and that their named sections exist.\n\n`tunenet train --data digits` (top of the'
    " page) and `tunenet train --data diabetes.csv` (scikit-learn's diabetes table, raw target):\n\n![train"
    ' report, classification](figures/reports/train-classification.png)\n\n![train report, '
    'regression](figures/reports/train-regression.png)\n'
)


def main_sections(names: list[str]) -> None:
    """Rewrite only the named generated sections of docs/diagnosis.md (no training but the benchmark's own)."""
    page = PAGE.read_text()
    for name in names:
        heading, make = SECTIONS[name]
        page = splice(page, heading, make(), "## The learning-rate range test")
    PAGE.write_text(page)
    print(f"rewrote {', '.join(names)} in {PAGE}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="generate docs/diagnosis.md")
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS),
                        help="rewrite only this section in place (from benchmarks/results/doctor.json for "
                             "'benchmark'); repeatable")
    args = parser.parse_args()
    if args.section:
        main_sections(args.section)
    else:
        main()
