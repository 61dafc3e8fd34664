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
from functools import cache
from importlib import resources
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, SchemaError
from pydantic_core import SchemaValidator as CoreValidator
from pydantic_core import ValidationError as PydanticValidationError

from .errors import Violation
from .validation import SchemaValidator

VALIDATED = "pubsub_validated"
_TRUSTED = {VALIDATED: True}
_JSON_NATIVE = (str, int, float, bool, type(None))


class PayloadModel(BaseModel):
    """Every generated model: tolerant of unknown fields, populated by field name or JSON name."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


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

    Same result as ``model.model_validate(data, extra="ignore", context={VALIDATED: True})``, without the
    Python-level JSON Schema wrap validator of ``EventPayload`` (which returns at once on that path but still
    costs ~15% of reading an event): the model's own core schema, one level down. Models whose core schema has
    another shape fall back to ``model_validate``. Built once per model."""
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
            return model.model_validate(data, extra="ignore", context=_TRUSTED)
        return read

    def read_trusted(data: Any) -> Any:
        return validate(data, extra="ignore", context=_TRUSTED)
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
    """``Model(class_=...)``: keyword arguments by Python name, not the JSON document's names."""
    if not isinstance(data, dict):
        return False
    renamed = {name for name, field in model.model_fields.items() if field.alias and field.alias != name}
    return bool(renamed.intersection(data))


class EventPayload(PayloadModel):
    """The root model of an event version; the generator sets where its schema bundle lives."""

    __pubsub_event__: ClassVar[tuple[str, int]] = ("", 0)
    __pubsub_bundle__: ClassVar[tuple[str, str]] = ("", "")

    @model_validator(mode="wrap")
    @classmethod
    def _json_schema_verdict(cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo) -> Self:
        package, bundle = cls.__pubsub_bundle__
        if not bundle or (info.context or {}).get(VALIDATED) or isinstance(data, cls):
            return handler(data)
        validator = bundle_validator(package, bundle)
        if _is_json_native(data) and not _uses_python_names(cls, data):
            if not validator.is_valid(data):
                _raise(cls, validator.violations(data))
            return handler(data)
        built = handler(data)
        dumped = built.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if not validator.is_valid(dumped):
            _raise(cls, validator.violations(dumped))
        return built
