"""The converter's rules: wire names, defaults, type checks, error paths, round trips."""

from __future__ import annotations

import linecache
import weakref
from typing import Any, get_args, get_origin

import attrs
import httpx2
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kling_async import _models
from kling_async._converter import (
    _find_mismatch,
    _reader,
    _slot_of_type,
    converter,
    decode_json,
    structure,
    unstructure,
    wire_name,
)
from kling_async._exceptions import ResponseValidationError
from kling_async._models import (
    AssetsPage,
    DeleteResult,
    Element,
    HistoryEntry,
    Resource,
    TaskInfo,
    UploadsPage,
    Voice,
    Work,
)

ALL_MODELS = [getattr(_models, name) for name in _models.__all__]


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload)


def work(**fields: Any) -> dict[str, Any]:
    """A work's wire form: its IDs, then ``fields`` (which may replace them)."""
    return {"workId": 1, "taskId": 2, **fields}


def page_with_work(fields: dict[str, Any], *, index: int = 0) -> dict[str, Any]:
    """An /assets page whose history entry ``index`` holds a work with ``fields``; the other
    entries are empty."""
    history: list[dict[str, Any]] = [{"works": []} for _ in range(index)]
    return {"history": [*history, {"works": [work(**fields)]}]}


def validation_error(payload: Any, cls: type[Any] = AssetsPage) -> ResponseValidationError:
    with pytest.raises(ResponseValidationError) as caught:
        decode_json(dumps(payload), cls)
    return caught.value


# --- Names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "wire"),
    [
        ("work_id", "workId"),
        ("cdn_url", "cdnUrl"),
        ("upload_assets_list", "uploadAssetsList"),
        ("eta_time_over_sla", "etaTimeOverSla"),
        ("slot_key", "slotKey"),
        ("ids", "ids"),
    ],
)
def test_wire_name_is_the_camel_case_of_the_attribute(attribute: str, wire: str) -> None:
    assert wire_name(attribute) == wire


def test_fields_are_read_from_their_camel_case_names() -> None:
    decoded = decode_json(dumps(work(workId=7, lipSyncStatus=2, allowPublish=True)), Work)

    assert (decoded.work_id, decoded.lip_sync_status, decoded.allow_publish) == (7, 2, True)


def test_snake_case_keys_on_the_wire_are_not_read() -> None:
    assert decode_json(b'{"resource_key": "k"}', Resource) == Resource()
    assert validation_error({"work_id": 1, "task_id": 2}, Work).path == "$.workId"


# --- Missing, unknown and null --------------------------------------------------------------


def test_missing_fields_become_none_or_empty() -> None:
    info = decode_json(b"{}", TaskInfo)

    assert info == TaskInfo(type=None, inputs=(), arguments=(), extra_args={}, scene=None)
    assert info.callback_payloads == ()


def test_unknown_fields_are_ignored() -> None:
    result = decode_json(b'{"deleted": 1, "ids": ["7"], "newField": {"x": [1]}}', DeleteResult)

    assert result == DeleteResult(deleted=1, ids=("7",))


def test_null_for_a_list_becomes_an_empty_tuple() -> None:
    page = decode_json(b'{"history": null, "limitations": null}', AssetsPage)

    assert page.history == ()
    assert page.limitations == ()


def test_null_for_a_free_form_object_becomes_an_empty_dict() -> None:
    assert decode_json(b'{"extraArgs": null}', TaskInfo).extra_args == {}


def test_null_for_a_scalar_or_a_nested_object_becomes_none() -> None:
    payload = work(type=None, favored=None, resource=None, taskInfo=None)

    assert decode_json(dumps(payload), Work) == Work(work_id=1, task_id=2)


def test_null_for_an_optional_free_form_object_stays_none() -> None:
    assert decode_json(b'{"id": 1, "resource": null}', Voice).resource is None


