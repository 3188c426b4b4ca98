"""`inverted` is a JSON boolean (docs/templates.md, Region keys: `inverted` default false).
A template written `"inverted": "false"` (a string, as a spreadsheet export or a form
writes it) was taken as true: the region drawn as a filled box with white text, the
opposite of what its author wrote, and nothing refused it at upload (PUT /templates:
"a definition rendering refuses ... is a 422 with the reason"). The parser's other loose
casts went the same way: `"max_lines": true` was one line, `"name": 5` the name "5"."""

from __future__ import annotations

from typing import Any

import pytest

from rendering.errors import TemplateError
from rendering.templates import template_from_dict


def _template(**region: Any) -> dict[str, Any]:
    price = {"name": "price", "fill": "price", "box": [0, 0, 1, 1], **region}
    return {"id": "t", "version": 1, "regions": [price]}


@pytest.mark.parametrize("value", ["false", "no", "0", 0.0, [], "true"])
def test_inverted_that_is_no_boolean_is_refused(value: object) -> None:
    with pytest.raises(TemplateError, match="'inverted' is true or false") as refused:
        template_from_dict(_template(inverted=value))
    assert refused.value.reason == f"region 0: 'inverted' is true or false (JSON), not {value!r}"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("max_lines", True, "'max_lines' >= 1"),
        ("min_text_px", 10.0, "'min_text_px' is a whole number >= 4"),
        ("name", 5, "'name' is a non-empty string, not 5"),
        ("name", "", "'name' is a non-empty string"),
        ("ink", ["accent"], "'ink' is a string, not ['accent']"),
        ("fill", None, "'fill' is a string, not None"),
        ("when", [True], "'when' is a string, not True"),
    ],
)
def test_a_region_key_of_the_wrong_type_is_refused(key: str, value: object, reason: str) -> None:
    with pytest.raises(TemplateError) as refused:
        template_from_dict(_template(**{key: value}))
    assert reason in refused.value.reason


def test_the_booleans_and_whole_numbers_still_read() -> None:
    template = template_from_dict(_template(inverted=False, max_lines=2, min_text_px=10))
    (region,) = template.regions
    assert (region.inverted, region.max_lines, region.min_text_px) == (False, 2, 10)
    assert template_from_dict(_template(inverted=True)).regions[0].inverted is True


def test_a_size_class_that_is_no_string_is_refused() -> None:
    with pytest.raises(TemplateError, match=r"unknown size_class \['large'\]"):
        template_from_dict({**_template(), "size_class": ["large"]})
