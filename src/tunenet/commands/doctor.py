"""CLI: ``tunenet diagnose RUN_DIR``, ``tunenet report RUN_DIR`` and ``tunenet lr-find``.

* ``diagnose`` prints the findings of a run directory as a table and writes
  ``diagnosis.json``;
* ``report`` diagnoses the run, then writes the self-contained
  ``report.html`` and prints its path; the confusion matrix comes from
  ``metrics.json`` or, when absent, from ``model.safetensors`` on the dev split
  of the run's own configuration;
* ``lr-find`` runs the learning-rate range test on the training split of a
  configuration given by the same flags as ``tunenet train``, prints the
  suggested learning rate and a log-scale search range, and saves the plot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


# -- diagnose ---------------------------------------------------------------------
def add_diagnose_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `tunenet train`")
    p.add_argument("--repair", action="store_true",
                   help="apply the top finding's fix, train it in RUN_DIR-repairN, diagnose it, and repeat")
    p.add_argument("--max-repairs", type=int, default=3, dest="max_repairs",
                   help="at most this many repair runs (default: 3)")


def print_findings(findings, title: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not findings:
        console.print(f"{title}: no problems found", highlight=False, markup=False, soft_wrap=True)
        return
    if not console.is_terminal:  # a log or a pipe: one line per finding, its commands never split across lines
        print(f"{title}:", flush=True)
        for f in findings:
            print(f.summary(), flush=True)
        return
    table = Table(title=title, show_lines=True)
    table.add_column("problem", min_width=16, overflow="fold")
    table.add_column("evidence", ratio=3, overflow="fold")
    table.add_column("fix", ratio=2, overflow="fold")
    for f in findings:
        style = SEVERITY_STYLE.get(f.severity, "")
        where = "\n".join(x for x in (f.layer, f"epoch {f.epoch}" if f.epoch else None) if x)
        table.add_row(f"[{style}]{f.severity.upper()}[/]\n[bold]{f.kind}[/]" + (f"\n{where}" if where else ""),
                      escape(f.evidence), escape(f.fix))  # their text is not markup
    console.print(table)


def run_diagnose(args: argparse.Namespace) -> int:
    from ..diagnose import diagnose_run

    findings = diagnose_run(args.run_dir)
    print_findings(findings, f"diagnosis of {args.run_dir}")
    print(f"wrote {Path(args.run_dir) / 'diagnosis.json'}")
    if args.repair:
        from ..repair import REPAIR_FILE, repair

        doc = repair(args.run_dir, args.max_repairs, progress=lambda m: print(m, flush=True))
        print_repair(doc)
        print(f"wrote {Path(args.run_dir) / REPAIR_FILE}")
    return 0


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1%}"


def _loss(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def print_repair(doc: dict) -> None:
    """The repair sequence: each change with the train/dev accuracy and loss before and after."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if doc["steps"]:
        table = Table(title=f"repair of {doc['run_dir']}")
        for column in ("step", "finding", "change", "train acc", "dev acc", "dev loss", "still found"):
            table.add_column(column, overflow="fold")
        for s in doc["steps"]:
            b, a = s["before"], s["after"]
            table.add_row(str(s["step"]), s["finding"], ", ".join(f"{k}={v}" for k, v in s["change"].items()),
                          f"{_pct(b['train_accuracy'])} -> {_pct(a['train_accuracy'])}",
                          f"{_pct(b['dev_accuracy'])} -> {_pct(a['dev_accuracy'])}",
                          f"{_loss(b['dev_loss'])} -> {_loss(a['dev_loss'])}"
                          + (" (diverged)" if s["diverged"] else ""),
                          "\n".join(s["remaining"]) or "nothing"
                          + (f"\n({s['note']})" if s.get("note") else ""))
        console.print(table)
    console.print(f"outcome: {doc['outcome']}; last run: {doc['final_run_dir']}", highlight=False, markup=False,
                  soft_wrap=True)


# -- report -----------------------------------------------------------------------
def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `tunenet train`")
    p.add_argument("--output", "-o", help="where to write the HTML (default: RUN_DIR/report.html)")


