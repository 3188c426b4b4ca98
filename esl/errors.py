"""Errors of the store of record (database, CSV imports, publications, API keys) and of
the files an operator names.

    EslError (pricing/errors.py)
    +-- StoreOfRecordError            esl/: the database refuses or cannot find something
        +-- NotFoundError             no such row (`entity`, `key`)
        +-- ConflictError             the change contradicts what is stored
        +-- ImportRejectedError       a CSV file has bad rows (`problems`: line + reason each)
        +-- PublicationRejectedError  items of a publication cannot apply (`problems`)
        +-- PublicationStateError     the publication's state does not allow this
        +-- InvalidItemError          a publication item lacks what its action needs
        +-- AccessDeniedError         an API key may not do this (`role`)
        +-- NotAuthenticatedError     esl/api/dependencies.py: no valid API key
        +-- DatabaseNotReadyError     esl/db/readiness.py: no database at the code's schema
        +-- SchemaRevisionError       esl/db/engine.py: a revision `esl db upgrade` cannot go to
    +-- InputFileError                esl/text_files.py: a file an operator named that is not
                                      what it should hold (`path`, `reason`, `hint`)

    TemplateError (rendering/errors.py)
    +-- TemplateMismatchError         esl/services/templates.py: bound to the wrong size

The API layer maps each class to one HTTP status; nothing here knows about HTTP.
"""

from __future__ import annotations

from pathlib import Path

from pricing.errors import EslError

__all__ = [
    "AccessDeniedError",
    "ConflictError",
    "ImportRejectedError",
    "InputFileError",
    "InvalidItemError",
    "NotFoundError",
    "PublicationRejectedError",
    "PublicationStateError",
    "SchemaRevisionError",
    "StoreOfRecordError",
]


class StoreOfRecordError(EslError):
    """The store of record refuses a change or cannot find what was asked for."""

    code = "store_of_record_error"


class NotFoundError(StoreOfRecordError):
    """No `entity` (a table's word: "product", "publication") with that `key`."""

    code = "not_found"

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"no {entity} {key!s}", entity=entity, key=str(key))
        self.entity = entity
        self.key = str(key)


class ConflictError(StoreOfRecordError):
    """The change contradicts what is stored; `field` names the part that does, if one."""

    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None, **fields: object) -> None:
        super().__init__(message, **_present(field=field), **fields)
        self.field = field


class ImportRejectedError(StoreOfRecordError):
    """Every bad row of a file, each as {"line": int, "reason": str}; nothing was written."""

    code = "import_rejected"

    def __init__(self, message: str, *, problems: list[dict[str, object]]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


class PublicationRejectedError(StoreOfRecordError):
    """Items of a publication that cannot apply, each as {"item": int, "reason": str}."""

    code = "publication_rejected"

    def __init__(
        self, message: str, *, publication_id: int, problems: list[dict[str, object]]
    ) -> None:
        super().__init__(message, publication_id=publication_id, problems=problems)
        self.publication_id = publication_id
        self.problems = problems


class PublicationStateError(StoreOfRecordError):
    """A publication (`publication_id`, in `status`; one published says when and by whom)
    or a promotion (`promotion_id`) is past the state the change needs."""

    code = "publication_state"

    def __init__(
        self,
        message: str,
        *,
        publication_id: int | None = None,
        promotion_id: str | None = None,
        status: str | None = None,
        published_at: str | None = None,
        published_by: str | None = None,
    ) -> None:
        super().__init__(
            message,
            **_present(
                publication_id=publication_id,
                promotion_id=promotion_id,
                status=status,
                published_at=published_at,
                published_by=published_by,
            ),
        )
        self.publication_id = publication_id
        self.promotion_id = promotion_id
        self.status = status
        self.published_at = published_at
        self.published_by = published_by


class InvalidItemError(StoreOfRecordError):
    """A request item lacks what it needs; `field` names the part refused."""

    code = "invalid_item"

    def __init__(self, message: str, *, field: str, **fields: object) -> None:
        super().__init__(message, field=field, **fields)
        self.field = field


class AccessDeniedError(StoreOfRecordError):
    """The API key (of `role`, None when unknown) may not do this."""

    code = "forbidden"

    def __init__(self, message: str, *, role: str | None, **fields: object) -> None:
        super().__init__(message, role=role, **fields)
        self.role = role


class SchemaRevisionError(StoreOfRecordError):
    """`esl db upgrade REVISION` names a `revision` that is not there, or one older than
    the database's `current` (Alembic goes up only); `hint` says what to do."""

    code = "schema_revision"

    def __init__(self, message: str, *, revision: str, current: str | None, hint: str) -> None:
        super().__init__(message, revision=revision, current=current, hint=hint)
        self.revision = revision
        self.current = current
        self.hint = hint


class InputFileError(EslError):
    """A file named on the command line (`path`: a label's content, a provisioning file, a
    list of gateways) that cannot be read as what it should hold, for `reason`; `hint`
    says what to do. The CLI prints it as `error: PATH: REASON` and the hint."""

    code = "input_file"

    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", **_present(path=str(path), reason=reason, hint=hint))
        self.path = path
        self.reason = reason
        self.hint = hint


def _present(**fields: object) -> dict[str, object]:
    # The error JSON has always left out what a raise did not name.
    return {name: value for name, value in fields.items() if value is not None}
