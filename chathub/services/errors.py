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
