"""What services raise for a caller's mistake; routes map them to HTTP statuses."""


class ServiceError(Exception):
    status_code = 400


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409


class ValidationFailed(ServiceError):
    status_code = 422


def require_row_id(row_id: int, what: str) -> int:
    """An id from a URL that SQLite could never hold is simply not there (rather than an overflow)."""
    if not 0 < row_id < 2**63:
        raise NotFound(f"{what} {row_id} does not exist")
    return row_id
