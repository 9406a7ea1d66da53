"""Every lab: deterministic for a seed, writes table.md, table.json and PNG figures.

The runs here use ``quick=True`` (fewer epochs or trials, the same code path)
so that each lab can run twice; the qualitative tests use the real settings.
"""

import json

import pytest

from tunenet.labs import LABS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", list(LABS))
def test_two_runs_give_identical_tables(name, tmp_path):
    run, description = LABS[name]
    assert description
    first = run(tmp_path / "a", seed=3, quick=True)
    second = run(tmp_path / "b", seed=3, quick=True)
    for table in ("table.md", "table.json"):
        assert (tmp_path / "a" / table).read_bytes() == (tmp_path / "b" / table).read_bytes()
    assert first.rows == second.rows
    data = json.loads((tmp_path / "a" / "table.json").read_text())
    assert data["name"] == name and data["settings"]["seed"] == 3 and data["settings"]["quick"] is True
    assert data["columns"] == first.columns and len(data["rows"]) == len(first.rows)
    assert first.figures and all((tmp_path / "a" / f).read_bytes()[:8] == PNG for f in first.figures)
    md = (tmp_path / "a" / "table.md").read_text()
    assert md.startswith(f"# {first.title}") and first.reading in md
    assert md.count("\n|") == len(first.rows) + 2  # header, rule, one line per row


def test_another_seed_gives_another_table(tmp_path):
    run, _ = LABS["ewa"]
    assert run(tmp_path / "a", seed=0).rows != run(tmp_path / "b", seed=1).rows


def test_bad_seed_is_a_config_error(tmp_path):
    from tunenet.errors import ConfigError

    run, _ = LABS["ewa"]
    with pytest.raises(ConfigError, match="seed"):
        run(tmp_path, seed=-1)
