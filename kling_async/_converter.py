"""The one converter between the server's JSON and the models of `_models`.

Every rule about the wire lives here, none on the model classes:

* Names: an attribute's wire name is its camelCase spelling (``work_id`` <-> ``workId``),
  computed from the attribute name, never listed by hand.
* Unknown wire fields are ignored; a missing field or a ``null`` becomes the attribute's
  default (``None``, an empty tuple, an empty dict).
* Types are checked, not coerced: an ``int`` takes a JSON integer of any size (or an integral
  number up to 2**53 such as ``5041.0``), never a boolean or a string; a ``str`` takes only a
  string; a ``bool`` only a boolean; a model only an object; a ``tuple[X, ...]`` only an
  array; ``Any`` takes anything.

Speed: structuring a page is the SDK's hot path, so each model gets one generated function
(built once, on first use, as the converter's hook for the class) that reads every field with
``dict.get``, checks its type inline (``v.__class__ is int``), and stores it without going
through the frozen ``__init__`` (see `_in_place_twin`). That function does not keep track of
where it is; when it fails, a second, slow walk over the same data with the same rules finds
the first offending field and names it by its wire path, e.g. ``$.history[3].works[0].workId``,
for the `ResponseValidationError`.

    >>> from kling_async._models import AssetsPage
    >>> page = decode_json(b'{"history": [{"works": [{"workId": 7}]}]}', AssetsPage)
    >>> page.works[0].work_id
    7
"""

from __future__ import annotations

import json
import linecache
import types
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, Union, cast, get_args, get_origin

import attrs
import orjson
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from ._exceptions import ResponseValidationError

if TYPE_CHECKING:
    from ._http import httpx

__all__ = [
    "converter",
    "decode_json",
    "python_keys",
    "structure",
    "unstructure",
    "wire_keys",
    "wire_name",
]

T = TypeVar("T")

_Hook = Callable[..., Any]
_NoneType = type(None)


def wire_name(attribute_name: str) -> str:
    """The wire name of an attribute: ``eta_time_over_sla`` -> ``etaTimeOverSla``."""
    head, *rest = attribute_name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


# --- Type analysis, shared by the fast hooks and the slow error walk --------------------------


def _without_none(tp: Any) -> Any:
    """``X | None`` -> ``X``; any other type unchanged."""
    if get_origin(tp) in (Union, types.UnionType):
        args = tuple(arg for arg in get_args(tp) if arg is not _NoneType)
        if len(args) == 1:
            return args[0]
    return tp


def _is_optional(tp: Any) -> bool:
    """Whether ``tp`` is ``X | None`` for a single ``X``."""
    if get_origin(tp) not in (Union, types.UnionType):
        return False
    args = get_args(tp)
    return len(args) == 2 and _NoneType in args


def _item_type(tp: Any) -> Any | None:
    """The ``X`` of ``tuple[X, ...]``, or None when ``tp`` is not a homogeneous tuple."""
    if get_origin(tp) is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
    return None


def _is_object_type(tp: Any) -> bool:
    """Whether ``tp`` is a free-form JSON object type (``dict[str, Any]``, ``Mapping``)."""
    return (get_origin(tp) or tp) in (dict, Mapping)


@attrs.frozen
class _Field:
    """How one attribute of a model is read from the wire."""

    name: str
    alias: str
    key: str
    type: Any
    default: Any


@cache
def _fields_of(cls: type) -> tuple[_Field, ...]:
    """The wire plan of an attrs class: every init attribute, its wire key and its type."""
    attrs.resolve_types(cls)
    plan = []
    for attribute in attrs.fields(cls):
        if not attribute.init:
            continue
        plan.append(
            _Field(
                name=attribute.name,
                alias=attribute.alias or attribute.name,
                key=wire_name(attribute.name),
                type=attribute.type,
                default=attribute.default,
            )
        )
    return tuple(plan)


# --- Scalars ----------------------------------------------------------------------------------


