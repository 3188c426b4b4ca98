"""The label page's Acknowledgements table tells the label's answers from the controller's
own notes: a refresh taken up makes the record forget what the label shows, and keeps a
row of that in the label's history (`esl.pipeline.panel_history`). The page lists it as
the controller's ("controller: refresh asked, panel unknown"), set apart, not in the
Answer column as if the label had said "refresh asked".

The real console over the pipeline's stepped test world (one database, one test clock),
read over HTTP by a store key. The world steps in a thread of its own: the browser tests
beside this one hold this thread's event loop (Playwright's sync API).
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import Engine

from esl.services.keys import Role
from tests.pipeline.console_client import serve_console, signed_in
from tests.pipeline.small_world import World
from tests.support.api import AppSwitch
from tests.support.waiting import run_in_a_thread_of_its_own


def _acknowledgements(page: str) -> list[tuple[str, list[str]]]:
    """The Acknowledgements table's rows: (the row's class, its cells as read)."""
    table = re.search(r"<h2>Acknowledgements</h2>.*?<tbody>(.*?)</tbody>", page, re.S)
    assert table is not None, "no Acknowledgements table"
    return [
        (
            row_class or "",
            [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells.split("</td>")][
                :-1
            ],
        )
        for row_class, cells in re.findall(r'<tr(?: class="([^"]*)")?>(.*?)</tr>', table[1], re.S)
    ]


def _refreshed(world: World) -> None:
    """Converged (3.49, acknowledged), then a refresh asked for and taken up, its image
    sent again and acknowledged."""

    async def scenario() -> None:
        await world.converge()
        (label_id,) = world.labels
        world.clock.advance(timedelta(minutes=1))
        world.ask_refresh(label_id)
        await world.run_until(world.clock.now + timedelta(minutes=2))

    run_in_a_thread_of_its_own(scenario, name="small-world")


def test_a_refresh_is_listed_as_the_controllers_note_not_the_labels_answer(
    engine: Engine, http_server: tuple[AppSwitch, str]
) -> None:
    world = World.priced(engine, count=1)
    (label_id,) = world.labels
    _refreshed(world)

    with (
        serve_console(world, engine, http_server) as url,
        signed_in(world, url, Role.STORE, store="S01") as console,
    ):
        answer = console.get(f"/ui/labels/{label_id}")
    assert answer.status_code == 200, answer.text[-400:]
    rows = _acknowledgements(answer.text)

    answers = [cells[1] for row_class, cells in rows if row_class != "controller-note"]
    notes = [cells[1] for row_class, cells in rows if row_class == "controller-note"]
    assert notes == ["controller: refresh asked, panel unknown"], rows
    assert "refresh asked" not in answers, rows
    assert answers, "the label's own answers are listed too"
