"""Creating the intake's data directory: mode 0700, secrets 0600, never over an existing one."""

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from crypto import AnyRecipient
from crypto.codename import SALT_SIZE
from crypto.files import write_private
from crypto.signing import SigningKey
from submission.settings import (
    CODENAME_SALT_FILE,
    CONFIG_FILE,
    SECRET_KEY_FILE,
    SIGNING_KEY_FILE,
    STORE_DIR,
    SettingsError,
    check_recipient_kinds,
)

_ONION = re.compile(r"[a-z2-7]{56}\.onion")


def check_onion_address(address: str) -> str:
    address = address.strip().lower()
    if not _ONION.fullmatch(address):
        raise SettingsError(f"{address!r} is not a v3 onion address (56 characters + .onion)")
    return address


def create_data_dir(
    data_dir: str | os.PathLike[str],
    recipients: Sequence[AnyRecipient],
    onion_addresses: Sequence[str] = (),
    database_url: str | None = None,
    demo: bool = False,
) -> SigningKey:
    """Create and fill a new data directory; return the server's new signing key."""
    if not recipients:
        raise SettingsError("at least one --recipient is required")
    check_recipient_kinds(recipients)
    onions = [check_onion_address(a) for a in onion_addresses]
    root = Path(data_dir)
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:
        raise SettingsError(f"{root} already exists: refusing to reuse it") from None
    except OSError as error:
        raise SettingsError(f"cannot create {root}: {error.strerror}") from None
    os.chmod(root, 0o700)
    (root / STORE_DIR).mkdir(mode=0o700)
    config: dict[str, object] = {
        "recipients": [str(r) for r in recipients],
        "onion_addresses": onions,
        "demo": demo,
    }
    if demo:
        config["demo_recipients"] = [str(r) for r in recipients]
    if database_url:
        config["database_url"] = database_url
    write_private(root / CONFIG_FILE, json.dumps(config, indent=2).encode() + b"\n")
    write_private(root / SECRET_KEY_FILE, os.urandom(64))
    write_private(root / CODENAME_SALT_FILE, os.urandom(SALT_SIZE))
    signing_key = SigningKey.generate()
    text = f"# Tamga intake server signing key\n{signing_key.to_text()}\n"
    write_private(root / SIGNING_KEY_FILE, text.encode())
    return signing_key
