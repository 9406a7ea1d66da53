"""Crafted config files (``train --config``), search spaces (``tune --space``) and study names (``--study``)."""

from __future__ import annotations

from builders import yaml_payload
from harness import Case, suite


def config(text: str | bytes, name: str = "config.yaml", *flags):
    """``tunenet train --config FILE --run-dir out`` (which may write only into ``out``)."""
    def build(ctx):
        path = ctx.dir / name
        path.write_bytes(text(ctx) if callable(text) else text.encode() if isinstance(text, str) else text)
        return ["train", "--config", path.name, "--run-dir", "out", "--epochs", 1, "--quiet", *flags]
    return build


def space(text, name: str = "space.yaml"):
    """``tunenet tune --space FILE --study s`` (which may write only into ``studies``)."""
    def build(ctx):
        path = ctx.dir / name
        path.write_bytes(text(ctx) if callable(text) else text.encode() if isinstance(text, str) else text)
        return ["tune", "--space", path.name, "--study", "s", "--trials", 1, "--workers", 1, "--quiet"]
    return build


def study(name: str | None = None, command: str = "tune", name_of=None):
    """A study command with a crafted name; nothing may be written (the name is refused before any work)."""
    def build(ctx):
        value = name_of(ctx) if name_of else name
        if command == "tune":
            return ["tune", "--study", value, "--trials", 1, "--workers", 1, "--quiet"]
        if command == "worker":
            return ["worker", "--study", value]
        return ["study", command, value]
    return build


def payload(ctx):
    return yaml_payload(ctx.marker).encode()


def billion_laughs(ctx):
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, "
                     f"*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}]")
    lines.append("hidden: *i")
    return "\n".join(lines).encode()


def study_dir(write_journal, command=("tune", "--resume", "studies/s", "--quiet")):
    """A crafted ``studies/s/journal.log``; the command may write only into ``studies/s``."""
    def build(ctx):
        d = ctx.dir / "studies" / "s"
        d.mkdir(parents=True)
        write_journal(d / "journal.log")
        return list(command)
    return build


def journal_text(text: str):
    return lambda path: path.write_text(text)


def journal_with_settings(settings: str):
    def write(path):
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(str(path)))
        optuna.create_study(study_name="s", storage=storage).set_user_attr("tunenet", settings)
    return write


SHOW = ("study", "show", "studies/s")

CASES = [
    # config files
    Case("config-not-utf8", config(b"lr: 0.01\nactivation: r\xe9lu\n"), "not UTF-8 text", "out"),
    Case("config-toml-not-utf8", config(b"lr = 0.01\n# \xff\xfe\n", "config.toml"), "not UTF-8 text", "out"),
    Case("config-python-tag", config(payload), "not valid YAML", "out", direct=True),
    Case("config-python-name-tag", config("lr: !!python/name:os.system\n"), "not valid YAML", "out"),
    Case("config-nested-100k", config("lr: " + "[" * 100_000), "not valid YAML", "out"),
    Case("config-toml-nested-100k", config("lr = " + "[" * 100_000, "config.toml"), "not valid TOML", "out"),
    Case("config-billion-laughs", config(billion_laughs), "option 'hidden'|unknown option", "out"),
    Case("config-hidden-1e8", config("hidden: [100000000]\n"), r"option 'hidden' \[100000000\].*GiB", "out"),
    Case("config-hidden-1e30", config("hidden: [1000000000000000000000000000000]\n"), "option 'hidden'", "out"),
    Case("config-cli-hidden-1e8", lambda ctx: ["train", "--hidden", "100000000", "--run-dir", "out", "--quiet"],
         r"option 'hidden' \[100000000\].*GiB", "out"),
    Case("config-a-list", config("- lr\n- 0.1\n"), "expected a mapping", "out"),
    Case("config-unknown-option", config("__class__: x\n"), "unknown option '__class__'", "out"),
    Case("config-lr-nan", config("lr: .nan\n"), "option 'lr'", "out"),
    Case("config-max-categories-text", config("max_categories: many\n"), "option 'max_categories'", "out"),
    Case("config-too-large", config("# " + "x" * (11 * 2**20) + "\n"), "too large", "out"),
    Case("config-is-a-directory", lambda ctx: (ctx.dir / "c.yaml").mkdir() or ["train", "--config", "c.yaml"],
         "no such config file", None),
    # search spaces
    Case("space-python-tag", space(payload), "not valid YAML", "studies"),
    Case("space-not-utf8", space(b"lr: loguniform(1e-4, 1e-1)\n# \xff\n"), "not UTF-8 text", "studies"),
    Case("space-nested-100k", space("lr: " + "[" * 100_000), "not valid YAML", "studies"),
    Case("space-a-list", space("- lr\n"), "expected a mapping", "studies"),
    Case("space-unknown-distribution", space('lr: "eval(1)"\n'), "lr", "studies"),
    Case("space-inverted-bounds", space('lr: "loguniform(1, -1)"\n'), "lr", "studies"),
    Case("space-unknown-option", space('__import__: "choice([1, 2])"\n'), "__import__", "studies"),
    Case("space-empty", space(""), "expected a mapping", "studies"),
    # study names: refused before anything is created, inside --root or out of it
    Case("study-dot-dot", study("../../x"), "a study name is", None),
    Case("study-absolute", study(name_of=lambda ctx: str(ctx.dir / "abs")), "a study name is", None, direct=True),
    Case("study-slash", study("a/b"), "a study name is", None),
    Case("study-dot-dot-alone", study(".."), "a study name is", None),
    Case("study-hidden", study(".hidden"), "a study name is", None),
    Case("study-empty", study(""), "a study name is", None),
    Case("study-too-long", study("x" * 200), "a study name is", None),
    Case("study-newline", study("a\nb"), "a study name is", None),
    Case("worker-study-dot-dot", study("../x", "worker"), "a study name is", None),
    Case("study-show-dot-dot", study("../../nothing", "show"), "a study name is", None),
    # study directories
    Case("study-journal-nested-100k", study_dir(journal_text("[" * 100_000 + "\n")), "not a readable study journal",
         "studies/s"),
    Case("study-show-journal-nested", study_dir(journal_text("[" * 100_000 + "\n"), SHOW),
         "not a readable study journal", "studies/s"),
    Case("study-journal-garbage", study_dir(journal_text("garbage{\n")), "no study named 's'", "studies/s"),
    Case("study-settings-not-object", study_dir(journal_with_settings("[1, 2]")), "settings are malformed",
         "studies/s"),
    Case("study-settings-nested", study_dir(journal_with_settings("[" * 100_000)), "settings are malformed",
         "studies/s"),
    Case("study-settings-rounds-text", study_dir(journal_with_settings(
        '{"base": {}, "sampler": "random", "prune": "none", "seed": 0, "task": "classification", '
        '"direction": "maximize", "rounds": "many"}')), "field 'rounds'", "studies/s"),
    Case("study-not-tunenet", study_dir(lambda p: journal_with_settings("x")(p) or None), "malformed|not created",
         "studies/s"),
    Case("study-export-absolute", study(name_of=lambda ctx: str(ctx.dir / "none"), command="export"),
         "a study name is", None),
]

results, test_case = suite(CASES)
