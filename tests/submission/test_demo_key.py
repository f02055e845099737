"""`make demo` (submission.demo): its intake seals to a hybrid post-quantum key, as a default station's."""

import json
from pathlib import Path

import pytest

from crypto import HybridIdentity, open_bytes, seal_bytes
from crypto.keyfile import read_identity_file
from submission import demo
from submission.settings import load_settings


def test_the_demo_intake_seals_to_a_hybrid_key_its_passphrase_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    passphrase = demo.prepare()
    identities, _ = read_identity_file(str(demo.KEY_FILE), passphrase)
    config = json.loads((demo.DATA_DIR / "config.json").read_text())
    settings = load_settings(demo.DATA_DIR)

    assert [type(identity) for identity in identities] == [HybridIdentity]
    assert settings.demo and config["demo_recipients"] == [str(identities[0].recipient)]
    assert [str(r) for r in settings.recipients] == config["demo_recipients"]
    assert config["demo_recipients"][0].startswith("age1pq1")
    envelope = seal_bytes(b"ballot box", list(settings.recipients))
    assert open_bytes(envelope, identities) == b"ballot box"
    assert demo.prepare() == passphrase  # a second `make demo` reuses the key
