import hashlib
import io

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import digests as dg


def test_named_state_keys_covers_keys_and_workspaces():
    assert dg.named_state_keys(key="app.tfstate") == ["app.tfstate"]
    assert dg.named_state_keys(keys=["b", "a", "b"]) == ["a", "b"]
    assert dg.named_state_keys(key="app.tfstate", workspaces=["default", "staging"], workspace_key_prefix="ws") == [
        "app.tfstate", "ws/staging/app.tfstate"]
    assert dg.named_state_keys(keys=["x"], key="app.tfstate", workspaces=["dev"]) == ["env:/dev/app.tfstate", "x"]


def test_selection_by_prefix_targets_only_states_with_a_digest_item():
    selection = dg.StateSelection("b", prefix="env:/")
    items = {
        "b/env:/dev/app.tfstate-md5": {"LockID": "b/env:/dev/app.tfstate-md5", "Digest": "aa"},
        "b/env:/dev/app.tfstate": {"LockID": "b/env:/dev/app.tfstate", "Info": "{}"},
        "b/app.tfstate-md5": {"LockID": "b/app.tfstate-md5", "Digest": "bb"},
        "other/env:/dev/app.tfstate-md5": {"LockID": "other/env:/dev/app.tfstate-md5", "Digest": "cc"},
    }
    assert dg.StateSelection("b").digest_targets(items) == {"env:/dev/app.tfstate": "aa", "app.tfstate": "bb"}
    assert selection.digest_targets(items) == {"env:/dev/app.tfstate": "aa"}
    assert not selection.covers("other", "env:/dev/app.tfstate")


def test_named_selection_targets_named_states_even_without_digest():
    selection = dg.StateSelection("b", named_keys=["app.tfstate", "new.tfstate"])
    items = {"b/app.tfstate-md5": {"LockID": "b/app.tfstate-md5", "Digest": "aa"},
             "b/unnamed.tfstate-md5": {"LockID": "b/unnamed.tfstate-md5", "Digest": "dd"}}
    assert selection.digest_targets(items) == {"app.tfstate": "aa", "new.tfstate": None}


@pytest.mark.parametrize("before, after, action", [
    ("aa", "aa", "none"), (None, "aa", "set"), ("aa", "bb", "set"), ("aa", None, "delete"), (None, None, "none")])
def test_digest_change_actions(before, after, action):
    change = dg.digest_change("b", "k", before, after, "why")
    assert change["action"] == action
    assert change["digest_table_key"] == "b/k-md5" and "digest_lock_id" not in change and change["state_path"] == "b/k"


class StreamingBody:
    """Just enough of botocore's StreamingBody: chunks, and a close that must be called."""

    def __init__(self, data):
        self.stream = io.BytesIO(data)
        self.closed = False
        self.chunk_sizes = []

    def iter_chunks(self, chunk_size):
        while True:
            chunk = self.stream.read(chunk_size)
            if not chunk:
                return
            self.chunk_sizes.append(len(chunk))
            yield chunk

    def close(self):
        self.closed = True


class FakeS3:
    def __init__(self, body):
        self.body = body
        self.meta = None

    def get_object(self, **kwargs):
        return {"Body": self.body, "ETag": '"not-the-md5-2"'}


def test_md5_of_object_streams_in_chunks_and_closes():
    data = b"x" * (dg.HASH_CHUNK_BYTES + 10)
    body = StreamingBody(data)
    assert dg.md5_of_object(FakeS3(body), "b", "k") == hashlib.md5(data).hexdigest()
    assert body.chunk_sizes == [dg.HASH_CHUNK_BYTES, 10]
    assert body.closed
