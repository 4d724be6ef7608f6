"""The guard of tests/unit/conftest.py refuses a process however it is started."""

import os
import subprocess

import pytest

from tests.unit.conftest import ProcessStarted


@pytest.mark.parametrize("start", [
    lambda: subprocess.run(["true"], check=False),
    lambda: subprocess.Popen(["true"]),
    lambda: os.system("true"),
    lambda: os.fork(),
])
def test_a_process_is_refused(start):
    with pytest.raises(ProcessStarted, match="move the test to tests/system"):
        start()
