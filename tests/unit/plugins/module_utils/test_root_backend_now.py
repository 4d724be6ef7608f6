"""root_backend.read_root and backend_now: a root parsed once per run, measured again from what changed only.

The parses are counted through the TFSTATE_PARSE_LOG hook (backend_discovery.note_parse), the files and
``.terraform`` are real files; the rewrite is backend_rewrite's, written to disk as root_rewrite writes it.
"""

import json
import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.settings import PARSE_LOG_VARIABLE
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.rewrite import rewrite_paths
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import (
    backend_now,
    fingerprint,
    lock_settings,
    read_root,
)

BLOCK = 'terraform {\n  backend "s3" {\n%s  }\n}\n'


def block(**settings):
    return BLOCK % "".join("    %s = %s\n" % (name, json.dumps(value)) for name, value in settings.items())


def parses(log):
    if not os.path.exists(log):
        return {}
    counted = {}
    with open(log) as handle:
        for line in handle.read().splitlines():
            counted[os.path.basename(line)] = counted.get(os.path.basename(line), 0) + 1
    return counted


def initialise(root, **config):
    os.makedirs(os.path.join(root, ".terraform"), exist_ok=True)
    with open(os.path.join(root, ".terraform", "terraform.tfstate"), "w") as handle:
        json.dump({"backend": {"type": "s3", "config": dict({"bucket": "b", "key": "k"}, **config)}}, handle)


def rewrite(path, mode):
    """What root_rewrite does: the checked rewrite, written, with the fingerprint and lock settings of its entry."""
    [result] = [result for result in rewrite_paths([path], mode, leave_unlocked=False) if result.changed]
    with open(path, "w") as handle:
        handle.write(result.after)
    return {"path": path, "changed": True, "fingerprint": fingerprint(path),
            "lock_settings_after": [lock_settings(settings) for settings in result.settings_after]}


def test_a_root_is_parsed_once_then_measured_from_its_fingerprints_and_terraform_dir(tmp_path, monkeypatch):
    log = str(tmp_path / "parses.log")
    monkeypatch.setenv(PARSE_LOG_VARIABLE, log)
    root = tmp_path / "app"
    root.mkdir()
    (root / "main.tf").write_text('resource "null_resource" "x" {}\n')
    (root / "backend.tf").write_text(block(bucket="b", key="k", dynamodb_table="t"))
    (root / "prod.tfbackend").write_text('region = "eu-west-1"\n')
    initialise(str(root), dynamodb_table="t")
    backend = read_root(str(root), ["-backend-config=prod.tfbackend", "-backend-config=use_lockfile=true"])
    assert parses(log) == {"backend.tf": 1, "prod.tfbackend": 1}
    assert backend["lock_mode"] == "dual"
    assert [(os.path.basename(s["file"]), s["index"], s["lock_settings"]) for s in backend["lock_sources"]] == [
        ("backend.tf", 0, {"dynamodb_table": "t"}), ("prod.tfbackend", 0, {})]
    assert backend["init_lock_settings"] == {"use_lockfile": True}
    args = ["-backend-config=prod.tfbackend", "-backend-config=use_lockfile=true"]
    now = backend_now(json.loads(json.dumps(backend)), args)
    assert (now["lock_mode"], now["initialised_lock_mode"], now["reparsed"]) == ("dual", "dynamodb", False)
    # The last init is read now (JSON), not taken from the preflight.
    initialise(str(root), dynamodb_table="t", use_lockfile=True)
    assert backend_now(backend, args)["initialised_lock_mode"] == "dual"
    assert parses(log) == {"backend.tf": 1, "prod.tfbackend": 1}


def test_a_file_this_run_rewrote_is_measured_from_the_rewrite_and_any_other_change_is_read_again(tmp_path, monkeypatch):
    log = str(tmp_path / "parses.log")
    monkeypatch.setenv(PARSE_LOG_VARIABLE, log)
    path = str(tmp_path / "backend.tf")
    with open(path, "w") as handle:
        handle.write(block(bucket="b", key="k", dynamodb_table="t"))
    backend = read_root(str(tmp_path))
    written = rewrite(path, "lockfile")
    assert parses(log) == {"backend.tf": 2}  # the preflight's, the rewrite's
    now = backend_now(backend, (), [written])
    assert (now["lock_mode"], now["reparsed"]) == ("lockfile", False)
    assert parses(log) == {"backend.tf": 2}
    # Without the rewrite's entry the new bytes are unknown: measured by reading the root again.
    now = backend_now(backend, (), [])
    assert (now["lock_mode"], now["reparsed"]) == ("lockfile", True)
    assert parses(log) == {"backend.tf": 3}
    # Another run wrote the file after this run's rewrite: read again, its lock mode is what is on disk.
    with open(path, "w") as handle:
        handle.write(block(bucket="b", key="k", dynamodb_table="t", use_lockfile=True))
    now = backend_now(backend, (), [written])
    assert (now["lock_mode"], now["reparsed"]) == ("dual", True)
    assert parses(log) == {"backend.tf": 4}


def test_a_removed_backend_file_is_read_again_and_its_error_raised(tmp_path):
    path = tmp_path / "backend.tf"
    path.write_text(block(bucket="b", key="k", use_lockfile=True))
    backend = read_root(str(tmp_path))
    path.unlink()
    try:
        backend_now(backend)
    except Exception as exc:  # RootError, naming the root
        assert "no backend" in str(exc)
    else:
        raise AssertionError("a root without its backend file measured as fine")
