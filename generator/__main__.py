"""``python -m hipponot_pubsub.generator`` is the ``pubsub`` command."""

import sys

from .cli import main

sys.exit(main())
