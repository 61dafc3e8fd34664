"""The registry loader: ``schemas/pubsub.toml`` plus JSON Schema files, checked and resolved.

Used by the code generator, the compatibility checker and the CLI. It reports every problem at once, each
naming its file and JSON pointer, and never touches the network.
"""

from .loader import lint_registry, load_registry
from .model import (
    ADAPTER_KINDS,
    COMPATIBILITY_LEVELS,
    RULE_SETS,
    Channel,
    Document,
    Event,
    EventVersion,
    Registry,
    Settings,
)
from .problems import Problem, RegistryError, format_problems

__all__ = [
    "ADAPTER_KINDS",
    "COMPATIBILITY_LEVELS",
    "RULE_SETS",
    "Channel",
    "Document",
    "Event",
    "EventVersion",
    "Problem",
    "Registry",
    "RegistryError",
    "Settings",
    "format_problems",
    "lint_registry",
    "load_registry",
]
