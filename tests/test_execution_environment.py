"""execution-environment.yml: an ansible-builder 3 definition holding what the collection needs.

No container engine here, so no image is built: the definition is read as YAML, compared with what
the code imports and the tools pinned for development, and handed to `ansible-builder create`,
which validates it and writes the build context a `podman build` would use.
"""

import ast
import fnmatch
import glob
import os
import subprocess
import sys

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import ROOT, ansible_env

EE_FILE = os.path.join(ROOT, "execution-environment.yml")
V3_SECTIONS = {"version", "images", "dependencies", "options", "build_arg_defaults",
               "additional_build_files", "additional_build_steps"}


@pytest.fixture(scope="module")
def definition():
    with open(EE_FILE) as handle:
        return yaml.safe_load(handle)


def dev_pins():
    """{name: version} of requirements-dev.txt's exact pins."""
    pins = {}
    with open(os.path.join(ROOT, "requirements-dev.txt")) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            if "==" in line:
                requirement = Requirement(line)
                pins[requirement.name.lower()] = next(iter(requirement.specifier)).version
    return pins


def third_party_imports():
    """Top-level modules the collection's plugins import, other than the standard library and Ansible."""
    found = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        with open(path) as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found.update(name.split(".")[0] for name in names)
    return sorted(found - set(sys.stdlib_module_names) - {"ansible", "ansible_collections", "__future__"})


def collection_tarball_pattern(definition):
    """The tarball glob of the step that installs the collection."""
    steps = [step for step in definition["additional_build_steps"]["append_final"] if "ansible-galaxy collection install" in step]
    assert len(steps) == 1
    tarballs = [word for word in steps[0].split() if word.endswith(".tar.gz")]
    assert len(tarballs) == 1
    return os.path.basename(tarballs[0])


def test_definition_is_v3_and_holds_what_the_collection_needs(definition):
    assert definition["version"] == 3
    assert set(definition) <= V3_SECTIONS
    assert definition["images"]["base_image"]["name"]

    pins = dev_pins()
    core = Requirement(definition["dependencies"]["ansible_core"]["package_pip"])
    assert core.name == "ansible-core" and pins["ansible-core"] in core.specifier
    assert core.specifier.contains("2.19.0") and not core.specifier.contains("2.20.0")

    python = dict((Requirement(line).name, Requirement(line)) for line in definition["dependencies"]["python"])
    for module in third_party_imports():
        assert module in python, "plugins import %s, which the execution environment does not install" % module
        # The versions the tests ran with are allowed.
        assert pins[module] in python[module].specifier
    assert "git-core [platform:rpm]" in definition["dependencies"]["system"]

    # The collection installed is the one galaxy.yml builds; terraform or tofu are checked to run.
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    tarball = "%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"])
    assert fnmatch.fnmatch(tarball, collection_tarball_pattern(definition))
    final_steps = " ".join(definition["additional_build_steps"]["append_final"])
    assert "COPY _build/iac/ /usr/local/bin/" in final_steps
    assert "{ terraform version || tofu version; }" in final_steps


def test_ansible_builder_accepts_it_and_writes_the_build_context(definition, tmp_path):
    """ansible-builder create on a copy laid out as the file's comment says: real collection tarball, a stub binary."""
    bindir = os.path.dirname(sys.executable)
    subprocess.run([os.path.join(bindir, "ansible-galaxy"), "collection", "build", "--force",
                    "--output-path", str(tmp_path / "build" / "ee" / "collection"), ROOT],
                   check=True, capture_output=True, env=ansible_env())
    stub = tmp_path / "build" / "ee" / "bin" / "terraform"
    stub.parent.mkdir(parents=True)
    stub.write_text("#!/bin/sh\necho Terraform v1.11.4\n")
    (tmp_path / "execution-environment.yml").write_text(open(EE_FILE).read())

    proc = subprocess.run([os.path.join(bindir, "ansible-builder"), "create", "--file", "execution-environment.yml",
                           "--context", "context", "--output-filename", "Containerfile"],
                          cwd=str(tmp_path), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No matches" not in proc.stdout + proc.stderr  # every additional build file was found

    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    assert definition["dependencies"]["ansible_core"]["package_pip"] in containerfile
    for step in definition["additional_build_steps"]["append_final"]:
        assert step in containerfile
    assert (context / "_build" / "requirements.txt").read_text().split() == definition["dependencies"]["python"]
    assert (context / "_build" / "bindep.txt").read_text().splitlines() == definition["dependencies"]["system"]
    tarballs = os.listdir(str(context / "_build" / "collection"))
    assert len(tarballs) == 1 and fnmatch.fnmatch(tarballs[0], collection_tarball_pattern(definition))
    assert (context / "_build" / "iac" / "terraform").read_text() == stub.read_text()
