"""``python -m load PROFILE ...``: see :mod:`load.runner`."""

import sys

from load.runner import main

sys.exit(main())
