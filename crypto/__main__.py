"""Run the envelope tool: python -m crypto --help."""

import sys

from crypto.cli import main

sys.exit(main())
