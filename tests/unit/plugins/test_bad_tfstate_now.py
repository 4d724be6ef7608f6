"""A TFSTATE_NOW that is not a time fails a module or a phase at its start, naming it, before anything is read."""

from ansible_collections.tfstate.s3_backend.plugins.action.root_stage import ActionModule as RootStage
from ansible_collections.tfstate.s3_backend.plugins.modules import fleet_info
from tests.testbed.collection import run_module

NAMED = "TFSTATE_NOW: '2026-12-08' has no time zone (write it in UTC, e.g. 2026-12-01T00:00:00Z)"


def test_a_module_fails_naming_tfstate_now(monkeypatch):
    monkeypatch.setenv("TFSTATE_NOW", "2026-12-08")
    result = run_module(fleet_info, {"buckets": ["state"], "endpoint_url": "http://127.0.0.1:9"})
    assert result["failed"] and result["msg"] == NAMED


def test_a_phase_fails_naming_tfstate_now(monkeypatch, tmp_path):
    monkeypatch.setenv("TFSTATE_NOW", "2026-12-08")
    phase = RootStage.__new__(RootStage)
    phase.check_mode = False
    read = []
    monkeypatch.setattr(RootStage, "phase", lambda self, args, task_vars: read.append(args) or {})
    result = phase.run_phase({"root": str(tmp_path)}, {})
    assert result == {"failed": True, "changed": False, "msg": NAMED} and read == []
    monkeypatch.setenv("TFSTATE_NOW", "2026-12-08T00:00:00Z")
    assert not phase.run_phase({"root": str(tmp_path)}, {}).get("failed") and len(read) == 1
