"""The memory budget and the check made before a large allocation."""

import resource
import subprocess
import sys

import pytest

from tunenet.errors import ConfigError
from tunenet.memory import check_bytes, format_bytes, memory_budget
from tunenet.nn.model import count_parameters, mlp


def test_format_bytes():
    assert format_bytes(512) == "512 bytes"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**30) == "3.0 GiB"


def test_budget_follows_the_address_space_limit():
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31)); "
            "from tunenet.memory import memory_budget; print(memory_budget())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == 2**31
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    assert memory_budget() <= (soft if soft != resource.RLIM_INFINITY else 1 << 62)


def test_check_bytes_names_what_and_the_memory():
    check_bytes(1024, "a small array")
    with pytest.raises(ConfigError, match=r"field .x. would need 8,192.0 PiB of memory"):
        check_bytes(2**63, "field 'x'", ConfigError)


def test_count_parameters_matches_the_built_network():
    for args in ((5, [7, 3], 4, False), (5, [7], 2, True), (5, [7, 2], 2, "after"), (3, [], 2, False)):
        model = mlp(args[0], args[1], args[2], batchnorm=args[3])
        assert count_parameters(*args) == model.n_parameters


def test_a_network_too_large_for_memory_is_refused_before_it_is_built():
    with pytest.raises(ConfigError, match=r"option 'hidden' \[100000000\]: a network of 7,500,000,010 parameters"
                                          r".* would need 111.8 GiB"):
        mlp(64, [100_000_000], 10)
