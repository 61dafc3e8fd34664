"""Schema compatibility checking: does a new event schema still read old data, and old readers new data?

Layers, each in its own module:

* :mod:`.nodes` / :mod:`.view` / :mod:`.diff` — the engine: walk two JSON Schemas (2020-12 or draft-07) with
  their resolvers and report each :class:`Change` with its JSON pointers;
* :mod:`.rules` — the rule table (data): change id → verdict per direction, for the strict and lenient sets;
* :mod:`.judge` / :mod:`.compare` — apply rules and levels to pairs, event histories and whole registries;
* :mod:`.accept` — the ``[[compat.accept]]`` escape hatch; :mod:`.formats` — text, JSON, GitHub annotations;
* :mod:`.cli` — ``pubsub compat``; :mod:`.gitref` — the registry at a git ref; :mod:`.ruledoc` — the docs table.
"""

from .accept import AcceptEntry, apply_accept, parse_accept
from .compare import EventHistory, check_event, check_registry, compare
from .diff import diff_schemas
from .judge import judge
from .levels import LEVEL_NAMES, Level
from .model import Change, ContentModel, Direction, Effect, Finding, Location, Severity
from .nodes import Side, UnresolvableRef
from .rules import RULES, Rule, Verdict, rule_for

__all__ = [
    "LEVEL_NAMES",
    "RULES",
    "AcceptEntry",
    "Change",
    "ContentModel",
    "Direction",
    "Effect",
    "EventHistory",
    "Finding",
    "Level",
    "Location",
    "Rule",
    "Severity",
    "Side",
    "UnresolvableRef",
    "Verdict",
    "apply_accept",
    "check_event",
    "check_registry",
    "compare",
    "diff_schemas",
    "judge",
    "parse_accept",
    "rule_for",
]
