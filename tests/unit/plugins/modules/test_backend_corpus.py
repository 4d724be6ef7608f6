"""Every file of the shared corpus through backend_info and backend_hcl, in every mode.

The corpus (86 files from 72 public repositories) is laid out again as its repositories
(``<repo>/<path>``) in a temporary directory, so file names and neighbours are the real ones,
and every file is named explicitly. For each mode a table per kind prints what was rewritten
and what was left untouched with the reason, and the counts per outcome are asserted, so a
regression shows as a changed count.

Each rewrite is checked through other paths than the module's own answer: a line diff may only
touch lines that hold backend settings, python-hcl2 (or ``json``) must read the result and see
exactly the lock settings changed, and a second run changes nothing. That the real ``terraform fmt`` keeps
seeing formatted files as formatted is tests/system/test_terraform_fmt.py's.
"""

import collections
import difflib
import json
import os
import shutil

import hcl2
import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import files
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import scanner
from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.testbed.collection import CORPUS_DIR, run_module


ROLLBACK_TABLE = "rollback-locks"
LOCK_KEYS = ("dynamodb_table", "use_lockfile", "dynamodb_endpoint")
HCL2_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)

# What backend_info reports, per manifest kind: (form, lock mode) -> number of backends.
EXPECTED_BACKENDS = {
    "tf": {("block", "dynamodb"): 24, ("block", "dual"): 2, ("block", "lockfile"): 2, ("block", "none"): 6},
    "tfbackend": {("partial", "dynamodb"): 11, ("partial", "lockfile"): 1, ("partial", "none"): 5},
    "terragrunt": {("terragrunt", "dynamodb"): 8, ("terragrunt", "dual"): 1, ("terragrunt", "lockfile"): 1,
                   ("terragrunt_generate", "dynamodb"): 1, ("terragrunt_tfvars", "dynamodb"): 2},
    "tf.json": {("json", "dynamodb"): 3, ("json", "none"): 3},
    "lock_table_resource": {("block", "none"): 1},
}
EXPECTED_FAILURES = {
    "021__ericfuerstenberg__terraform-wavefront-alerts__backend.tf": 5,
    "050__smaheshgoud__test_CICD_terraform__backend.tf": 6,
    "063__davzucky__shopper__terraform__test__terraform.tfvars": 4,
}

# Outcome per manifest kind and mode: "rewritten", or "untouched:" and the kinds of reason given.
# (013's dynamodb_table = "" does not lock: lock mode none, left alone in every mode.)
_LEFT_ALONE_TF = {"untouched:no_lock_settings": 6, "untouched:template": 5, "untouched:parse_error": 2,
                  "untouched:commented_out+other_backend": 2, "untouched:remote_state_data": 1,
                  "untouched:expression": 2}
_LEFT_ALONE_OTHERS = {
    "tf.json": {"rewritten": 3, "untouched:no_lock_settings": 3},
    "lock_table_resource": {"untouched:lock_table_resource": 4, "untouched:no_lock_settings": 1},
}
EXPECTED_OUTCOMES = {
    "lockfile": dict(_LEFT_ALONE_OTHERS, **{
        "tf": dict(_LEFT_ALONE_TF, **{"rewritten": 24, "untouched:already": 2}),
        "tfbackend": {"rewritten": 11, "untouched:expression": 1, "untouched:no_lock_settings": 5},
        "terragrunt": {"rewritten": 12, "untouched:already": 1, "untouched:parse_error": 1},
    }),
    # dual with a table given: lockfile-only backends get it too; dual ones are already there
    "dual": dict(_LEFT_ALONE_OTHERS, **{
        "tf": dict(_LEFT_ALONE_TF, **{"rewritten": 24, "untouched:already": 2}),
        "tfbackend": {"rewritten": 11, "untouched:expression": 1, "untouched:no_lock_settings": 5},
        "terragrunt": {"rewritten": 12, "untouched:already": 1, "untouched:parse_error": 1},
    }),
    # rollback of the lockfile run: every backend that had any lock setting gets the table back
    "dynamodb": dict(_LEFT_ALONE_OTHERS, **{
        "tf": dict(_LEFT_ALONE_TF, **{"rewritten": 26}),
        "tfbackend": {"rewritten": 11, "untouched:expression": 1, "untouched:no_lock_settings": 5},
        "terragrunt": {"rewritten": 13, "untouched:parse_error": 1},
    }),
}

