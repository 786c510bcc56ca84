"""`python -m ioa` runs the `ioa` command."""

import sys

from ioa.cli import main

sys.exit(main())
