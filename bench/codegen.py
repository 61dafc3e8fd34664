"""How fast is ``pubsub generate`` compared with datamodel-code-generator alone, on synthetic registries?

Run ``.venv/bin/python -m bench.codegen [--quick] [--runs N] [--profile SIZE]``.

For each size (50 / 200 / 800 event schema files; ``--quick``: 20 / 50) a deterministic (seeded) registry is
written to a temporary folder: realistic event schemas (10-20 properties: patterned and formatted strings,
bounded integers, enums, nullable fields, nested objects, arrays of objects in ``$defs``), a handful of shared
definition files under ``common/`` referenced by relative path *or* by absolute ``$id``, and a ``pubsub.toml``
with a few channels and several versions for some events. Then, in this one process:

* **ours**: ``pubsub generate`` into an empty output folder, called in-process (``hipponot_pubsub.generator.cli.main``);
* **DCG alone**: one ``datamodel_code_generator.generate`` call on a copy of the same schemas in which the
  absolute-``$id`` refs were rewritten to relative paths (outside the timed section), with the option set of
  ``generator/codegen/models.py``;
* **check, no change**: ``pubsub generate --check`` right after generating (the digest fast path);
* **check after a change**: ``--check`` after editing one schema's description (a full rebuild and compare).

Times are wall-clock (``time.perf_counter``), in-process with every module imported beforehand and one
untimed warm-up run, best of N (3; ``--quick``: 1). Peak RSS is the process high-water mark
(``resource.getrusage``) after each size, so it only grows. Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import cProfile
import io
import json
import os
import platform
import posixpath
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from datamodel_code_generator import generate
from hipponot_pubsub.generator import cli
from hipponot_pubsub.generator.codegen.models import dcg_options

SIZES = (50, 200, 800)
QUICK_SIZES = (20, 50)
SEED = 20240601
BASE_URI = "https://schemas.hipponot.dev/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
GENERATOR_ROOT = Path(cli.__file__).resolve().parent

Json = dict[str, Any]

# --------------------------------------------------------------------------------------------------------------
# Synthetic registries
# --------------------------------------------------------------------------------------------------------------

#: domain folder → channel
DOMAINS = {
    "orders": "orders",
    "inventory": "orders",
    "shipping": "orders",
    "payments": "billing",
    "invoices": "billing",
    "users": "users",
    "accounts": "users",
    "marketing": "notifications",
    "support": "notifications",
}
CHANNELS = {
    "orders": ('adapter = "redis"', "{ mode = \"streams\", maxlen = 100000, retry_limit = 5 }"),
    "billing": ('adapter = "kafka"', "{ partitions = 6, retry_limit = 3, dead_letter = true }"),
    "users": ('adapter = "memory"', "{ history = 10000 }"),
    "notifications": ('adapter = "kafka"', "{ partitions = 3, retry_limit = 3, dead_letter = true }"),
}
NOUNS = (
    "basket", "refund", "invoice", "coupon", "parcel", "return", "review", "wishlist", "subscription", "voucher",
    "ticket", "session", "device", "profile", "payout", "dispute", "chargeback", "quote", "shipment", "pickup",
    "stock", "warehouse", "supplier", "campaign", "segment", "newsletter", "survey", "consent", "password",
    "address", "preference", "loyalty", "giftcard", "bundle", "price", "discount", "catalog", "listing",
    "reservation", "booking",
)  # fmt: skip
VERBS = (
    "created", "updated", "deleted", "approved", "rejected", "expired", "renewed", "cancelled", "completed",
    "failed", "scheduled", "requested", "confirmed", "archived", "restored", "assigned", "escalated", "merged",
    "split", "flagged",
)  # fmt: skip
WORDS = (
    "order", "customer", "merchant", "store", "product", "variant", "cart", "payment", "invoice", "refund",
    "shipment", "parcel", "carrier", "warehouse", "supplier", "campaign", "channel", "session", "device", "agent",
    "ticket", "account", "plan", "coupon", "reviewer", "batch", "region", "tenant", "partner", "request",
)  # fmt: skip
TIME_VERBS = ("created", "updated", "expires", "scheduled", "processed", "confirmed", "settled", "delivered")
PATTERNS = (
    "^[A-Z]{2}-[0-9]{6}$",
    "^[a-z0-9][a-z0-9-]{2,39}$",
    "^\\+?[0-9]{7,15}$",
    "^[A-Z0-9]{8,20}$",
    "^HN-[0-9]{8}$",
    "^[A-Z][A-Z0-9_]{1,31}$",
)
ENUMS = (
    ("pending", "active", "suspended", "closed"),
    ("free", "basic", "pro", "enterprise"),
    ("in-store", "online", "phone", "partner-api"),
    ("low", "normal", "high", "urgent"),
    ("1h", "24h", "7d", "30d"),
    ("EUR", "USD", "GBP", "JPY", "CHF"),
    ("web", "ios", "android", "pos"),
)
#: shared file → property-name suffixes used when an event refers to it
COMMON_NAMES = {
    "money.json": ("amount", "total", "fee", "balance"),
    "address.json": ("address", "origin", "destination"),
    "geo-point.json": ("location", "position"),
    "customer-ref.json": ("customer", "owner"),
    "contact.json": ("contact", "recipient"),
    "audit.json": ("audit", "change"),
}


def common_schemas() -> dict[str, Json]:
    """The shared definition files (``common/*.json``); some refer to each other, by path and by ``$id``."""

    def doc(name: str, body: Json) -> Json:
        return {"$schema": DRAFT, "$id": f"{BASE_URI}common/{name}", **body}

    string = {"type": "string"}
    return {
        "common/money.json": doc("money.json", {
            "title": "Money",
            "description": "An amount of money in one currency, as a decimal string.",
            "type": "object",
            "properties": {
                "amount": {"description": "Decimal amount.", "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,4})?$",
                           "maxLength": 32},
                "currency": {"description": "ISO 4217 code.", "type": "string", "pattern": "^[A-Z]{3}$"},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        }),
        "common/geo-point.json": doc("geo-point.json", {
            "title": "GeoPoint",
            "description": "WGS84 coordinates.",
            "type": "object",
            "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                "accuracy_m": {"type": ["number", "null"], "exclusiveMinimum": 0},
            },
            "required": ["lat", "lon"],
            "additionalProperties": False,
        }),
        "common/address.json": doc("address.json", {
            "title": "Address",
            "description": "A postal address.",
            "type": "object",
            "properties": {
                "line1": {**string, "minLength": 1, "maxLength": 200},
                "line2": {"type": ["string", "null"], "maxLength": 200},
                "city": {**string, "minLength": 1, "maxLength": 100},
                "postal_code": {**string, "minLength": 1, "maxLength": 20},
                "country": {**string, "pattern": "^[A-Z]{2}$"},
                "geo": {"description": "Where the address is, when geocoded.", "$ref": "geo-point.json"},
            },
            "required": ["line1", "city", "postal_code", "country"],
            "additionalProperties": False,
        }),
        "common/customer-ref.json": doc("customer-ref.json", {
            "title": "CustomerId",
            "description": "Opaque identifier of a customer account.",
            "type": "string",
            "pattern": "^cus_[0-9A-Za-z]{14}$",
        }),
        "common/contact.json": doc("contact.json", {
            "title": "Contact",
            "description": "How to reach a person.",
            "type": "object",
            "properties": {
                "email": {**string, "format": "email", "maxLength": 254},
                "phone": {"type": ["string", "null"], "pattern": "^\\+[0-9]{7,15}$"},
                "preferred": {**string, "enum": ["email", "sms", "push", "none"]},
                "customer": {"$ref": f"{BASE_URI}common/customer-ref.json"},
            },
            "required": ["email", "preferred"],
            "additionalProperties": False,
        }),
        "common/audit.json": doc("audit.json", {
            "title": "Audit",
            "description": "Who did what, when.",
            "type": "object",
            "properties": {
                "actor": {"$ref": f"{BASE_URI}common/customer-ref.json"},
                "at": {**string, "format": "date-time"},
                "reason": {"type": ["string", "null"], "maxLength": 500},
                "source_ip": {**string, "format": "ipv4"},
            },
            "required": ["actor", "at"],
            "additionalProperties": False,
        }),
    }  # fmt: skip


def camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace("-", "_").split("_") if part)


class SchemaMaker:
    """Random (seeded) properties for one event."""

    KINDS = (
        ("uuid", 10), ("datetime", 8), ("date", 3), ("code", 7), ("text", 7), ("email", 3), ("uri", 2),
        ("count", 6), ("number", 4), ("bool", 5), ("enum", 7), ("nullable_text", 5), ("nullable_int", 3),
        ("nested", 4), ("array_objects", 4), ("array_strings", 3), ("ref", 8), ("nullable_ref", 3), ("map", 2),
    )  # fmt: skip

    def __init__(self, rng: random.Random, defs: Json) -> None:
        self.rng = rng
        self.defs = defs  # the event's $defs, filled as array item types are made
        self.names: set[str] = set()

    def name(self, candidates: Callable[[], str]) -> str:
        for _ in range(50):
            name = candidates()
            if name not in self.names:
                self.names.add(name)
                return name
        name = f"{candidates()}_{len(self.names)}"
        self.names.add(name)
        return name

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def common_ref(self, target: str) -> str:
        if self.rng.random() < 0.5:
            return f"../common/{target}"
        return f"{BASE_URI}common/{target}"

    def scalar(self, kind: str) -> tuple[str, Json]:
        """A property name and schema of a non-composite kind."""
        rng, w = self.rng, self.word
        if kind == "uuid":
            return self.name(lambda: f"{w()}_id"), {"type": "string", "format": "uuid"}
        if kind == "datetime":
            return self.name(lambda: f"{rng.choice(TIME_VERBS)}_at"), {"type": "string", "format": "date-time"}
        if kind == "date":
            return self.name(lambda: f"{w()}_date"), {"type": "string", "format": "date"}
        if kind == "code":
            suffix = rng.choice(("code", "number", "ref"))
            return self.name(lambda: f"{w()}_{suffix}"), {"type": "string", "pattern": rng.choice(PATTERNS)}
        if kind == "text":
            suffix = rng.choice(("name", "note", "label", "title"))
            return self.name(lambda: f"{w()}_{suffix}"), {
                "type": "string", "minLength": rng.choice((0, 1)), "maxLength": rng.choice((32, 120, 500, 2000))}
        if kind == "email":
            return self.name(lambda: f"{w()}_email"), {"type": "string", "format": "email", "maxLength": 254}
        if kind == "uri":
            return self.name(lambda: f"{w()}_url"), {"type": "string", "format": "uri"}
        if kind == "count":
            suffix = rng.choice(("count", "quantity", "attempts", "position"))
            low = rng.choice((0, 1))
            return self.name(lambda: f"{w()}_{suffix}"), {
                "type": "integer", "minimum": low, "maximum": rng.choice((99, 999, 100000, 2147483647))}
        if kind == "number":
            suffix = rng.choice(("score", "ratio", "weight_kg"))
            return self.name(lambda: f"{w()}_{suffix}"), {"type": "number", "minimum": 0, "maximum": 1} \
                if suffix == "ratio" else {"type": "number", "exclusiveMinimum": 0}
        if kind == "bool":
            return self.name(lambda: rng.choice((f"is_{w()}_verified", f"{w()}_enabled"))), {"type": "boolean"}
        if kind == "enum":
            values = list(rng.choice(ENUMS))
            if rng.random() < 0.1 and "type" not in self.names:  # a property called "type" is common
                self.names.add("type")
                return "type", {"type": "string", "enum": values}
            suffix = rng.choice(("status", "kind", "tier", "priority"))
            return self.name(lambda: f"{w()}_{suffix}"), {"type": "string", "enum": values}
        if kind == "nullable_text":
            if rng.random() < 0.1 and "from" not in self.names:  # ... and so is "from" (a keyword)
                self.names.add("from")
                return "from", {"type": ["string", "null"], "format": "email"}
            return self.name(lambda: f"{w()}_comment"), {"type": ["string", "null"], "maxLength": 1000}
        if kind == "nullable_int":
            return self.name(lambda: f"{w()}_limit"), {"type": ["integer", "null"], "minimum": 0}
        raise ValueError(kind)

    def scalar_kind(self) -> str:
        kinds = [k for k, _ in self.KINDS[:13]]
        weights = [wt for _, wt in self.KINDS[:13]]
        return self.rng.choices(kinds, weights)[0]

    def small_object(self, count: int) -> tuple[Json, list[str]]:
        inner = SchemaMaker(self.rng, self.defs)
        props: Json = {}
        for _ in range(count):
            name, schema = inner.scalar(inner.scalar_kind())
            props[name] = schema
        required = sorted(n for n in props if self.rng.random() < 0.6)
        return props, required

    def prop(self) -> tuple[str, Json]:
        rng, w = self.rng, self.word
        kind = rng.choices([k for k, _ in self.KINDS], [wt for _, wt in self.KINDS])[0]
        if kind == "nested":
            props, required = self.small_object(rng.randint(3, 5))
            suffix = rng.choice(("details", "summary", "metadata"))
            schema: Json = {"type": "object", "properties": props, "additionalProperties": False}
            if required:
                schema["required"] = required
            return self.name(lambda: f"{w()}_{suffix}"), schema
        if kind == "array_objects":
            props, required = self.small_object(rng.randint(3, 5))
            if rng.random() < 0.5:
                props["unit_price"] = {"description": "Price of one unit.", "$ref": self.common_ref("money.json")}
                required = sorted({*required, "unit_price"})
            singular, plural = rng.choice((("line", "lines"), ("entry", "entries"), ("item", "items")))
            name = self.name(lambda: f"{w()}_{plural}")
            title = camel(f"{name.removesuffix(plural)}{singular}")
            item: Json = {"title": title, "type": "object", "properties": props, "additionalProperties": False}
            if required:
                item["required"] = required
            self.defs[title] = item
            return name, {"type": "array", "items": {"$ref": f"#/$defs/{title}"}, "minItems": rng.choice((0, 1)),
                          "maxItems": rng.choice((50, 100, 1000))}
        if kind == "array_strings":
            schema = {"type": "array", "items": {"type": "string", "pattern": rng.choice(PATTERNS)}}
            if rng.random() < 0.5:
                schema["uniqueItems"] = True
            return self.name(lambda: f"{w()}_{rng.choice(('tags', 'skus', 'codes'))}"), schema
        if kind in ("ref", "nullable_ref"):
            target = rng.choice(sorted(COMMON_NAMES))
            suffix = rng.choice(COMMON_NAMES[target])
            ref = self.common_ref(target)
            name = self.name(lambda: f"{w()}_{suffix}")
            if kind == "ref":
                return name, {"description": f"The {name.replace('_', ' ')}.", "$ref": ref}
            return name, {"anyOf": [{"$ref": ref}, {"type": "null"}]}
        if kind == "map":
            return self.name(lambda: f"{w()}_counters"), {
                "type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
        return self.scalar(kind)


@dataclass
class EventSpec:
    type: str
    domain: str
    noun: str
    verb: str
    versions: int


@dataclass
class Synthetic:
    files: dict[str, Json] = field(default_factory=dict)  # path under schemas/ → schema
    toml: str = ""
    events: list[EventSpec] = field(default_factory=list)


def event_schema(spec: EventSpec, number: int, seed: str) -> Json:
    """Version ``number`` of an event: version N adds N-1 optional properties to version 1."""
    rng = random.Random(f"{seed}:{spec.type}")
    defs: Json = {}
    maker = SchemaMaker(rng, defs)
    count = rng.randint(10, 20)
    props: Json = {}
    for _ in range(count):
        name, schema = maker.prop()
        schema.setdefault("description", f"{name.replace('_', ' ').capitalize()}.")
        props[name] = schema
    required = [n for n in props if rng.random() < 0.6]
    extra_rng = random.Random(f"{seed}:{spec.type}:extras")
    extra = SchemaMaker(extra_rng, defs)
    extra.names = set(maker.names)
    added = []
    for _ in range(number - 1):
        name, schema = extra.scalar(extra.scalar_kind())
        schema["description"] = f"{name.replace('_', ' ').capitalize()} (optional, new in a later version)."
        props[name] = schema
        added.append(name)
    title = camel(f"{spec.noun}_{spec.verb}")
    article = "An" if spec.noun[0] in "aeiou" else "A"
    description = f"{article} {spec.noun} was {spec.verb} ({spec.domain})."
    if added:
        description += f" v{number} adds {', '.join(added)}."
    schema_doc: Json = {
        "$schema": DRAFT,
        "$id": f"{BASE_URI}{spec.domain}/{spec.noun}-{spec.verb}.v{number}.json",
        "title": title,
        "description": description,
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }
    if defs:
        schema_doc["$defs"] = dict(sorted(defs.items()))
    return schema_doc


def synthesise(size: int, seed: int = SEED) -> Synthetic:
    """A registry with exactly ``size`` event schema files (plus the shared ``common/`` files)."""
    key = f"{seed}:{size}"
    rng = random.Random(key)
    combos = [(d, n, v) for d in DOMAINS for n in NOUNS for v in VERBS]
    rng.shuffle(combos)
    synthetic = Synthetic(files=common_schemas())
    remaining = size
    for domain, noun, verb in combos:
        if remaining == 0:
            break
        versions = min(remaining, rng.choices((1, 2, 3), (70, 20, 10))[0])
        remaining -= versions
        synthetic.events.append(EventSpec(f"{domain}.{noun}_{verb}", domain, noun, verb, versions))
    synthetic.events.sort(key=lambda e: e.type)
    lines = [
        "# Synthetic registry written by bench/codegen.py.",
        "[registry]",
        f'name = "bench-{size}"',
        f'default_dialect = "{DRAFT}"',
        'compatibility = "BACKWARD"',
        'rules = "lenient"',
        'exclude = ["examples/**"]',
        "",
    ]
    for channel, (adapter, options) in CHANNELS.items():
        lines += [f"[channels.{channel}]", adapter, f'description = "Synthetic {channel} channel."',
                  f"options = {options}", ""]
    for spec in synthetic.events:
        table = []
        for number in range(1, spec.versions + 1):
            path = f"{spec.domain}/{spec.noun}-{spec.verb}.v{number}.json"
            synthetic.files[path] = event_schema(spec, number, key)
            table.append(f'{number} = "{path}"')
        lines += [f'[events."{spec.type}"]', f'channel = "{DOMAINS[spec.domain]}"',
                  f'description = "A {spec.noun} was {spec.verb}."', f"versions = {{ {', '.join(table)} }}", ""]
    synthetic.toml = "\n".join(lines)
    return synthetic


def _walk_refs(node: Any, path: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node
        for value in node.values():
            yield from _walk_refs(value, path)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value, path)


def dcg_copy(path: str, schema: Json) -> Json:
    """The schema as datamodel-code-generator alone can read it: ``$ref``s by relative file path, no ``$id``.

    The ``$id`` goes too: with an absolute ``$id`` in force, DCG resolves relative refs against it, i.e. over
    HTTP. (Our generator drops ``$id`` and ``$schema`` the same way before calling DCG.)
    """
    schema = copy.deepcopy(schema)
    for node in _walk_refs(schema, path):
        ref: str = node["$ref"]
        if ref.startswith(BASE_URI):
            node["$ref"] = posixpath.relpath(ref.removeprefix(BASE_URI), posixpath.dirname(path) or ".")
    schema.pop("$id", None)
    schema.pop("$schema", None)
    return schema


def write_tree(root: Path, files: dict[str, Json]) -> None:
    for rel, schema in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    rc: int
    seconds: float
    stdout: str
    stderr: str


def run_cli(argv: list[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        started = time.perf_counter()
        try:
            rc = cli.main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # a crash of the generator is a finding, not the end of the benchmark
            rc = -1
            err.write(f"{type(exc).__name__}: {exc}\n")
        seconds = time.perf_counter() - started
    return Outcome(rc, seconds, out.getvalue(), err.getvalue())


def ours(schemas: Path, out: Path, *, check: bool = False) -> Outcome:
    argv = ["--schemas", str(schemas), "generate", "--out", str(out), "--package", "generated", "-q"]
    return run_cli([*argv, "--check"] if check else argv)


def ours_subprocess(schemas: Path, out: Path, *, check: bool = False) -> Outcome:
    """The same command in a fresh interpreter: what CI pays (interpreter start and imports included)."""
    argv = [sys.executable, "-m", "hipponot_pubsub.generator", "--schemas", str(schemas), "generate", "--out", str(out),
            "-q"]
    started = time.perf_counter()
    done = subprocess.run([*argv, "--check"] if check else argv, capture_output=True, text=True, check=False)
    return Outcome(done.returncode, time.perf_counter() - started, done.stdout, done.stderr)


def import_check(out: Path) -> str | None:
    """Import every generated module in a fresh interpreter (untimed); the error text if that fails."""
    code = (
        "import importlib, pathlib, sys\n"
        "import generated\n"
        "root = pathlib.Path(generated.__file__).parent\n"
        "assert str(root.parent) == sys.path[0] or root.parent == pathlib.Path.cwd(), root\n"
        "for path in sorted(root.rglob('*.py')):\n"
        "    parts = path.relative_to(root.parent).with_suffix('').parts\n"
        "    importlib.import_module('.'.join(parts[:-1] if parts[-1] == '__init__' else parts))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=out.parent, capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else done.stderr.strip()[-2000:]


def dcg_alone(folder: Path, out: Path) -> float:
    """One datamodel-code-generator call with the very options generator/codegen/models.py uses."""
    started = time.perf_counter()
    generate(folder, output=out, **dcg_options())
    return time.perf_counter() - started


@dataclass
class Row:
    size: int
    files: int
    events: int
    ours: float | None = None
    dcg: float | None = None
    ours_cold: float | None = None
    check_same: float | None = None
    check_same_cold: float | None = None
    check_changed: float | None = None
    rss_mib: float = 0.0
    notes: list[str] = field(default_factory=list)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def best(values: list[float]) -> float | None:
    return min(values) if values else None


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def prepare(size: int, tmp: Path) -> tuple[Synthetic, Path, Path]:
    synthetic = synthesise(size)
    schemas = tmp / "schemas"
    write_tree(schemas, synthetic.files)
    (schemas / "pubsub.toml").write_text(synthetic.toml, encoding="utf-8")
    dcg_in = tmp / "dcg-in"
    write_tree(dcg_in, {path: dcg_copy(path, schema) for path, schema in synthetic.files.items()})
    return synthetic, schemas, dcg_in


def measure(size: int, runs: int) -> Row:
    with tempfile.TemporaryDirectory(prefix=f"bench-codegen-{size}-") as scratch:
        tmp = Path(scratch)
        synthetic, schemas, dcg_in = prepare(size, tmp)
        row = Row(size, len(synthetic.files), len(synthetic.events))
        ours_times: list[float] = []
        dcg_times: list[float] = []
        first_out: Path | None = None
        for i in range(runs):  # interleaved, so background load hits both alike
            out = tmp / f"ours-{i}" / "generated"
            result = ours(schemas, out)
            if result.rc == 0:
                ours_times.append(result.seconds)
                first_out = first_out or out
            elif i == 0:
                row.notes.append(f"ours failed (rc {result.rc}): {result.stderr.strip()[:2000]}")
            try:
                dcg_times.append(dcg_alone(dcg_in, tmp / f"dcg-{i}"))
            except Exception as exc:
                if i == 0:
                    row.notes.append(f"DCG alone failed: {type(exc).__name__}: {str(exc)[:2000]}")
            say(f"size {size} run {i + 1}/{runs}: ours rc {result.rc} {result.seconds:.2f}s, "
                f"DCG alone {fmt(dcg_times[-1] if dcg_times else None)}s")
        row.ours, row.dcg = best(ours_times), best(dcg_times)
        cold = ours_subprocess(schemas, tmp / "ours-cold" / "generated")
        row.ours_cold = cold.seconds if cold.rc == 0 else None
        if cold.rc != 0:
            row.notes.append(f"new-process generate failed (rc {cold.rc}): {cold.stderr.strip()[-1500:]}")
        if first_out is not None:
            problem = import_check(first_out)
            if problem:
                row.notes.append(f"the generated package does not import: {problem}")
            same: list[float] = []
            changed: list[float] = []
            spec = synthetic.events[len(synthetic.events) // 2]
            touched = schemas / f"{spec.domain}/{spec.noun}-{spec.verb}.v{spec.versions}.json"
            original = touched.read_bytes()
            for i in range(runs):
                result = ours(schemas, first_out, check=True)
                if result.rc != 0:
                    row.notes.append(f"--check without change said stale (rc {result.rc}): {result.stderr[:500]}")
                same.append(result.seconds)
                edited = json.loads(original)
                edited["description"] += f" Edited ({i})."
                touched.write_text(json.dumps(edited, indent=2) + "\n", encoding="utf-8")
                try:
                    result = ours(schemas, first_out, check=True)
                finally:
                    touched.write_bytes(original)
                if result.rc != 1:
                    row.notes.append(f"--check after a change returned rc {result.rc} (expected 1)")
                changed.append(result.seconds)
            row.check_same, row.check_changed = best(same), best(changed)
            cold_checks = [ours_subprocess(schemas, first_out, check=True) for _ in range(runs)]
            row.check_same_cold = best([c.seconds for c in cold_checks if c.rc == 0])
            if cold_checks[0].rc != 0:
                row.notes.append(f"new-process --check without change returned rc {cold_checks[0].rc}: "
                                 f"{cold_checks[0].stderr.strip()[-1500:]}")
            say(f"size {size}: check no change {row.check_same:.3f}s, after a change {row.check_changed:.2f}s")
        row.rss_mib = peak_rss_mib()
    return row


def warm_up() -> None:
    """One untimed tiny run of each, so lazy imports and template loading are not charged to the first size."""
    with tempfile.TemporaryDirectory(prefix="bench-codegen-warm-") as scratch:
        tmp = Path(scratch)
        _, schemas, dcg_in = prepare(5, tmp)
        result = ours(schemas, tmp / "out" / "generated")
        if result.rc != 0:
            say(f"warm-up: ours failed (rc {result.rc}): {result.stderr.strip()[:2000]}")
        dcg_alone(dcg_in, tmp / "dcg")


def phase_split(size: int, runs: int = 2) -> dict[str, float]:
    """lint_registry / the models step inside build / the rest of build / write, timed without the profiler."""
    from hipponot_pubsub.generator.codegen import pipeline
    from hipponot_pubsub.generator.codegen.output import write_atomically
    from hipponot_pubsub.generator.registry import lint_registry

    timings: dict[str, list[float]] = {}
    hook = "generate_models"  # patched in pipeline's namespace for the duration of the measurement
    models_step: Callable[..., Any] = getattr(pipeline, hook)

    def timed_models(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return models_step(*args, **kwargs)
        finally:
            timings.setdefault(MODELS, []).append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory(prefix=f"bench-codegen-phases-{size}-") as scratch:
        tmp = Path(scratch)
        _, schemas, dcg_in = prepare(size, tmp)
        for i in range(runs):
            started = time.perf_counter()
            registry, _ = lint_registry(schemas)
            timings.setdefault("load + lint the registry (`lint_registry`)", []).append(time.perf_counter() - started)
            assert registry is not None
            setattr(pipeline, hook, timed_models)
            try:
                started = time.perf_counter()
                files = pipeline.build(registry)
                whole = time.perf_counter() - started
            finally:
                setattr(pipeline, hook, models_step)
            timings.setdefault(REST, []).append(whole - timings[MODELS][-1])
            started = time.perf_counter()
            write_atomically(files, tmp / f"out-{i}" / "generated")
            timings.setdefault("`write_atomically`", []).append(time.perf_counter() - started)
            timings.setdefault("(DCG alone on the same inputs, for comparison)", []).append(
                dcg_alone(dcg_in, tmp / f"dcg-{i}"))
    return {name: min(values) for name, values in timings.items()}


MODELS = "models step in `build` (`generate_models`: ref rewriting, scratch files, one DCG call)"
REST = "rest of `build` (bundles, delegation, templates, manifest)"


def profile(size: int, top: int = 10) -> str:
    """cProfile one ``pubsub generate`` at ``size``; the top entries of our own code by cumulative time."""
    with tempfile.TemporaryDirectory(prefix=f"bench-codegen-prof-{size}-") as scratch:
        tmp = Path(scratch)
        _, schemas, _ = prepare(size, tmp)
        profiler = cProfile.Profile()
        profiler.enable()
        result = ours(schemas, tmp / "out" / "generated")
        profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = result.seconds
    own = []
    dcg_generate = 0.0
    for (filename, line, func), (_, calls, tottime, cumtime, _) in raw.items():
        path = Path(filename)
        if path.is_relative_to(GENERATOR_ROOT):
            own.append((cumtime, tottime, calls, f"{path.relative_to(GENERATOR_ROOT.parent)}:{line}({func})"))
        elif func == "generate" and "datamodel_code_generator" in filename and path.name == "__init__.py":
            dcg_generate = max(dcg_generate, cumtime)
    own.sort(reverse=True)
    phases = phase_split(size)
    lines = [
        f"### Where one `pubsub generate` of {size} event schemas goes, without the profiler (best of 2)",
        "",
        "| phase | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in phases.items()),
        "",
        f"### cProfile of one `pubsub generate`, {size} event schemas "
        f"(rc {result.rc}, {total:.2f}s under the profiler)",
        "",
        f"`datamodel_code_generator.generate` cumulative: {dcg_generate:.2f}s "
        f"({100 * dcg_generate / total:.0f}% of the run); everything else: {total - dcg_generate:.2f}s.",
        "",
        "| cumulative (s) | own (s) | calls | function |",
        "|---:|---:|---:|---|",
    ]
    lines += [f"| {cum:.2f} | {tot:.2f} | {calls} | `{where}` |" for cum, tot, calls, where in own[:top]]
    return "\n".join(lines)


def code_stamp() -> dict[str, int]:
    """mtime of every generator source file: other people edit it while we measure."""
    return {str(p): p.stat().st_mtime_ns for p in sorted(GENERATOR_ROOT.rglob("*")) if p.suffix in (".py", ".j2")}


def fmt(value: float | None, digits: int = 2) -> str:
    return "failed" if value is None else f"{value:.{digits}f}"


def ratio(row: Row) -> str:
    return f"{row.ours / row.dcg:.2f}x" if row.ours is not None and row.dcg else "-"


HEADERS = ("size", "files", "events", "ours (s)", "DCG alone (s)", "ours/DCG", "check no-change (s)",
           "check after change (s)", "peak RSS (MiB)", "ours, new process (s)", "check no-change, new process (s)")


def cells(row: Row) -> tuple[str, ...]:
    return (str(row.size), str(row.files + len(common_schemas())), str(row.events), fmt(row.ours), fmt(row.dcg),
            ratio(row), fmt(row.check_same, 3), fmt(row.check_changed), f"{row.rss_mib:.0f}", fmt(row.ours_cold),
            fmt(row.check_same_cold))


def text_table(rows: list[Row]) -> str:
    table = [HEADERS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in table)


def markdown(rows: list[Row], runs: int, elapsed: float, changed: list[str]) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"### `pubsub generate` vs datamodel-code-generator alone (best of {runs})",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---:" for _ in HEADERS) + "|",
    ]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    lines += [
        "",
        f"- size = event schema files; files = those + {len(common_schemas())} shared `common/*.json`; "
        "events = event types (some with 2-3 versions).",
        "- Wall-clock, in-process (`hipponot_pubsub.generator.cli.main` / `datamodel_code_generator.generate`), "
        "modules imported and one untimed warm-up run first; each generate writes into a fresh, empty folder.",
        "- DCG alone: same schemas with absolute-`$id` refs rewritten to relative paths (untimed), same main "
        "options as `generator/codegen/models.py` (minus the per-event `base_class_map` and title renaming).",
        "- check after change = `--check` after editing one schema's description (full rebuild + compare, exit 1).",
        "- Peak RSS = process high-water mark after the size (cumulative: ours and DCG in the same process).",
        "- new process = `python -m hipponot_pubsub.generator ... generate [--check]` as a subprocess "
        "(interpreter start and imports included; what CI pays); `ours, new process` is a single run.",
        f"- Python {platform.python_version()}, datamodel-code-generator {dist_version('datamodel-code-generator')}, "
        f"{os.cpu_count()} CPUs, load average at the end {load}; total bench time {elapsed:.0f}s. "
        "Other work was running on the machine: treat differences under ~10% as noise.",
    ]
    if changed:
        lines.append(f"- WARNING: generator code changed during the run ({', '.join(changed)}): in-process numbers "
                     "use the code loaded at start, new-process numbers the code of that moment.")
    for row in rows:
        lines += [f"- size {row.size}: {note}" for note in row.notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.codegen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 20 and 50, one run each")
    parser.add_argument("--sizes", type=int, nargs="+", help="override the sizes")
    parser.add_argument("--runs", type=int, help="runs per measurement (best is kept; default 3, quick 1)")
    parser.add_argument("--profile", type=int, metavar="SIZE", help="also cProfile one generate at SIZE")
    args = parser.parse_args(argv)
    sizes: tuple[int, ...] = tuple(args.sizes) if args.sizes else QUICK_SIZES if args.quick else SIZES
    runs: int = args.runs or (1 if args.quick else 3)
    started = time.perf_counter()
    stamp = code_stamp()
    say("warming up")
    warm_up()
    rows = []
    for size in sizes:
        say(f"size {size}: synthesising and running")
        rows.append(measure(size, runs))
    print(text_table(rows))
    for row in rows:
        for note in row.notes:
            print(f"size {row.size}: {note}")
    now = code_stamp()
    changed = sorted(Path(p).relative_to(GENERATOR_ROOT.parent).as_posix() for p in set(stamp) | set(now)
                     if stamp.get(p) != now.get(p))
    report = markdown(rows, runs, time.perf_counter() - started, changed)
    if args.profile:
        say(f"profiling size {args.profile}")
        report += "\n\n" + profile(args.profile)
    print()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
