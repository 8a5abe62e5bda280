"""The one converter between the server's JSON and the models of `_models`.

Every rule about the wire lives here; the model classes only declare their attributes:

* Names: an attribute's wire name is its camelCase spelling (``work_id`` <-> ``workId``),
  computed from the attribute name, never listed by hand; the one exception is a field the
  server names against its own convention, which says so in its ``wire_name`` metadata
  (``ExpireTime`` for `AccountSession.expire_time`).
* Unknown wire fields are ignored; a missing field or a ``null`` becomes the attribute's
  default (``None``, an empty tuple, an empty dict). An attribute without a default (what
  names the object, such as `Work.work_id`) is required: missing or ``null``, it does not fit.
* Types are checked, not coerced: an ``int`` takes a JSON integer of any size (or an integral
  number up to 2**53 such as ``5041.0``), never a boolean or a string; a ``float`` takes any
  number; a ``str`` only a string; a ``bool`` only a boolean; a model or a ``dict`` only an
  object; a ``tuple[X, ...]`` only an array; ``Any`` takes anything. A ``dict[str, X]`` whose
  ``X`` is not ``Any`` (an object keyed by, say, email) takes an object whose every value fits
  ``X``; its paths name the key, e.g. ``$["a@example.com"].email``.

The type rules are stated once, in the table `_RULES`: for each kind of type, what a value
must be to fit, as Python source (``{v}.__class__ is int``), how it becomes the attribute's
value, and a slow converter for the few values that fit otherwise. Three things are made
from that table:

* the fast path: one function per model, generated on first use, reads every field in one
  `operator.itemgetter` call (one by one with ``dict.get`` when a field is missing) and
  evaluates the rule's source inline; it builds the instance with
  ``object.__new__`` and stores each attribute through its slot's descriptor, which is what
  the frozen ``__init__`` does, minus one call and the attribute-name lookups per field
  (classes whose ``__init__`` does more, e.g. runs validators, are built by calling it);
* the converter's hooks for any other type (``tuple[Work, ...]``, ``int``, ``Work | None``),
  compiled from the same source;
* the error walk: the fast path does not keep track of where it is; when it fails, a slow
  walk over the same data, evaluating the same tests, finds the first offending field and
  names it by its wire path, e.g. ``$.history[3].works[0].workId``, for the
  `ResponseValidationError`.

    >>> from kling_async._models import AssetsPage
    >>> page = decode_json(b'{"history": [{"works": [{"workId": 7, "taskId": 3}]}]}', AssetsPage)
    >>> page.works[0].work_id
    7
"""

from __future__ import annotations

import itertools
import json
import linecache
import operator
import types
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union, cast, get_args, get_origin

import attrs
import orjson
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from ._exceptions import ResponseValidationError

if TYPE_CHECKING:
    from ._http import httpx

