"""The guard of tests/unit/conftest.py refuses a process however it is started."""

import os
import subprocess

import pytest

from tests.unit.conftest import ProcessStarted


# By name: the guard replaces the functions for each test, after collection.
@pytest.mark.parametrize("owner, name, args", [
    (subprocess, "run", (["true"],)),
    (subprocess, "Popen", (["true"],)),
    (os, "system", ("true",)),
    (os, "fork", ()),
])
def test_a_process_is_refused(owner, name, args):
    with pytest.raises(ProcessStarted, match="move the test to tests/system"):
        getattr(owner, name)(*args)
