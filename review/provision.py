"""Setting a station up: creating it (keys, vault, catalogue, its first custody event) and pinning
the intake servers whose bundles it will import.

A pinned key is what `import` checks a bundle's signature against: compare its fingerprint with
the operator's by phone before pinning it.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crypto import AnyRecipient
from crypto.signing import VerifyKey
from review import custody
from review.models import TrustedServer
from review.station import Station


@dataclass(frozen=True)
class PublicKeys:
    """What a new station hands out: its age recipient and its signing key's public half."""

    recipient: AnyRecipient
    verify_key: VerifyKey


def create_station(
    station: Station,
    passphrase: str,
    actor: str,
    server: VerifyKey | None = None,
    post_quantum: bool = True,
) -> PublicKeys:
    """Create the station directory (refusing an existing one), record it, and pin `server` if given.

    Its recipient is hybrid post-quantum unless `post_quantum` is off (docs/threat-model.md).
    """
    keys = station.create(passphrase, post_quantum)
    with station.sessions()() as db:
        custody.record(
            db,
            keys.signing,
            "station-created",
            "station",
            actor,
            details={"recipient": str(keys.identity.recipient), "verify_key": str(keys.signing.verify_key)},
        )
        if server is not None:
            _pin(db, server)
        db.commit()
    return PublicKeys(keys.identity.recipient, keys.signing.verify_key)


def pin_server(db: Session, server: VerifyKey) -> None:
    """Trust bundles signed by this intake server key from now on; pinning it again changes nothing."""
    _pin(db, server)
    db.commit()


def _pin(db: Session, server: VerifyKey) -> None:
    if db.get(TrustedServer, str(server)) is None:
        db.add(TrustedServer(verify_key=str(server)))