def test_any_typed_fields_take_any_json() -> None:
    element = decode_json(
        b'{"id": "u_1", "tagList": [1, "two", null, {"three": [3.5]}, [false]]}', Element
    )

    assert element.tag_list == (1, "two", None, {"three": [3.5]}, [False])


def test_decode_accepts_text_as_well_as_bytes() -> None:
    assert decode_json('{"cdnUrl": "https://x.example/a.zip"}', _models.DownloadResult).cdn_url == (
        "https://x.example/a.zip"
    )


def test_decoded_models_are_real_instances_equal_to_constructed_ones() -> None:
    resource = decode_json(b'{"resource": "u", "height": 1, "width": 2, "duration": 3}', Resource)

    assert type(resource) is Resource
    assert resource == Resource("u", 1, 2, 3, None)
    assert repr(resource) == repr(Resource("u", 1, 2, 3, None))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        resource.width = 5  # type: ignore[misc]


# --- Required attributes --------------------------------------------------------------------


@attrs.frozen
class _Named:
    """A model with an attribute that has no default: it is required on the wire."""

    id: int
    label: str | None = None


@attrs.frozen
class _Catalogue:
    items: tuple[_Named, ...] = ()
    main: _Named | None = None


def test_a_required_attribute_is_read_like_any_other() -> None:
    assert decode_json(b'{"id": 7, "label": "x"}', _Named) == _Named(id=7, label="x")


def test_a_missing_required_attribute_is_reported_at_its_wire_path() -> None:
    error = validation_error({"items": [{"id": 1}, {"label": "no id"}]}, _Catalogue)

    assert error.path == "$.items[1].id"
    assert "missing; expected an integer" in str(error)


def test_a_null_required_attribute_is_reported_at_its_wire_path() -> None:
    error = validation_error({"main": {"id": None}}, _Catalogue)

    assert error.path == "$.main.id"
    assert "expected an integer, got null" in str(error)


def test_a_required_attribute_still_rejects_a_wrong_type() -> None:
    assert validation_error({"id": "7"}, _Named).path == "$.id"


def test_a_null_object_holding_a_required_attribute_is_still_the_default() -> None:
    assert decode_json(b'{"main": null}', _Catalogue) == _Catalogue()


# --- Scalar type rules ----------------------------------------------------------------------


def test_an_integral_float_is_accepted_as_an_int() -> None:
    resource = decode_json(b'{"duration": 5041.0}', Resource)

    assert resource.duration == 5041
    assert type(resource.duration) is int


@pytest.mark.parametrize(
    ("value", "got"),
    [
        (True, "a boolean (True)"),
        (False, "a boolean (False)"),
        (5041.5, "a number (5041.5)"),
        ("5041", "a string ('5041')"),
        ([5041], "an array"),
        ({"ms": 5041}, "an object"),
    ],
)
def test_an_int_field_rejects_anything_but_an_integer(value: Any, got: str) -> None:
    error = validation_error({"duration": value}, Resource)

    assert error.path == "$.duration"
    assert f"expected an integer, got {got}" in str(error)


@pytest.mark.parametrize("value", [1, 1.5, True, ["u"], {"u": 1}])
def test_a_str_field_rejects_anything_but_a_string(value: Any) -> None:
    error = validation_error({"resource": value}, Resource)

    assert error.path == "$.resource"
    assert "expected a string" in str(error)


@pytest.mark.parametrize("value", [0, 1, "true", 1.0, [True]])
def test_a_bool_field_rejects_anything_but_a_boolean(value: Any) -> None:
    error = validation_error(work(favored=value), Work)

    assert error.path == "$.favored"
    assert "expected a boolean" in str(error)


def test_a_nested_object_must_be_an_object() -> None:
    error = validation_error(work(resource="https://x.example/a.mp4"), Work)

    assert error.path == "$.resource"
    assert "expected an object, got a string" in str(error)


def test_a_list_must_be_an_array() -> None:
    error = validation_error({"history": {"works": []}})

    assert error.path == "$.history"
    assert "expected an array, got an object" in str(error)


