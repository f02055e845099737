"""The intake's configuration: a frozen value built from the data directory, injected into create_app."""

import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crypto import AnyRecipient, RecipientMixError, check_recipients, parse_recipient
from crypto.keyfile import key_lines
from crypto.signing import SigningKey
from submission.errors import OperatorError

CONFIG_FILE = "config.json"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)
SIGNING_KEY_FILE = "server-signing.key"
CODENAME_SALT_FILE = "codename-salt"
STORE_DIR = "store"
DATABASE_FILE = "intake.sqlite"
GiB = 1024**3
MiB = 1024**2


class SettingsError(OperatorError):
    """The data directory or its configuration cannot be used; the message says why."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one source may send; every one is configurable in config.json."""

    max_submission_bytes: int = 4 * GiB
    max_files: int = 20
    max_message_chars: int = 100_000
    max_codename_chars: int = 200
    disk_reserve_bytes: int = 1 * GiB
    max_concurrent_uploads: int = 48  # per worker, below gunicorn's 64 threads
    max_concurrent_derivations: int = 2
    idle_upload_seconds: int = 300
    session_minutes: int = 180
    # Limits under attack (docs/operators.md): what one session, or a flood, can hold.
    max_uploads_in_flight: int = 160  # across all worker processes
    max_uploads_per_session: int = 3
    token_seconds: int = 20  # to send the small first part (the CSRF token) before a slot is taken
    min_upload_bytes_per_second: int = 1024  # averaged over each window; a Tor upload is ~50 KB/s
    upload_rate_window_seconds: int = 120
    derivation_wait_seconds: int = 15  # a derivation waits this long for a free slot, then 503
    max_derivations_per_session: int = 1  # across all worker processes
    max_anonymous_sessions: int = 20_000  # sessions of visitors not logged in; the oldest go first
    session_max_minutes: int = 720  # from log-in, however active the session
    # Resumable uploads sealed in the browser (docs/operators.md): an incomplete one lives this
    # long at least, and is removed at the first UTC midnight after.
    upload_expiry_hours: int = 24


@dataclass(frozen=True)
class Settings:
    """Everything the app needs; secrets are kept out of repr."""

    data_dir: Path
    recipients: tuple[AnyRecipient, ...]  # all hybrid (age1pq1...) or all classic (age1...)
    secret_key: bytes = field(repr=False)
    codename_salt: bytes = field(repr=False)
    database_url: str
    onion_addresses: tuple[str, ...] = ()
    demo: bool = False
    demo_recipients: tuple[str, ...] = ()
    limits: Limits = Limits()

    @property
    def store_dir(self) -> Path:
        return self.data_dir / STORE_DIR

    def validate(self) -> None:
        """Refuse to run insecurely: no recipient, a readable data dir, a demo key outside demo."""
        if not self.recipients:
            raise SettingsError("no recipient: the intake needs at least one reviewer key to seal to")
        check_recipient_kinds(self.recipients)
        if len(self.secret_key) < 32:
            raise SettingsError("the secret key is missing or too short")
        mode = self.data_dir.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SettingsError(f"{self.data_dir} is readable by others: chmod 700 it")
        if not self.demo and any(str(r) in self.demo_recipients for r in self.recipients):
            raise SettingsError("a demo review key is configured outside demo mode: replace it")


def check_recipient_kinds(recipients: Sequence[AnyRecipient]) -> None:
    """Refuse post-quantum and classic station keys together: no envelope may be sealed to both."""
    try:
        check_recipients(recipients)
    except RecipientMixError:
        raise SettingsError(
            "the recipients mix post-quantum (age1pq1...) and classic (age1...) keys: "
            "give every station the same kind"
        ) from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror}") from None


def load_settings(data_dir: str | os.PathLike[str], database_url: str | None = None) -> Settings:
    """Read the data directory that `tamga-intake init` created."""
    root = Path(data_dir).resolve()
    if not (root / CONFIG_FILE).is_file():
        raise SettingsError(f"{root} is not a Tamga data directory: run tamga-intake init first")
    try:
        config = json.loads(_read_bytes(root / CONFIG_FILE))
        recipients = tuple(parse_recipient(text) for text in config["recipients"])
        limits = Limits(**config.get("limits", {}))
    except (ValueError, KeyError, TypeError) as error:
        raise SettingsError(f"{root / CONFIG_FILE} is malformed: {error}") from None
    url = database_url or os.environ.get("TAMGA_DATABASE_URL") or config.get("database_url")
    return Settings(
        data_dir=root,
        recipients=recipients,
        secret_key=_read_bytes(root / SECRET_KEY_FILE),
        codename_salt=_read_bytes(root / CODENAME_SALT_FILE),
        database_url=url or f"sqlite:///{root / DATABASE_FILE}",
        onion_addresses=tuple(config.get("onion_addresses", ())),
        demo=bool(config.get("demo", False)),
        demo_recipients=tuple(config.get("demo_recipients", ())),
        limits=limits,
    )


def load_signing_key(data_dir: Path) -> SigningKey:
    """The server's Ed25519 key, kept plain so the server can run unattended (see docs/)."""
    try:
        lines = key_lines(_read_bytes(data_dir / SIGNING_KEY_FILE).decode("utf-8"))
    except UnicodeDecodeError:
        lines = ()
    if len(lines) != 1:
        raise SettingsError("the server signing key file is malformed")
    return SigningKey.parse(lines[0])
