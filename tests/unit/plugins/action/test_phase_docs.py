"""Each migration phase's ansible-doc page documents exactly the options its action plugin takes."""

import importlib

import pytest
import yaml

PHASES = ["root_preflight", "root_freeze", "root_rewrite", "root_reinit", "root_verify", "root_record", "root_result",
          "root_stage", "fleet_report", "root_digests"]
COMPARED = ("type", "default", "choices", "required", "elements", "aliases")
BASE = "ansible_collections.tfstate.s3_backend.plugins."


def documented(name):
    module = importlib.import_module(BASE + "modules." + name)
    return yaml.safe_load(module.DOCUMENTATION)


@pytest.mark.parametrize("name", PHASES)
def test_documented_options_match_the_argument_spec(name):
    action = importlib.import_module(BASE + "action." + name).ActionModule
    docs = documented(name)
    options = docs.get("options") or {}
    assert sorted(options) == sorted(action.ARGUMENT_SPEC), name
    for option, spec in action.ARGUMENT_SPEC.items():
        doc = options[option]
        for field in COMPARED:
            wanted = spec.get(field, False if field == "required" else None)
            shown = doc.get(field, False if field == "required" else None)
            if field == "default" and wanted in ({}, []):
                shown = shown if shown is not None else wanted
            assert shown == wanted, (name, option, field)
    fragments = docs.get("extends_documentation_fragment") or []
    assert ("tfstate.s3_backend.aws" in fragments) is action.USES_AWS, name
    # backend_identity is added to the spec by the base class, documented by its fragment.
    assert ("tfstate.s3_backend.backend_identity" in fragments) is action.RESOLVES_IDENTITY, name
    assert docs["version_added"] == "0.1.0"
