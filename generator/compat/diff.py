"""The schema-diff engine: walk two schemas side by side and report every change as a :class:`Change`.

The engine detects; it does not judge. Each change carries a rule id from :mod:`hipponot_pubsub.generator.compat.rules`,
where the verdict for each direction and rule set lives. Both sides are walked with their own resolver, so a
change inside a ``$ref``'d shared definition is found and located in the file that holds it. Recursive
schemas are compared once per pair of places (a recursion guard), and ``allOf``/``$ref`` are flattened first
(see :mod:`hipponot_pubsub.generator.compat.view`) so a refactoring that moves a constraint does not read as a change.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag

from .model import Change, ContentModel, Direction, Location, short_uri
from .nodes import Node, SideLike, as_side, pointer
from .rules import breaking_directions
from .view import (
    SIZE_KEYWORDS,
    Disjunction,
    View,
    build_view,
    canonical,
    families,
    json_type,
    normalise_types,
    show_types,
)

#: Changes that never alter which data is valid (reported for information only).
NEUTRAL_CHANGES = frozenset({"ref.target.changed"})
_NULL = frozenset({"null"})

ShapeKey = tuple[frozenset[tuple[str, str, tuple[str, ...]]], frozenset[str] | None]


@dataclass(frozen=True)
class Shape:
    """One side at one place: its nodes (conjuncts), where to point if it has none, and a type restriction.

    ``restrict`` is used when a multi-type schema is compared branch by branch with a union
    (``type: [string, null]`` against ``anyOf: [{type: string}, {type: null}]``).
    """

    nodes: tuple[Node, ...]
    anchor: Node
    restrict: frozenset[str] | None = None

    @classmethod
    def of(cls, nodes: Iterable[Node], anchor: Node) -> Shape:
        nodes = tuple(nodes)
        return cls(nodes, nodes[0] if nodes else anchor)

    @property
    def key(self) -> ShapeKey:
        return (frozenset(n.key for n in self.nodes), self.restrict)

    @property
    def location(self) -> Location:
        return self.anchor.location


@dataclass
class DiffStats:
    """How much work a comparison took, counted rather than timed so tests can bound it without flaking.

    ``visits``: pairs of places compared; ``sub_walks``: equivalence tests that needed a walk of their own;
    ``max_nesting``: the deepest chain of such walks (each is a few Python frames, so this bounds the stack).
    """

    visits: int = 0
    sub_walks: int = 0
    max_nesting: int = 0


#: Equivalence tests nest (a branch holding a union holding branches ...); past this depth a pair is taken
#: as "not equivalent", which only costs precision (the branches are then diffed keyword by keyword).
MAX_NESTING = 24


@dataclass
class _Shared:
    """Caches shared by the main walk and the sub-walks that test branches for equivalence."""

    views: dict[ShapeKey, View] = field(default_factory=dict)
    equivalent: dict[tuple[ShapeKey, ShapeKey], bool] = field(default_factory=dict)
    pending: set[tuple[ShapeKey, ShapeKey]] = field(default_factory=set)
    stats: DiffStats = field(default_factory=DiffStats)
    nesting: int = 0


def diff_schemas(old: SideLike, new: SideLike, *, stats: DiffStats | None = None) -> list[Change]:
    """Every change from ``old`` to ``new`` (Sides or ``(schema, resolver)`` pairs), shallow first.

    ``stats``, when given, is filled with the work done (see :class:`DiffStats`).
    """
    old, new = as_side(old), as_side(new)
    shared = _Shared(stats=stats if stats is not None else DiffStats())
    differ = _Differ(shared)
    old_root, new_root = Node.root(old, "old"), Node.root(new, "new")
    differ.diff(Shape((old_root,), old_root), Shape((new_root,), new_root), ())
    return differ.changes


def _q(value: Any) -> str:
    return canonical(value) if not isinstance(value, str) else f'"{value}"'


def _values(values: Iterable[Any]) -> str:
    return ", ".join(_q(v) for v in values)


class _Differ:
    """One walk. A sub-walk (``outer`` set) skips the pairs its outer walks compare: any change there is
    reported by them, so re-walking them would only repeat work (and, in a recursive union, nest without end).
    """

    def __init__(self, shared: _Shared, outer: _Differ | None = None) -> None:
        self.shared = shared
        self.outer = outer
        self.changes: list[Change] = []
        self._seen: set[tuple[ShapeKey, ShapeKey]] = set()
        self._queue: deque[tuple[Shape, Shape, tuple[str, ...]]] = deque()
        self._running = False

    # --- plumbing ------------------------------------------------------------------------------------
    def emit(
        self,
        change: str,
        detail: str,
        path: tuple[str, ...],
        old: Location | None,
        new: Location | None,
        model: ContentModel | None = None,
    ) -> None:
        self.changes.append(Change(change, detail, pointer(path), old, new, model))

    def view(self, shape: Shape) -> View:
        key = shape.key
        if key not in self.shared.views:
            self.shared.views[key] = build_view(shape.nodes, shape.restrict)
        return self.shared.views[key]

    def place(self, shape: Shape) -> ShapeKey:
        """Which subschemas a shape stands for once ``$ref`` and ``allOf`` are followed.

        ``{"$ref": "#/$defs/node"}`` and the node it names are one place: keying the recursion guard by it
        stops a recursive union at its first repeat, whichever reference leads back to it.
        """
        conjuncts = self.view(shape).conjuncts
        keys = frozenset(n.key for n in conjuncts if not _only_links(n))
        return (keys, shape.restrict) if keys or not conjuncts else shape.key

    def loc(self, shape: Shape) -> Location:
        """Where to point for a keyword a side lacks: its first conjunct that says anything but ``$ref``.

        So a change inside a ``$ref``'d file points into that file, not at the ``$ref`` that leads to it.
        """
        for node in self.view(shape).conjuncts:
            if any(k not in ("$ref", "$dynamicRef") for k in node.mapping) or node.schema is False:
                return node.location
        conjuncts = self.view(shape).conjuncts
        return conjuncts[-1].location if conjuncts else shape.location

    def equivalent(self, old: Shape, new: Shape) -> bool:
        """Whether two shapes admit the same data as far as the engine can tell (no non-neutral change)."""
        key = (self.place(old), self.place(new))
        if key in self.shared.equivalent:
            return self.shared.equivalent[key]
        if key in self.shared.pending or self._known(key):  # recursive schema: assume equal (co-induction)
            return True
        if self.shared.nesting >= MAX_NESTING:
            return False  # sound: the caller then compares keyword by keyword instead
        self.shared.pending.add(key)
        self.shared.nesting += 1
        stats = self.shared.stats
        stats.sub_walks += 1
        stats.max_nesting = max(stats.max_nesting, self.shared.nesting)
        try:
            sub = _Differ(self.shared, outer=self)
            sub.diff(old, new, ())
        finally:
            self.shared.nesting -= 1
            self.shared.pending.discard(key)
        result = all(c.change in NEUTRAL_CHANGES for c in sub.changes)
        self.shared.equivalent[key] = result
        return result

    def _known(self, key: tuple[ShapeKey, ShapeKey]) -> bool:
        """Whether this walk or an outer one compares (or compared) that pair of places."""
        differ: _Differ | None = self
        while differ is not None:
            if key in differ._seen:
                return True
            differ = differ.outer
        return False

    # --- the walk ------------------------------------------------------------------------------------
    def diff(self, old: Shape, new: Shape, path: tuple[str, ...]) -> None:
        """Compare two shapes, breadth first: a definition reached along several paths is reported at the
        shallowest one (``/total/amount`` rather than ``/lines/*/price/amount``)."""
        self._queue.append((old, new, path))
        if self._running:
            return
        self._running = True
        try:
            while self._queue:
                self._visit(*self._queue.popleft())
        finally:
            self._running = False

    def _visit(self, old: Shape, new: Shape, path: tuple[str, ...]) -> None:
        key = (self.place(old), self.place(new))
        if not (old.nodes or new.nodes) or self._known(key):
            return
        self._seen.add(key)
        self.shared.stats.visits += 1
        if _identical(old, new):
            return
        self._refs(old, new, path)
        ov, nv = self.view(old), self.view(new)
        if ov.false is not None or nv.false is not None:
            if nv.false is not None and ov.false is None:
                self.emit("schema.forbidden", "schema became false (no value allowed)", path,
                          self.loc(old), nv.false.location)  # fmt: skip
            elif ov.false is not None and nv.false is None:
                self.emit("schema.allowed", "schema false replaced (values allowed again)", path,
                          ov.false.location, self.loc(new))  # fmt: skip
            return
        if ov.pure_union is not None or nv.pure_union is not None:
            self._unions(old, ov, new, nv, path)
            return
        self._types(old, ov, new, nv, path)
        self._enum(old, ov, new, nv, path)
        if ov.allows("number") and nv.allows("number"):
            self._bounds(old, ov, new, nv, path)
            self._multiple_of(old, ov, new, nv, path)
        for kind in ("string", "array", "object"):
            if ov.allows(kind) and nv.allows(kind):
                self._sizes(old, ov, new, nv, path, kind)
        if ov.allows("string") and nv.allows("string"):
            self._keyword_sets("pattern", ov.patterns, nv.patterns, old, new, path, undecidable=True)
        self._keyword_sets("format", ov.formats, nv.formats, old, new, path, undecidable=False)
        if ov.allows("array") and nv.allows("array"):
            self._arrays(old, ov, new, nv, path)
        if ov.allows("object") and nv.allows("object"):
            self._objects(old, ov, new, nv, path)
        self._composition(old, ov, new, nv, path)

    def _refs(self, old: Shape, new: Shape, path: tuple[str, ...]) -> None:
        def targets(shape: Shape) -> dict[str, tuple[str, Node]]:
            """Ref targets, keyed so that "#/$defs/x" in v1's file and in v2's file count as the same."""
            out: dict[str, tuple[str, Node]] = {}
            for node in self.view(shape).ref_nodes:
                if isinstance(node.mapping.get("$ref"), str):
                    target = node.ref_target_uri()
                    document, fragment = urldefrag(target)
                    out["#" + fragment if document == node.uri else target] = (target, node)
            return out

        o, n = targets(old), targets(new)
        o, n = {k: v for k, v in o.items() if k not in n}, {k: v for k, v in n.items() if k not in o}
        if o and n:
            detail = f"$ref target changed from {_refs(o)} to {_refs(n)}"
            self.emit("ref.target.changed", detail, path,
                      next(iter(o.values()))[1].at("$ref"), next(iter(n.values()))[1].at("$ref"))  # fmt: skip

    # --- values --------------------------------------------------------------------------------------
    def _types(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        ot, nt = ov.types, nv.types
        if ot is None and ov.enum is not None:  # an enum implies the types of its values
            ot = normalise_types(json_type(v) for v in ov.enum.values())
            if nt is not None and ot <= nt:
                return
            ot = None
        if ot == nt:
            return
        oloc = ov.type_node.at("type") if ov.type_node else self.loc(old)
        nloc = nv.type_node.at("type") if nv.type_node else self.loc(new)
        if ot is None:
            self.emit("type.added", f"type {show_types(nt)} added", path, oloc, nloc)
            return
        if nt is None:
            self.emit("type.removed", f"type constraint {show_types(ot)} removed", path, oloc, nloc)
            return
        added, removed = nt - ot, ot - nt
        shown = f"{show_types(ot)} to {show_types(nt)}"
        if not removed:
            if added == {"null"}:
                self.emit("type.nullable.added", f"null allowed (type {shown})", path, oloc, nloc)
            else:
                self.emit("type.widened", f"type widened from {shown}", path, oloc, nloc)
        elif not added:
            if removed == {"null"}:
                self.emit("type.nullable.removed", f"null no longer allowed (type {shown})", path, oloc, nloc)
            else:
                self.emit("type.narrowed", f"type narrowed from {shown}", path, oloc, nloc)
        else:
            self.emit("type.changed", f"type changed from {shown}", path, oloc, nloc)

    def _enum(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        oe, ne = ov.enum, nv.enum
        if oe is None and ne is None:
            return
        oloc = ov.enum_node.at(ov.enum_keyword) if ov.enum_node else self.loc(old)
        nloc = nv.enum_node.at(nv.enum_keyword) if nv.enum_node else self.loc(new)
        if oe is None:
            assert ne is not None
            self.emit("enum.added", f"{nv.enum_keyword} [{_values(ne.values())}] added", path, oloc, nloc)
            return
        if ne is None:
            self.emit("enum.removed", f"{ov.enum_keyword} [{_values(oe.values())}] removed", path, oloc, nloc)
            return
        added = [v for k, v in ne.items() if k not in oe]
        removed = [v for k, v in oe.items() if k not in ne]
        kw = nv.enum_keyword if nv.enum_keyword == ov.enum_keyword else f"{ov.enum_keyword}/{nv.enum_keyword}"
        if added:
            plural = "s" if len(added) > 1 else ""
            self.emit("enum.value.added", f"{kw} value{plural} {_values(added)} added", path, oloc, nloc)
        if removed:
            plural = "s" if len(removed) > 1 else ""
            self.emit("enum.value.removed", f"{kw} value{plural} {_values(removed)} removed", path, oloc, nloc)

    # --- limits --------------------------------------------------------------------------------------
    def _bounds(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        integers = bool(ov.types and nv.types and ov.types <= {"integer"} and nv.types <= {"integer"})
        for lower, ob, nb in ((True, ov.lower, nv.lower), (False, ov.upper, nv.upper)):
            label = "lower bound" if lower else "upper bound"
            oloc = ob.node.at(ob.keyword) if ob else self.loc(old)
            nloc = nb.node.at(nb.keyword) if nb else self.loc(new)
            if ob is None and nb is None:
                continue
            if ob is None:
                assert nb is not None
                self.emit("limit.added", f"{nb.keyword} {_q(nb.raw)} added", path, oloc, nloc)
                continue
            if nb is None:
                self.emit("limit.removed", f"{ob.keyword} {_q(ob.raw)} removed", path, oloc, nloc)
                continue
            o, n = ob.normalised(integers, lower), nb.normalised(integers, lower)
            if o == n:
                continue
            tighter = (n[0] > o[0] if lower else n[0] < o[0]) if n[0] != o[0] else (n[1] and not o[1])
            word = "tightened" if tighter else "loosened"
            if ob.keyword == nb.keyword:
                detail = f"{nb.keyword} {word} from {_q(ob.raw)} to {_q(nb.raw)}"
            else:
                detail = f"{label} {word} from {ob.keyword} {_q(ob.raw)} to {nb.keyword} {_q(nb.raw)}"
            self.emit(f"limit.{word}", detail, path, oloc, nloc)

    def _multiple_of(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        o, n = ov.multiple_of, nv.multiple_of
        if set(o) == set(n):
            return
        if len(o) == 1 and len(n) == 1:
            (ostep, ovalue), (nstep, nvalue) = next(iter(o.items())), next(iter(n.items()))
            ratio = nstep / ostep
            word = "tightened" if ratio.denominator == 1 else "loosened" if ratio.numerator == 1 else "changed"
            self.emit(f"limit.{word}", f"multipleOf {word} from {_q(ovalue.value)} to {_q(nvalue.value)}", path,
                      ovalue.node.at("multipleOf"), nvalue.node.at("multipleOf"))  # fmt: skip
            return
        for step, value in n.items():
            if step not in o:
                self.emit("limit.added", f"multipleOf {_q(value.value)} added", path, self.loc(old),
                          value.node.at("multipleOf"))  # fmt: skip
        for step, value in o.items():
            if step not in n:
                self.emit("limit.removed", f"multipleOf {_q(value.value)} removed", path,
                          value.node.at("multipleOf"), self.loc(new))  # fmt: skip

    def _sizes(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...], kind: str) -> None:
        for keyword, larger_is_tighter in SIZE_KEYWORDS[kind]:
            ob, nb = ov.sizes.get(keyword), nv.sizes.get(keyword)
            if ob is None and nb is None:
                continue
            oloc = ob.node.at(keyword) if ob else self.loc(old)
            nloc = nb.node.at(keyword) if nb else self.loc(new)
            if ob is None:
                assert nb is not None
                self.emit("limit.added", f"{keyword} {_q(nb.value)} added", path, oloc, nloc)
            elif nb is None:
                self.emit("limit.removed", f"{keyword} {_q(ob.value)} removed", path, oloc, nloc)
            elif ob.value != nb.value:
                tighter = nb.value > ob.value if larger_is_tighter else nb.value < ob.value
                word = "tightened" if tighter else "loosened"
                self.emit(f"limit.{word}", f"{keyword} {word} from {_q(ob.value)} to {_q(nb.value)}", path,
                          oloc, nloc)  # fmt: skip
        if kind == "array" and (ov.unique_items is None) != (nv.unique_items is None):
            if nv.unique_items is not None:
                self.emit("limit.added", "uniqueItems added", path, self.loc(old), nv.unique_items.at("uniqueItems"))
            elif ov.unique_items is not None:
                self.emit("limit.removed", "uniqueItems removed", path, ov.unique_items.at("uniqueItems"),
                          self.loc(new))  # fmt: skip

    def _keyword_sets(
        self,
        keyword: str,
        o: Mapping[str, Node],
        n: Mapping[str, Node],
        old: Shape,
        new: Shape,
        path: tuple[str, ...],
        *,
        undecidable: bool,
    ) -> None:
        """pattern and format: added, removed, or replaced (undecidable for patterns)."""
        if set(o) == set(n):
            return
        if set(o) < set(n):
            for value in n:
                if value not in o:
                    self.emit(f"{keyword}.added", f"{keyword} {_q(value)} added", path, self.loc(old),
                              n[value].at(keyword))  # fmt: skip
        elif set(n) < set(o):
            for value in o:
                if value not in n:
                    self.emit(f"{keyword}.removed", f"{keyword} {_q(value)} removed", path, o[value].at(keyword),
                              self.loc(new))  # fmt: skip
        else:
            oval = " and ".join(_q(v) for v in o if v not in n)
            nval = " and ".join(_q(v) for v in n if v not in o)
            oloc = next(o[v] for v in o if v not in n).at(keyword)
            nloc = next(n[v] for v in n if v not in o).at(keyword)
            suffix = " (the checker cannot compare two patterns)" if undecidable else ""
            self.emit(f"{keyword}.changed", f"{keyword} changed from {oval} to {nval}{suffix}", path, oloc, nloc)

    # --- arrays --------------------------------------------------------------------------------------
    def _arrays(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        width = max([len(p.prefix) for p in ov.array_parts + nv.array_parts] or [0])

        folded = not (_items_dynamic(ov) or _items_dynamic(nv))

        def position(view: View, index: int) -> list[Node]:
            out = []
            for part in view.array_parts:
                node = part.prefix[index] if index < len(part.prefix) else part.rest
                if node is not None:
                    out.append(node)
            if not out and folded:  # no conjunct evaluates the position: unevaluatedItems applies to it
                out.extend(view.unevaluated_items)
            return out

        def rest(view: View) -> list[Node]:
            out = [p.rest for p in view.array_parts if p.rest is not None]
            return out if out or not folded else list(view.unevaluated_items)

        for index in range(width):
            self.diff(
                Shape.of(position(ov, index), old.anchor.with_schema(True, "prefixItems", str(index))),
                Shape.of(position(nv, index), new.anchor.with_schema(True, "prefixItems", str(index))),
                (*path, str(index)),
            )
        self.diff(
            Shape.of(rest(ov), old.anchor.with_schema(True, "items")),
            Shape.of(rest(nv), new.anchor.with_schema(True, "items")),
            (*path, "*"),
        )
        if ov.contains or nv.contains:
            if not ov.contains:
                self.emit("contains.added", "contains added", path, self.loc(old), nv.contains[0].location)
            elif not nv.contains:
                self.emit("contains.removed", "contains removed", path, ov.contains[0].location, self.loc(new))
            else:
                self.diff(Shape.of(ov.contains, ov.contains[0]), Shape.of(nv.contains, nv.contains[0]), (*path, "*"))
        if not folded:  # an in-place applicator may evaluate items: which ones unevaluatedItems sees is dynamic
            self._unevaluated(ov.unevaluated_items, nv.unevaluated_items, old, new, path, "unevaluatedItems")

    def _unevaluated(
        self, o: list[Node], n: list[Node], old: Shape, new: Shape, path: tuple[str, ...], keyword: str
    ) -> None:
        if [canonical(x.schema) for x in o] != [canonical(x.schema) for x in n]:
            oloc = o[0].location if o else self.loc(old)
            nloc = n[0].location if n else self.loc(new)
            self.emit("unevaluated.changed", f"{keyword} changed", path, oloc, nloc)

    # --- objects -------------------------------------------------------------------------------------
    def _objects(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        oobj, nobj = ov.object_node, nv.object_node
        handled: set[str] = set()
        for name in sorted(set(ov.properties) | set(nv.properties)):
            op, np_ = ov.properties.get(name), nv.properties.get(name)
            if op and np_:
                self.diff(Shape.of(op, op[0]), Shape.of(np_, np_[0]), (*path, name))
                continue
            handled.add(name)
            if np_:  # added: what the old side said about that name decides
                required, defaulted = name in nv.required, any("default" in n.mapping for n in np_)
                governing = _governing(ov, name)
                required_changed = required and name not in ov.required
                if governing:  # a map or pattern schema already typed the name: compare value schemas
                    self.diff(Shape.of(governing, governing[0]), Shape.of(_declared(nv, name), np_[0]),
                              (*path, name))  # fmt: skip
                    self._required_change(name, required_changed, defaulted, True, path, oobj.location,
                                          nv.required.get(name))  # fmt: skip
                elif _model(ov, name) is ContentModel.OPEN and _trivial(self.view(Shape.of(np_, np_[0]))):
                    self._required_change(name, required_changed, defaulted, True, path, oobj.location,
                                          nv.required.get(name))  # fmt: skip
                else:
                    self._property("added", name, required, defaulted, _model(ov, name), path,
                                   oobj.location, np_[0].location)  # fmt: skip
            elif op:
                required, defaulted = name in ov.required, any("default" in n.mapping for n in op)
                governing = _governing(nv, name)
                required_changed = required and name not in nv.required
                if governing:
                    self.diff(Shape.of(_declared(ov, name), op[0]), Shape.of(governing, governing[0]),
                              (*path, name))  # fmt: skip
                    self._required_change(name, required_changed, defaulted, False, path,
                                          ov.required.get(name), nobj.location)  # fmt: skip
                elif _model(nv, name) is ContentModel.OPEN and _trivial(self.view(Shape.of(op, op[0]))):
                    self._required_change(name, required_changed, defaulted, False, path,
                                          ov.required.get(name), nobj.location)  # fmt: skip
                else:
                    self._property("removed", name, required, defaulted, _model(nv, name), path,
                                   op[0].location, nobj.location)  # fmt: skip
        for name in sorted(set(nv.required) - set(ov.required) - handled):
            defaulted = any("default" in n.mapping for n in nv.properties.get(name, []))
            change = "required.added.defaulted" if defaulted else "required.added"
            self.emit(change, f'"{name}" became required', (*path, name), oobj.location,
                      nv.required[name].at("required"))  # fmt: skip
        for name in sorted(set(ov.required) - set(nv.required) - handled):
            defaulted = any("default" in n.mapping for n in ov.properties.get(name, []))
            change = "required.removed.defaulted" if defaulted else "required.removed"
            self.emit(change, f'"{name}" is no longer required', (*path, name),
                      ov.required[name].at("required"), nobj.location)  # fmt: skip
        self._additional(old, ov, new, nv, path)
        for pattern in sorted(set(ov.pattern_properties) | set(nv.pattern_properties)):
            opp, npp = ov.pattern_properties.get(pattern), nv.pattern_properties.get(pattern)
            if opp and npp:
                self.diff(Shape.of(opp, opp[0]), Shape.of(npp, npp[0]), (*path, "*"))
            elif npp:
                self.emit("pattern_properties.added", f"patternProperties {_q(pattern)} added", path,
                          oobj.location, npp[0].location)  # fmt: skip
            elif opp:
                self.emit("pattern_properties.removed", f"patternProperties {_q(pattern)} removed", path,
                          opp[0].location, nobj.location)  # fmt: skip
        if ov.property_names or nv.property_names:
            self.diff(
                Shape.of(ov.property_names, oobj.with_schema(True, "propertyNames")),
                Shape.of(nv.property_names, nobj.with_schema(True, "propertyNames")),
                path,
            )
        for name, dep in sorted(set(ov.dependent_required) | set(nv.dependent_required)):
            on, nn = ov.dependent_required.get((name, dep)), nv.dependent_required.get((name, dep))
            if on is None and nn is not None:
                self.emit("dependent_required.added", f'"{dep}" now required when "{name}" is present', path,
                          oobj.location, nn.location)  # fmt: skip
            elif nn is None and on is not None:
                self.emit("dependent_required.removed", f'"{dep}" no longer required when "{name}" is present',
                          path, on.location, nobj.location)  # fmt: skip
        for name in sorted(set(ov.dependent_schemas) | set(nv.dependent_schemas)):
            ods, nds = ov.dependent_schemas.get(name), nv.dependent_schemas.get(name)
            if ods and nds:
                self.diff(Shape.of(ods, ods[0]), Shape.of(nds, nds[0]), path)
            elif nds:
                self.emit("dependent_schema.added", f'dependent schema for "{name}" added', path,
                          oobj.location, nds[0].location)  # fmt: skip
            elif ods:
                self.emit("dependent_schema.removed", f'dependent schema for "{name}" removed', path,
                          ods[0].location, nobj.location)  # fmt: skip

    def _required_change(
        self,
        name: str,
        required: bool,
        defaulted: bool,
        added: bool,
        path: tuple[str, ...],
        oloc: Location | Node | None,
        nloc: Location | Node | None,
    ) -> None:
        """The property appears or disappears where the other side already typed it: only "required" is left."""
        if not required:
            return
        old = oloc.at("required") if isinstance(oloc, Node) else oloc
        new = nloc.at("required") if isinstance(nloc, Node) else nloc
        if added:
            change = "required.added.defaulted" if defaulted else "required.added"
            self.emit(change, f'"{name}" became required', (*path, name), old, new)
        else:
            change = "required.removed.defaulted" if defaulted else "required.removed"
            self.emit(change, f'"{name}" is no longer required', (*path, name), old, new)

    def _property(
        self,
        verb: str,
        name: str,
        required: bool,
        defaulted: bool,
        model: ContentModel,
        path: tuple[str, ...],
        oloc: Location,
        nloc: Location,
    ) -> None:
        kind = "required.defaulted" if required and defaulted else "required" if required else "optional"
        words = {"optional": "optional", "required": "required", "required.defaulted": "required (with default)"}
        detail = f'{words[kind]} property "{name}" {verb} ({model.value} content model)'
        self.emit(f"property.{verb}.{kind}", detail, (*path, name), oloc, nloc, model)

    def _additional(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        ostate, onodes = _additional_state(ov)
        nstate, nnodes = _additional_state(nv)
        if ostate == nstate == "open" or ostate == nstate == "closed":
            return
        if ostate == "open" and nstate == "closed":
            self.emit("additional_properties.closed", "undeclared properties no longer allowed", (*path, "*"),
                      ov.object_node.location, nnodes[0].location)  # fmt: skip
        elif ostate == "closed" and nstate == "open":
            self.emit("additional_properties.opened", "undeclared properties allowed again", (*path, "*"),
                      onodes[0].location, nv.object_node.location)  # fmt: skip
        elif ostate == "open" and nstate == "map":
            if not _trivial(self.view(Shape.of(nnodes, nnodes[0]))):
                self.emit("additional_properties.restricted", "undeclared properties now need a schema", (*path, "*"),
                          ov.object_node.location, nnodes[0].location)  # fmt: skip
        elif ostate == "map" and nstate == "open":
            if not _trivial(self.view(Shape.of(onodes, onodes[0]))):
                self.emit("additional_properties.unrestricted", "undeclared properties no longer need a schema",
                          (*path, "*"), onodes[0].location, nv.object_node.location)  # fmt: skip
        else:  # at least one side is a map (a schema for undeclared names): compare the value schemas
            self.diff(
                Shape.of(onodes, ov.object_node.with_schema(True, "additionalProperties")),
                Shape.of(nnodes, nv.object_node.with_schema(True, "additionalProperties")),
                (*path, "*"),
            )

    # --- composition ---------------------------------------------------------------------------------
    def _composition(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        for kind in ("anyOf", "oneOf"):
            od = [d for d in ov.disjunctions if d.kind == kind]
            nd = [d for d in nv.disjunctions if d.kind == kind]
            for o, n in zip(od, nd, strict=False):
                self._branches(kind, _branch_shapes(o), _branch_shapes(n), path, o.node.at(kind), n.node.at(kind))
            for n in nd[len(od) :]:
                self.emit(f"{kind.lower()}.added", f"{kind} added", path, self.loc(old), n.node.at(kind))
            for o in od[len(nd) :]:
                self.emit(f"{kind.lower()}.removed", f"{kind} removed", path, o.node.at(kind), self.loc(new))
        for o_not, n_not in zip(ov.nots, nv.nots, strict=False):
            self._not(o_not, n_not, path)
        for n_not in nv.nots[len(ov.nots) :]:
            self.emit("not.added", "not added", path, self.loc(old), n_not.location)
        for o_not in ov.nots[len(nv.nots) :]:
            self.emit("not.removed", "not removed", path, o_not.location, self.loc(new))
        for oc, nc in zip(ov.conditionals, nv.conditionals, strict=False):
            if not all(self._same_keyword(oc, nc, k) for k in ("if", "then", "else")):
                self.emit("conditional.changed", "if/then/else changed", path, oc.at("if"), nc.at("if"))
        for nc in nv.conditionals[len(ov.conditionals) :]:
            self.emit("conditional.added", "if/then/else added", path, self.loc(old), nc.at("if"))
        for oc in ov.conditionals[len(nv.conditionals) :]:
            self.emit("conditional.removed", "if/then/else removed", path, oc.at("if"), self.loc(new))
        ou = [p.unevaluated for p in ov.object_parts if p.unevaluated is not None and p.unevaluated.schema
              is not False]  # fmt: skip
        nu = [p.unevaluated for p in nv.object_parts if p.unevaluated is not None and p.unevaluated.schema
              is not False]  # fmt: skip
        self._unevaluated(ou, nu, old, new, path, "unevaluatedProperties")

    def _not(self, o_not: Node, n_not: Node, path: tuple[str, ...]) -> None:
        """``not A`` → ``not B``: the inner change read the other way round.

        Old data (outside A) stays valid (outside B) when B ⊆ A, i.e. when the inner change is FORWARD
        compatible; so an inner FORWARD break is an outer BACKWARD one and vice versa. The inner changes are
        judged by the strict rules only: no lenient assumption survives a negation.
        """
        oshape, nshape = Shape.of([o_not], o_not), Shape.of([n_not], n_not)
        if self.equivalent(oshape, nshape):
            return
        sub = _Differ(self.shared, outer=self)
        sub.diff(oshape, nshape, ())
        inner: set[Direction] = set()
        undecided = False
        for change in sub.changes:
            if change.change in NEUTRAL_CHANGES:
                continue
            broken, unknown = breaking_directions(change.change, change.model, "strict")
            inner.update(broken)
            undecided = undecided or unknown
        if undecided or inner == set(Direction):
            self.emit("not.changed", "the schema under not changed", path, o_not.location, n_not.location)
        elif inner == {Direction.FORWARD}:
            self.emit("not.narrowed", "the schema under not admits more (so fewer values are valid)", path,
                      o_not.location, n_not.location)  # fmt: skip
        elif inner == {Direction.BACKWARD}:
            self.emit("not.widened", "the schema under not admits less (so more values are valid)", path,
                      o_not.location, n_not.location)  # fmt: skip

    def _same_keyword(self, o: Node, n: Node, keyword: str) -> bool:
        if (keyword in o.mapping) != (keyword in n.mapping):
            return False
        if keyword not in o.mapping:
            return True
        oc, nc = o.child(keyword), n.child(keyword)
        return self.equivalent(Shape.of([oc], oc), Shape.of([nc], nc))

    def _unions(self, old: Shape, ov: View, new: Shape, nv: View, path: tuple[str, ...]) -> None:
        """At least one side is nothing but an anyOf/oneOf: compare branch by branch.

        The other side, if it is not a union, is read as a one-branch union (split by type when it admits
        several), so ``T`` → ``anyOf: [T, null]`` reads as "null branch added" and nothing else.
        """
        ou, nu = ov.pure_union, nv.pure_union
        obranches = self._split(_branch_shapes(ou, old.restrict) if ou else [old])
        nbranches = self._split(_branch_shapes(nu, new.restrict) if nu else [new])
        if ou is not None and nu is not None and ou.kind != nu.kind:
            one_of = nbranches if nu.kind == "oneOf" else obranches
            if not self._pairwise_disjoint(one_of):  # disjoint branches: "exactly one" is "at least one"
                change = "anyof.became.oneof" if nu.kind == "oneOf" else "oneof.became.anyof"
                self.emit(change, f"{ou.kind} became {nu.kind}", path, ou.node.at(ou.kind), nu.node.at(nu.kind))
        kind = nu.kind if nu is not None else ou.kind if ou is not None else "anyOf"
        oloc = ou.node.at(ou.kind) if ou else self.loc(old)
        nloc = nu.node.at(nu.kind) if nu else self.loc(new)
        self._branches(kind, obranches, nbranches, path, oloc, nloc)

    def _pairwise_disjoint(self, shapes: list[Shape]) -> bool:
        """Whether no value can match two of these branches (other types, or other discriminator values)."""
        live = [s for s in shapes if not _empty(self.view(s))]
        fams = [families(self.view(s).types) for s in live]
        tags = [self._tags(s) for s in live]
        return all(_disjoint(fams, tags, i) for i in range(len(live)))

    def _tags(self, shape: Shape) -> frozenset[tuple[str, str]]:
        """The branch's discriminator: properties pinned to one value by const or a one-value enum."""
        view = self.view(shape)
        tags = set()
        for name, nodes in view.properties.items():
            pinned = self.view(Shape.of(nodes, nodes[0])).enum
            if pinned is not None and len(pinned) == 1:
                tags.add((name, next(iter(pinned))))
        return frozenset(tags)

    def _split(self, shapes: list[Shape], depth: int = 0) -> list[Shape]:
        """Branches with nested unions flattened and multi-type branches split one type each."""
        out: list[Shape] = []
        for shape in shapes:
            view = self.view(shape)
            nested = view.pure_union
            if nested is not None and depth < 8:
                out.extend(self._split(_branch_shapes(nested, shape.restrict), depth + 1))
                continue
            fams = families(view.types)
            if fams is None or len(fams) <= 1 or view.false is not None:
                out.append(shape)
                continue
            assert view.types is not None
            for fam in sorted(fams):
                types = normalise_types(["number"]) & view.types if fam == "number" else frozenset({fam})
                out.append(Shape(shape.nodes, shape.anchor, types))
        return out

    def _branches(
        self,
        kind: str,
        old: list[Shape],
        new: list[Shape],
        path: tuple[str, ...],
        oloc: Location,
        nloc: Location,
    ) -> None:
        """Pair old and new branches (equal ones first, then by type), diff pairs, report the rest.

        A branch that accepts nothing (``allOf: [number, string]``, ``false``) is dropped first: adding or
        removing it changes no verdict of anyOf or oneOf.
        """
        old = [s for s in old if not _empty(self.view(s))]
        new = [s for s in new if not _empty(self.view(s))]
        pairs: list[tuple[int, int]] = []
        free_old, free_new = list(range(len(old))), list(range(len(new)))
        by_text: dict[str, list[int]] = {}
        for i, shape in enumerate(old):
            by_text.setdefault(_text(shape), []).append(i)
        for j in list(free_new):
            # the same JSON first (a dictionary look-up), so unchanged branches pair in linear time in any order
            same = [i for i in by_text.get(_text(new[j]), []) if i in free_old]
            for i in same + [i for i in free_old if i not in same]:
                if self.equivalent(old[i], new[j]):
                    free_old.remove(i)
                    free_new.remove(j)
                    break
        fams_old = [families(self.view(s).types) for s in old]
        fams_new = [families(self.view(s).types) for s in new]
        tags_old = [self._tags(s) for s in old]
        tags_new = [self._tags(s) for s in new]
        for rule in ("tag", "same", "overlap"):
            for j in list(free_new):
                for i in free_old:
                    fo, fn = fams_old[i], fams_new[j]
                    if rule == "tag":  # a discriminator: {"kind": {"const": "card"}} pairs with the same tag
                        match = bool(tags_old[i]) and tags_old[i] == tags_new[j]
                    elif tags_old[i] and tags_new[j] and tags_old[i] != tags_new[j]:
                        match = False  # branches with different discriminator values are different branches
                    else:
                        match = fo == fn if rule == "same" else (fo is None or fn is None or bool(fo & fn))
                    if match:
                        pairs.append((i, j))
                        free_old.remove(i)
                        free_new.remove(j)
                        break
        for i, j in pairs:
            self.diff(old[i], new[j], path)
        for j in free_new:
            disjoint = _disjoint(fams_new, tags_new, j)
            what = _describe(self.view(new[j]), new[j])
            if fams_new[j] == _NULL and (kind == "anyOf" or disjoint):
                self.emit("type.nullable.added", f"null allowed ({kind} branch added)", path, oloc,
                          new[j].location)  # fmt: skip
            else:
                change = "anyof.branch.added" if kind == "anyOf" else "oneof.branch.added"
                change += ".disjoint" if kind == "oneOf" and disjoint else ""
                self.emit(change, f"{kind} branch added ({what})", path, oloc, new[j].location)
        for i in free_old:
            disjoint = _disjoint(fams_old, tags_old, i)
            what = _describe(self.view(old[i]), old[i])
            if fams_old[i] == _NULL and (kind == "anyOf" or disjoint):
                self.emit("type.nullable.removed", f"null no longer allowed ({kind} branch removed)", path,
                          old[i].location, nloc)  # fmt: skip
            else:
                change = "anyof.branch.removed" if kind == "anyOf" else "oneof.branch.removed"
                change += ".disjoint" if kind == "oneOf" and disjoint else ""
                self.emit(change, f"{kind} branch removed ({what})", path, old[i].location, nloc)


_REF_KEYWORDS = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})


def _identical(old: Shape, new: Shape) -> bool:
    """A fast path: the same JSON, with no reference whose target could differ, cannot hold a change."""
    if len(old.nodes) != 1 or len(new.nodes) != 1 or old.restrict != new.restrict:
        return False
    a, b = old.nodes[0].schema, new.nodes[0].schema
    return _same_json(a, b) and not _has_ref(a)


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality that, unlike ``==``, tells ``true`` from ``1``."""
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return (type(a) is type(b) and a == b) or (
        isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool)
        and not isinstance(b, bool) and a == b
    )  # fmt: skip


def _has_ref(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(k in _REF_KEYWORDS for k in value) or any(_has_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    return False


def _branch_shapes(disjunction: Disjunction, restrict: frozenset[str] | None = None) -> list[Shape]:
    return [Shape((b,), b, restrict) for b in disjunction.branches]


def _disjoint(fams: list[frozenset[str] | None], tags: list[frozenset[tuple[str, str]]], index: int) -> bool:
    """Whether no other branch can accept what branch ``index`` accepts: other types, or another tag value."""

    def apart(k: int) -> bool:
        mine, other = fams[index], fams[k]
        if mine is not None and other is not None and not (mine & other):
            return True
        pinned = dict(tags[index])
        return any(name in pinned and pinned[name] != value for name, value in tags[k])

    return all(apart(k) for k in range(len(fams)) if k != index)


def _describe(view: View, shape: Shape) -> str:
    for node in shape.nodes:
        if isinstance(node.mapping.get("$ref"), str):
            return f"$ref {node.mapping['$ref']}"
    if view.types is not None:
        return f"type {show_types(view.types)}"
    if view.enum is not None:
        return f"{view.enum_keyword} {_values(view.enum.values())}"
    return "schema"


def _refs(targets: Mapping[str, tuple[str, Node]]) -> str:
    return " and ".join(sorted(short_uri(uri) for uri, _ in targets.values()))


def _model(view: View, name: str) -> ContentModel:
    """The content model that governs ``name`` on a side that does not declare it."""
    declared = set(view.properties)
    for part in view.object_parts:
        matched = any(_search(p, name) for p in part.patterns)
        additional = part.additional.schema if part.additional is not None else None
        if additional is False and name not in part.declared and not matched:
            return ContentModel.CLOSED
        unevaluated = part.unevaluated.schema if part.unevaluated is not None else None
        anywhere = any(_search(p, name) for q in view.object_parts for p in q.patterns)
        if unevaluated is False and name not in declared and not anywhere:
            return ContentModel.CLOSED
    return ContentModel.OPEN


def _additional_state(view: View) -> tuple[str, list[Node]]:
    """ "closed" (false), "map" (a value schema for undeclared names) or "open", with the nodes that say so."""
    closed, schemas = [], []
    for part in view.object_parts:
        for node in (part.additional, part.unevaluated):
            if node is None or node.schema is True or node.schema == {}:
                continue
            if node.schema is False:
                if node is part.unevaluated and part.additional is not None:
                    continue  # additionalProperties already decides what is undeclared here
                closed.append(node)
            elif node is part.additional:
                schemas.append(node)
    if closed:
        return "closed", closed
    if schemas:
        return "map", schemas
    return "open", []


def _search(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


def _governing(view: View, name: str) -> list[Node]:
    """The schemas a side that does not declare ``name`` applies to it, when some conjunct gives one.

    Each conjunct applies its matching ``patternProperties`` or, failing those, its ``additionalProperties``;
    ``unevaluatedProperties`` applies when no conjunct evaluated the name (and no in-place applicator could).
    Empty when the name is left open; a list holding ``false`` when it is closed (the caller checks that
    through :func:`_model` first, so a ``false`` here only comes with a map that also forbids it).
    """
    out: list[Node] = []
    evaluated = False
    for part in view.object_parts:
        matched = [n for p in part.patterns if _search(p, name) for n in view.pattern_properties.get(p, [])
                   if n.parts[:-2] == part.node.parts and n.uri == part.node.uri]  # fmt: skip
        if matched:
            out.extend(matched)
            evaluated = True
        elif part.additional is not None:
            out.append(part.additional)
            evaluated = True
    if not evaluated and not (view.disjunctions or view.conditionals or view.dependent_schemas):
        out.extend(p.unevaluated for p in view.object_parts if p.unevaluated is not None)
    if any(n.schema is False for n in out):
        return []  # closed: the content-model rules report it
    if all(n.schema is True or n.schema == {} for n in out):
        return []  # open
    return out


def _declared(view: View, name: str) -> list[Node]:
    """What a side that declares ``name`` applies to its value: the property and any matching patterns."""
    out = list(view.properties.get(name, []))
    for pattern, nodes in view.pattern_properties.items():
        if _search(pattern, name):
            out.extend(nodes)
    return out


def _trivial(view: View) -> bool:
    """A schema that accepts every value (``true``, ``{}``, annotations only)."""
    return view.false is None and not view.validating and not view.disjunctions and not view.ref_nodes


def _items_dynamic(view: View) -> bool:
    """Whether which items ``unevaluatedItems`` sees depends on the data (an in-place applicator or contains)."""
    return bool(view.unevaluated_items) and bool(view.disjunctions or view.conditionals or view.contains)


def _empty(view: View) -> bool:
    """A schema no value satisfies, as far as the merged keywords show (``false``, no common type or value)."""
    if view.false is not None:
        return True
    if view.types is not None and not view.types:
        return True
    return view.enum is not None and not view.enum


_LINK_KEYWORDS = frozenset(
    {"$ref", "$dynamicRef", "allOf", "$defs", "definitions", "$schema", "$id", "$anchor", "$dynamicAnchor",
     "$comment", "title", "description"}
)  # fmt: skip


def _only_links(node: Node) -> bool:
    """A node that only leads elsewhere (``$ref``, ``allOf``) and says nothing itself."""
    return isinstance(node.schema, Mapping) and bool(node.schema) and node.schema.keys() <= _LINK_KEYWORDS


def _text(shape: Shape) -> str:
    """A branch's JSON (with its type restriction), to find its unchanged counterpart by look-up."""
    return canonical([[n.schema for n in shape.nodes], sorted(shape.restrict or ())])
