"""Pricing zones: created or renamed by code (`PUT /api/v1/zones/{code}`, `esl zones put`).

A zone is a code and a name; stores name the zone they belong to (`PUT /stores`, the store
file), and zone price rules name it. Renaming one changes no price and no label.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from esl.blanks import trim_blanks
from esl.db.models import ZoneRow
from esl.errors import InvalidItemError
from esl.one_line_text import one_line_problem

__all__ = ["ZONE_CODE", "ZONE_NAME_MAX", "save_zone"]

# As the API's path parameter of PUT /zones/{code}: the `price_zones.code` column is 32 long.
ZONE_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,32}")
ZONE_NAME_MAX = 128  # the `price_zones.name` column


def save_zone(session: Session, *, code: str, name: str) -> ZoneRow:
    """Create the zone `code` named `name`, or rename it; InvalidItemError (nothing saved)
    for a code of other than 1 to 32 letters, digits, '_', '.' and '-', or a blank name,
    one over 128 characters or one of more than one line (a line break, a control
    character, a direction control: `esl.one_line_text`, as every other name). The blanks
    around the name are trimmed first, as every text an admin or a file sends is
    (`esl.blanks`): `PUT /zones` and `esl zones put` store the same name, and one padded
    past 128 characters is taken."""
    if ZONE_CODE.fullmatch(code) is None:
        raise InvalidItemError(
            f"zone code {code!r}: 1 to 32 letters, digits, '_', '.' or '-'", field="code"
        )
    name = trim_blanks(name)
    if not name:
        raise InvalidItemError("a zone needs a name", field="name")
    if len(name) > ZONE_NAME_MAX:
        raise InvalidItemError(
            f"zone name of {len(name)} characters: at most {ZONE_NAME_MAX}", field="name"
        )
    if problem := one_line_problem(name):
        raise InvalidItemError(f"zone name {name!r} {problem}", field="name")
    row = session.get(ZoneRow, code) or ZoneRow(code=code, name=name)
    row.name = name
    session.add(row)
    return row
