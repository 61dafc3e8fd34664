"""Base classes of generated pydantic models.

Generated models must give JSON Schema's verdict, not pydantic's (which coerces ``"5"`` to 5, and cannot
express ``uniqueItems``, ``not``, ``if``/``then``…). So an event's root model checks raw JSON input against the
event's schema bundle before pydantic builds the typed object, and Python objects (``datetime``, ``UUID``,
nested models) after it builds them, on their JSON form. Readers that already validated the bytes at the
boundary pass ``context={"pubsub_validated": True}`` and skip the second check; they also ignore unknown
fields (``extra="ignore"``), so a newer producer's optional field never breaks an older consumer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, time
from functools import cache
from importlib import resources
from typing import Annotated, Any, ClassVar, Literal, Self
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    ValidationInfo,
    model_validator,
)
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, SchemaError, core_schema
from pydantic_core import SchemaValidator as CoreValidator
from pydantic_core import ValidationError as PydanticValidationError

from .errors import Violation
from .validation import SchemaValidator

VALIDATED = "pubsub_validated"
_TRUSTED = {VALIDATED: True}
#: Set by ``EventPayload.__init__``: pydantic is filling an instance that already exists.
_CONSTRUCTING = "pubsub_constructing"
_JSON_NATIVE = (str, int, float, bool, type(None))


class PayloadModel(BaseModel):
    """Every generated model: tolerant of unknown fields, populated by field name or JSON name."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# Types of the generated models' fields where pydantic's own would refuse JSON values ``jsonschema`` accepts. The
# generator uses them only where that can happen (generator/codegen/models.py); each parses the usual shape in
# pydantic-core and hands the rest to Python, so the common case costs nothing more.

_RFC3339_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
_HEX = "[0-9A-Fa-f]"
#: Per typed format: the shape (Rust regex) pydantic-core parses, its parser, Python instances, the serializer.
_FORMATS: dict[str, tuple[str, CoreSchema, CoreSchema, Literal["datetime", "time", "uuid"]]] = {
    "date-time": (r"^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}[Tt]" + _RFC3339_TIME, core_schema.datetime_schema(),
                  core_schema.datetime_schema(strict=True, tz_constraint="aware"), "datetime"),
    "time": ("^" + _RFC3339_TIME, core_schema.time_schema(),
             core_schema.time_schema(strict=True, tz_constraint="aware"), "time"),
    "uuid": (f"^{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}$", core_schema.uuid_schema(),
             core_schema.uuid_schema(strict=True), "uuid"),
}


def _shaped(format_: str) -> CoreSchema:
    pattern, parse, _, _ = _FORMATS[format_]
    return core_schema.chain_schema(
        [core_schema.str_schema(pattern=pattern, regex_engine="rust-regex", strict=True), parse])


@cache
def _shaped_validator(format_: str) -> CoreValidator:
    return CoreValidator(_shaped(format_))


class JsonFormat:
    """``Annotated`` metadata of a ``format`` the models type: exactly the strings jsonschema's checker accepts.

    pydantic's ``AwareDatetime``/``time``/``UUID`` refuse some: a date-time or time ending in one "\\n"
    (``rfc3339-validator`` matches with Python's ``$``), a UUID with more hyphens, a "}" or "urn:" inside (the
    checker is ``uuid.UUID(s)`` plus hyphens at 8, 13, 18 and 23). And they accept strings the checker refuses
    (naive or space-separated date-times, hyphen-less UUIDs, numbers). Aware ``datetime``/``time`` and ``UUID``
    instances are taken as they are (Python callers)."""

    def __init__(self, format_: str) -> None:
        self.format = format_

    def _rare(self, value: Any) -> Any:
        if isinstance(value, str):
            if self.format == "uuid":
                try:
                    parsed = UUID(value)
                except ValueError:
                    pass
                else:
                    if all(value[at] == "-" for at in (8, 13, 18, 23)):
                        return parsed
            elif value.endswith("\n") and not value.endswith("\n\n"):
                try:
                    return _shaped_validator(self.format).validate_python(value[:-1])
                except PydanticValidationError:
                    pass
        raise PydanticCustomError("json_format", "Input should be a valid {format} string", {"format": self.format})

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        _, _, instances, serializer = _FORMATS[self.format]
        rare = core_schema.no_info_plain_validator_function(self._rare)

        def first_of(*choices: CoreSchema) -> CoreSchema:
            return core_schema.union_schema(list(choices), mode="left_to_right", custom_error_type="json_format",
                                            custom_error_message=f"Input should be a valid {self.format} string")

        return core_schema.json_or_python_schema(
            json_schema=first_of(_shaped(self.format), rare),
            python_schema=first_of(_shaped(self.format), instances, rare),
            serialization=core_schema.simple_ser_schema(serializer),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"type": "string", "format": self.format}


class JsonNumber:
    """``Annotated`` metadata of an ``integer``/``number`` whose bounds let a value outgrow pydantic's types.

    jsonschema's ``integer`` is any integral number: ``1e20`` (as JavaScript writes 10**20) is one, but pydantic's
    ``int`` refuses floats from 2**63 on. Its ``number`` includes every integer: pydantic's ``float`` refuses one
    beyond 1.8e308, which is kept as the ``int`` it is."""

    def __init__(self, kind: Literal["integer", "number"]) -> None:
        self.kind = kind

    def _rare(self, value: Any) -> Any:
        if self.kind == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        if self.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            return value
        raise PydanticCustomError("json_number", "Input should be a valid {kind}", {"kind": self.kind})

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.union_schema([handler(source), core_schema.no_info_plain_validator_function(self._rare)],
                                        mode="left_to_right", custom_error_type="json_number",
                                        custom_error_message=f"Input should be a valid {self.kind}")

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"type": self.kind}


