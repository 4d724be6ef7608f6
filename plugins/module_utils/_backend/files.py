# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which files may hold a backend and how they are read: regular files only, size-capped, decoded as
terraform reads them; the kind of a file (``file_kind``) and OpenTofu's ``.tofu`` overrides. No Ansible imports."""

import codecs
import errno
import os
import stat

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.settings import (
    PARTIAL_SUFFIXES,
    TEMPLATE_SUFFIXES,
    TOFU_OVERRIDES,
    _BACKEND_S3,
    _PARTIAL_LINE,
    _REMOTE_STATE,
)


# The largest file read. Terraform and Terragrunt files are kilobytes; anything bigger is skipped and
# reported, so a hostile or broken file (a link to /dev/zero, a huge generated file) cannot exhaust memory.
MAX_FILE_BYTES = 8 * 1024 * 1024

_FILE_TYPES = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(OSError):
    """A file that is skipped: not a regular file, a dangling or looping link, too big, or unreadable.

    An OSError, so callers that stop on unreadable files (backend_hcl's rewrite) name it as before.
    """

    def __init__(self, path, reason):
        super().__init__("%s: %s" % (path, reason))
        self.path = path
        self.reason = reason

    def as_dict(self):
        return {"file": self.path, "reason": self.reason}


def _not_regular(mode):
    for test, name in _FILE_TYPES:
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path, limit=None):
    """The bytes of ``path`` when it is (or links to) a regular file of at most ``limit`` bytes.

    Raises UnreadableFile, naming the path and why, for dangling or looping symbolic links, FIFOs,
    devices, sockets and directories (none is ever opened for reading, so nothing can hang), for
    files larger than ``limit`` (MAX_FILE_BYTES by default; never read past it) and for read errors.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFile(path, "symbolic link loop")
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise UnreadableFile(path, "dangling symbolic link (to %s)" % os.readlink(path))
        raise UnreadableFile(path, "cannot be read: %s" % (exc.strerror or exc))
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(path, "%s, not a regular file" % _not_regular(info.st_mode))
    if info.st_size > limit:
        raise UnreadableFile(path, "%d bytes, more than the %d bytes read from one file" % (info.st_size, limit))
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening it does not wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UnreadableFile(path, "cannot be read: %s" % (exc.strerror or exc))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnreadableFile(path, "%s, not a regular file" % _not_regular(os.fstat(fd).st_mode))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnreadableFile(path, "cannot be read: %s" % (exc.strerror or exc))
    finally:
        os.close(fd)
    if size > limit:
        raise UnreadableFile(path, "more than the %d bytes read from one file (it grew while read)" % limit)
    return b"".join(chunks)


class TextFile:
    """A file's text and what is needed to write it back byte for byte."""

    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.bom = data.startswith(codecs.BOM_UTF8)
        raw = data[3:] if self.bom else data
        try:
            self.text = raw.decode("utf-8")
            self.encoding = "utf-8"
        except UnicodeDecodeError:
            # Terraform wants UTF-8, but a Latin-1 comment must not stop an edit elsewhere;
            # Latin-1 maps every byte, so the untouched parts round-trip exactly.
            self.text = raw.decode("latin-1")
            self.encoding = "latin-1"

    def encode(self, text):
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data

    @classmethod
    def read(cls, path):
        """Read a regular file, bounded (see read_regular(); raises UnreadableFile)."""
        return cls(path, read_regular(path))


def file_kind(name, explicit=False):
    """How a file name is read: tf, tf_json, hcl, tfvars, tfvars_backend, tfvars_partial, partial, template, json;
    None when ignored.

    OpenTofu's ``*.tofu``/``*.tofu.json`` are read as ``*.tf``/``*.tf.json``. A ``*.tfvars`` file is a variables
    file, where only Terragrunt's old ``terragrunt = { remote_state }`` form is looked for (``tfvars``), unless it
    is named (``tfvars_partial``: also read as a partial configuration, as ``-backend-config=FILE`` reads it) or its
    name holds ``backend`` (``tfvars_backend``: also a partial configuration when it sets S3 backend arguments only).
    """
    lower = name.lower()
    if lower.endswith((".tf.json", ".tofu.json")):
        return "tf_json"
    if lower.endswith((".tf", ".tofu")):
        return "tf"
    if lower.endswith(".tfvars"):
        if explicit:
            return "tfvars_partial"
        return "tfvars_backend" if "backend" in lower[:-len(".tfvars")] else "tfvars"
    if lower.endswith(PARTIAL_SUFFIXES):
        return "partial"
    if lower.endswith(".hcl"):
        if lower.endswith((".lock.hcl", ".tftest.hcl")):
            return None
        return "hcl"
    if lower.endswith(TEMPLATE_SUFFIXES):
        return "template" if explicit else None
    if explicit:
        return "json" if lower.endswith(".json") else "partial"
    return None


def is_candidate(kind, data):
    """The cheap text scan: can this file hold S3 backend settings at all?"""
    if kind == "tf":
        return _BACKEND_S3.search(data) is not None
    if kind == "tf_json":
        return b'"backend"' in data or b'"s3"' in data
    if kind == "tfvars":
        return b"terragrunt" in data and _REMOTE_STATE.search(data) is not None
    if kind == "tfvars_backend":
        return _PARTIAL_LINE.search(data) is not None or (
            b"terragrunt" in data and _REMOTE_STATE.search(data) is not None)
    if kind == "hcl":
        return (_REMOTE_STATE.search(data) is not None or _BACKEND_S3.search(data) is not None
                or _PARTIAL_LINE.search(data) is not None)
    if kind == "partial":
        return _PARTIAL_LINE.search(data) is not None
    return True


def opentofu_view(backends):
    """The backends without those of ``x.tf``/``x.tf.json`` files whose ``x.tofu``/``x.tofu.json`` holds a backend too:
    OpenTofu reads only the ``.tofu`` one and Terraform never reads ``.tofu`` files, so the root is OpenTofu's."""
    paths = set(backend.path for backend in backends)
    return [backend for backend in backends if tofu_override(backend.path) not in paths]


def tofu_override(path, exists=os.path.isfile):
    """The OpenTofu file that replaces ``path`` for OpenTofu (``x.tofu`` for ``x.tf``, ``x.tofu.json`` for
    ``x.tf.json``) when it exists beside it (``exists(path)``); None otherwise."""
    for tofu, terraform in TOFU_OVERRIDES:
        if path.endswith(terraform):
            other = path[:-len(terraform)] + tofu
            return other if exists(other) else None
    return None