def test_a_free_form_object_must_be_an_object() -> None:
    error = validation_error({"extraArgs": ["seed"]}, TaskInfo)

    assert error.path == "$.extraArgs"


def test_a_list_of_anything_must_still_be_an_array() -> None:
    error = validation_error({"id": "u_1", "tagList": {"a": 1}}, Element)

    assert error.path == "$.tagList"


def test_null_is_not_an_item_of_a_list_of_objects() -> None:
    error = validation_error({"history": [{}, None]})

    assert error.path == "$.history[1]"
    assert "expected an object, got null" in str(error)


# --- Error paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (page_with_work({"workId": "123"}, index=3), "$.history[3].works[0].workId"),
        ({"limitations": [{}, {"remaining": "many"}]}, "$.limitations[1].remaining"),
        ({"userPoints": {"points": [{"orderId": 12}]}}, "$.userPoints.points[0].orderId"),
        ({"userTickets": {"ticket": "none"}}, "$.userTickets.ticket"),
        (page_with_work({"resource": {"width": "wide"}}), "$.history[0].works[0].resource.width"),
        (
            page_with_work(
                {"taskInfo": {"arguments": [{"name": "a", "value": "b"}, {"value": 5}]}}
            ),
            "$.history[0].works[0].taskInfo.arguments[1].value",
        ),
        (
            page_with_work({"downloadInfo": {"fileTypes": [{"watermark": "yes"}]}}),
            "$.history[0].works[0].downloadInfo.fileTypes[0].watermark",
        ),
        (
            {"history": [{"task": {"id": 1, "taskInfo": {"inputs": [{"fromWorkId": "9"}]}}}]},
            "$.history[0].task.taskInfo.inputs[0].fromWorkId",
        ),
        ({"history": [{"works": [work(), {"taskId": 3}]}]}, "$.history[0].works[1].workId"),
        ({"history": [{}, {"task": {"id": None}}]}, "$.history[1].task.id"),
        ({"history": [{"etaTimeOverSla": 0}]}, "$.history[0].etaTimeOverSla"),
    ],
)
def test_a_wrong_type_is_reported_at_its_wire_path(payload: dict[str, Any], path: str) -> None:
    error = validation_error(payload)

    assert error.path == path
    assert path in str(error)


def test_the_first_offending_field_is_reported() -> None:
    error = validation_error(
        {"history": [{"works": [{"workId": "a", "taskId": "b"}]}, {"etaTime": "c"}]}
    )

    assert error.path == "$.history[0].works[0].workId"


@pytest.mark.parametrize(
    ("cls", "payload", "path"),
    [
        (UploadsPage, {"uploadAssetsList": [{"id": 700}]}, "$.uploadAssetsList[0].id"),
        (DeleteResult, {"ids": ["1", 2]}, "$.ids[1]"),
        (DeleteResult, {"deleted": "1"}, "$.deleted"),
        (
            Element,
            {"id": "u_1", "resources": [{"voice": {"id": 1, "resource": []}}]},
            "$.resources[0].voice.resource",
        ),
        (Element, {"id": "u_1", "cover": {"cover": "yes"}}, "$.cover.cover"),
        (Element, {"id": "u_1", "voice": {"name": "v"}}, "$.voice.id"),
        (Element, {"name": "no id"}, "$.id"),
        (UploadsPage, {"uploadAssetsList": [{"id": "1"}, {}]}, "$.uploadAssetsList[1].id"),
        (_models.DownloadResult, {"status": "success"}, "$.cdnUrl"),
    ],
)
def test_error_paths_of_the_other_endpoints(cls: type[Any], payload: Any, path: str) -> None:
    assert validation_error(payload, cls).path == path


