"""Counter-examples: data that one version accepts and the other refuses, found by a seeded, bounded search.

A verdict of "breaks" is a claim; an instance that jsonschema accepts under the writer's schema and refuses
under the reader's is its proof, and the quickest way for a developer to see what the change means. So for
every breaking or undecided finding, ``pubsub compat`` looks for one: candidates are generated from the
writer's schema (its types, properties, limits, branches, plus the property names and literal values the
reader's schema mentions, which is where the two usually disagree), then mutated; jsonschema, with the
registry's resolver for ``$ref``, decides validity on both sides. The search is the project's own small
generator (no extra dependency for the bare install), seeded so that a run is reproducible, and bounded by
both a candidate count and a deadline.

A found instance turns "cannot decide" into "breaks" for its direction; not finding one proves nothing,
and the verdict stays as the rules say.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import string
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from .model import Counterexample, Direction, Finding
from .nodes import Side, pointer

#: How deep and how large generated documents get: a recursive schema would otherwise grow without end, and
#: a validator's time grows with the document (a break shows in small documents anyway).
MAX_DEPTH = 5
MAX_VALUES = 60
#: Below this depth arrays keep their minimum length and objects their required names only: jsonschema
#: evaluates every oneOf branch in full, so a recursive union costs (branches ** depth) per candidate.
SHALLOW = 2

_FORMATS: Mapping[str, Sequence[str]] = {
    "date-time": ("2024-01-31T12:00:00Z", "2024-01-31T12:00:00+02:00"),
    "date": ("2024-01-31",),
    "time": ("12:00:00Z",),
    "email": ("a@example.com",),
    "uuid": ("123e4567-e89b-12d3-a456-426614174000",),
    "uri": ("https://example.com/x",),
    "uri-reference": ("/x",),
    "hostname": ("example.com",),
    "ipv4": ("192.0.2.1",),
    "ipv6": ("2001:db8::1",),
    "duration": ("P1D",),
}
_ALPHABETS = (string.ascii_lowercase, string.ascii_letters + string.digits, "abcdefgh", "xyz019-_ ", "aA1")
_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


@dataclass(frozen=True)
class Budget:
    """How long to look: at most ``seconds`` and ``candidates`` per direction of a pair, from ``seed``."""

    seconds: float = 1.0
    candidates: int = 3000
    seed: int = 0


def validator(side: Side) -> Validator:
    """A jsonschema validator for a side, resolving ``$ref`` through the side's own resolver (the registry's).

    Formats are asserted, as the registry's validation does.
    """
    resolver = side.resolver

    def retrieve(uri: str) -> Resource[Any]:
        return Resource.from_contents(resolver.lookup(uri).contents, default_specification=DRAFT202012)

    base = side.base_uri
    # ``retrieve`` is referencing's documented keyword; mypy does not see the attrs alias behind it
    registry: Registry[Any] = Registry(retrieve=retrieve).with_resource(  # type: ignore[call-arg]
        base, Resource.from_contents(side.schema, default_specification=DRAFT202012)
    )
    cls: Any = validator_for(side.schema, default=validator_for({}))
    dialect = side.schema.get("$schema") if isinstance(side.schema, Mapping) else None
    wrapper: dict[str, Any] = {"$ref": base}
    if isinstance(dialect, str):
        wrapper["$schema"] = dialect
    checker: Validator = cls(wrapper, registry=registry, format_checker=FormatChecker())
    return checker


def _names_and_literals(schema: Any) -> tuple[list[str], list[Any]]:
    """Every property name and literal (const, enum, default, examples) a schema document mentions."""
    names: dict[str, None] = {}
    literals: list[Any] = []
    stack = [schema]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for keyword in ("properties", "dependentRequired", "dependentSchemas"):
                if isinstance(value.get(keyword), Mapping):
                    names.update(dict.fromkeys(str(k) for k in value[keyword]))
            if isinstance(value.get("required"), list):
                names.update(dict.fromkeys(str(k) for k in value["required"]))
            if "const" in value:
                literals.append(value["const"])
            if isinstance(value.get("enum"), list):
                literals.extend(value["enum"])
            samples = list(value["examples"]) if isinstance(value.get("examples"), list) else []
            samples += [value["default"]] if "default" in value else []
            literals.extend(_leaves(samples))
            stack.extend(v for k, v in value.items() if k not in ("examples", "default", "const", "enum"))
        elif isinstance(value, list):
            stack.extend(value)
    return list(names), literals[:400]


def _leaves(values: Iterable[Any]) -> list[Any]:
    """Sample documents and every value inside them (strings that already match a schema's patterns)."""
    out: list[Any] = []
    stack = list(values)
    while stack and len(out) < 200:
        value = stack.pop()
        out.append(value)
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return out


def _samples(schema: Any) -> list[Any]:
    """The documents a schema gives as ``examples`` (or ``default``) at its root: valid seeds to mutate."""
    if not isinstance(schema, Mapping):
        return []
    out = list(schema["examples"]) if isinstance(schema.get("examples"), list) else []
    return out + ([schema["default"]] if "default" in schema else [])


@dataclass
class _Part:
    """One conjunct during generation: a subschema and the resolver in force there."""

    schema: Any
    resolver: Any  # a referencing Resolver (None: no $ref can be followed)


class _Generator:
    """Random documents shaped by a schema (a conjunction of parts); validity is checked by the caller."""

    def __init__(self, rng: random.Random, names: Sequence[str], literals: Sequence[Any]) -> None:
        self.rng = rng
        self.size = 0  # values generated for the current document
        self.names = list(names) or ["a"]
        self.literals = list(literals)

    # --- conjuncts ---------------------------------------------------------------------------------------
    def expand(self, parts: Iterable[_Part], depth: int) -> list[_Part]:
        """Follow ``$ref``, ``allOf``, one random ``anyOf``/``oneOf`` branch and one side of ``if``."""
        out: list[_Part] = []
        stack = list(parts)
        guard = 0
        while stack and guard < 64:
            guard += 1
            part = stack.pop()
            schema = part.schema
            if not isinstance(schema, Mapping):
                out.append(part)
                continue
            out.append(part)
            for keyword in ("$ref", "$dynamicRef"):
                ref = schema.get(keyword)
                if isinstance(ref, str) and part.resolver is not None:
                    try:
                        resolved = part.resolver.lookup(ref)
                    except Unresolvable:
                        continue
                    stack.append(_Part(resolved.contents, resolved.resolver))
            for branch in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
                stack.append(_Part(branch, part.resolver))
            for keyword in ("anyOf", "oneOf"):
                branches = schema.get(keyword)
                if isinstance(branches, list) and branches:
                    stack.append(_Part(self.rng.choice(branches), part.resolver))
            if "if" in schema:
                chosen = "then" if self.rng.random() < 0.5 else "else"
                if chosen in schema:
                    stack.append(_Part(schema[chosen], part.resolver))
        return out

    def children(self, parts: Sequence[_Part], keyword: str, key: str | int | None = None) -> list[_Part]:
        out = []
        for part in parts:
            if not isinstance(part.schema, Mapping) or keyword not in part.schema:
                continue
            value = part.schema[keyword]
            if key is not None:
                found = _lookup(value, key)
                if found is not _MISSING:
                    value = found
                else:
                    continue
            out.append(_Part(value, part.resolver))
        return out

    # --- values ------------------------------------------------------------------------------------------
    def document(self, parts: Sequence[_Part]) -> Any:
        """One candidate document, at most ``MAX_VALUES`` values large."""
        self.size = 0
        return self.value(parts)

    def value(self, parts: Sequence[_Part], depth: int = 0) -> Any:
        rng = self.rng
        self.size += 1
        if depth > MAX_DEPTH or self.size > MAX_VALUES:
            return self.scalar()
        parts = self.expand(parts, depth)
        maps = [p.schema for p in parts if isinstance(p.schema, Mapping)]
        if rng.random() < 0.08:
            return self.anything(depth)
        for schema in maps:
            if "const" in schema and rng.random() < 0.9:
                return schema["const"]
            if isinstance(schema.get("enum"), list) and schema["enum"] and rng.random() < 0.9:
                return rng.choice(schema["enum"])
        kind = self.kind(maps)
        if kind == "null":
            return None
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("integer", "number"):
            return self.number(maps, kind == "integer")
        if kind == "string":
            return self.string(maps)
        if kind == "array":
            return self.array(parts, maps, depth)
        return self.object(parts, maps, depth)

    def kind(self, maps: Sequence[Mapping[str, Any]]) -> str:
        allowed: set[str] | None = None
        for schema in maps:
            raw = schema.get("type")
            if raw is None:
                continue
            types = {raw} if isinstance(raw, str) else {t for t in raw if isinstance(t, str)}
            if "number" in types:
                types.add("integer")
            allowed = types if allowed is None else allowed & types
        if allowed:
            return self.rng.choice(sorted(allowed))
        hinted = set()
        for schema in maps:
            if schema.keys() & {"properties", "required", "additionalProperties", "patternProperties"}:
                hinted.add("object")
            if schema.keys() & {"items", "prefixItems", "contains", "minItems", "unevaluatedItems"}:
                hinted.add("array")
            if schema.keys() & {"minLength", "maxLength", "pattern", "format"}:
                hinted.add("string")
            if schema.keys() & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
                hinted.add("number")
        if hinted and self.rng.random() < 0.8:
            return self.rng.choice(sorted(hinted))
        return self.rng.choice(_TYPES)

    def number(self, maps: Sequence[Mapping[str, Any]], integer: bool) -> Any:
        rng = self.rng
        low: float | None = None
        high: float | None = None
        step: float | None = None
        for schema in maps:
            for keyword, lower, nudge in (("minimum", True, 0), ("exclusiveMinimum", True, 1),
                                          ("maximum", False, 0), ("exclusiveMaximum", False, -1)):  # fmt: skip
                raw = schema.get(keyword)
                if isinstance(raw, bool) or not isinstance(raw, int | float):
                    continue
                bound = raw + (nudge if integer else nudge * 0.5)
                if lower:
                    low = bound if low is None else max(low, bound)
                else:
                    high = bound if high is None else min(high, bound)
            raw_step = schema.get("multipleOf")
            if isinstance(raw_step, int | float) and not isinstance(raw_step, bool) and raw_step > 0:
                step = raw_step
        lo = low if low is not None else (high - 20 if high is not None else -20)
        hi = high if high is not None else lo + 40
        candidates: list[float] = [lo, hi, 0, 1, -1, (lo + hi) / 2, lo + 1, hi - 1]
        choice = rng.choice(candidates) if rng.random() < 0.5 else rng.uniform(lo, hi)
        if step is not None:
            choice = round(choice / step) * step
            if integer or float(step).is_integer():
                choice = round(choice)
        if integer or rng.random() < 0.5:
            return math.floor(choice) if math.isfinite(choice) else 0
        return choice + (0.5 if rng.random() < 0.3 else 0.0)

    def string(self, maps: Sequence[Mapping[str, Any]]) -> str:
        rng = self.rng
        for schema in maps:
            fmt = schema.get("format")
            if isinstance(fmt, str) and fmt in _FORMATS and rng.random() < 0.7:
                return rng.choice(_FORMATS[fmt])
        patterns = [p for p in (s.get("pattern") for s in maps) if isinstance(p, str)]
        texts = [v for v in self.literals if isinstance(v, str)]
        if patterns:  # a string the schemas' own samples show matching (the generator does not invert regexes)
            fitting = [t for t in texts if all(_search(p, t) for p in patterns)]
            if fitting and rng.random() < 0.8:
                return rng.choice(fitting)
        if texts and rng.random() < 0.2:
            return rng.choice(texts)
        low, high = 0, None
        for schema in maps:
            if isinstance(schema.get("minLength"), int):
                low = max(low, schema["minLength"])
            if isinstance(schema.get("maxLength"), int):
                high = schema["maxLength"] if high is None else min(high, schema["maxLength"])
        top = high if high is not None else low + 8
        length = rng.choice([low, top, rng.randint(low, max(low, top))]) if top >= low else low
        alphabet = rng.choice(_ALPHABETS)
        return "".join(rng.choice(alphabet) for _ in range(length))

    def array(self, parts: Sequence[_Part], maps: Sequence[Mapping[str, Any]], depth: int) -> list[Any]:
        rng = self.rng
        low = max([s["minItems"] for s in maps if isinstance(s.get("minItems"), int)] or [0])
        highs = [s["maxItems"] for s in maps if isinstance(s.get("maxItems"), int)]
        prefix = max([len(s["prefixItems"]) for s in maps if isinstance(s.get("prefixItems"), list)] or [0])
        tuple_items = [s for s in maps if isinstance(s.get("items"), list)]
        prefix = max([prefix] + [len(s["items"]) for s in tuple_items])
        high = min(highs) if highs else max(low, prefix) + (3 if self.size < MAX_VALUES // 2 else 0)
        length = rng.randint(low, max(low, high)) if rng.random() < 0.7 else rng.choice([low, prefix, prefix + 1])
        if depth >= SHALLOW:
            length = min(length, low + (1 if rng.random() < 0.3 else 0))
        out: list[Any] = []
        for index in range(length):
            sub = self.children(parts, "prefixItems", index) + [
                p for p in self.children(parts, "items", index) if isinstance(p.schema, Mapping | bool)
            ]
            if not sub:
                sub = [p for p in self.children(parts, "items") if not isinstance(p.schema, list)]
                sub += self.children(parts, "additionalItems") if tuple_items else []
                sub = sub or self.children(parts, "unevaluatedItems")
            out.append(self.value(sub, depth + 1) if sub else self.anything(depth + 1))
        contains = self.children(parts, "contains")
        if contains and rng.random() < 0.8:
            out.insert(rng.randint(0, len(out)), self.value(contains, depth + 1))
        if any(s.get("uniqueItems") is True for s in maps) and rng.random() < 0.7:
            unique: list[Any] = []
            for item in out:
                if item not in unique:
                    unique.append(item)
            out = unique
        return out

    def object(self, parts: Sequence[_Part], maps: Sequence[Mapping[str, Any]], depth: int) -> dict[str, Any]:
        rng = self.rng
        required = {str(n) for s in maps for n in (s.get("required") or []) if isinstance(s.get("required"), list)}
        declared = [str(n) for s in maps if isinstance(s.get("properties"), Mapping) for n in s["properties"]]
        closed = any(s.get("additionalProperties") is False or s.get("unevaluatedProperties") is False for s in maps)
        out: dict[str, Any] = {}
        for name in dict.fromkeys([*sorted(required), *declared]):
            if name in required or (depth <= SHALLOW and rng.random() < 0.6):
                out[name] = self.value(self.children(parts, "properties", name), depth + 1)
        extras = rng.choice([0, 0, 1, 2]) if not closed or rng.random() < 0.1 else 0
        extras = extras if depth <= SHALLOW else 0
        for _ in range(extras):
            name = rng.choice(self.names) if rng.random() < 0.8 else rng.choice(("x", "x-1", "extra"))
            if name in out:
                continue
            sub = self.children(parts, "properties", name)
            if not sub:
                sub = self.children(parts, "additionalProperties") or self.children(parts, "unevaluatedProperties")
            out[name] = self.value(sub, depth + 1) if sub and rng.random() < 0.6 else self.anything(depth + 1)
        return out

    def scalar(self) -> Any:
        rng = self.rng
        pool: list[Any] = [None, True, False, 0, 1, -1, 2, 1.5, -0.5, 10**6, "", "a", "Z9", "2024-01-31"]
        if self.literals and rng.random() < 0.3:
            return rng.choice(self.literals)
        return rng.choice(pool)

    def anything(self, depth: int) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth >= MAX_DEPTH or roll < 0.7:
            return self.scalar()
        if roll < 0.85:
            return [self.anything(depth + 1) for _ in range(rng.randint(0, 2))]
        return {rng.choice(self.names): self.anything(depth + 1) for _ in range(rng.randint(0, 2))}


def _mutants(value: Any, generator: _Generator, rng: random.Random) -> Iterator[Any]:
    """Small edits of a valid document: a leaf replaced, a key dropped or added, an item dropped."""
    paths: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack and len(paths) < 64:
        node, path = stack.pop()
        paths.append(path)
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    for _ in range(4):
        path = rng.choice(paths)
        copy = _copy(value)
        parent, target = _at(copy, path[:-1]), path[-1] if path else None
        roll = rng.random()
        if target is None:
            yield generator.anything(1)
            continue
        if roll < 0.5:
            literal = rng.random() < 0.6 and generator.literals
            parent[target] = rng.choice(generator.literals) if literal else generator.anything(2)
        elif roll < 0.75:
            del parent[target]
            yield copy
            continue
        elif isinstance(parent, dict):
            parent[rng.choice(generator.names)] = generator.anything(2)
        else:
            parent.append(generator.anything(2))
        yield copy


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for token in path:
        value = value[token]
    return value


def _error_pointers(error: ValidationError) -> list[tuple[str, ...]]:
    """Where in the instance an error is, and (for required/additionalProperties) the names it is about."""
    out = []
    stack = [error]
    while stack:
        err = stack.pop()
        base = tuple(str(p) for p in err.absolute_path)
        out.append(base)
        instance = err.instance
        if err.validator == "required" and isinstance(instance, dict) and isinstance(err.validator_value, list):
            out.extend((*base, str(n)) for n in err.validator_value if n not in instance)
        if err.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
            out.extend((*base, str(n)) for n in instance)
        stack.extend(err.context or [])
    return out


def _matches(finding_path: str, error: tuple[str, ...]) -> int:
    """How well an error place fits a finding's data path (``*`` is any token): 2 at or below it, 1 above it."""
    tokens = [t for t in finding_path.split("/")[1:]] if finding_path else []
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in tokens]
    common = min(len(tokens), len(error))
    if any(t != "*" and t != e for t, e in zip(tokens[:common], error[:common], strict=True)):
        return 0
    return 2 if len(error) >= len(tokens) else 1


@dataclass(frozen=True)
class _Refusal:
    """One error of the reader's validator: its message, where it is, and the data places it is about."""

    message: str
    pointer: str
    places: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Found:
    instance: Any
    refusals: tuple[_Refusal, ...]
    target: str | None  # the finding path it was minimised for (None: the first instance found)

    def score(self, path: str) -> tuple[int, _Refusal | None]:
        """How well the instance explains a finding at ``path``, and the refusal that does."""
        best: tuple[int, _Refusal | None] = (0, None)
        for refusal in self.refusals:
            score = max((_matches(path, p) for p in refusal.places), default=0)
            if score > best[0]:
                best = (score, refusal)
        return best


class _Search:
    """One direction of one pair: the two validators, the generator, and what was found so far."""

    def __init__(self, writer: Side, reader: Side, budget: Budget) -> None:
        self.writer, self.reader = validator(writer), validator(reader)
        self.rng = random.Random(budget.seed)
        names, literals = _names_and_literals(writer.schema)
        more_names, more_literals = _names_and_literals(reader.schema)
        self.generator = _Generator(self.rng, [*names, *more_names], [*literals, *more_literals])
        self.seen: set[str] = set()

    def refusals(self, candidate: Any) -> tuple[_Refusal, ...] | None:
        """The reader's errors for a writer-valid candidate (empty: both accept it); None: writer refuses it."""
        try:
            if not self.writer.is_valid(candidate):
                return None
            errors = list(self.reader.iter_errors(candidate))
        except Exception:  # a validator that cannot evaluate the candidate (a huge number ...) proves nothing
            return None
        return tuple(
            _Refusal(e.message, pointer([str(p) for p in e.absolute_path]), tuple(_error_pointers(e)))
            for e in errors
        )

    def minimise(self, candidate: Any, target: str, deadline: float) -> tuple[Any, tuple[_Refusal, ...]]:
        """Drop what the break does not need (keys, items), keeping it writer-valid and refused at ``target``."""
        current = candidate
        refusals = self.refusals(current) or ()
        for _ in range(3):
            changed = False
            for path in sorted(_paths(current), key=len, reverse=True)[:80]:
                if time.monotonic() > deadline:
                    return current, refusals
                if not path:
                    continue
                trial = _copy(current)
                parent = _at(trial, path[:-1])
                del parent[path[-1]]
                found = self.refusals(trial)
                if found and any(_matches(target, p) == 2 for r in found for p in r.places):
                    current, refusals, changed = trial, found, True
                    break
            if not changed:
                break
        return current, refusals


def _paths(value: Any) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack and len(out) < 200:
        node, path = stack.pop()
        out.append(path)
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
    return out


def search(writer: Side, reader: Side, budget: Budget, targets: Sequence[str] = ()) -> list[_Found]:
    """Instances valid under ``writer`` and invalid under ``reader``, each minimised for a target data path
    (a finding's ``path``); stops once every target has one (or, with no targets, at the first found)."""
    state = _Search(writer, reader, budget)
    rng, generator = state.rng, state.generator
    root = [_Part(writer.schema, writer.resolver)]
    deadline = time.monotonic() + budget.seconds
    found: list[_Found] = []
    open_targets = list(dict.fromkeys(targets))
    seeds = _samples(writer.schema)
    tried = 0

    def consider(candidate: Any) -> bool:
        """Whether the writer accepts the candidate (so it is worth mutating); records what breaks."""
        key = repr(candidate)
        if key in state.seen:
            return False
        state.seen.add(key)
        refusals = state.refusals(candidate)
        if refusals is None:
            return False
        if not refusals:
            return True
        for target in [t for t in open_targets if any(_matches(t, p) == 2 for r in refusals for p in r.places)]:
            open_targets.remove(target)
            instance, kept = state.minimise(candidate, target, deadline)
            found.append(_Found(instance, kept, target))
        if not found:
            found.append(_Found(candidate, refusals, None))
        return True

    while tried < budget.candidates and time.monotonic() < deadline:
        tried += 1
        candidate = _copy(rng.choice(seeds)) if seeds and rng.random() < 0.3 else generator.document(root)
        if consider(candidate):
            mutants = list(_mutants(candidate, generator, rng))
            if open_targets:
                mutants.append(_targeted(candidate, rng.choice(open_targets), generator, root))
            for mutant in mutants:
                tried += 1
                consider(mutant)
        if found and not open_targets:
            break
    return found


def _pick(found: Sequence[_Found], path: str) -> tuple[_Found | None, _Refusal | None, bool]:
    """The instance that best explains a finding at ``path``, the refusal that does, and whether it breaks
    at or below that path (rather than only somewhere above it)."""
    best: tuple[int, _Found, _Refusal] | None = None
    for item in found:
        score, refusal = item.score(path)
        if refusal is not None and (best is None or score > best[0] or (score == best[0] and item.target == path)):
            best = (score, item, refusal)
    if best is not None:
        return best[1], best[2], best[0] == 2
    if found:
        return found[0], (found[0].refusals or (None,))[0], False
    return None, None, False


def attach(findings: Sequence[Finding], old: Side, new: Side, budget: Budget) -> list[Finding]:
    """Each breaking or undecided finding of one pair, with a counter-example for a direction it breaks.

    An undecided finding with an instance that breaks at its own path becomes decided for that direction;
    it stays "treated as breaking" for a direction no instance was found for.
    """
    directions = {d for f in findings for d in f.breaks}
    found: dict[Direction, list[_Found]] = {}
    for direction in sorted(directions):
        writer, reader = (old, new) if direction is Direction.BACKWARD else (new, old)
        targets = [f.path for f in findings if direction in f.breaks]
        found[direction] = search(writer, reader, budget, targets)
    out = []
    for finding in findings:
        example: Counterexample | None = None
        proven: set[Direction] = set()
        for direction in finding.breaks:
            item, refusal, exact = _pick(found.get(direction, []), finding.path)
            if item is None or refusal is None:
                continue
            if exact:
                proven.add(direction)
            if example is None or (exact and len(proven) == 1):  # the first instance breaking at the path wins
                example = Counterexample(direction, item.instance, refusal.message, refusal.pointer)
        if example is None:
            out.append(finding)
            continue
        undecidable = finding.undecidable and not set(finding.breaks) <= proven
        message = finding.message
        if finding.undecidable and not undecidable:
            message = message.replace("(treated as breaking ", "(shown by a counter-example: breaks ")
        elif finding.undecidable and proven:
            shown = " and ".join(d.value for d in sorted(proven))
            message = message.replace("(treated as breaking ", f"({shown} shown by a counter-example; treated as "
                                      "breaking ")  # fmt: skip
        out.append(dataclasses.replace(finding, counterexample=example, undecidable=undecidable, message=message))
    return out


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


_MISSING = object()


def _lookup(container: Any, key: str | int) -> Any:
    """``container[key]`` for a mapping key or a list index, or ``_MISSING``."""
    if isinstance(container, Mapping):
        return container.get(key, _MISSING) if isinstance(key, str) else _MISSING
    if isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
        return container[key]
    return _MISSING


def _targeted(value: Any, target: str, generator: _Generator, root: Sequence[_Part]) -> Any:
    """A copy of a valid document with a new value at a finding's data path (``*``: any existing item or key).

    The value is drawn from what the writer's schema says there, or is ``null``, a literal of either version or
    anything at all: the values a change at that path is most likely to treat differently.
    """
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in target.split("/")[1:]] if target else []
    if not tokens:
        return generator.document(root)
    rng = generator.rng
    copy = _copy(value)
    node, parts = copy, list(root)
    for index, token in enumerate(tokens):
        parts = generator.expand(parts, index)
        last = index == len(tokens) - 1
        if isinstance(node, dict):
            key: Any = rng.choice(sorted(node)) if token == "*" and node else token
            parts = generator.children(parts, "properties", key) or generator.children(parts, "additionalProperties")
        elif isinstance(node, list) and node:
            key = rng.randrange(len(node)) if token == "*" or not token.isdigit() else int(token)
            if key >= len(node):
                return copy
            parts = generator.children(parts, "prefixItems", key) or generator.children(parts, "items")
        else:
            return copy
        if last:
            generator.size = 0
            roll = rng.random()
            if roll < 0.4 and parts:
                node[key] = generator.value(parts, index + 1)
            elif roll < 0.6:
                node[key] = None
            elif roll < 0.8 and generator.literals:
                node[key] = rng.choice(generator.literals)
            else:
                node[key] = generator.anything(index + 1)
            return copy
        if isinstance(node, dict) and key not in node:
            return copy  # nothing below a missing key to change
        node = node[key]
    return copy
