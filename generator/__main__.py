"""``python -m generator`` is the ``pubsub`` command."""

import sys

from .cli import main

sys.exit(main())