@pytest.mark.parametrize("body", [b"not json", b"", b"{", b"<html>502</html>", b'{"a": 1} x'])
def test_a_body_that_is_not_json_is_reported_at_the_root(body: bytes) -> None:
    with pytest.raises(ResponseValidationError) as caught:
        decode_json(body, AssetsPage)

    assert caught.value.path == "$"
    assert "not valid JSON" in str(caught.value)


@pytest.mark.parametrize("body", [b"[]", b'[{"history": []}]', b"null", b"42", b'"page"'])
def test_a_top_level_that_is_not_an_object_is_reported_at_the_root(body: bytes) -> None:
    with pytest.raises(ResponseValidationError) as caught:
        decode_json(body, AssetsPage)

    assert caught.value.path == "$"
    assert "expected an object" in str(caught.value)


def test_the_error_carries_the_response() -> None:
    response = httpx2.Response(
        200, content=b"[]", request=httpx2.Request("GET", "https://api.example/v1/kling/assets")
    )

    with pytest.raises(ResponseValidationError) as caught:
        decode_json(response.content, AssetsPage, response=response)

    assert caught.value.response is response
    assert caught.value.request is response.request


def test_a_field_error_carries_the_response_too() -> None:
    response = httpx2.Response(
        200, content=b'{"history": 1}', request=httpx2.Request("GET", "https://api.example/x")
    )

    with pytest.raises(ResponseValidationError) as caught:
        decode_json(response.content, AssetsPage, response=response)

    assert caught.value.response is response


def test_the_error_does_not_chain_the_internal_failure() -> None:
    error = validation_error(page_with_work({"workId": "x"}))

    assert error.__cause__ is None
    assert error.__context__ is None


def test_structure_applies_the_same_rules_to_parsed_json() -> None:
    assert structure(work(workId=4.0), Work) == Work(work_id=4, task_id=2)
    with pytest.raises(ResponseValidationError) as caught:
        structure({"history": [{"works": [work(starred="no")]}]}, AssetsPage)

    assert caught.value.path == "$.history[0].works[0].starred"


def test_structure_reports_a_non_object_at_the_root() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        structure(["x"], Work)

    assert caught.value.path == "$"


# --- Unstructuring --------------------------------------------------------------------------


def test_unstructure_writes_camel_case_names_and_lists() -> None:
    wire = unstructure(HistoryEntry(works=(Work(work_id=1, task_id=2),), eta_time_over_sla=True))

    assert wire["etaTimeOverSla"] is True
    assert wire["works"][0]["workId"] == 1
    assert type(wire["works"]) is list
    assert wire["task"] is None


def test_unstructure_of_a_decoded_complete_payload_gives_the_payload_back() -> None:
    payload = {
        "history": [
            {
                "works": [
                    {
                        "workId": 1,
                        "taskId": 2,
                        "resource": {
                            "resource": "u",
                            "height": 2,
                            "width": 3,
                            "duration": 4,
                            "resourceKey": "",
                        },
                    }
                ]
            }
        ]
    }
    page = decode_json(dumps(payload), AssetsPage)

    wire = unstructure(page)

    assert (
        wire["history"][0]["works"][0]["resource"] == payload["history"][0]["works"][0]["resource"]
    )
    assert decode_json(dumps(wire), AssetsPage) == page


# --- The converter itself -------------------------------------------------------------------


def test_hooks_are_generated_once_per_model() -> None:
    assert converter.get_structure_hook(Work) is converter.get_structure_hook(Work)


def _same_name(field: str) -> type[Any]:
    """A model named ``Same``, of this module, with the one attribute ``field``."""
    return attrs.make_class(
        "Same", {field: attrs.field(type=int | None, default=None)}, frozen=True
    )