# Files the corpus marks as traps or non-candidates: never changed in any mode.
TRAP_FEATURES = ("negative_case", "template_file", "commented_out_s3_backend", "s3_backend_inside_block_comment",
                 "dynamodb_in_remote_state_config_trap", "invalid_or_broken_syntax")


def manifest():
    with open(os.path.join(CORPUS_DIR, "manifest.json")) as handle:
        return json.load(handle)


@pytest.fixture()
def corpus(tmp_path, corpus_dir):
    """The corpus laid out as its repositories; returns manifest entries with ``copy`` and ``original`` bytes."""
    entries = []
    for entry in manifest():
        copy = tmp_path / entry["repo"] / entry["path"]
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(os.path.join(CORPUS_DIR, "files", entry["file"]), str(copy))
        os.chmod(str(copy), 0o644)
        entries.append(dict(entry, copy=str(copy), original=copy.read_bytes()))
    return entries


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def run_hcl(entries, mode, **extra):
    """backend_hcl on every entry, reporting (not failing on) the files it cannot rewrite."""
    args = dict(path=[e["copy"] for e in entries], lock_mode=mode, fail_on_untouched=False, **extra)
    if mode != "lockfile":
        args["dynamodb_table"] = ROLLBACK_TABLE
    return run_module(backend_hcl, args, diff=True)


def outcome_of(entry, result):
    changed = set(change["file"] for change in result["changes"])
    if entry["copy"] in changed:
        return "rewritten"
    kinds = sorted(set(u["kind"] for u in result["untouched"] if u["file"] == entry["copy"]))
    return "untouched:" + "+".join(kinds)


def print_table(capsys, title, rows):
    """One table per corpus kind: file, outcome, reason."""
    lines = ["", "== %s" % title]
    for kind in sorted(set(row[0] for row in rows)):
        lines.append("-- kind %s" % kind)
        for _kind, name, outcome, reason in sorted(r for r in rows if r[0] == kind):
            lines.append("   %-62s %-26s %s" % (name[:62], outcome, reason))
    with capsys.disabled():
        print("\n".join(lines))


def count(rows):
    counts = collections.defaultdict(collections.Counter)
    for kind, _name, outcome, _reason in rows:
        counts[kind][outcome] += 1
    return dict((kind, dict(counter)) for kind, counter in counts.items())


# ----------------------------------------------------------------------------------------------
# Independent checks of one rewrite
# ----------------------------------------------------------------------------------------------

def setting_lines(path, data):
    """Lines covered by backend settings, found by scanning ``data`` as the file ``path``."""
    text_file = files.TextFile(path, data)
    scan = scanner.scan_text(path, text_file, files.file_kind(os.path.basename(path), explicit=True))
    assert scan.failure is None, scan.failure
    lines = set()
    for backend in scan.backends:
        for node in backend.nodes.values():
            lines.update(range(backend.lines.line_of(node.start), backend.lines.line_of(node.end) + 1))
    return lines


def changed_lines(before, after):
    """(old line numbers, new line numbers) that a line diff marks as changed."""
    old_lines, new_lines = before.splitlines(True), after.splitlines(True)
    old_changed, new_changed = set(), set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag != "equal":
            old_changed.update(range(i1 + 1, i2 + 1))
            new_changed.update(range(j1 + 1, j2 + 1))
    return old_changed, new_changed


def load(path, text):
    if path.endswith(".json"):
        return json.loads(text)
    return hcl2.loads(text, serialization_options=HCL2_OPTIONS)