class _Mismatch(ValueError):
    """A value does not fit; the public functions turn it into a `ResponseValidationError`."""


_EXACT_FLOAT_INT = 2**53  # beyond it a float no longer holds every integer exactly


def _int_or_fail(value: Any) -> int:
    """The slow half of the int rule: an exact integral float becomes an int; the rest fails.

    A float beyond 2**53 fails: it may be an integer the JSON parser could not hold (orjson
    reads integers outside 64 bits as floats), and `decode_json` then reads the body again
    with exact integers.
    """
    if _fits_int(value):
        return int(value)
    raise _Mismatch(f"expected an integer, got {_json_kind(value)}")


def _float_or_fail(value: Any) -> float:
    """The slow half of the float rule: a JSON integer becomes a float; the rest fails."""
    if value.__class__ is int:
        return float(value)
    raise _Mismatch(f"expected a number, got {_json_kind(value)}")


def _fail(value: Any) -> Any:
    """The slow half of the other rules: the value does not fit."""
    raise _Mismatch(f"unexpected {_json_kind(value)}")


def _fits_int(value: Any) -> bool:
    return value.__class__ is int or (
        value.__class__ is float and value.is_integer() and abs(value) <= _EXACT_FLOAT_INT
    )


# scalar type -> (slow converter called when ``value.__class__ is not type``, full check)
_SCALARS: dict[Any, tuple[Callable[[Any], Any], Callable[[Any], bool]]] = {
    int: (_int_or_fail, _fits_int),
    str: (_fail, lambda value: value.__class__ is str),
    bool: (_fail, lambda value: value.__class__ is bool),
    float: (_float_or_fail, lambda value: value.__class__ in (float, int)),
}


def _scalar_hook(tp: Any) -> _Hook:
    slow = _SCALARS[tp][0]

    def structure_scalar(value: Any, _: Any = None) -> Any:
        if value.__class__ is tp:
            return value
        return slow(value)

    return structure_scalar


# --- Generic hooks: what the converter uses for a type outside a model's fast path -----------


def _optional_hook(tp: Any) -> _Hook:
    inner = _without_none(tp)
    inner_hook = converter.get_structure_hook(inner)

    def structure_optional(value: Any, _: Any = None) -> Any:
        return None if value is None else inner_hook(value, inner)

    return structure_optional


def _tuple_hook(tp: Any) -> _Hook:
    item = _item_type(tp)
    if item is Any:

        def structure_any_tuple(value: Any, _: Any = None) -> tuple[Any, ...]:
            if value.__class__ is not list:
                _fail(value)
            return tuple(value)

        return structure_any_tuple

    item_hook = converter.get_structure_hook(item)

    def structure_tuple(value: Any, _: Any = None) -> tuple[Any, ...]:
        if value.__class__ is not list:
            _fail(value)
        return tuple([item_hook(element, item) for element in value])

    return structure_tuple


def _object_hook(tp: Any) -> _Hook:
    def structure_object(value: Any, _: Any = None) -> dict[str, Any]:
        if value.__class__ is not dict:
            _fail(value)
        return dict(value)

    return structure_object


# --- The fast path: one generated function per model ------------------------------------------


def _model_hook(cls: type) -> _Hook:
    """Generate the structuring function of an attrs class.

    The function binds ``g = o.get`` (so anything but an object fails at once, having no
    ``get``), then reads each attribute with ``g(wireName)``, checks its type inline and
    stores it. The instance is filled in place (see `_in_place_twin`) when the class allows
    it, else built by calling the class with keyword arguments.
    """
    namespace: dict[str, Any] = {"__cl": cls, "__fail": _fail}
    reads = [
        (field, _read_expression(cls, index, field, namespace))
        for index, field in enumerate(_fields_of(cls))
    ]
    twin = _in_place_twin(cls)
    name = f"structure_{cls.__name__}"
    if twin is not None:
        namespace["__twin"] = twin
        body = [
            "    s = __twin()",
            *(f"    s.{field.name} = {read}" for field, read in reads),
            "    s.__class__ = __cl",
            "    return s",
        ]
    else:
        body = [
            "    return __cl(",
            *(f"        {field.alias}={read}," for field, read in reads),
            "    )",
        ]
    source = "\n".join([f"def {name}(o, _=None):", "    g = o.get", *body]) + "\n"
    filename = f"<kling_async structure {cls.__module__}.{cls.__qualname__}>"
    # In linecache, so tracebacks and profilers show the generated source.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return cast(_Hook, namespace[name])


