"""`python -m crypto`: keygen, recipient, seal, open, inspect, like age's own tools.

Exit codes: 0 success, 1 refused input (one line on stderr), 2 usage error.
"""

import argparse
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from crypto import envelope
from crypto.errors import CryptoError
from crypto.files import atomic_new_file
from crypto.keyfile import read_identity_file, read_passphrase, write_identity_file
from crypto.keys import AnyIdentity, generate_identity, parse_recipient


class CliError(Exception):
    """A refusal to report in one line with exit code 1."""


def _passphrase_source(args: argparse.Namespace, confirm: bool) -> Callable[[], str]:
    return functools.partial(read_passphrase, args.passphrase_file, confirm=confirm)


@contextmanager
def _input(path: str | None) -> Iterator[BinaryIO]:
    if path is None or path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as src:
        yield src


@contextmanager
def _atomic_output(path: str | None, binary_to_terminal: bool = True) -> Iterator[BinaryIO]:
    """Yield a private temporary file; hand it to path or stdout only if the body succeeds."""
    if path is None or path == "-":
        if not binary_to_terminal and sys.stdout.isatty():
            raise CliError("refusing to write an envelope to the terminal: use -o FILE")
        with tempfile.TemporaryFile() as spool:
            yield spool
            spool.seek(0)
            shutil.copyfileobj(spool, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
        return
    if os.path.lexists(path):
        raise CliError(f"{path} already exists: refusing to overwrite it")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise CliError(f"cannot write {path}: its directory does not exist")
    with atomic_new_file(path, direct=True) as out:
        yield out


def _keygen(args: argparse.Namespace) -> None:
    identity = generate_identity(post_quantum=args.post_quantum)
    passphrase = None if args.plain else _passphrase_source(args, confirm=True)()
    write_identity_file(args.output, identity, passphrase)
    print(f"Public key: {identity.recipient}", file=sys.stderr)


def _identities(args: argparse.Namespace) -> list[AnyIdentity]:
    identities, encrypted = read_identity_file(args.identity, _passphrase_source(args, confirm=False))
    if not encrypted:
        print(f"warning: {args.identity} is not passphrase-protected", file=sys.stderr)
    return identities


def _recipient(args: argparse.Namespace) -> None:
    for identity in _identities(args):
        print(identity.recipient)


def _seal(args: argparse.Namespace) -> None:
    recipients = [parse_recipient(text) for text in args.recipient]
    with _input(args.input) as src, _atomic_output(args.output, binary_to_terminal=False) as out:
        envelope.seal_stream(src, out, recipients)


def _open(args: argparse.Namespace) -> None:
    identities = _identities(args)
    with _input(args.input) as src, _atomic_output(args.output) as out:
        envelope.open_stream(src, out, identities)


def _inspect(args: argparse.Namespace) -> None:
    with _input(args.input) as src:
        facts = envelope.inspect(src)
    print("age v1 envelope")
    print(f"recipient stanzas: {', '.join(facts.stanza_types)}")
    if facts.scrypt_work_factor is not None:
        print(f"scrypt work factor: 2^{facts.scrypt_work_factor}")
    print(f"header size: {facts.header_size} bytes")
    print(f"payload size: {facts.payload_size} bytes")
    print(f"plaintext size: {facts.plaintext_size} bytes (if the payload is intact)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m crypto",
        description="Seal and open age v1 envelopes (X25519 or hybrid post-quantum recipients).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def passphrase_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--passphrase-file", metavar="FILE", help="read the passphrase from FILE")

    keygen = commands.add_parser(
        "keygen", help="create an identity file", epilog="example: python -m crypto keygen -o station.key"
    )
    keygen.add_argument("-o", "--output", required=True, metavar="FILE")
    keygen.add_argument("--plain", action="store_true", help="do not protect it with a passphrase")
    keygen.add_argument(
        "--post-quantum",
        action="store_true",
        help="a hybrid ML-KEM-768 + X25519 key (age1pq1...): opens with age >= 1.3 and typage only",
    )
    passphrase_options(keygen)
    keygen.set_defaults(run=_keygen)

    recipient = commands.add_parser(
        "recipient",
        help="print the age1... or age1pq1... recipient of an identity file",
        epilog="example: python -m crypto recipient station.key",
    )
    recipient.add_argument("identity", metavar="FILE")
    passphrase_options(recipient)
    recipient.set_defaults(run=_recipient)

    seal = commands.add_parser(
        "seal",
        help="seal a file to recipients",
        epilog="example: python -m crypto seal -r age1... -o video.mp4.age video.mp4",
    )
    seal.add_argument("-r", "--recipient", action="append", required=True, metavar="RECIPIENT")
    seal.add_argument("-o", "--output", metavar="OUT")
    seal.add_argument("input", nargs="?", metavar="IN")
    seal.set_defaults(run=_seal)

    open_ = commands.add_parser(
        "open",
        help="open an envelope; writes nothing unless all of it verified",
        epilog="example: python -m crypto open -i station.key -o video.mp4 video.mp4.age",
    )
    open_.add_argument("-i", "--identity", required=True, metavar="IDENTITYFILE")
    open_.add_argument("-o", "--output", metavar="OUT")
    open_.add_argument("input", nargs="?", metavar="IN")
    passphrase_options(open_)
    open_.set_defaults(run=_open)

    inspect = commands.add_parser(
        "inspect",
        help="print header facts (no secrets)",
        epilog="example: python -m crypto inspect video.mp4.age",
    )
    inspect.add_argument("input", nargs="?", metavar="IN")
    inspect.set_defaults(run=_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (CryptoError, CliError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        name = f": {error.filename}" if error.filename else ""
        print(f"error: {error.strerror or error}{name}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0