def test_generated_functions_of_same_named_models_have_their_own_source() -> None:
    first, second = _same_name("alpha"), _same_name("beta")
    assert (first.__module__, first.__qualname__) == (second.__module__, second.__qualname__)

    assert decode_json(b'{"alpha": 1}', first) == first(alpha=1)
    assert decode_json(b'{"beta": 2}', second) == second(beta=2)
    functions = [
        *(converter.get_structure_hook(cls) for cls in (first, second)),
        *(_reader(cls) for cls in (first, second)),
    ]
    files = [function.__code__.co_filename for function in functions]
    assert len(set(files)) == 4
    sources = ["".join(linecache.getlines(file)) for file in files[2:]]
    assert "'alpha'" in sources[0]
    assert "'beta'" not in sources[0]
    assert "'beta'" in sources[1]


@attrs.frozen
class _Plain:
    """A default attrs model: slotted, frozen, with a ``__weakref__`` slot."""

    size: int | None = None
    tags: tuple[str, ...] = ()


def test_a_model_with_a_weakref_slot_decodes_into_a_plain_frozen_instance() -> None:
    plain = decode_json(b'{"size": 3, "tags": ["a"]}', _Plain)

    assert type(plain) is _Plain
    assert plain == _Plain(size=3, tags=("a",))
    assert hash(plain) == hash(_Plain(size=3, tags=("a",)))
    assert repr(plain) == "_Plain(size=3, tags=('a',))"
    assert weakref.ref(plain)() is plain
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        plain.size = 4  # type: ignore[misc]


def test_every_attribute_is_set_when_the_wire_leaves_fields_out() -> None:
    plain = decode_json(b'{"tags": ["a"]}', _Plain)

    assert plain == _Plain(tags=("a",))
    assert plain.size is None


@attrs.frozen
class _Checked:
    """A model the fast path cannot build without its ``__init__``: it has a validator."""

    size: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    tags: tuple[str, ...] = ()


def test_a_model_with_a_validator_is_built_through_its_init() -> None:
    assert decode_json(b'{"size": 3, "tags": ["a"]}', _Checked) == _Checked(size=3, tags=("a",))
    with pytest.raises(ResponseValidationError) as caught:
        decode_json(b'{"size": -1}', _Checked)

    assert caught.value.path == "$"
    assert "_Checked" in str(caught.value)


def test_a_model_built_through_its_init_reports_paths_too() -> None:
    assert validation_error({"tags": ["a", 1]}, _Checked).path == "$.tags[1]"


@attrs.frozen(kw_only=True)
class _Odd:
    """A model with the attribute kinds the Kling models do not use (yet)."""

    ratio: float | None = None
    anything: Any = None
    count: int = 0
    retries: tuple[int | None, ...] = ()
    derived: str = attrs.field(init=False, default="derived")


def test_a_model_with_other_attribute_kinds_follows_the_same_rules() -> None:
    odd = decode_json(b'{"ratio": 2, "anything": {"a": 1}, "retries": [1, null, 3.0]}', _Odd)

    assert odd == _Odd(ratio=2.0, anything={"a": 1}, count=0, retries=(1, None, 3))
    assert type(odd.ratio) is float
    assert odd.derived == "derived"
    assert decode_json(b'{"count": null, "anything": null}', _Odd) == _Odd()


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"ratio": "2"}, "$.ratio"),
        ({"ratio": True}, "$.ratio"),
        ({"retries": [None, "2"]}, "$.retries[1]"),
    ],
)
def test_a_model_with_other_attribute_kinds_reports_paths(payload: Any, path: str) -> None:
    assert validation_error(payload, _Odd).path == path


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        ([work()], tuple[Work, ...], (Work(work_id=1, task_id=2),)),
        (None, Work | None, None),
        (work(), Work | None, Work(work_id=1, task_id=2)),
        ({"a": [1]}, dict[str, Any], {"a": [1]}),
        ([1, "a"], tuple[Any, ...], (1, "a")),
        (7.0, int, 7),
        (7, float, 7.0),
        ("x", str, "x"),
        (False, bool, False),
    ],
)
def test_structure_handles_types_other_than_models(data: Any, cls: Any, expected: Any) -> None:
    assert structure(data, cls) == expected


