"""The shared adapter contract (tests/runtime/contract/test_contract.py), unchanged, against RabbitMQ.

The ``adapter`` and ``channel`` fixtures come from this folder's conftest.
"""

from tests.runtime.contract.test_contract import *  # noqa: F403
