#!/usr/bin/env python
"""Django's command-line utility for the trading back office."""

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    from backoffice.startup import run_command_line

    return run_command_line(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
