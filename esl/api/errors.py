"""Every 4xx has one JSON shape: {"error": {"code", "message", ...fields}}.

Domain errors carry their own code and fields; this module only picks the HTTP status.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from esl.api.dependencies import NotAuthenticatedError
from esl.api.route_templates import operation_paths
from esl.audit.gather import AuditInstantError
from esl.errors import (
    AccessDeniedError,
    ConflictError,
    ImportRejectedError,
    InvalidItemError,
    NotFoundError,
    PublicationRejectedError,
    PublicationStateError,
)
from pricing.errors import EslError, PricingError

__all__ = [
    "QueryValueError",
    "install_error_handlers",
    "invalid_request_response",
    "require_aware_query",
    "status_for",
]

log = logging.getLogger(__name__)

# Most specific first.
STATUS_BY_ERROR: tuple[tuple[type[EslError], int], ...] = (
    (NotAuthenticatedError, 401),
    (AccessDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PublicationStateError, 409),
    (InvalidItemError, 422),
    (PublicationRejectedError, 409),
    (ImportRejectedError, 422),
    (AuditInstantError, 422),
    (PricingError, 422),
)
HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


class QueryValueError(EslError):
    code = "invalid_request"


def require_aware_query(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise QueryValueError(
            "instants need a UTC offset, e.g. 2026-05-01T00:00:00Z", value=value.isoformat()
        )
    return value


def status_for(error: EslError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 422 if isinstance(error, QueryValueError) else 400


def _body(code: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"error": jsonable_encoder({"code": code, "message": message, **fields})}


def invalid_request_response(problems: list[dict[str, Any]]) -> JSONResponse:
    """422 `invalid_request`: a request that does not match the API, each problem with its
    `location` and `reason`; the handlers below and the gates in front of the routes
    (`RepeatedQueryGate`, `LoneSurrogateGate`, which answer it as an ASGI app) say it alike."""
    return JSONResponse(
        _body("invalid_request", "the request does not match the API", problems=problems),
        status_code=422,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EslError)
    async def domain_error(_: Request, error: EslError) -> JSONResponse:
        status = status_for(error)
        headers = {"WWW-Authenticate": "APIKey"} if status == 401 else None
        fields = {k: v for k, v in error.fields.items() if k not in ("code", "message")}
        return JSONResponse(
            _body(error.code, error.message, **fields), status_code=status, headers=headers
        )

    # The database has the last word on values the schema cannot express (PostgreSQL text
    # refuses NUL characters, say) and on races two clients can run into: still 4xx.
    @app.exception_handler(DataError)
    async def refused_value(_: Request, error: DataError) -> JSONResponse:
        reason = str(error.orig).splitlines()[0] if error.orig is not None else "refused"
        return JSONResponse(
            _body("invalid_value", f"the database refuses a value: {reason}"), status_code=422
        )

    @app.exception_handler(IntegrityError)
    async def conflicting_write(_: Request, error: IntegrityError) -> JSONResponse:
        log.info("integrity error turned into 409: %s", error.orig)
        return JSONResponse(
            _body("conflict", "the change conflicts with stored data (retry after reading it)"),
            status_code=409,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "location": [str(part) for part in item.get("loc", ())],
                "reason": str(item.get("msg", "")),
            }
            for item in error.errors()
        ]
        return invalid_request_response(problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:
            # A body that cannot be parsed is a malformed request like any other: 422, the
            # status every operation declares, not an undeclared 400.
            return invalid_request_response([{"location": ["body"], "reason": str(error.detail)}])
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        code = HTTP_CODES.get(error.status_code, "http_error")
        return JSONResponse(
            _body(code, str(error.detail)), status_code=error.status_code, headers=headers or None
        )


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this path (Starlette names only those of
    the first route that matched, so `GET` where GET and POST are both taken)."""
    return operation_paths(request.app).methods(request.url.path)
