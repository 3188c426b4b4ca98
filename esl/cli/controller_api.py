"""How the store-side commands (`esl gateway oepl import-tags --api`, `esl gateway ble
associate`) post to the controller's API: with an admin key or the store's own, and with
a refusal read as the API writes it (`{"error": {"message": ..., "problems": [...]}}`)."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["post_to_controller"]


def post_to_controller(
    base_url: str, path: str, body: object, *, api_key: str, option: str
) -> tuple[int, Any]:
    """`POST {base_url}/api/v1{path}`: (200, the answer's JSON), or (the HTTP status, the
    refusal: the API's `error` object, else the start of whatever came back as its
    `message`). A controller that cannot be reached ends the command, naming `option`."""
    import httpx

    url = f"{base_url.rstrip('/')}/api/v1{path}"
    try:
        response = httpx.post(url, json=body, headers={"X-API-Key": api_key}, timeout=60)
    except httpx.HTTPError as unreachable:
        raise typer.BadParameter(f"{option} {base_url}: {unreachable}") from None
    if response.status_code == 200:
        return 200, response.json()
    try:
        refusal = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        refusal = {"message": response.text[:200]}
    return response.status_code, refusal
