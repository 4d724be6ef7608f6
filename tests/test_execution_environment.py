"""The execution environment: the collection's own metadata (meta/execution-environment.yml,
requirements.txt, bindep.txt) and execution-environment.yml, an ansible-builder 3 definition that
installs the collection tarball as a Galaxy dependency.

No container engine here, so no image is built: the files are read as YAML, compared with what the
code imports and the tools pinned for development, and handed to `ansible-builder create`, which
validates them and writes the build context a `podman build` would use; the image's galaxy and
introspection steps are then run by hand on that context.
"""

import ast
import glob
import os
import subprocess
import sys

import pytest
import yaml
from packaging.requirements import Requirement

from tests.testbed.collection import ROOT, ansible_env

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


def shipped_requirements(name):
    """{name: Requirement} of a requirements file the collection ships (requirements.txt)."""
    found = {}
    with open(os.path.join(ROOT, name)) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            if line:
                requirement = Requirement(line)
                found[requirement.name.lower()] = requirement
    return found


def collection_tarball(definition):
    """The tarball the definition installs as a Galaxy dependency (path relative to the build context's _build)."""
    collections = definition["dependencies"]["galaxy"]["collections"]
    assert len(collections) == 1 and collections[0]["type"] == "file"
    return collections[0]["name"]


def user_environment(home):
    """A user's environment: none of the checkout's ANSIBLE_* settings, a private ANSIBLE_HOME."""
    env = dict((name, value) for name, value in os.environ.items() if not name.startswith("ANSIBLE_"))
    env["ANSIBLE_HOME"] = str(home)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def test_collection_metadata_names_its_python_and_system_needs():
    """meta/execution-environment.yml points ansible-builder at requirements.txt and bindep.txt, which hold what the code needs."""
    with open(os.path.join(ROOT, "meta", "execution-environment.yml")) as handle:
        meta = yaml.safe_load(handle)
    assert meta == {"version": 1, "dependencies": {"python": "requirements.txt", "system": "bindep.txt"}}

    pins = dev_pins()
    shipped = shipped_requirements("requirements.txt")
    assert sorted(shipped) == third_party_imports() == ["boto3", "botocore"]
    for name, requirement in shipped.items():
        # The versions the tests run with are allowed, and a minimum is stated.
        assert pins[name] in requirement.specifier, name
        assert any(spec.operator == ">=" for spec in requirement.specifier), name

    with open(os.path.join(ROOT, "bindep.txt")) as handle:
        bindep = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    assert "git-core [platform:rpm]" in bindep and "git [platform:dpkg]" in bindep
    assert not [line for line in bindep if line.split()[0] in ("terraform", "tofu", "opentofu")]


def test_definition_is_v3_and_installs_the_collection_as_a_dependency(definition):
    assert definition["version"] == 3
    assert set(definition) <= V3_SECTIONS
    assert definition["images"]["base_image"]["name"]

    pins = dev_pins()
    core = Requirement(definition["dependencies"]["ansible_core"]["package_pip"])
    assert core.name == "ansible-core" and pins["ansible-core"] in core.specifier
    assert core.specifier.contains("2.19.0") and not core.specifier.contains("2.20.0")
    # boto3, botocore, git and ssh come from the collection's metadata, not from a second list here.
    assert "python" not in definition["dependencies"] and "system" not in definition["dependencies"]

    # The collection installed is the one galaxy.yml builds; terraform or tofu are checked to run.
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    tarball = "%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"])
    assert collection_tarball(definition) == "collection/" + tarball
    assert {"src": "build/ee/collection", "dest": "collection"} in definition["additional_build_files"]
    assert definition["build_arg_defaults"]["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"] == "--offline"
    final_steps = " ".join(definition["additional_build_steps"]["append_final"])
    assert "COPY _build/iac/ /usr/local/bin/" in final_steps
    assert "{ terraform version || tofu version; }" in final_steps


def test_ansible_builder_finds_boto3_and_botocore_through_the_installed_collection(definition, tmp_path):
    """ansible-builder create on the shipped files, then the image's galaxy and introspection steps by hand.

    The collection tarball is built from the checkout (what galaxy.yml ships), laid out as the file's
    comment says, and installed from the build context's requirements.yml as the image's galaxy stage
    does; `ansible-builder introspect --sanitize` on that install, as the image's builder stage runs it,
    must then name boto3 and botocore (from requirements.txt) and git (from bindep.txt).
    """
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
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "introspect.py introspect" in containerfile
    for step in definition["additional_build_steps"]["append_final"]:
        assert step in containerfile
    assert (context / "_build" / "iac" / "terraform").read_text() == stub.read_text()

    # The galaxy stage: WORKDIR /build holds _build; requirements.yml names the tarball in it.
    build = context / "_build"
    collections = tmp_path / "installed"
    with open(str(build / "requirements.yml")) as handle:
        assert yaml.safe_load(handle) == definition["dependencies"]["galaxy"]
    installed = subprocess.run([os.path.join(bindir, "ansible-galaxy"), "collection", "install", "--offline",
                                "-r", "requirements.yml", "--collections-path", str(collections)],
                               cwd=str(build), capture_output=True, text=True, check=False,
                               env=user_environment(tmp_path / "home"))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (collections / "ansible_collections" / "tfstate" / "s3_backend" / "requirements.txt").is_file()

    # The builder stage: what introspection finds is what the image installs.
    introspected = subprocess.run([os.path.join(bindir, "ansible-builder"), "introspect", "--sanitize",
                                   str(collections)], capture_output=True, text=True, check=True)
    found = yaml.safe_load(introspected.stdout)
    python = dict((Requirement(line.split("#")[0]).name, line) for line in found["python"])
    assert sorted(python) == ["boto3", "botocore"]
    for name, requirement in shipped_requirements("requirements.txt").items():
        assert python[name] == "%s  # from collection tfstate.s3_backend" % requirement
    assert "git-core [platform:rpm]  # from collection tfstate.s3_backend" in found["system"]
