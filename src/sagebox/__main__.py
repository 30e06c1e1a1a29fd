"""``python -m sagebox`` is the ``sagebox`` command."""

import sys

from sagebox.cli.main import main

sys.exit(main())