def differences(before, after, path=()):
    """Paths where two loaded documents differ; heredocs that hold HCL are compared as HCL."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in set(before) | set(after):
            if key not in before or key not in after:
                yield path + (key,)
            else:
                yield from differences(before[key], after[key], path + (key,))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after)):
            yield from differences(old, new, path + (index,))
    elif isinstance(before, str) and isinstance(after, str) and before.startswith("<<") and before != after:
        inner = [hcl2.loads(value.split("\n", 1)[1].rsplit("\n", 1)[0], serialization_options=HCL2_OPTIONS)
                 for value in (before, after)]
        yield from differences(inner[0], inner[1], path + ("<heredoc>",))
    elif before != after:
        yield path


def in_backend(path):
    names = [step for step in path if isinstance(step, str)]
    if "data" in names or "resource" in names or "locals" in names:
        return False
    partial_file_keys = (["bucket"], ["key"], ["dynamodb_table"], ["use_lockfile"])
    return ("backend" in names and "s3" in names) or "config" in names or names[:1] in partial_file_keys


def check_rewrite(entry, before, after, mode):
    """Only backend-setting lines changed; the result parses; only lock settings differ, as the mode says."""
    path = entry["copy"]
    old_changed, new_changed = changed_lines(before.decode("latin-1"), after.decode("latin-1"))
    assert old_changed <= setting_lines(path, before), (path, sorted(old_changed - setting_lines(path, before)))
    assert new_changed <= setting_lines(path, after), (path, sorted(new_changed - setting_lines(path, after)))
    text_before, text_after = before.decode("utf-8-sig"), after.decode("utf-8-sig")
    try:
        loaded_before = load(path, text_before)
    except Exception:  # HCL 1 (old Terragrunt .tfvars) is beyond python-hcl2: our own parser read it above
        return
    loaded_after = load(path, text_after)
    diffs = list(differences(loaded_before, loaded_after))
    assert diffs, path
    for diff in diffs:
        assert in_backend(diff), (path, diff)
        last = [step for step in diff if isinstance(step, str)][-1]
        assert last in LOCK_KEYS or last in ("endpoints", "dynamodb"), (path, diff)


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------

def test_backend_info_reads_every_corpus_file(corpus, capsys):
    result = run_module(backend_info, dict(path=[e["copy"] for e in corpus]))
    assert result["changed"] is False
    by_copy = dict((e["copy"], e) for e in corpus)
    rows = []
    backends = collections.defaultdict(collections.Counter)
    for entry in corpus:
        found = [b for b in result["backends"] if b["file"] == entry["copy"]]
        notes = [n for n in result["notes"] if n["file"] == entry["copy"]]
        failures = [f for f in result["failures"] if f["file"] == entry["copy"]]
        for backend in found:
            backends[entry["kind"]][(backend["form"], backend["lock_mode"])] += 1
        summary = ", ".join("%s/%s@%d" % (b["form"], b["lock_mode"], b["line"]) for b in found) or "-"
        reason = "; ".join("%s@%d" % (n["kind"], n["line"]) for n in notes)
        reason += "".join(" FAILED@%d: %s" % (f["line"], f["reason"]) for f in failures)
        rows.append((entry["kind"], entry["file"], summary, reason))
    print_table(capsys, "backend_info over the corpus", rows)
    assert dict((k, dict(v)) for k, v in backends.items()) == EXPECTED_BACKENDS
    failures = dict((by_copy[f["file"]]["file"], f["line"]) for f in result["failures"])
    assert failures == EXPECTED_FAILURES
    assert sum(result["lock_modes"].values()) == len(result["backends"]) == 71
    # the locals trap: the table comes from a local, resolved and reported
    root = [b for b in result["backends"] if b["file"].endswith("tg-multi-account-impl/root.hcl")][0]
    assert root["settings"]["dynamodb_table"] == "ss-tg-state-lock"
    assert any(n["kind"] == "local_reference" and n["line"] == 16 and n["file"] == root["file"]
               for n in result["notes"])
    # an empty backend block lists the partial configuration beside it
    circleci = [b for b in result["backends"] if b["file"].endswith("aws-terraform-circleci-pipeline/backend.tf")][0]
    assert [os.path.basename(p) for p in circleci["partial_config_files"]] == ["dev.tfbackend"]


@pytest.mark.parametrize("mode", ["lockfile", "dual", "dynamodb"])
def test_backend_hcl_on_every_corpus_file(corpus, capsys, mode):
    if mode == "dynamodb":  # roll back what a lockfile migration wrote
        assert run_hcl(corpus, "lockfile")["changed"] is True
        for entry in corpus:
            entry["original"] = read(entry["copy"])
    result = run_hcl(corpus, mode)
    assert "failed" not in result, result.get("msg")
    rows = []
    for entry in corpus:
        outcome = outcome_of(entry, result)
        now = read(entry["copy"])
        if outcome == "rewritten":
            assert now != entry["original"]
            check_rewrite(entry, entry["original"], now, mode)
            reason = ", ".join("%s -%s +%s" % (c["lock_mode_before"], "/".join(c["removed"]), "/".join(c["added"]))
                               for c in result["changes"] if c["file"] == entry["copy"])
        else:
            assert now == entry["original"], entry["file"]
            reasons = [u for u in result["untouched"] if u["file"] == entry["copy"]]
            assert reasons, entry["file"]
            for reason in reasons:
                assert isinstance(reason["line"], int) and reason["line"] >= 1, reason
            reason = "; ".join("line %d: %s" % (u["line"], u["reason"]) for u in reasons)
        if set(entry["features"]) & set(TRAP_FEATURES) and "has_dynamodb_table" not in entry["features"]:
            assert outcome != "rewritten", entry["file"]
        rows.append((entry["kind"], entry["file"], outcome, reason))
    print_table(capsys, "backend_hcl mode=%s" % mode, rows)
    assert count(rows) == EXPECTED_OUTCOMES[mode]
    # the diff has one before/after pair per changed file
    assert sorted(d["before_header"] for d in result["diff"]) == sorted(
        "%s (before)" % f["path"] for f in result["files"])

    first = dict((entry["copy"], read(entry["copy"])) for entry in corpus)
    again = run_hcl(corpus, mode)
    assert again["changed"] is False and again["changes"] == []
    for entry in corpus:
        assert read(entry["copy"]) == first[entry["copy"]], entry["file"]


def test_dual_then_lockfile_gives_the_bytes_of_lockfile(corpus, tmp_path):
    direct = []
    for entry in corpus:
        copy = tmp_path / "direct" / entry["repo"] / entry["path"]
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(entry["original"])
        direct.append(dict(entry, copy=str(copy)))
    assert run_hcl(direct, "lockfile")["changed"]
    assert run_hcl(corpus, "dual")["changed"]
    assert run_hcl(corpus, "lockfile")["changed"]
    for staged, straight in zip(corpus, direct):
        assert read(staged["copy"]) == read(straight["copy"]), staged["file"]


def test_rollback_gives_back_the_settings_lockfile_removed(corpus):
    """lockfile, then dynamodb with the old table: python-hcl2 reads the original settings again."""
    tables = {}
    for entry in corpus:
        scan = scanner.scan_text(entry["copy"], files.TextFile(entry["copy"], entry["original"]),
                                 files.file_kind(os.path.basename(entry["copy"]), explicit=True))
        backends = [b for b in scan.backends if not b.templated]
        if backends and all(b.lock_mode == "dynamodb" and not (b.form == "block" and b.unresolved)
                            and "dynamodb_table" not in b.unresolved and "dynamodb_table" not in b.local_refs
                            and "dynamodb_endpoint" not in b.nodes for b in backends):
            found = set(b.settings["dynamodb_table"] for b in backends)
            if len(found) == 1:
                tables[entry["copy"]] = found.pop()
    assert len(tables) >= 35
    assert run_hcl(corpus, "lockfile")["changed"]
    for entry in corpus:
        if entry["copy"] not in tables:
            continue
        result = run_module(backend_hcl, dict(path=[entry["copy"]], lock_mode="dynamodb",
                                              dynamodb_table=tables[entry["copy"]]))
        assert result["changed"] is True, (entry["file"], result)
        try:
            original = load(entry["copy"], entry["original"].decode("utf-8-sig"))
        except Exception:  # HCL 1: compare what our own scan reads
            original = None
        now = read(entry["copy"])
        if original is not None:
            assert load(entry["copy"], now.decode("utf-8-sig")) == original, entry["file"]


# ----------------------------------------------------------------------------------------------
# Named files that cannot be rewritten fail the task by default (fail_on_untouched)
# ----------------------------------------------------------------------------------------------

def test_named_corpus_files_that_cannot_be_rewritten_fail_the_task(corpus):
    paths = [e["copy"] for e in corpus]
    reported = run_module(backend_hcl, dict(path=paths, lock_mode="lockfile", fail_on_untouched=False), check_mode=True)
    blocking = [u for u in reported["untouched"] if u["kind"] not in ("already", "no_lock_settings")]
    # EXPECTED_OUTCOMES["lockfile"]: tf template 5, parse_error 2, commented_out+other_backend 2, remote_state_data 1,
    # expression 2; tfbackend expression 1; terragrunt parse_error 1; lock_table_resource 4
    assert len(set(u["file"] for u in blocking)) == 18
    failed = run_module(backend_hcl, dict(path=paths, lock_mode="lockfile"))
    assert failed["failed"] is True
    assert failed["msg"].startswith("nothing was written: 18 files cannot be rewritten as asked: ")
    for entry in blocking:
        assert "%s:%d: %s" % (entry["file"], entry["line"], entry["reason"]) in failed["msg"]
    assert (failed["file"], failed["line"]) == (blocking[0]["file"], blocking[0]["line"])
    for entry in corpus:
        assert read(entry["copy"]) == entry["original"], entry["file"]


# ----------------------------------------------------------------------------------------------
# HCL 2 forms beside backends (tests/unit/plugins/modules/hcl2_forms, see its README.md)
# ----------------------------------------------------------------------------------------------

FORMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hcl2_forms")
# file -> (backend line, form, dynamodb_table as read); all lock with DynamoDB before the edit
EXPECTED_FORMS = {
    "endpoints/backend.tf": (2, "block", "locks"),
    "expressions/backend.tf": (2, "block", "terraform-locks"),
    "module-providers/main.tf": (4, "block", "acme-terraform-locks"),
    "terragrunt-endpoints/terragrunt.hcl": (1, "terragrunt", "locks"),
    "terragrunt-live/root.hcl": (7, "terragrunt", "acme-terraform-locks"),   # "${local.lock_table}"
}


@pytest.fixture()
def forms(tmp_path):
    """The sample tree copied; entries like the corpus fixture's, one per file with a backend."""
    shutil.copytree(FORMS_DIR, str(tmp_path / "forms"))
    entries = []
    for rel in sorted(EXPECTED_FORMS):
        copy = tmp_path / "forms" / rel
        entries.append(dict(file=rel, copy=str(copy), original=copy.read_bytes()))
    return entries


