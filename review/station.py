"""The station directory: its keys (passphrase-sealed), public facts, vault and catalogue.

Layout (docs/station.md): station.json (public), identity.key (age identity, sealed with `age -p`
rules so `age -d -i` works), signing.key (Ed25519, sealed to the station's own age recipient, so
one passphrase derivation unlocks both), catalogue.sqlite, vault/.

Warning: unlock() returns private keys; keep them for one command only.
"""

import datetime
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crypto import (
    AnyIdentity,
    AnyRecipient,
    CryptoError,
    generate_identity,
    open_bytes,
    parse_recipient,
    seal_bytes,
)
from crypto.files import write_private
from crypto.keyfile import (
    check_new_passphrase,
    identity_file_text,
    key_lines,
    read_identity_file,
    write_secret_file,
)
from crypto.signing import SigningKey, VerifyKey
from review.errors import StationError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

PUBLIC_FILE = "station.json"
IDENTITY_FILE = "identity.key"
SIGNING_FILE = "signing.key"
CATALOGUE_FILE = "catalogue.sqlite"
VAULT_DIR = "vault"
SCHEMA_VERSION = 2  # raise with every change to review/models.py (no migrations yet)


@dataclass(frozen=True)
class Keys:
    """The station's private keys. Warning: secret; never logged."""

    identity: AnyIdentity
    signing: SigningKey

    def __repr__(self) -> str:
        return "Keys(...)"


class Station:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def vault_dir(self) -> Path:
        return self.root / VAULT_DIR

    def _public(self) -> dict[str, str]:
        try:
            return dict(json.loads((self.root / PUBLIC_FILE).read_text()))
        except FileNotFoundError:
            raise StationError(
                f"{self.root} is not a station: run `tamga-review --station {self.root} init` first"
            ) from None
        except (OSError, ValueError) as error:
            raise StationError(f"cannot read {self.root / PUBLIC_FILE}: {error}") from None

    @property
    def recipient(self) -> AnyRecipient:
        """The station's age1pq1... (hybrid, the default) or age1... (classic) recipient."""
        return parse_recipient(self._public()["recipient"])

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey.parse(self._public()["verify_key"])

    def create(self, passphrase: str, post_quantum: bool = True) -> Keys:
        """Make a new station, hybrid post-quantum unless `post_quantum` is off; refuses an existing
        directory."""
        check_new_passphrase(passphrase)
        try:
            self.root.mkdir(mode=0o700, parents=False)
        except FileExistsError:
            raise StationError(f"{self.root} already exists: refusing to overwrite a station") from None
        except OSError as error:
            raise StationError(f"cannot create {self.root}: {error.strerror}") from None
        keys = Keys(generate_identity(post_quantum), SigningKey.generate())
        write_secret_file(str(self.root / IDENTITY_FILE), identity_file_text(keys.identity), passphrase)
        signing_text = f"# Tamga station signing key\n{keys.signing.to_text()}\n"
        write_private(self.root / SIGNING_FILE, seal_bytes(signing_text.encode(), [keys.identity.recipient]))
        public = {
            "recipient": str(keys.identity.recipient),
            "verify_key": str(keys.signing.verify_key),
            "created": datetime.date.today().isoformat(),
        }
        (self.root / PUBLIC_FILE).write_text(json.dumps(public, indent=2) + "\n")
        self.vault_dir.mkdir(mode=0o700)
        return keys

    def unlock(self, passphrase: Callable[[], str]) -> Keys:
        """Open both key files with one passphrase (asked once)."""
        self._public()
        cached: list[str] = []

        def once() -> str:
            if not cached:
                cached.append(passphrase())
            return cached[0]

        identities, _ = read_identity_file(str(self.root / IDENTITY_FILE), once)
        keys = Keys(identities[0], self._signing_key(identities[0]))
        if keys.identity.recipient != self.recipient or keys.signing.verify_key != self.verify_key:
            raise StationError("the station's key files do not match station.json")
        return keys

    def _signing_key(self, identity: AnyIdentity) -> SigningKey:
        try:
            sealed = (self.root / SIGNING_FILE).read_bytes()
        except OSError as error:
            raise StationError(f"cannot read {self.root / SIGNING_FILE}: {error.strerror}") from None
        try:
            text = open_bytes(sealed, [identity]).decode("utf-8")
        except (CryptoError, UnicodeDecodeError):
            raise StationError("the station's signing key file does not open with its identity") from None
        lines = key_lines(text)
        return SigningKey.parse(lines[0] if lines else "")

    def engine(self) -> "Engine":
        """The catalogue, created or checked against SCHEMA_VERSION.

        SQLAlchemy is imported here, not at the top: a command that needs the keys first (import)
        unlocks them while it loads (review/cli_import.py).
        """
        from sqlalchemy import create_engine, event, inspect

        from crypto.sqlite_pragmas import set_pragmas
        from review.models import Base

        self._public()
        engine = create_engine(f"sqlite:///{self.root / CATALOGUE_FILE}")
        event.listen(engine, "connect", set_pragmas)
        with engine.begin() as connection:
            version = connection.exec_driver_sql("PRAGMA user_version").scalar()
            if inspect(connection).has_table("items") and version != SCHEMA_VERSION:
                engine.dispose()
                raise StationError(
                    f"the catalogue has schema version {version}, this Tamga needs {SCHEMA_VERSION}: "
                    "use the Tamga version that created it"
                )
            Base.metadata.create_all(connection)
            connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return engine

    def sessions(self) -> "sessionmaker[Session]":
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine(), expire_on_commit=False)