@pytest.mark.parametrize(
    ("data", "cls", "path"),
    [
        ([{"workId": "1"}], tuple[Work, ...], "$[0].workId"),
        ({"workId": 1}, tuple[Work, ...], "$"),
        ({"workId": False}, Work | None, "$.workId"),
        ([1], dict[str, Any], "$"),
        ({}, tuple[Any, ...], "$"),
        ("7", int, "$"),
        ("7", float, "$"),
        (1, str, "$"),
        (None, bool, "$"),
    ],
)
def test_structure_rejects_misfits_of_types_other_than_models(
    data: Any, cls: Any, path: str
) -> None:
    with pytest.raises(ResponseValidationError) as caught:
        structure(data, cls)

    assert caught.value.path == path


@attrs.frozen
class _SelfReferring:
    """A model whose default needs the instance: the converter refuses it."""

    base: int | None = None
    double: int | None = attrs.field(default=attrs.Factory(lambda self: self.base, takes_self=True))


def test_a_default_that_takes_self_is_refused_when_the_hook_is_built() -> None:
    with pytest.raises(TypeError, match="takes_self"):
        converter.get_structure_hook(_SelfReferring)


# --- Properties -----------------------------------------------------------------------------

_json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
_json = st.recursive(
    _json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


def _strategy(tp: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of a model attribute's type (None included), to build random models from."""
    args = [arg for arg in get_args(tp) if arg is not type(None)]
    if get_origin(tp) is not tuple and args and len(args) == 1:  # X | None
        return st.none() | _strategy(args[0], depth)
    if tp is Any:
        return _json
    if tp is int:
        return st.integers(-(2**63), 2**63 - 1)
    if tp is str:
        return st.text(max_size=12)
    if tp is bool:
        return st.booleans()
    if get_origin(tp) is tuple:
        return st.lists(_strategy(get_args(tp)[0], depth + 1), max_size=2 if depth < 2 else 0).map(
            tuple
        )
    if get_origin(tp) is dict:
        return st.dictionaries(st.text(max_size=5), _json, max_size=3)
    if attrs.has(tp):
        attrs.resolve_types(tp)
        return st.builds(
            tp, **{field.name: _strategy(field.type, depth + 1) for field in attrs.fields(tp)}
        )
    raise AssertionError(f"no strategy for {tp!r}")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ALL_MODELS).flatmap(_strategy))
def test_decoding_the_unstructured_form_gives_the_model_back(model: Any) -> None:
    assert decode_json(dumps(unstructure(model)), type(model)) == model


_WORK_KEYS = [wire_name(field.name) for field in attrs.fields(Work)]


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(_WORK_KEYS), value=_json, index=st.integers(0, 3))
def test_any_json_in_any_field_decodes_or_fails_at_that_field(
    key: str, value: Any, index: int
) -> None:
    payload = page_with_work({key: value}, index=index)
    error = None
    try:
        decode_json(dumps(payload), AssetsPage)
    except ResponseValidationError as caught:
        error = caught

    if error is not None:
        assert error.path.startswith(f"$.history[{index}].works[0].{key}")


_TYPES = [
    int,
    float,
    str,
    bool,
    Any,
    dict[str, Any],
    tuple[int, ...],
    tuple[int | None, ...],
    tuple[Any, ...],
    int | None,
    _Named,
    _Named | None,
    _Catalogue,
    tuple[_Named, ...],
]
_wire_like = st.recursive(
    _json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "label", "items", "main", "x"]), children)
    ),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None)
@given(tp=st.sampled_from(_TYPES), value=_wire_like)
def test_the_fast_path_and_the_error_walk_agree(tp: Any, value: Any) -> None:
    found = _find_mismatch(value, _slot_of_type(tp), "$")
    error = None
    try:
        structure(value, tp)
    except ResponseValidationError as caught:
        error = caught

    if error is None:
        assert found is None
    else:
        assert found is not None
        assert error.path == found[0]
