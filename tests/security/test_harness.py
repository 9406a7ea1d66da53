"""The suite's own assertions fail when they should (so a passing case means something)."""

import pytest
from harness import Case, check_case

GOOD = {"status": 2, "stdout": "", "stderr": "error: x.npz: no array 'X'\n", "before": {"a": [1, 1]},
        "after": {"a": [1, 1], "c/out": [3, 5]}}


@pytest.mark.parametrize("change", [
    {"status": 1}, {"status": 0}, {"stderr": "Traceback (most recent call last):\n...\nerror: x\n"},
    {"stderr": "error: one\nerror: two\n"}, {"stderr": "warning: x\n"}, {"stderr": "error: something else\n"},
    {"after": {"a": [1, 2]}}, {"after": {"a": [1, 1], "elsewhere": [0, 0]}},
])
def test_check_case_fails_on_each_broken_promise(tmp_path, change):
    case = Case("c", lambda ctx: [], "no array 'X'", writes="out")
    check_case(case, GOOD, tmp_path)  # the unchanged result passes
    with pytest.raises(AssertionError):
        check_case(case, {**GOOD, **change}, tmp_path)


def test_check_case_fails_when_a_payload_ran(tmp_path):
    case = Case("c", lambda ctx: [], "no array", writes="out")
    (tmp_path / "MARKER-c").touch()
    with pytest.raises(AssertionError, match="payload"):
        check_case(case, GOOD, tmp_path)
