"""Errors of the store of record: database, CSV imports, publications, API keys.

    EslError (pricing/errors.py)
    +-- StoreOfRecordError            esl/: the database refuses or cannot find something
        +-- NotFoundError             no such row (`entity`, `key`)
        +-- ConflictError             the change contradicts what is stored
        +-- ImportRejectedError       a CSV file has bad rows (`problems`: line + reason each)
        +-- PublicationRejectedError  items of a publication cannot apply (`problems`)
        +-- PublicationStateError     the publication's state does not allow this
        +-- InvalidItemError          a publication item lacks what its action needs
        +-- AccessDeniedError         an API key may not do this (`role`)

The API layer maps each class to one HTTP status; nothing here knows about HTTP.
"""

from __future__ import annotations

from pricing.errors import EslError

__all__ = [
    "AccessDeniedError",
    "ConflictError",
    "ImportRejectedError",
    "InvalidItemError",
    "NotFoundError",
    "PublicationRejectedError",
    "PublicationStateError",
    "StoreOfRecordError",
]


class StoreOfRecordError(EslError):
    """The store of record refuses a change or cannot find what was asked for."""

    code = "store_of_record_error"


class NotFoundError(StoreOfRecordError):
    code = "not_found"

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"no {entity} {key!s}", entity=entity, key=str(key))


class ConflictError(StoreOfRecordError):
    code = "conflict"


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
    code = "publication_state"


class InvalidItemError(StoreOfRecordError):
    code = "invalid_item"


class AccessDeniedError(StoreOfRecordError):
    code = "forbidden"
