"""The one exception family of crypto/: a failure category, never a detail that helps an attacker."""


class CryptoError(Exception):
    """Base of every error crypto/ raises on bad input."""


class NoIdentityMatchError(CryptoError):
    """No identity we hold opens any recipient stanza of the header."""

    def __init__(
        self, message: str = "no identity matches this envelope: is it sealed to another key?"
    ) -> None:
        super().__init__(message)


class HeaderError(CryptoError):
    """The header is malformed: not an age v1 file, or damaged."""


class HeaderMACError(CryptoError):
    """The header's MAC does not verify: the header was tampered with or corrupted."""

    def __init__(
        self, message: str = "header MAC does not verify: the file may be corrupted or tampered with"
    ) -> None:
        super().__init__(message)


class PayloadError(CryptoError):
    """The payload fails to verify or is truncated: nothing past the last good chunk is released."""


class KeyFormatError(CryptoError):
    """A key or recipient string, or a key file, is malformed."""


class WrongPassphraseError(CryptoError):
    """The passphrase does not unlock this identity file."""

    def __init__(self, message: str = "wrong passphrase for this identity file") -> None:
        super().__init__(message)


class PassphraseError(CryptoError):
    """No usable passphrase: none given, an empty passphrase file, not UTF-8, or two that differ."""


class SignatureError(CryptoError):
    """A signed document does not verify under the expected key and context, or is malformed."""


class WeakPassphraseError(CryptoError):
    """A new passphrase is too short to protect a key file."""


class BundleError(CryptoError):
    """A transfer bundle is malformed, tampered with, or not meant for us: nothing of it is used."""


class ManifestError(BundleError):
    """A bundle's manifest verified but breaks its format (crypto/manifests/): the bundle is refused."""


class RecipientMixError(CryptoError, ValueError):
    """Post-quantum and classic recipients given for one envelope: the classic stanza would let a
    future quantum computer open it, so the post-quantum one would protect nothing (age refuses too).
    """

    def __init__(
        self,
        message: str = "incompatible recipients: can't mix post-quantum (age1pq1...) and classic "
        "(age1...) recipients in one envelope",
    ) -> None:
        super().__init__(message)
