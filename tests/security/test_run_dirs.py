"""Crafted run directories: ``config.yaml``, checkpoints (``train --resume``), and the files ``diagnose`` reads."""

from __future__ import annotations

import numpy as np
from builders import copy_run, deep_json, edit_doc, forge, read_st, tensors_of, write_st, yaml_payload
from harness import Case, suite

CHECKPOINT = "checkpoint/checkpoint.safetensors"


def resume(change, command=("train", "--resume", "run", "--quiet")):
    """``tunenet train --resume run`` (which may write only into ``run``) after ``change(run, ctx)``."""
    def build(ctx):
        run = copy_run(ctx.base, ctx.dir / "run")
        change(run, ctx)
        return list(command)
    return build


def diagnose(change):
    return resume(change, ("diagnose", "run"))


def config_text(text: str | bytes):
    def change(run, ctx):
        path = run / "config.yaml"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    return change


def config_extra(line: str):
    def change(run, ctx):
        path = run / "config.yaml"
        path.write_text(path.read_text() + line)
    return change


def config_symlink(target_of):
    def change(run, ctx):
        target = target_of(run, ctx)
        (run / "config.yaml").unlink()
        (run / "config.yaml").symlink_to(target)
    return change


def other_config(run, ctx):
    other = ctx.dir / "other.yaml"
    other.write_text((run / "config.yaml").read_text())
    return other


def payload(run, ctx):
    path = run / "config.yaml"
    path.write_text(path.read_text() + yaml_payload(ctx.marker).replace("lr:", "l1:"))


def checkpoint_doc(edit, recompute=True):
    return lambda run, ctx: edit_doc(run / CHECKPOINT, edit, recompute=recompute)


def checkpoint_tensors(change):
    def edit(run, ctx):
        path = run / CHECKPOINT
        tensors = tensors_of(path)
        change(tensors)
        forge(path, tensors=tensors)
    return edit


def nan_weights(t):
    t["model/param/dense0.W"][:] = np.nan


def float64_weights(t):
    for k in list(t):
        if k.startswith("model/"):
            t[k] = t[k].astype(np.float64)


def slot_shape(t):
    key = next(k for k in t if k.startswith("optim/") and k.endswith("dense0.W"))
    t[key] = np.zeros((2, 2), np.float32)


def best_values_shape(t):
    t["callback/EarlyStopping/best_values"] = np.zeros(3, np.float32)


def flip_byte(run, ctx):
    path = run / CHECKPOINT
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))


def truncate(run, ctx):
    path = run / CHECKPOINT
    path.write_bytes(path.read_bytes()[:-64])


def checkpoint_is_dir(run, ctx):
    (run / CHECKPOINT).unlink()
    (run / CHECKPOINT).mkdir()


def checkpoint_symlink(run, ctx):
    other = ctx.dir / "elsewhere.safetensors"
    other.write_bytes((run / CHECKPOINT).read_bytes())
    (run / CHECKPOINT).unlink()
    (run / CHECKPOINT).symlink_to(other)


def checkpoint_header_deep(run, ctx):
    _, body = read_st(run / CHECKPOINT)
    write_st(run / CHECKPOINT, deep_json(50_000).encode(), body)


def json_file(name: str, text: str):
    return lambda run, ctx: (run / name).write_text(text)


def report(change):
    return resume(change, ("report", "run"))


def tampered_model_without_confusion(run, ctx):
    """metrics.json without its confusion matrix makes ``report`` recompute it from the (tampered) model."""
    import json

    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("confusion_matrix", None)
    (run / "metrics.json").write_text(json.dumps(metrics))
    edit_doc(run / "model.safetensors", lambda d: d["architecture"]["layers"][1].update(type="Sigmoid"), False)


