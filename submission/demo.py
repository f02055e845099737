"""`make demo`: a demo review key, a demo data directory, and the intake on 127.0.0.1:8080.

The demo key's passphrase is printed: anything sealed to it is readable by whoever reads
this terminal. The data directory is marked demo, every page shows a banner, and the app
refuses this key in any data directory that is not marked demo. The key is hybrid post-quantum
(mlkem768x25519), as `tamga-review init` makes a station's by default, so the demo seals as a real
intake does: its envelopes open with age >= 1.3 or typage, not Debian's age 1.1.
"""

import os
import secrets
import sys
from pathlib import Path

from crypto import HybridIdentity
from crypto.files import write_private
from crypto.keyfile import read_identity_file, write_identity_file
from submission.datadir import create_data_dir

DEMO_DIR = Path("demo-data")
KEY_FILE = DEMO_DIR / "demo-review.key"
PASSPHRASE_FILE = DEMO_DIR / "demo-passphrase.txt"
DATA_DIR = DEMO_DIR / "intake"
BIND = os.environ.get("TAMGA_DEMO_BIND", "127.0.0.1:8080")


def prepare() -> str:
    """Create the demo key and data directory once; return the passphrase."""
    if KEY_FILE.exists():
        passphrase = PASSPHRASE_FILE.read_text().strip()
        read_identity_file(str(KEY_FILE), passphrase)  # still opens
        return passphrase
    DEMO_DIR.mkdir(mode=0o700, exist_ok=True)
    passphrase = "-".join(secrets.token_hex(3) for _ in range(4))
    identity = HybridIdentity.generate()
    write_identity_file(str(KEY_FILE), identity, passphrase)
    write_private(PASSPHRASE_FILE, passphrase.encode() + b"\n")
    create_data_dir(DATA_DIR, [identity.recipient], demo=True)
    return passphrase


def main() -> None:
    passphrase = prepare()
    print(
        f"""
Tamga demo
  intake:              http://{BIND}/  (a banner marks every page as a demo)
  demo review key:     {KEY_FILE}  (passphrase: {passphrase})
  sealed envelopes:    {DATA_DIR / "store"}
  open one:            TAMGA_PASSPHRASE={passphrase} .venv/bin/python -m crypto open -i {KEY_FILE} FILE.age
Stop with Ctrl-C.
""",
        flush=True,
    )
    from submission.cli import cli

    sys.argv = ["tamga-intake", "serve", "--data-dir", str(DATA_DIR), "--bind", BIND]
    cli()


if __name__ == "__main__":
    main()