#: What generated models use for ``format: date-time``, ``time`` and ``uuid`` (see ``JsonFormat``), and for an
#: ``integer``/``number`` whose bounds admit values pydantic's ``int``/``float`` cannot hold (``JsonNumber``).
DateTime = Annotated[datetime, JsonFormat("date-time")]
Time = Annotated[time, JsonFormat("time")]
Uuid = Annotated[UUID, JsonFormat("uuid")]
Integer = Annotated[int, JsonNumber("integer")]
Number = Annotated[float, JsonNumber("number")]


def _is_json_native(value: Any) -> bool:
    if isinstance(value, _JSON_NATIVE):
        return True
    if isinstance(value, list):
        return all(_is_json_native(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json_native(item) for key, item in value.items())
    return False


def trusted_reader(model: type[BaseModel]) -> Callable[[Any], Any]:
    """``model``'s validator for JSON the boundary already validated, unknown fields ignored.

    Same result as ``model.model_validate(data, extra="ignore", context={VALIDATED: True}, by_name=False)`` (JSON
    names only), without the Python-level JSON Schema wrap validator of ``EventPayload`` (which returns at once on
    that path but still costs ~15% of reading an event): the model's own core schema, one level down. Models whose
    core schema has another shape fall back to ``model_validate``. Built once per model."""
    reader = _readers.get(model)
    if reader is None:
        reader = _readers[model] = _trusted_reader(model)
    return reader


_readers: dict[type[BaseModel], Callable[[Any], Any]] = {}


def _trusted_reader(model: type[BaseModel]) -> Callable[[Any], Any]:
    schema: Any = getattr(model, "__pydantic_core_schema__", None)
    try:
        inner = schema["schema"] if schema["type"] == "function-wrap" and issubclass(model, EventPayload) else None
        if inner is None or inner.get("type") != "model" or inner.get("cls") is not model:
            raise LookupError("not the EventPayload shape")
        validate = CoreValidator(inner).validate_python  # the model schema carries its own config
    except (LookupError, TypeError, SchemaError):
        def read(data: Any) -> Any:
            return model.model_validate(data, extra="ignore", context=_TRUSTED, by_name=False)
        return read

    def read_trusted(data: Any) -> Any:  # JSON names only: {"a_b": 5} is never the field whose alias is "a-b"
        return validate(data, extra="ignore", context=_TRUSTED, by_name=False)
    return read_trusted


@cache
def bundle_validator(package: str, bundle: str) -> SchemaValidator:
    """The compiled validator of a generated bundle (jsonschema's verdict, formats asserted), cached."""
    data = json.loads(resources.files(package).joinpath(bundle).read_text(encoding="utf-8"))
    return SchemaValidator(data)


def validator_from_bundle(data: Mapping[str, Any]) -> SchemaValidator:
    return SchemaValidator(data)


def _raise(model: type[BaseModel], violations: list[Violation]) -> None:
    details: list[InitErrorDetails] = [
        {
            "type": PydanticCustomError(
                "json_schema", "{pointer}: {message}", {"pointer": v.pointer or "/", "message": v.message}
            ),
            "loc": tuple(v.pointer.split("/")[1:]),
            "input": None,
        }
        for v in violations
    ]
    raise PydanticValidationError.from_exception_data(model.__name__, details)


def _uses_python_names(model: type[BaseModel], data: Any) -> bool:
    """``Model(class_=...)``: keyword arguments by Python name, not the JSON document's names. A key that is
    both a renamed field's Python name and another field's JSON name (``a_b`` beside ``a-b``) reads as JSON."""
    if not isinstance(data, dict):
        return False
    fields = model.model_fields
    renamed = {name for name, field in fields.items() if field.alias and field.alias != name}
    if not renamed.intersection(data):
        return False
    json_names = {field.alias or name for name, field in fields.items()}
    return bool(renamed.difference(json_names).intersection(data))


class EventPayload(PayloadModel):
    """The root model of an event version; the generator sets where its schema bundle lives."""

    __pubsub_event__: ClassVar[tuple[str, int]] = ("", 0)
    __pubsub_bundle__: ClassVar[tuple[str, str]] = ("", "")

    def __init__(self, /, **data: Any) -> None:
        """``Model(field=...)``: pydantic fills *this* instance, so the JSON Schema verdict below must end in
        pydantic's own handler, never in its fast path (which builds a new object: this one would stay empty)."""
        __tracebackhide__ = True
        self.__pydantic_validator__.validate_python(data, self_instance=self, context={_CONSTRUCTING: True})

    # Marks this __init__ as pydantic's own kind (as RootModel's is): otherwise pydantic would call it from every
    # model_validate too, replacing the caller's context (the trusted reader's included) with the one above.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @model_validator(mode="wrap")
    @classmethod
    def _json_schema_verdict(cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo) -> Self:
        package, bundle = cls.__pubsub_bundle__
        context = info.context or {}
        if not bundle or context.get(VALIDATED) or isinstance(data, cls):
            return handler(data)
        validator = bundle_validator(package, bundle)
        if _is_json_native(data) and not _uses_python_names(cls, data):
            if not validator.is_valid(data):
                _raise(cls, validator.violations(data))
            if context.get(_CONSTRUCTING):
                return handler(data)
            built: Self = trusted_reader(cls)(data)  # by JSON names only, as the schema just judged them
            return built
        built = handler(data)
        dumped = built.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if not validator.is_valid(dumped):
            _raise(cls, validator.violations(dumped))
        return built
