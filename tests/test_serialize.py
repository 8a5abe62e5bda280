"""to_dict / from_dict / to_json / from_json: every model, both forms, round trips."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

import attrs
import hypothesis.strategies as st
import orjson
import pytest
from hypothesis import given, settings

import kling_async
from kling_async import (
    AssetsPage,
    InvalidInputError,
    ResponseValidationError,
    TaskInfo,
    Work,
    _models,
    from_dict,
    from_json,
    to_dict,
    to_json,
)

MODELS = [getattr(_models, name) for name in _models.__all__ if attrs.has(getattr(_models, name))]

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)  # free-form: the parser's range
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """Values of ``tp`` as the models hold them (typed ints of any size: IDs may exceed 64 bits)."""
    if get_origin(tp) in (Union, types.UnionType):
        options = [arg for arg in get_args(tp) if arg is not type(None)]
        return st.none() | st.one_of([strategy_for(arg) for arg in options])
    if tp is Any:
        return JSON
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(min_value=-(2**70), max_value=2**70)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is str:
        return st.text(max_size=10)
    if get_origin(tp) is tuple:
        item = get_args(tp)[0]
        return st.lists(strategy_for(item), max_size=2).map(tuple)
    if (get_origin(tp) or tp) in (dict, Mapping):
        return st.dictionaries(st.text(max_size=5), JSON, max_size=3)
    if attrs.has(tp):
        attrs.resolve_types(tp)
        fields = {f.name: strategy_for(f.type) for f in attrs.fields(tp) if f.init}
        return st.builds(tp, **fields)
    raise AssertionError(f"no strategy for {tp!r}")


MODEL_VALUES = st.sampled_from(MODELS).flatmap(strategy_for)


@settings(max_examples=300, deadline=None)
@given(model=MODEL_VALUES, form=st.sampled_from(["wire", "python"]))
def test_every_model_survives_to_dict_and_back_in_either_form(model: Any, form: Any) -> None:
    data = to_dict(model, form=form)
    assert from_dict(type(model), data, form=form) == model


@settings(max_examples=300, deadline=None)
@given(model=MODEL_VALUES, form=st.sampled_from(["wire", "python"]))
def test_every_model_survives_to_json_and_back_in_either_form(model: Any, form: Any) -> None:
    assert from_json(type(model), to_json(model, form=form), form=form) == model


@settings(max_examples=100, deadline=None)
@given(model=MODEL_VALUES)
def test_generated_models_have_what_names_them(model: Any) -> None:
    for field in attrs.fields(type(model)):
        if field.default is attrs.NOTHING:
            assert isinstance(getattr(model, field.name), (int, str))


@pytest.mark.parametrize("form", ["wire", "python"])
def test_a_missing_identity_names_its_wire_path_in_either_form(form: Any) -> None:
    key = "taskId" if form == "wire" else "task_id"
    data = {"history": [{"works": [{key: 2}]}]}

    with pytest.raises(ResponseValidationError) as info:
        from_dict(AssetsPage, data, form=form)
    assert info.value.path == "$.history[0].works[0].workId"
    with pytest.raises(ResponseValidationError) as info:
        from_json(AssetsPage, orjson.dumps(data), form=form)
    assert info.value.path == "$.history[0].works[0].workId"


def test_the_forms_differ_only_in_the_models_own_keys() -> None:
    info = TaskInfo(type="m2v", extra_args={"keepMe": {"innerKey": 1}})
    wire = to_dict(info)
    python = to_dict(info, form="python")
    assert "extraArgs" in wire
    assert "extraArgs" not in python
    # free-form JSON inside a model stays as the API sent it
    assert python["extra_args"] == wire["extraArgs"] == {"keepMe": {"innerKey": 1}}
    assert to_dict(Work(work_id=7, task_id=8), form="python")["work_id"] == 7


def test_a_page_is_json_ready_for_a_web_framework() -> None:
    works = [{"workId": 1, "taskId": 9}, {"workId": 2, "taskId": 9}]
    page = from_dict(AssetsPage, {"history": [{"works": works}]})
    assert to_dict(page, form="python")["history"][0]["works"][1]["work_id"] == 2
    assert b'"workId":2' in to_json(page)


def test_a_value_that_does_not_fit_names_its_place() -> None:
    with pytest.raises(ResponseValidationError) as info:
        from_dict(AssetsPage, {"history": [{"works": [{"workId": "x"}]}]})
    assert info.value.path == "$.history[0].works[0].workId"
    with pytest.raises(ResponseValidationError):
        from_dict(AssetsPage, {"history": [{"works": [{"work_id": "x"}]}]}, form="python")
    with pytest.raises(ResponseValidationError):
        from_json(Work, b"not json")


@pytest.mark.parametrize(
    "call",
    [
        lambda: to_dict({"workId": 1}),
        lambda: to_dict(Work(work_id=1, task_id=2), form="camel"),  # type: ignore[arg-type]
        lambda: from_dict(dict, {}),
        lambda: from_dict(Work, [("workId", 1)]),  # type: ignore[arg-type]
        lambda: from_json(Work, b"{}", form="snake"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_invalid_input(call: Any) -> None:
    with pytest.raises(InvalidInputError):
        call()


def test_the_functions_are_exported() -> None:
    assert {"to_dict", "from_dict", "to_json", "from_json", "Form"} <= set(kling_async.__all__)