def confusion_from_run(run_dir: Path) -> dict | None:
    """The dev-set confusion matrix of a classification run, recomputed from its model and configuration.

    None when the run has no model or configuration, or is a regression.
    """
    from ..nn.io import load as load_model
    from ..report.plots import confusion_matrix
    from ..run import prepare_data, read_run_config

    if not (run_dir / "model.safetensors").is_file() or not (run_dir / "config.yaml").is_file():
        return None
    model = load_model(run_dir / "model.safetensors")
    if model.output == "linear":
        return None
    data = prepare_data(read_run_config(run_dir))
    if not len(data.X_dev):
        return None
    predicted = model.predict(data.X_dev)
    classes = data.dataset.class_names or list(range(data.n_classes))
    return {"split": "dev", "classes": [str(c) for c in classes],
            "matrix": confusion_matrix(data.y_dev, predicted, len(classes)).tolist()}


def run_report(args: argparse.Namespace) -> int:
    import json

    from ..diagnose import diagnose_run
    from ..report import write_report

    run_dir = Path(args.run_dir)
    findings = diagnose_run(run_dir)
    confusion = None
    metrics_path = run_dir / "metrics.json"
    has_confusion = metrics_path.is_file() and "confusion_matrix" in json.loads(metrics_path.read_text("utf-8"))
    if not has_confusion:
        confusion = confusion_from_run(run_dir)
    path = write_report(run_dir, findings=findings, confusion=confusion, path=args.output)
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning")}
    print(f"report: {path}  ({counts['error']} errors, {counts['warning']} warnings)")
    return 0


# -- lr-find ----------------------------------------------------------------------
def add_lr_find_arguments(p: argparse.ArgumentParser) -> None:
    from ..cli import add_config_arguments

    p.add_argument("--config", help="YAML or TOML file of options (flags override it); --lr is ignored")
    p.add_argument("--lr-min", type=float, default=1e-6, dest="lr_min", help="first learning rate (default: 1e-6)")
    p.add_argument("--lr-max", type=float, default=10.0, dest="lr_max", help="last learning rate (default: 10)")
    p.add_argument("--steps", type=int, default=100, help="mini-batch steps at most (default: 100)")
    p.add_argument("--smoothing", type=float, default=0.9,
                   help="beta of the bias-corrected EWA of the loss (default: 0.9)")
    p.add_argument("--plot", default="lr_range.png", help="where to save the plot (default: lr_range.png)")
    add_config_arguments(p)


def run_lr_find(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..cli import config_from_args, print_data_summary, suggested_command
    from ..diagnose import lr_range_test
    from ..diagnose.lr_range import check_settings
    from ..errors import ConfigError
    from ..report.plots import plot_lr_range
    from ..run import build_model, build_optimizer, prepare_data

    config = config_from_args(args)
    check_settings(args.lr_min, args.lr_max, args.steps, config.batch_size)
    if not 0 <= args.smoothing < 1:
        raise ConfigError(f"--smoothing must be in [0, 1), got {args.smoothing}")
    data = prepare_data(config)
    print_data_summary(data)
    model = build_model(config, data.X_train.shape[1], data.n_out, data.output)

    def optimizer(net, lr):
        return build_optimizer(config.replace(lr=lr), net)

    result = lr_range_test(model, data.X_train, data.y_train, lr_min=args.lr_min, lr_max=args.lr_max,
                           steps=args.steps, batch_size=config.batch_size, optimizer=optimizer, seed=config.seed,
                           beta=args.smoothing, l2=config.l2, threads=config.threads)
    plot_lr_range(result, args.plot, title=f"learning-rate range test: {config.data}, {config.optimizer}, "
                                            f"hidden {','.join(map(str, config.hidden)) or 'none'}")
    lo, hi = result.search_range
    console = Console()
    console.print(f"suggested learning rate: [bold green]{result.suggested:.3g}[/]  "
                  f"({config.optimizer}, batch {config.batch_size}, {len(result.lrs)} steps"
                  + (", stopped when the loss exploded" if result.stopped_early else "") + ")", highlight=False,
                  soft_wrap=True)
    console.print(f"search range for the tuner: [{lo:.3g}, {hi:.3g}] (log-uniform); the smoothed loss was lowest "
                  f"at lr {result.min_lr:.3g}", highlight=False, soft_wrap=True)
    print(f"plot: {args.plot}", flush=True)
    print("next: " + suggested_command("train", args, {"lr": float(f"{result.suggested:.3g}")}), flush=True)
    return 0


COMMANDS = {
    "diagnose": (add_diagnose_arguments, run_diagnose, "print a run's findings and write diagnosis.json"),
    "report": (add_report_arguments, run_report, "write a run's self-contained report.html"),
    "lr-find": (add_lr_find_arguments, run_lr_find, "suggest a learning rate with the range test"),
}