def _read_expression(cls: type, index: int, field: _Field, namespace: dict[str, Any]) -> str:
    """The Python expression that reads, checks and converts one attribute's wire value.

    It refers to ``g`` (the object's ``get``), assigns the raw value to ``v``, and puts the
    names it needs into ``namespace``. ``null`` and a missing key both give the default.
    """
    default = f"__d{index}"
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        if field.default.takes_self:
            raise TypeError(f"{cls.__name__}.{field.name}: takes_self defaults are unsupported")
        namespace[default] = field.default.factory
        default += "()"
    elif field.default is None or field.default is attrs.NOTHING:
        default = "None"
    else:
        namespace[default] = field.default
    get = f"(v := g({field.key!r}))"
    tp = _without_none(field.type)
    item = _item_type(tp)
    hook = f"__h{index}"
    if tp is Any:
        return f"{default} if {get} is None else v"
    if tp is bool:
        return f"v if {get} is True or v is False else {default} if v is None else __fail(v)"
    if tp in _SCALARS:
        scalar = f"__{tp.__name__}"
        namespace[scalar] = tp
        namespace[f"{scalar}_slow"] = _SCALARS[tp][0]
        return f"v if {get}.__class__ is {scalar} else {default} if v is None else {scalar}_slow(v)"
    if attrs.has(tp):
        namespace[hook] = converter.get_structure_hook(tp)
        return f"{default} if {get} is None else {hook}(v)"
    if item is Any or (item is not None and attrs.has(item)):
        if item is Any:
            converted = "tuple(v)"
        else:
            namespace[hook] = converter.get_structure_hook(item)
            converted = f"tuple(map({hook}, v))"
        return f"{converted} if {get}.__class__ is list else {default} if v is None else __fail(v)"
    if _is_object_type(tp):
        return f"dict(v) if {get}.__class__ is dict else {default} if v is None else __fail(v)"
    namespace[hook] = converter.get_structure_hook(tp)
    namespace[f"__t{index}"] = tp
    return f"{default} if {get} is None else {hook}(v, __t{index})"


def _in_place_twin(cls: type) -> type | None:
    """A mutable class with the same memory layout as ``cls``, when ``cls`` allows it.

    Storing an attribute of a frozen attrs instance costs a call of ``object.__setattr__``
    (about 80 ns on CPython 3.11): for a page of ~800 objects and ~4,000 attributes that is
    the largest cost of structuring. So the generated function stores the attributes on a
    twin instance, a plain slotted class where a store is a single bytecode, then assigns
    ``__class__``: the object *is* then a normal, frozen ``cls`` instance.

    This skips ``cls.__init__``, so it is used only when ``__init__`` would do nothing but
    store its arguments: an attrs class with no base but `object`, exactly one slot per
    field (CPython refuses the ``__class__`` swap when there is a ``__weakref__`` slot),
    and no validators, converters, ``init=False`` fields or pre/post-init hooks. A trial
    swap, done here once, confirms the interpreter accepts it.
    """
    slots = cls.__dict__.get("__slots__")
    fields = attrs.fields(cls)
    if not (
        cls.__bases__ == (object,)
        and isinstance(slots, tuple)
        and sorted(slots) == sorted(field.name for field in fields)
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
        and all(
            field.init and field.validator is None and field.converter is None for field in fields
        )
    ):
        return None
    twin = type(f"{cls.__name__}Twin", (), {"__slots__": slots, "__module__": __name__})
    trial = twin()
    try:
        trial.__class__ = cls
    except TypeError:  # pragma: no cover - an interpreter stricter than CPython and PyPy
        return None
    return twin


