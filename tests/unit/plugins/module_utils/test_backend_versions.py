"""required_version constraints against the first releases that lock with use_lockfile."""

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import versions as bv


@pytest.mark.parametrize("constraint, terraform, opentofu", [
    (">= 1.7", True, True),
    ("~> 1.0", True, True),
    ("~> 1.10.0", True, True),
    ("~> 1.10.1", True, True),
    ("= 1.10.0", False, False),
    ("1.10.1", True, False),
    ("~> 0.12.28", False, False),
    (">= 0.12, < 0.13", False, False),
    ("< 1.10.2", True, False),
    ("> 1.10.1, != 1.10.2", True, True),
    ("~> 1.9.0", False, False),
    (">= 1.11.0-beta1", True, True),
])
def test_lockfile_support(constraint, terraform, opentofu):
    assert bv.lockfile_support([constraint]) == {"terraform": terraform, "opentofu": opentofu}


def test_every_constraint_of_a_root_must_hold():
    assert bv.lockfile_support([">= 1.5", "< 1.10"]) == {"terraform": False, "opentofu": False}
    assert bv.lockfile_support([]) == {"terraform": True, "opentofu": True}


def test_pessimistic_operator_bounds():
    assert bv.parse_constraints("~> 1.2") == [("~>", (1, 2, 0), 2)]
    assert bv.admits_at_least(bv.parse_constraints("~> 1.2"), (1, 99, 0))
    assert not bv.admits_at_least(bv.parse_constraints("~> 1.2.3"), (1, 3, 0))


def test_unreadable_constraint():
    with pytest.raises(bv.VersionConstraintError):
        bv.lockfile_support(["latest"])
