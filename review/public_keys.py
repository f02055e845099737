"""What the station hands out, in the words `tamga-review pubkey` prints and the station UI shows.

One home for the three forms, so the page and the command can never drift apart: the age recipient
(what `tamga-intake init --recipient` takes), the public signing key (what an intake or an outsider
pins), and that key as an ssh allowed_signers line (what `ssh-keygen -Y verify` reads for packages).
Also the intake servers this station trusts, pinned by `trust-server`.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import sshsig
from crypto.signing import VerifyKey, fingerprint
from review.models import TrustedServer
from review.package_format import PRINCIPAL
from review.station import Station


def recipient_lines(station: Station) -> list[str]:
    """`pubkey`: the recipient's fingerprint, then the recipient itself."""
    recipient = station.recipient
    return [f"Fingerprint: {fingerprint(recipient.public_key)}", str(recipient)]


def signing_lines(station: Station) -> list[str]:
    """`pubkey --signing`: the signing key's fingerprint, then the key."""
    key = station.verify_key
    return [f"Fingerprint: {key.fingerprint}", f"Station signing key: {key}"]


def allowed_signers_line(station: Station) -> str:
    """`pubkey --signing --ssh`: the signing key as one ssh allowed_signers line."""
    return sshsig.allowed_signers_line(PRINCIPAL, station.verify_key.public_key)


def trusted_line(server: VerifyKey) -> str:
    """What `trust-server` prints once a key is pinned."""
    return f"Trusted server key {server} (fingerprint {server.fingerprint})"


def pinned_servers(db: Session) -> list[TrustedServer]:
    """The pinned intake server keys, oldest pin first."""
    return list(db.scalars(select(TrustedServer).order_by(TrustedServer.pinned_at, TrustedServer.verify_key)))
