"""Argument checking: bad input is refused with a clear error; good input is normalised."""

from __future__ import annotations

import pytest

from kling_async import ContentType, FileType, InvalidInputError
from kling_async._params import (
    canonical_id,
    normalize_content_type,
    normalize_email,
    normalize_file_name,
    normalize_file_types,
    normalize_ids,
    normalize_sort,
    path_segment,
    positive_int,
)


def test_ids_accept_ints_and_numeric_strings_as_canonical_strings() -> None:
    assert normalize_ids([1, "22", " 0333 ", 4], name="ids") == ("1", "22", "333", "4")


def test_ids_accept_a_single_int_or_string_as_one_id() -> None:
    assert normalize_ids(123, name="ids") == ("123",)
    assert normalize_ids("869218167527833688", name="ids") == ("869218167527833688",)


def test_ids_accept_any_iterable() -> None:
    assert normalize_ids((n for n in range(3)), name="ids") == ("0", "1", "2")


def test_ids_drop_duplicates_keeping_first_occurrence() -> None:
    assert normalize_ids(["5", 3, 5, "03"], name="ids") == ("5", "3")


def test_ids_preserve_large_numbers_exactly() -> None:
    big = "123456789012345678901234567890"
    assert normalize_ids([big], name="ids") == (big,)


@pytest.mark.parametrize(
    ("ids", "fragment"),
    [
        ([], "empty"),
        ([-1], "negative"),
        (["12a"], "not a numeric ID"),
        (["1,2"], "not a numeric ID"),
        ([""], "not a numeric ID"),
        ([True], "not an ID"),
        ([1.5], "float"),
        ([None], "NoneType"),
        (b"12", "bytes"),
        (None, "NoneType"),
    ],
)
def test_ids_reject_bad_values_naming_the_argument(ids: object, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment) as info:
        normalize_ids(ids, name="work_ids")  # type: ignore[arg-type]
    assert "work_ids" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_ids_reject_more_than_max_count_after_removing_duplicates() -> None:
    assert len(normalize_ids([*range(10), 0, 1], name="ids", max_count=10)) == 10
    with pytest.raises(InvalidInputError, match="at most 10"):
        normalize_ids(range(11), name="ids", max_count=10)


def test_email_is_stripped_and_none_means_not_given() -> None:
    assert normalize_email("  a+b@x.com ") == "a+b@x.com"
    assert normalize_email(None) is None


@pytest.mark.parametrize("email", ["", "   ", "no-at-sign", "a b@x.com", "a@x\n.com", 42])
def test_email_rejects_blank_and_malformed_values(email: object) -> None:
    with pytest.raises(InvalidInputError, match="email"):
        normalize_email(email)


def test_file_types_accept_enum_and_any_case_strings() -> None:
    assert normalize_file_types([FileType.MP4, "wav", " Png "]) == ("MP4", "WAV", "PNG")
    assert normalize_file_types("mp3") == ("MP3",)
    assert normalize_file_types(FileType.MP4) == ("MP4",)
    assert normalize_file_types(None) is None


@pytest.mark.parametrize("file_types", [["MOV"], [], ["MP4", 3]])
def test_file_types_reject_unknown_and_empty(file_types: object) -> None:
    with pytest.raises(InvalidInputError, match="file_types"):
        normalize_file_types(file_types)  # type: ignore[arg-type]


def test_content_type_accepts_enum_and_any_case() -> None:
    assert normalize_content_type(ContentType.AUDIO) == "audio"
    assert normalize_content_type("VIDEO") == "video"
    assert normalize_content_type(None) is None


def test_content_type_rejects_unknown_values() -> None:
    with pytest.raises(InvalidInputError, match="content_type: 'gif' is not one of video, image"):
        normalize_content_type("gif")


@pytest.mark.parametrize("value", [0, -3, True, 1.0, "2", None])
def test_positive_int_rejects_non_ints_and_values_below_one(value: object) -> None:
    with pytest.raises(InvalidInputError, match="page_num"):
        positive_int(value, "page_num")


def test_positive_int_returns_the_value() -> None:
    assert positive_int(7, "page_size") == 7


def test_file_name_rejects_blank_but_passes_text_through() -> None:
    assert normalize_file_name("clip 1.mp4") == "clip 1.mp4"
    assert normalize_file_name(None) is None
    with pytest.raises(InvalidInputError, match="file_name"):
        normalize_file_name("  ")


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("u_123456789012345", "u_123456789012345"),
        ("a/b", "a%2Fb"),
        ("a?b#c", "a%3Fb%23c"),
        ("../../accounts", "..%2F..%2Faccounts"),
        ("100%", "100%25"),
    ],
)
def test_path_segment_encodes_everything_that_could_change_the_path(
    value: str, segment: str
) -> None:
    assert path_segment(value, "element_id") == segment


@pytest.mark.parametrize("value", ["", " ", ".", "..", 5, None])
def test_path_segment_rejects_blank_dot_segments_and_non_strings(value: object) -> None:
    with pytest.raises(InvalidInputError, match="element_id"):
        path_segment(value, "element_id")


def test_canonical_id_strips_spaces_and_leading_zeros() -> None:
    assert canonical_id(" 007 ") == "7"
    assert canonical_id("869218167527833688") == "869218167527833688"


@pytest.mark.parametrize("text", ["", "x1", "1.0", "²", "١٢"])
def test_canonical_id_is_none_for_anything_but_ascii_digits(text: str) -> None:
    assert canonical_id(text) is None


@pytest.mark.parametrize(("sort", "wire"), [("asc", "asc"), ("DESC", "desc"), (" Asc ", "asc")])
def test_sort_takes_either_order_in_any_case(sort: str, wire: str) -> None:
    assert normalize_sort(sort) == wire


@pytest.mark.parametrize("sort", ["up", "", 1, True, ["asc"]])
def test_sort_rejects_anything_else(sort: object) -> None:
    with pytest.raises(InvalidInputError, match="sort"):
        normalize_sort(sort)


def test_ids_reject_a_mapping_even_with_numeric_keys() -> None:
    with pytest.raises(InvalidInputError, match="work_ids"):
        normalize_ids({"12": "x"}, name="work_ids")