def _model_unstructure_hook(cls: type) -> _Hook:
    renames: dict[str, Any] = {field.name: override(rename=field.key) for field in _fields_of(cls)}
    return make_dict_unstructure_fn(cls, converter, **renames)


# --- The slow path: find where a value does not fit, with its wire path -----------------------


_JSON_KINDS = {
    _NoneType: "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _json_kind(value: Any) -> str:
    """How a value reads in JSON terms, for error messages: ``a string ('12')``."""
    kind = _JSON_KINDS.get(type(value), type(value).__name__)
    if isinstance(value, (int, float, str)):  # bool is an int
        shown = repr(value)
        kind += f" ({shown if len(shown) <= 40 else shown[:37] + '...'})"
    return kind


def _expected(tp: Any) -> str:
    """What a type takes, in JSON terms, for error messages."""
    if tp in _SCALARS:
        return _JSON_KINDS[tp]
    return "an array" if _item_type(tp) is not None else "an object"


def _find_mismatch(value: Any, tp: Any, path: str) -> tuple[str, str] | None:
    """The first place in ``value`` that does not fit ``tp``, as ``(path, complaint)``.

    ``tp`` has had its ``| None`` removed by the caller, which has also dealt with ``null``
    where the rules accept it (a model attribute, an ``X | None`` array item).
    """
    if tp is Any:
        return None
    complaint = (path, f"expected {_expected(tp)}, got {_json_kind(value)}")
    if tp in _SCALARS:
        return None if _SCALARS[tp][1](value) else complaint
    if attrs.has(tp):
        if not isinstance(value, Mapping):
            return complaint
        for field in _fields_of(tp):
            field_value = value.get(field.key)
            if field_value is not None:
                found = _find_mismatch(
                    field_value, _without_none(field.type), f"{path}.{field.key}"
                )
                if found is not None:
                    return found
        return None
    item = _item_type(tp)
    if item is not None:
        if type(value) is not list:
            return complaint
        nullable = item is Any or _is_optional(item)
        for index, element in enumerate(value):
            if element is None and nullable:
                continue
            found = _find_mismatch(element, _without_none(item), f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if _is_object_type(tp):
        return None if type(value) is dict else complaint
    return None


# --- The converter ---------------------------------------------------------------------------


def _build_converter() -> OrjsonConverter:
    built = make_converter(
        detailed_validation=False,
        forbid_extra_keys=False,
        unstruct_collection_overrides={tuple: list},
    )
    # Registered last, so these win over the preconfigured (lenient) scalar and union hooks.
    for scalar in _SCALARS:
        built.register_structure_hook(scalar, _scalar_hook(scalar))
    built.register_structure_hook_func(lambda tp: tp is Any, lambda value, _: value)
    built.register_structure_hook_factory(_is_object_type, _object_hook)
    built.register_structure_hook_factory(lambda tp: _item_type(tp) is not None, _tuple_hook)
    built.register_structure_hook_factory(_is_optional, _optional_hook)
    built.register_structure_hook_factory(attrs.has, _model_hook)
    built.register_unstructure_hook_factory(attrs.has, _model_unstructure_hook)
    return built


converter: OrjsonConverter = _build_converter()
"""The SDK's cattrs converter; its hooks implement the rules of this module."""

_hooks: dict[Any, _Hook] = {}


def structure(data: Any, cls: type[T], *, response: httpx.Response | None = None) -> T:
    """Build a ``cls`` from already-parsed JSON, checking every field against the rules.

    Raises:
        ResponseValidationError: ``data`` does not fit ``cls``; its ``path`` names the first
            offending field with wire names, e.g. ``$.history[3].works[0].workId``.
    """
    hook = _hooks.get(cls)
    if hook is None:
        hook = _hooks[cls] = converter.get_structure_hook(cls)
    try:
        return cast(T, hook(data, cls))
    except Exception as exc:  # anything the fast path raises means the data does not fit
        error = _validation_error(data, cls, exc, response)
    raise error


def _validation_error(
    data: Any, cls: Any, exc: Exception, response: httpx.Response | None
) -> ResponseValidationError:
    """The error for ``data`` that the fast path could not structure as ``cls``."""
    found = _find_mismatch(data, _without_none(cls), "$")
    if found is None:
        # The walk and the fast path disagree (a bug here): still raise the SDK's error type.
        error = ResponseValidationError(
            f"response does not fit {_type_name(cls)}: {type(exc).__name__}: {exc}",
            response=response,
        )
        error.__cause__ = exc
        return error
    path, complaint = found
    return ResponseValidationError(
        f"response does not fit {_type_name(cls)}: at {path}, {complaint}",
        path=path,
        response=response,
    )


def _type_name(cls: Any) -> str:
    return getattr(cls, "__name__", None) or repr(cls)


def decode_json(content: bytes | str, cls: type[T], *, response: httpx.Response | None = None) -> T:
    """Parse a JSON body and build a ``cls`` from it.

    Raises:
        ResponseValidationError: the body is not JSON, its top level is not an object, or a
            field has the wrong type; ``path`` says where, with wire names.
    """
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ResponseValidationError(
            f"response is not valid JSON: {exc}", response=response
        ) from None
    if data.__class__ is not dict:
        raise ResponseValidationError(
            f"response does not fit {_type_name(cls)}: at $, expected an object,"
            f" got {_json_kind(data)}",
            response=response,
        )
    try:
        return structure(data, cls, response=response)
    except ResponseValidationError:
        exact = _exact_integers(content)
        if exact is None:
            raise
    # orjson reads integers outside 64 bits as floats; the standard parser keeps them exact.
    return structure(exact, cls, response=response)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _exact_integers(content: bytes | str) -> dict[str, Any] | None:
    """The body parsed with exact integers, when it has any orjson cannot hold; else None."""
    try:
        data = json.loads(content, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # long integers; nesting deeper than orjson's
        return None
    return data if data.__class__ is dict and _has_big_int(data) else None


def _has_big_int(value: Any) -> bool:
    if value.__class__ is int:
        return not -(2**63) <= value < 2**64
    if value.__class__ is dict:
        return any(_has_big_int(item) for item in value.values())
    if value.__class__ is list:
        return any(_has_big_int(item) for item in value)
    return False


def unstructure(obj: Any) -> dict[str, Any]:
    """The wire (camelCase) form of a model, ready for `orjson.dumps`.

    Every attribute is written, ``None`` as ``null`` and tuples as lists, so
    ``decode_json(orjson.dumps(unstructure(m)), type(m)) == m``.
    """
    return cast(dict[str, Any], converter.unstructure(obj))


def python_keys(data: Any, cls: Any) -> Any:
    """The wire form of a ``cls`` (as `unstructure` makes it) with snake_case attribute names.

    Only the models' own keys are renamed; free-form JSON inside them stays as it is.
    """
    return _rekey(data, cls, to_wire=False)


def wire_keys(data: Any, cls: Any) -> Any:
    """The inverse of `python_keys`: attribute names back to wire names, for `structure`.

    Keys that are no attribute's name are dropped, as unknown wire fields are.
    """
    return _rekey(data, cls, to_wire=True)


def _rekey(value: Any, tp: Any, *, to_wire: bool) -> Any:
    tp = _without_none(tp)
    if value.__class__ is dict and attrs.has(tp):
        renamed = {}
        for field in _fields_of(tp):
            source, target = (field.name, field.key) if to_wire else (field.key, field.name)
            if source in value:
                renamed[target] = _rekey(value[source], field.type, to_wire=to_wire)
        return renamed
    item = _item_type(tp)
    if item is not None and value.__class__ is list:
        return [_rekey(element, item, to_wire=to_wire) for element in value]
    return value
