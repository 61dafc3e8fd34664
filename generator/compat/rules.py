"""The rule table: every change the engine can report, and its verdict per direction for each rule set.

The rules are data on purpose. The engine only *detects* changes; whether a change breaks BACKWARD or FORWARD
readers is decided here, once, in a table that the docs are generated from (``docs/compatibility.md``) and
that a reviewer can read without reading the engine.

Two rule sets:

* ``strict`` judges the data alone, as a validating reader would: a JSON document valid under one schema
  must be valid under the other. The content model matters: a name an *open* object schema does not declare
  may carry any value, a name a *closed* one does not declare may not appear at all.
* ``lenient`` (the default) also relies on what the generated code does: subscribers ignore fields they do
  not declare, publishers emit only the fields they declare, and generated models fill a declared
  ``default`` when a field is missing. Under those guarantees adding or removing an optional field is safe
  in both directions.

Templates use ``{old}`` and ``{new}`` for the two versions' labels (``v1``, ``v2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .model import ContentModel, Direction, Effect

OK, BREAKS, UNKNOWN = Effect.OK, Effect.BREAKS, Effect.UNKNOWN
OPEN, CLOSED = ContentModel.OPEN, ContentModel.CLOSED


@dataclass(frozen=True)
class Verdict:
    """The effect of a change on each direction."""

    backward: Effect
    forward: Effect

    def effect(self, direction: Direction) -> Effect:
        return self.backward if direction is Direction.BACKWARD else self.forward


@dataclass(frozen=True)
class Rule:
    """One row of the table.

    ``model`` qualifies property rules (the content model of the schema that lacks the property decides the
    strict verdict); ``None`` means the rule applies whatever the model.
    """

    change: str
    summary: str
    strict: Verdict
    lenient: Verdict
    why_backward: str
    why_forward: str
    model: ContentModel | None = None
    note: str = ""  # why the change is safe where a verdict says ok although the data changed
    #: What the lenient verdict takes on trust where it is kinder than the strict one (named in each finding
    #: it accepts, so nobody mistakes "compatible under lenient rules" for "no data can break").
    assumes: str = ""

    def verdict(self, rules: str) -> Verdict:
        return self.strict if rules == "strict" else self.lenient


def _v(backward: Effect, forward: Effect) -> Verdict:
    return Verdict(backward, forward)


# Reusable explanations.
_NARROW_B = "data written under {old} may not satisfy it, so a {new} reader would reject it"
_WIDEN_F = "data written under {new} may not satisfy {old}, so a {old} reader would reject it"
_NA_B = "data written under {old} always satisfies {new}"
_NA_F = "data written under {new} always satisfies {old}"
_UNDECIDED = "the checker cannot decide which data both versions accept, so it treats the change as breaking"
_LENIENT_FIELDS = "generated subscribers ignore undeclared fields and generated publishers emit only declared ones"
_LENIENT_DEFAULT = "the generated model fills the declared default when the field is missing"
_ONEOF_NOTE = "generated models read oneOf as a union and do not enforce 'exactly one'"
ASSUME_FIELDS = "producers emit only declared fields"
ASSUME_DEFAULT = "readers fill the declared default of a missing field"
ASSUME_ONEOF = "readers do not enforce oneOf's 'exactly one'"


def _narrowing(change: str, summary: str, why_backward: str = _NARROW_B) -> Rule:
    """A change that lets fewer documents through: old data may be refused by new readers."""
    return Rule(change, summary, _v(BREAKS, OK), _v(BREAKS, OK), why_backward, _NA_F)


def _widening(change: str, summary: str, why_forward: str = _WIDEN_F) -> Rule:
    """A change that lets more documents through: new data may be refused by old readers."""
    return Rule(change, summary, _v(OK, BREAKS), _v(OK, BREAKS), _NA_B, why_forward)


def _both(change: str, summary: str, why_backward: str = _NARROW_B, why_forward: str = _WIDEN_F) -> Rule:
    """A change that lets different documents through: each side may refuse the other's data."""
    return Rule(change, summary, _v(BREAKS, BREAKS), _v(BREAKS, BREAKS), why_backward, why_forward)