def test_backend_info_reads_the_hcl2_forms(forms):
    top = os.path.dirname(os.path.dirname(forms[0]["copy"]))
    result = run_module(backend_info, dict(path=[top]))
    assert result["failures"] == []
    found = dict((os.path.relpath(b["file"], top), (b["line"], b["form"], b["settings"]["dynamodb_table"]))
                 for b in result["backends"])
    assert found == EXPECTED_FORMS
    assert all(b["lock_mode"] == "dynamodb" for b in result["backends"])
    assert [(os.path.relpath(n["file"], top), n["line"], n["kind"]) for n in result["notes"]] == [
        ("terragrunt-live/root.hcl", 3, "local_reference")]


@pytest.mark.parametrize("mode", ["lockfile", "dual", "dynamodb"])
def test_backend_hcl_on_the_hcl2_forms(forms, mode):
    paths = [e["copy"] for e in forms]
    if mode == "dynamodb":
        assert run_module(backend_hcl, dict(path=paths, lock_mode="lockfile"))["changed"] is True
        for entry in forms:
            entry["original"] = read(entry["copy"])
    args = dict(path=paths, lock_mode=mode)       # named files, fail_on_untouched by default
    if mode != "lockfile":
        args["dynamodb_table"] = ROLLBACK_TABLE
    result = run_module(backend_hcl, args)
    assert "failed" not in result, result.get("msg")
    assert result["untouched"] == []
    assert sorted(c["file"] for c in result["changes"]) == sorted(paths)
    for entry in forms:
        check_rewrite(entry, entry["original"], read(entry["copy"]), mode)
    info = run_module(backend_info, dict(path=paths))
    assert [b["lock_mode"] for b in info["backends"]] == [mode] * len(forms)
    if mode == "lockfile":
        endpoints = [c for c in result["changes"] if c["file"].endswith("endpoints/backend.tf")
                     or c["file"].endswith("endpoints/terragrunt.hcl")]
        assert [sorted(c["removed"]) for c in endpoints] == [["dynamodb_table", "endpoints.dynamodb"]] * 2
        root = [entry for entry in result["locals"] if entry["file"].endswith("root.hcl")]
        assert [(entry["line"], entry["name"]) for entry in root] == [(3, "lock_table")]
    again = run_module(backend_hcl, args)
    assert again["changed"] is False and [u["kind"] for u in again["untouched"]] == ["already"] * len(forms)
