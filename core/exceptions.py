class ApplicationError(Exception):
    """A domain refusal: the request was understood but the rules say no.

    Raised by every app's services; views turn it into a form error or a message,
    the API into a 400/409 with `{"detail": message, "errors": extra}`.
    `code` distinguishes refusals a client may act on (e.g. "invalid_transition" -> 409).
    """

    def __init__(self, message: str, *, code: str = "invalid", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
