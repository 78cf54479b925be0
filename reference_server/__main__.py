"""`python -m reference_server [serve] [serve options]`."""

from __future__ import annotations

import sys

from .cli import serve_main

if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(serve_main(args[1:] if args[:1] == ["serve"] else args))