def _undecidable(change: str, summary: str) -> Rule:
    """A change the checker cannot judge; it says so and treats it as breaking both ways."""
    return Rule(change, summary, _v(UNKNOWN, UNKNOWN), _v(UNKNOWN, UNKNOWN), _UNDECIDED, _UNDECIDED)


def _neutral(change: str, summary: str, note: str) -> Rule:
    """A change reported for information: it does not change which data is valid."""
    return Rule(change, summary, _v(OK, OK), _v(OK, OK), _NA_B, _NA_F, note=note)


RULES: tuple[Rule, ...] = (
    # --- properties ------------------------------------------------------------------------------------
    Rule(
        "property.added.optional",
        "An optional property is added",
        strict=_v(BREAKS, OK),
        lenient=_v(OK, OK),
        why_backward="{old} did not declare it, so {old} data may carry that name with a value {new} rejects",
        why_forward=_NA_F,
        model=OPEN,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "property.added.optional",
        "An optional property is added",
        strict=_v(OK, BREAKS),
        lenient=_v(OK, OK),
        why_backward=_NA_B,
        why_forward="{old} is closed to undeclared names, so a {old} reader would reject {new} data carrying it",
        model=CLOSED,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "property.added.required",
        "A required property without default is added",
        strict=_v(BREAKS, OK),
        lenient=_v(BREAKS, OK),
        why_backward="data written under {old} may lack it, so a {new} reader would reject it",
        why_forward=_NA_F,
        model=OPEN,
    ),
    Rule(
        "property.added.required",
        "A required property without default is added",
        strict=_v(BREAKS, BREAKS),
        lenient=_v(BREAKS, OK),
        why_backward="data written under {old} may lack it, so a {new} reader would reject it",
        why_forward="{old} is closed to undeclared names, so a {old} reader would reject {new} data carrying it",
        model=CLOSED,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "property.added.required.defaulted",
        "A required property with a default is added",
        strict=_v(BREAKS, OK),
        lenient=_v(OK, OK),
        why_backward="data written under {old} may lack it, and a validator does not apply defaults, so a {new} "
        "reader would reject it",
        why_forward=_NA_F,
        model=OPEN,
        note=_LENIENT_DEFAULT,
        assumes=ASSUME_DEFAULT,
    ),
    Rule(
        "property.added.required.defaulted",
        "A required property with a default is added",
        strict=_v(BREAKS, BREAKS),
        lenient=_v(OK, OK),
        why_backward="data written under {old} may lack it, and a validator does not apply defaults, so a {new} "
        "reader would reject it",
        why_forward="{old} is closed to undeclared names, so a {old} reader would reject {new} data carrying it",
        model=CLOSED,
        note=f"{_LENIENT_DEFAULT}; {_LENIENT_FIELDS}",
        assumes=f"{ASSUME_DEFAULT}; {ASSUME_FIELDS}",
    ),
    Rule(
        "property.removed.optional",
        "An optional property is removed",
        strict=_v(OK, BREAKS),
        lenient=_v(OK, OK),
        why_backward=_NA_B,
        why_forward="{new} no longer declares it, so {new} data may carry that name with a value {old} rejects",
        model=OPEN,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "property.removed.optional",
        "An optional property is removed",
        strict=_v(BREAKS, OK),
        lenient=_v(OK, OK),
        why_backward="{new} is closed to undeclared names, so a {new} reader would reject {old} data carrying it",
        why_forward=_NA_F,
        model=CLOSED,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "property.removed.required",
        "A required property without default is removed",
        strict=_v(OK, BREAKS),
        lenient=_v(OK, BREAKS),
        why_backward=_NA_B,
        why_forward="data written under {new} may lack it, so a {old} reader, which requires it, would reject it",
        model=OPEN,
    ),
    Rule(
        "property.removed.required",
        "A required property without default is removed",
        strict=_v(BREAKS, BREAKS),
        lenient=_v(OK, BREAKS),
        why_backward="{new} is closed to undeclared names, so a {new} reader would reject {old} data carrying it",
        why_forward="data written under {new} may lack it, so a {old} reader, which requires it, would reject it",
        model=CLOSED,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "property.removed.required.defaulted",
        "A required property with a default is removed",
        strict=_v(OK, BREAKS),
        lenient=_v(OK, OK),
        why_backward=_NA_B,
        why_forward="data written under {new} may lack it, and a validator does not apply defaults, so a {old} "
        "reader would reject it",
        model=OPEN,
        note=_LENIENT_DEFAULT,
        assumes=ASSUME_DEFAULT,
    ),
    Rule(
        "property.removed.required.defaulted",
        "A required property with a default is removed",
        strict=_v(BREAKS, BREAKS),
        lenient=_v(OK, OK),
        why_backward="{new} is closed to undeclared names, so a {new} reader would reject {old} data carrying it",
        why_forward="data written under {new} may lack it, and a validator does not apply defaults, so a {old} "
        "reader would reject it",
        model=CLOSED,
        note=f"{_LENIENT_DEFAULT}; {_LENIENT_FIELDS}",
        assumes=f"{ASSUME_DEFAULT}; {ASSUME_FIELDS}",
    ),
    _narrowing(
        "required.added",
        "An existing property becomes required (no default)",
        "data written under {old} may lack it, so a {new} reader would reject it",
    ),
    Rule(
        "required.added.defaulted",
        "An existing property with a default becomes required",
        strict=_v(BREAKS, OK),
        lenient=_v(OK, OK),
        why_backward="data written under {old} may lack it, and a validator does not apply defaults, so a {new} "
        "reader would reject it",
        why_forward=_NA_F,
        note=_LENIENT_DEFAULT,
        assumes=ASSUME_DEFAULT,
    ),
    _widening(
        "required.removed",
        "A property is no longer required (no default)",
        "data written under {new} may lack it, so a {old} reader, which requires it, would reject it",
    ),
    Rule(
        "required.removed.defaulted",
        "A property with a default is no longer required",
        strict=_v(OK, BREAKS),
        lenient=_v(OK, OK),
        why_backward=_NA_B,
        why_forward="data written under {new} may lack it, and a validator does not apply defaults, so a {old} "
        "reader would reject it",
        note=_LENIENT_DEFAULT,
        assumes=ASSUME_DEFAULT,
    ),
    Rule(
        "additional_properties.closed",
        "additionalProperties (or unevaluatedProperties) becomes false",
        strict=_v(BREAKS, OK),
        lenient=_v(OK, OK),
        why_backward="data written under {old} may carry undeclared fields, which a {new} reader now rejects",
        why_forward=_NA_F,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "additional_properties.opened",
        "additionalProperties false is lifted",
        strict=_v(OK, BREAKS),
        lenient=_v(OK, OK),
        why_backward=_NA_B,
        why_forward="data written under {new} may carry undeclared fields, which a {old} reader rejects",
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "additional_properties.restricted",
        "An open model gains an additionalProperties (or unevaluatedProperties) schema",
        strict=_v(BREAKS, OK),
        lenient=_v(OK, OK),
        why_backward="data written under {old} may carry undeclared fields the new schema rejects",
        why_forward=_NA_F,
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    Rule(
        "additional_properties.unrestricted",
        "An additionalProperties schema is lifted (the model becomes open)",
        strict=_v(OK, BREAKS),
        lenient=_v(OK, OK),
        why_backward=_NA_B,
        why_forward="data written under {new} may carry undeclared fields the old schema rejects",
        note=_LENIENT_FIELDS,
        assumes=ASSUME_FIELDS,
    ),
    _narrowing("pattern_properties.added", "A patternProperties entry is added"),
    _widening("pattern_properties.removed", "A patternProperties entry is removed"),
    _narrowing("dependent_required.added", "A dependentRequired (dependencies) entry is added"),
    _widening("dependent_required.removed", "A dependentRequired (dependencies) entry is removed"),
    _narrowing("dependent_schema.added", "A dependentSchemas (dependencies) entry is added"),
    _widening("dependent_schema.removed", "A dependentSchemas (dependencies) entry is removed"),
    # --- types and values ------------------------------------------------------------------------------
    _widening("type.widened", "The type admits more (integer → number, string → [string, integer])"),
    _narrowing("type.narrowed", "The type admits less (number → integer, [string, integer] → string)"),
    _both("type.changed", "The type changes to an unrelated one (string → integer)"),
    _widening(
        "type.nullable.added",
        "null becomes allowed (T → [T, null], or an anyOf/oneOf null branch)",
        "data written under {new} may be null, which a {old} reader rejects",
    ),
    _narrowing(
        "type.nullable.removed",
        "null is no longer allowed",
        "data written under {old} may be null, which a {new} reader rejects",
    ),
    _narrowing("type.added", "A type constraint is added where there was none"),
    _widening("type.removed", "The type constraint is removed"),
    _widening(
        "enum.value.added",
        "An enum (or const) value is added",
        "data written under {new} may use the new value, which a {old} reader rejects",
    ),
    _narrowing(
        "enum.value.removed",
        "An enum (or const) value is removed",
        "data written under {old} may use the removed value, which a {new} reader rejects",
    ),
    _narrowing("enum.added", "An enum or const constraint is added"),
    _widening("enum.removed", "The enum or const constraint is removed"),
    # --- limits ----------------------------------------------------------------------------------------
    _narrowing(
        "limit.tightened",
        "A limit is tightened (min*/max*/exclusive*, multipleOf to a multiple)",
        "data written under {old} may fall outside the new limit, so a {new} reader would reject it",
    ),
    _widening(
        "limit.loosened",
        "A limit is loosened",
        "data written under {new} may fall outside the old limit, so a {old} reader would reject it",
    ),
    _narrowing(
        "limit.added",
        "A limit is added (min*/max*, multipleOf, uniqueItems)",
        "data written under {old} may fall outside the new limit, so a {new} reader would reject it",
    ),
    _widening(
        "limit.removed",
        "A limit is removed",
        "data written under {new} may fall outside the old limit, so a {old} reader would reject it",
    ),
    _both("limit.changed", "A limit changes to an unrelated value (multipleOf 2 → 3)"),
    _narrowing(
        "pattern.added",
        "A pattern is added",
        "data written under {old} may not match it, so a {new} reader would reject it",
    ),
    _widening(
        "pattern.removed",
        "A pattern is removed",
        "data written under {new} may not match the old pattern, so a {old} reader would reject it",
    ),
    _undecidable("pattern.changed", "A pattern is replaced by a different one"),
    _narrowing(
        "format.added",
        "A format is added (generated models enforce formats)",
        "data written under {old} may not have that format, so a {new} reader would reject it",
    ),
    _widening(
        "format.removed",
        "A format is removed",
        "data written under {new} may not have the old format, so a {old} reader would reject it",
    ),
    _both("format.changed", "A format is replaced by another"),
    # --- arrays ----------------------------------------------------------------------------------------
    _narrowing("contains.added", "A contains constraint is added"),
    _widening("contains.removed", "The contains constraint is removed"),
    # --- whole schemas ---------------------------------------------------------------------------------
    _narrowing(
        "schema.forbidden",
        "A subschema becomes false (nothing allowed: e.g. additionalProperties schema → false)",
        "data written under {old} may have a value there, which a {new} reader rejects",
    ),
    _widening(
        "schema.allowed",
        "A false subschema is replaced by one that allows values",
        "data written under {new} may have a value there, which a {old} reader rejects",
    ),
    _neutral(
        "ref.target.changed",
        "A $ref points at another definition",
        "reported for information: the two targets are compared structurally and any real change is reported "
        "on its own",
    ),
    # --- composition -----------------------------------------------------------------------------------
    _widening("anyof.branch.added", "An anyOf branch is added"),
    _narrowing("anyof.branch.removed", "An anyOf branch is removed"),
    Rule(
        "oneof.branch.added",
        "A oneOf branch is added that may overlap another branch",
        strict=_v(UNKNOWN, BREAKS),
        lenient=_v(OK, BREAKS),
        why_backward="{old} data matching the new branch and another one would fail oneOf's 'exactly one'; "
        "the checker cannot decide whether such data exists",
        why_forward=_WIDEN_F,
        note=_ONEOF_NOTE,
        assumes=ASSUME_ONEOF,
    ),
    _widening(
        "oneof.branch.added.disjoint",
        "A oneOf branch is added that no other branch can match (another type or discriminator value)",
    ),
    Rule(
        "oneof.branch.removed",
        "A oneOf branch is removed that may overlap another branch",
        strict=_v(BREAKS, UNKNOWN),
        lenient=_v(BREAKS, OK),
        why_backward=_NARROW_B,
        why_forward="{new} data matching two {old} branches would fail oneOf's 'exactly one' for a {old} "
        "reader; the checker cannot decide whether such data exists",
        note=_ONEOF_NOTE,
        assumes=ASSUME_ONEOF,
    ),
    _narrowing(
        "oneof.branch.removed.disjoint",
        "A oneOf branch is removed that no other branch could match (another type or discriminator value)",
    ),
    Rule(
        "anyof.became.oneof",
        "anyOf becomes oneOf",
        strict=_v(UNKNOWN, OK),
        lenient=_v(OK, OK),
        why_backward="{old} data matching several branches would fail oneOf's 'exactly one'; the checker "
        "cannot decide whether such data exists",
        why_forward=_NA_F,
        note=_ONEOF_NOTE,
        assumes=ASSUME_ONEOF,
    ),
    Rule(
        "oneof.became.anyof",
        "oneOf becomes anyOf",
        strict=_v(OK, UNKNOWN),
        lenient=_v(OK, OK),
        why_backward=_NA_B,
        why_forward="{new} data matching several branches would fail oneOf's 'exactly one' for a {old} "
        "reader; the checker cannot decide whether such data exists",
        note=_ONEOF_NOTE,
        assumes=ASSUME_ONEOF,
    ),
    _narrowing("anyof.added", "An anyOf constraint is added next to other keywords"),
    _widening("anyof.removed", "An anyOf constraint next to other keywords is removed"),
    _narrowing("oneof.added", "A oneOf constraint is added next to other keywords"),
    _widening("oneof.removed", "A oneOf constraint next to other keywords is removed"),
    _narrowing("not.added", "A not constraint is added"),
    _widening("not.removed", "The not constraint is removed"),
    _narrowing("not.narrowed", "The schema under not admits more (not: integer → not: number)"),
    _widening("not.widened", "The schema under not admits less (not: number → not: integer)"),
    _undecidable("not.changed", "The schema under not changes in a way the checker cannot order"),
    _narrowing("conditional.added", "An if/then/else constraint is added"),
    _widening("conditional.removed", "The if/then/else constraint is removed"),
    _undecidable("conditional.changed", "An if/then/else constraint changes"),
    _undecidable("unevaluated.changed", "A non-boolean unevaluatedProperties/unevaluatedItems changes"),
    # --- registry-level --------------------------------------------------------------------------------
    _both(
        "version.removed",
        "A released version of an event disappears from the registry",
        "readers and writers of that version lose their schema",
        "readers and writers of that version lose their schema",
    ),
    _both(
        "event.removed",
        "A released event type disappears from the registry",
        "readers and writers of that event lose their schema",
        "readers and writers of that event lose their schema",
    ),
)

_INDEX: Mapping[tuple[str, ContentModel | None], Rule] = {(r.change, r.model): r for r in RULES}
CHANGE_IDS: frozenset[str] = frozenset(r.change for r in RULES)


def rule_for(change: str, model: ContentModel | None = None) -> Rule:
    """The rule for a change id (and content model, for the property rules that depend on it)."""
    rule = _INDEX.get((change, model)) or _INDEX.get((change, None))
    if rule is None:
        rule = _INDEX.get((change, ContentModel.OPEN))
    if rule is None:
        raise KeyError(f"no compatibility rule for change {change!r}")
    return rule


def breaking_directions(change: str, model: ContentModel | None, rules: str) -> tuple[tuple[Direction, ...], bool]:
    """The directions a change breaks under a rule set, and whether the checker could not decide."""
    verdict = rule_for(change, model).verdict(rules)
    effects = [(d, verdict.effect(d)) for d in Direction]
    broken = tuple(d for d, e in effects if e.breaking)
    return broken, any(e is Effect.UNKNOWN for _, e in effects)