__all__ = [
    "Decoder",
    "converter",
    "decode_body",
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


# --- Type analysis ----------------------------------------------------------------------------


def _without_none(tp: Any) -> Any:
    """``X | None`` -> ``X``; any other type unchanged."""
    if get_origin(tp) in (Union, types.UnionType):
        args = tuple(arg for arg in get_args(tp) if arg is not _NoneType)
        if len(args) == 1:
            return args[0]
    return tp


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


def _value_type(tp: Any) -> Any | None:
    """The ``X`` of ``dict[str, X]`` when ``X`` is not ``Any``; else None."""
    if get_origin(tp) is dict:
        args = get_args(tp)
        if len(args) == 2 and args[0] is str and args[1] is not Any:
            return args[1]
    return None


@attrs.frozen
class _Slot:
    """A place a JSON value goes: a model attribute, an array item, a whole response.

    Attributes:
        type: the type the value must fit, its ``| None`` removed.
        default: what ``null`` (or a missing field) gives: a value, an `attrs.Factory`, or
            `attrs.NOTHING` when the value is required.
    """

    type: Any
    default: Any

    @property
    def required(self) -> bool:
        """Whether ``null`` and a missing field do not fit."""
        return self.default is attrs.NOTHING


def _slot_of_type(tp: Any) -> _Slot:
    """The slot of a value of type ``tp``: ``X | None`` and ``Any`` take ``null`` as None."""
    inner = _without_none(tp)
    return _Slot(inner, None if inner is not tp or inner is Any else attrs.NOTHING)


@attrs.frozen
class _Field:
    """How one attribute of a model is read from the wire."""

    name: str
    alias: str
    key: str
    slot: _Slot


@cache
def _fields_of(cls: type) -> tuple[_Field, ...]:
    """The wire plan of an attrs class: every init attribute, its wire key and its slot.

    An attribute without a default is required, even when its type allows None.
    """
    attrs.resolve_types(cls)
    return tuple(
        _Field(
            name=attribute.name,
            alias=attribute.alias or attribute.name,
            key=attribute.metadata.get("wire_name") or wire_name(attribute.name),
            slot=_Slot(_without_none(attribute.type), attribute.default),
        )
        for attribute in attrs.fields(cls)
        if attribute.init
    )


# --- The slow halves of the rules ---------------------------------------------------------------


class _Mismatch(ValueError):
    """A value does not fit; the public functions turn it into a `ResponseValidationError`."""


_EXACT_FLOAT_INT = 2**53  # beyond it a float no longer holds every integer exactly


def _fail(value: Any) -> Any:
    """The slow half of most rules: nothing fits that the fast test refused."""
    raise _Mismatch(f"unexpected {_json_kind(value)}")


def _int_or_fail(value: Any) -> int:
    """The slow half of the int rule: an exact integral float becomes an int; the rest fails.

    A float beyond 2**53 fails: it may be an integer the JSON parser could not hold (orjson
    reads integers outside 64 bits as floats), and `decode_json` then reads the body again
    with exact integers.
    """
    if value.__class__ is float and value.is_integer() and abs(value) <= _EXACT_FLOAT_INT:
        return int(value)
    raise _Mismatch(f"expected an integer, got {_json_kind(value)}")


def _float_or_fail(value: Any) -> float:
    """The slow half of the float rule: a JSON integer becomes a float; the rest fails."""
    if value.__class__ is int:
        return float(value)
    raise _Mismatch(f"expected a number, got {_json_kind(value)}")


# --- The table of rules ---------------------------------------------------------------------


class _Rule:
    """How the values of one kind of type are read: the only statement of a type rule.

    ``fits`` and ``value`` are Python source over ``{v}``, pasted into generated code; the
    error walk evaluates ``fits`` too (as `test`), so fast path and walk cannot disagree.

    Attributes:
        expected: what fits, in JSON terms, for error messages (``"an integer"``).
        fits: true when a value fits as it is; never true for ``null``.
        slow: called with a non-null value that ``fits`` refused: the attribute's value for
            the few that fit all the same (an integral float for an int), else `_Mismatch`.
        test: ``fits`` as a function, for the walk.
    """

    __slots__ = ("expected", "fits", "slow", "test")

    def __init__(self, expected: str, fits: str, slow: Callable[[Any], Any] = _fail) -> None:
        self.expected = expected
        self.fits = fits
        self.slow = slow
        self.test = cast(Callable[[Any], bool], eval(f"lambda v: {fits.format(v='v')}"))

    def value(self, tp: Any, v: str, code: _Code) -> str:
        """Source of the attribute's value from the fitting value named ``v``."""
        return v

    def parts(self, tp: Any, value: Any) -> Iterator[tuple[str, Any, _Slot, bool]]:
        """For the walk: ``(path suffix, value, slot, present)`` of what a fitting value holds."""
        return iter(())


class _ObjectRule(_Rule):
    """A free-form JSON object: copied, not looked into."""

    def value(self, tp: Any, v: str, code: _Code) -> str:
        return f"dict({v})"


class _MapRule(_Rule):
    """``dict[str, X]``: an object whose every value fits ``X``, its keys kept as they are."""

    def value(self, tp: Any, v: str, code: _Code) -> str:
        k, x = code.variable(), code.variable()
        item = code.expression(_slot_of_type(_value_type(tp)), x)
        return f"{{{k}: {item} for {k}, {x} in {v}.items()}}"

    def parts(self, tp: Any, value: Any) -> Iterator[tuple[str, Any, _Slot, bool]]:
        slot = _slot_of_type(_value_type(tp))
        for key, item in value.items():
            yield f"[{json.dumps(key, ensure_ascii=False)}]", item, slot, True


class _ArrayRule(_Rule):
    """``tuple[X, ...]``: an array whose every item fits ``X`` (``X | None`` takes nulls)."""

    def value(self, tp: Any, v: str, code: _Code) -> str:
        item = _item_type(tp)
        if item is Any:  # anything fits: no look at the items
            return f"tuple({v})"
        x = code.variable()
        return f"tuple([{code.expression(_slot_of_type(item), x)} for {x} in {v}])"

    def parts(self, tp: Any, value: Any) -> Iterator[tuple[str, Any, _Slot, bool]]:
        slot = _slot_of_type(_item_type(tp))
        for index, item in enumerate(value):
            yield f"[{index}]", item, slot, True


class _ModelRule(_Rule):
    """An attrs class: an object whose fields fit the attributes (see `_reader`)."""

    def value(self, tp: Any, v: str, code: _Code) -> str:
        return f"{code.bind(_reader(tp), 'read')}({v})"

    def parts(self, tp: Any, value: Any) -> Iterator[tuple[str, Any, _Slot, bool]]:
        for field in _fields_of(tp):
            yield f".{field.key}", value.get(field.key), field.slot, field.key in value


_RULES: tuple[tuple[Callable[[Any], bool], _Rule], ...] = (
    (lambda tp: tp is Any, _Rule("anything", "{v} is not None")),
    (lambda tp: tp is int, _Rule("an integer", "{v}.__class__ is int", _int_or_fail)),
    (lambda tp: tp is float, _Rule("a number", "{v}.__class__ is float", _float_or_fail)),
    (lambda tp: tp is str, _Rule("a string", "{v}.__class__ is str")),
    (lambda tp: tp is bool, _Rule("a boolean", "{v}.__class__ is bool")),
    (lambda tp: _value_type(tp) is not None, _MapRule("an object", "{v}.__class__ is dict")),
    (_is_object_type, _ObjectRule("an object", "{v}.__class__ is dict")),
    (lambda tp: _item_type(tp) is not None, _ArrayRule("an array", "{v}.__class__ is list")),
    (attrs.has, _ModelRule("an object", "{v}.__class__ is dict")),
)
"""Each kind of type with its rule; the first match wins."""


def _rule_of(tp: Any) -> _Rule | None:
    for matches, rule in _RULES:
        if matches(tp):
            return rule
    return None


def _rule(tp: Any) -> _Rule:
    rule = _rule_of(tp)
    if rule is None:
        raise TypeError(f"kling_async's converter has no rule for {tp!r}")
    return rule


# --- The fast path: generated code ------------------------------------------------------------

_serial = itertools.count(1)


class _Code:
    """One generated function's source and the names it refers to."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {}
        self._names: dict[int, str] = {}
        self._count = itertools.count()

    def bind(self, value: Any, hint: str) -> str:
        """A global name of the function for ``value`` (the same name for the same object)."""
        name = self._names.get(id(value))
        if name is None:
            name = self._names[id(value)] = f"__{hint}{next(self._count)}"
            self.namespace[name] = value
        return name

    def variable(self) -> str:
        """A fresh local name, for a comprehension."""
        return f"x{next(self._count)}"

    def expression(self, slot: _Slot, v: str) -> str:
        """Source of the value ``slot`` gets from the JSON value named ``v``.

        Fits -> its converted value; ``null`` -> the default (or, when required, a failure
        through the slow half, which refuses null); anything else -> the slow half.
        """
        rule = _rule(slot.type)
        fits = rule.fits.format(v=v)
        value = rule.value(slot.type, v, self)
        slow = f"{self.bind(rule.slow, 'slow')}({v})"
        if slot.required:
            return f"{value} if {fits} else {slow}"
        return f"{value} if {fits} else {self.default(slot.default)} if {v} is None else {slow}"

    def default(self, default: Any) -> str:
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                raise TypeError("attrs.Factory(takes_self=True) defaults are not supported")
            return f"{self.bind(default.factory, 'default')}()"
        if default is None:
            return "None"
        return self.bind(default, "default")

    def compile(self, source: str, name: str, what: str) -> _Hook:
        """The function ``name`` defined by ``source``, shown as ``what`` in tracebacks."""
        # Unique per generated function, so no two share a linecache entry.
        filename = f"<kling_async structure {what} #{next(_serial)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), self.namespace)
        return cast(_Hook, self.namespace[name])


@cache
def _reader(cls: type) -> _Hook:
    """The generated function that builds a ``cls`` from a dict, checking every field.

    It reads every field's value in one call of an `operator.itemgetter` of the wire keys
    (when one is missing, it reads them again one by one with ``dict.get``), then evaluates
    the rule of each field's slot inline. When the class allows it (see `_slot_setters`), it
    creates the instance with ``object.__new__`` and stores each value through the slot's
    descriptor; otherwise it calls the class with keyword arguments.
    """
    code = _Code()
    fields = _fields_of(cls)
    setters = _slot_setters(cls)
    cl = code.bind(cls, "cls")
    name = f"read_{cls.__name__}"
    lines = [f"def {name}(o):"]
    if fields:
        every = code.bind(operator.itemgetter(*(field.key for field in fields)), "fields")
        values = ", ".join(f"v{index}" for index in range(len(fields)))
        lines += [
            "    try:",
            f"        {values} = {every}(o)",  # with one key, the value itself
            "    except KeyError:",
            "        g = o.get",
            *(f"        v{index} = g({field.key!r})" for index, field in enumerate(fields)),
        ]
    if setters is not None:
        lines.append(f"    i = {code.bind(object.__new__, 'new')}({cl})")
        for index, field in enumerate(fields):
            value = code.expression(field.slot, f"v{index}")
            lines.append(f"    {code.bind(setters[index], 'set')}(i, {value})")
        lines.append("    return i")
    else:
        for index, field in enumerate(fields):
            lines.append(f"    v{index} = {code.expression(field.slot, f'v{index}')}")
        arguments = ", ".join(f"{field.alias}=v{index}" for index, field in enumerate(fields))
        lines.append(f"    return {cl}({arguments})")
    return code.compile("\n".join(lines) + "\n", name, f"{cls.__module__}.{cls.__qualname__}")


def _slot_setters(cls: type) -> list[Callable[[Any, Any], None]] | None:
    """The ``__set__`` of each field's slot descriptor, when they can replace ``__init__``.

    They can when ``__init__`` would do nothing but store its arguments: every attribute an
    init field without validator or converter, no pre- or post-init hook, no ``__new__`` of
    its own, and every class in the MRO slotted with one slot per field (besides
    ``__weakref__``), so no other slot is left unset.
    """
    fields = attrs.fields(cls)
    slots: set[str] = set()
    for klass in cls.__mro__[:-1]:
        declared = klass.__dict__.get("__slots__")
        if declared is None:
            return None
        slots.update((declared,) if isinstance(declared, str) else declared)
    names = [field.name for field in fields]
    if (
        any("__new__" in klass.__dict__ for klass in cls.__mro__[:-1])
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
        or slots - {"__weakref__"} != set(names)
        or not all(f.init and f.validator is None and f.converter is None for f in fields)
    ):
        return None
    setters = []
    for name in names:
        descriptor = next(k.__dict__[name] for k in cls.__mro__ if name in k.__dict__)
        if not isinstance(descriptor, types.MemberDescriptorType):
            return None
        setters.append(descriptor.__set__)
    return setters


def _hook(tp: Any) -> _Hook:
    """The converter's structure hook for ``tp``: the rule of its slot, compiled."""
    code = _Code()
    source = f"def structure(v, _=None):\n    return {code.expression(_slot_of_type(tp), 'v')}\n"
    what = f"{tp.__module__}.{tp.__qualname__}" if isinstance(tp, type) else repr(tp)
    return code.compile(source, "structure", what)


def _has_rule(tp: Any) -> bool:
    return _rule_of(_slot_of_type(tp).type) is not None


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


def _find_mismatch(
    value: Any, slot: _Slot, path: str, *, present: bool = True
) -> tuple[str, str] | None:
    """The first place in ``value`` that does not fit ``slot``, as ``(path, complaint)``.

    The same decisions as the generated code, in the same order, from the same rules.
    """
    rule = _rule(slot.type)
    if value is None:
        if not slot.required:
            return None
        if not present:
            return path, f"missing; expected {rule.expected}"
    elif rule.test(value):
        for suffix, part, part_slot, part_present in rule.parts(slot.type, value):
            found = _find_mismatch(part, part_slot, path + suffix, present=part_present)
            if found is not None:
                return found
        return None
    else:
        try:
            rule.slow(value)
        except _Mismatch:
            pass
        else:
            return None
    return path, f"expected {rule.expected}, got {_json_kind(value)}"


# --- The converter ---------------------------------------------------------------------------


def _build_converter() -> OrjsonConverter:
    built = make_converter(
        detailed_validation=False,
        forbid_extra_keys=False,
        unstruct_collection_overrides={tuple: list},
    )
    # Registered last, so it wins over the preconfigured (lenient) union and other hooks; the
    # scalars need their own: cattrs tries hooks of exact classes before any factory.
    built.register_structure_hook_factory(_has_rule, _hook)
    for scalar in (int, float, str, bool):
        built.register_structure_hook(scalar, _hook(scalar))
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
    found = _find_mismatch(data, _slot_of_type(cls), "$")
    if found is None:
        # The walk and the fast path disagree (a validator refused, or a bug here): still
        # raise the SDK's error type.
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
    item = _value_type(cls)
    if item is not None:
        return f"dict[str, {_type_name(item)}]"
    return getattr(cls, "__name__", None) or repr(cls)


@attrs.frozen
class Decoder(Generic[T]):
    """A body that needs more than one model to read, for the request core's ``cast_to``.

    ``decode`` gets the raw body and returns the value, raising `ResponseValidationError`
    (with its wire path) when the body does not fit; the core adds the response and the call's
    context to that error, as for any model.
    """

    decode: Callable[[bytes], T]


def decode_body(content: bytes, cast_to: type[T] | Decoder[T]) -> T:
    """The value of a body: `decode_json` for a type, the `Decoder`'s own function else."""
    if isinstance(cast_to, Decoder):
        return cast_to.decode(content)
    return decode_json(content, cast_to)


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
                renamed[target] = _rekey(value[source], field.slot.type, to_wire=to_wire)
        return renamed
    item = _item_type(tp)
    if item is not None and value.__class__ is list:
        return [_rekey(element, item, to_wire=to_wire) for element in value]
    item = _value_type(tp)
    if item is not None and value.__class__ is dict:
        return {key: _rekey(element, item, to_wire=to_wire) for key, element in value.items()}
    return value
