"""Messages checked against the exported JSON Schemas, as downstream tools check them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import orjson
from confluent_kafka import Message
from jsonschema import Draft202012Validator

from schemas.export import EXPORTS, JSON_DIR

BY_NAME = {e.name: e for e in EXPORTS}


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator built from the committed file, independent of the models."""
    schema = orjson.loads((JSON_DIR / BY_NAME[name].filename).read_bytes())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(name: str, message: Any) -> list[str]:
    return [e.message for e in validator(name).iter_errors(message)]


def invalid_records(name: str, records: Iterable[Message]) -> list[list[str]]:
    """The schema errors of every Kafka record (JSON values) that breaks schema ``name``."""
    return [found for m in records if (found := errors(name, orjson.loads(m.value() or b"")))]