CASES = [
    # config.yaml
    Case("resume-config-symlink-elsewhere", resume(config_symlink(other_config)), "symbolic link", "run"),
    Case("resume-config-symlink-etc-passwd", resume(config_symlink(lambda run, ctx: "/etc/passwd")),
         "symbolic link", "run"),
    Case("resume-config-not-utf8", resume(config_text(b"lr: 0.01\nactivation: \xe9\xff\n")), "not UTF-8", "run"),
    Case("resume-config-python-tag", resume(payload), "not valid YAML", "run", direct=True),
    Case("resume-config-nested-100k", resume(config_text("lr: " + "[" * 100_000)), "not valid YAML", "run"),
    Case("resume-config-a-list", resume(config_text("- 1\n- 2\n")), "expected a mapping", "run"),
    Case("resume-config-unknown-option", resume(config_extra("__class__: x\n")), "unknown option '__class__'", "run"),
    Case("resume-config-hidden-1e8", resume(config_extra("hidden: [100000000]\n")), "hidden.*GiB", "run"),
    Case("resume-config-missing", resume(lambda run, ctx: (run / "config.yaml").unlink()), "not a run directory",
         "run"),
    Case("resume-not-a-directory", resume(lambda run, ctx: None, ("train", "--resume", "nothing-here")),
         "no such run directory", "nothing-here"),
    # the checkpoint
    Case("resume-checkpoint-byte-flipped", resume(flip_byte), "SHA-256", "run"),
    Case("resume-checkpoint-truncated", resume(truncate), "truncated|SHA-256|outside", "run"),
    Case("resume-checkpoint-is-a-directory", resume(checkpoint_is_dir), "no such file|checkpoint", "run"),
    Case("resume-checkpoint-symlink", resume(checkpoint_symlink), "symbolic link", "run"),
    Case("resume-checkpoint-header-nested", resume(checkpoint_header_deep), "nested too deeply", "run"),
    Case("resume-checkpoint-schema-1", resume(checkpoint_doc(lambda d: d.update(schema_version=1))),
         "schema version 1", "run"),
    Case("resume-checkpoint-is-a-model", resume(checkpoint_doc(lambda d: d.update(format="tunenet-model"))),
         "expected a 'tunenet-checkpoint' file", "run"),
    Case("resume-checkpoint-epoch-text", resume(checkpoint_doc(lambda d: d.update(epoch="two"))),
         "malformed checkpoint", "run"),
    Case("resume-checkpoint-rng-garbage", resume(checkpoint_doc(lambda d: d.update(rng_state={"x": 1}))),
         "malformed checkpoint", "run"),
    Case("resume-checkpoint-history-garbage", resume(checkpoint_doc(lambda d: d.update(history={"epochs": 5}))),
         "malformed checkpoint", "run"),
    Case("resume-checkpoint-optimizer-type", resume(checkpoint_doc(lambda d: d["optimizer"].update(type="Evil"))),
         "optimiser state", "run"),
    Case("resume-checkpoint-architecture-differs",
         resume(checkpoint_doc(lambda d: d["architecture"]["layers"][0].update(n_out=5))), "architecture differs",
         "run"),
    Case("resume-checkpoint-nan-weights", resume(checkpoint_tensors(nan_weights)), "non-finite", "run"),
    Case("resume-checkpoint-float64-weights", resume(checkpoint_tensors(float64_weights)),
         "float64, but the model is float32", "run"),
    Case("resume-checkpoint-slot-shape", resume(checkpoint_tensors(slot_shape)), "shape", "run"),
    Case("resume-checkpoint-best-values-shape", resume(checkpoint_tensors(best_values_shape)), "best_values", "run"),
    # the JSON files diagnose reads
    Case("diagnose-metrics-nested", diagnose(json_file("metrics.json", deep_json(100_000))), "metrics.json", "run"),
    Case("diagnose-metrics-a-list", diagnose(json_file("metrics.json", "[1, 2]")), "metrics.json", "run"),
    Case("report-model-tampered", report(tampered_model_without_confusion), "SHA-256", "run"),
    Case("report-metrics-not-utf8", report(lambda run, ctx: (run / "metrics.json").write_bytes(b"{\"a\": \"\xff\"}")),
         "metrics.json", "run"),
    Case("diagnose-health-not-json", diagnose(json_file("health.json", "{nope")), "health.json", "run"),
]

results, test_case = suite(CASES)
