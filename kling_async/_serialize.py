"""Models to dicts and JSON, and back: in the wire form or the Python form.

The wire form is what the API sends: camelCase keys (``workId``), every attribute written,
``None`` as ``null``. The Python form has the attribute names (``work_id``). Both take free-form
JSON fields as they are. For every model ``m`` and either form::

    from_dict(type(m), to_dict(m, form=f), form=f) == m
    from_json(type(m), to_json(m, form=f), form=f) == m

Decoding checks every field as a response is checked: a value that does not fit raises
`ResponseValidationError` naming its place (``$.history[0].works[1].workId``). Integers of
any size survive in typed fields; inside free-form fields, integers beyond 64 bits come back
as floats (the JSON parser's limit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import attrs
import orjson

from ._converter import decode_json, python_keys, structure, unstructure, wire_keys
from ._exceptions import InvalidInputError, ResponseValidationError

__all__ = ["Form", "from_dict", "from_json", "to_dict", "to_json"]

M = TypeVar("M")

Form = Literal["wire", "python"]
"""``"wire"``: the API's camelCase keys; ``"python"``: the models' attribute names."""


def to_dict(model: Any, *, form: Form = "wire") -> dict[str, Any]:
    """A model as a plain dict of JSON values (lists for tuples), in ``form``.

    Example::

        @app.get("/works")
        async def works() -> dict[str, Any]:
            return to_dict(await client.assets.list(), form="python")
    """
    cls = _model_class(model)
    data = unstructure(model)
    return python_keys(data, cls) if _checked(form) == "python" else data


def from_dict(cls: type[M], data: Mapping[str, Any], *, form: Form = "wire") -> M:
    """Build a ``cls`` from a dict in ``form``; the inverse of `to_dict`.

    Raises:
        ResponseValidationError: a value does not fit; ``path`` says where (wire names).
        InvalidInputError: ``cls`` is not a model, or ``data`` not a mapping.
    """
    _model_class(cls)
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"data must be a mapping, not {type(data).__name__}")
    plain = dict(data)
    wire = wire_keys(plain, cls) if _checked(form) == "python" else plain
    return structure(wire, cls)


def to_json(model: Any, *, form: Form = "wire") -> bytes:
    """A model as JSON bytes (UTF-8), in ``form``; the inverse of `from_json`."""
    data = to_dict(model, form=form)
    try:
        return orjson.dumps(data)
    except TypeError:  # an integer beyond 64 bits: the standard encoder writes it exactly
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def from_json(cls: type[M], content: bytes | str, *, form: Form = "wire") -> M:
    """Build a ``cls`` from JSON in ``form``; the inverse of `to_json`.

    Raises:
        ResponseValidationError: not JSON, or a value does not fit; ``path`` says where.
    """
    _model_class(cls)
    if _checked(form) == "wire":
        return decode_json(content, cls)
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ResponseValidationError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ResponseValidationError(f"expected a JSON object for {cls.__name__}")
    try:
        return from_dict(cls, data, form="python")
    except ResponseValidationError:
        # orjson reads integers beyond 64 bits as floats; the standard parser keeps them.
        exact = json.loads(content)
    return from_dict(cls, exact, form="python")


def _model_class(value: Any) -> type:
    cls = value if isinstance(value, type) else type(value)
    if not attrs.has(cls) or not cls.__module__.startswith("kling_async."):
        raise InvalidInputError(f"expected a kling_async model, not {cls.__name__}")
    return cls


def _checked(form: object) -> Form:
    if form == "wire":
        return "wire"
    if form == "python":
        return "python"
    raise InvalidInputError(f"form must be 'wire' or 'python', not {form!r}")
