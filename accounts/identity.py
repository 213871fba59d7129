"""One e-mail identity: the canonical key every lookup uses, and the rule for new addresses.

Two spellings are the same account exactly when their `email_key` is equal; the key is
stored on `User.email_key` under a unique constraint, and nothing compares addresses any
other way (no `iexact`, no `LOWER()`, no Python `lower()`). docs/security.md states the rule.

- `email_key(address)`: total (never raises), for lookups: sign-in, API token, lockout,
  enrolment, invitations, password reset, admin.
- `email_canonical(address)`: what a *new* address is stored as, or a ValidationError
  saying why it is refused.
"""

import unicodedata

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit, as Django's EmailField


def _fold(text: str) -> str:
    # Casefolding can leave text that is not in NFKC (and NFKC can expose new case pairs).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _ascii_domain(domain: str) -> str:
    """The domain's IDNA A-label form (`bücher.de` -> `xn--bcher-kva.de`); raises idna.IDNAError."""
    return idna.encode(domain.rstrip("."), uts46=True).decode("ascii")


def email_key(address: str) -> str:
    """The identity of an address: NFKC + casefold of the local part, IDNA of the domain.

    `Ada@Example.COM`, `ada@ｅxample.com` (full-width) and `ada@example.com` share a key;
    `ada@exаmple.com` (Cyrillic а) and `new.mentor@unıversity.test` (dotless ı) do not.
    A domain IDNA refuses is case-folded like the local part, so the function never raises
    (such an address is never accepted for a new account, see `email_canonical`).
    """
    text = unicodedata.normalize("NFKC", (address or "").strip())
    local, at, domain = text.rpartition("@")
    if not at:
        return _fold(text)
    try:
        domain = _ascii_domain(domain)
    except (idna.IDNAError, UnicodeError, ValueError):
        domain = _fold(domain)
    return f"{_fold(local)}@{domain}"


def email_canonical(address: str) -> str:
    """The stored form of a new address, or ValidationError (code "invalid").

    Accepted: after NFKC normalisation, an ASCII local part (compared case-insensitively)
    and a domain that IDNA accepts, kept in its ASCII (`xn--`) form so that a look-alike
    domain never reads like the real one. Refused: any other character before the @
    (dotless ı, Cyrillic or Greek look-alikes, invisible characters...).
    """
    text = unicodedata.normalize("NFKC", (address or "").strip())
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(f"“{address}” is not a valid email address.", code="invalid")
    if not local.isascii():
        raise ValidationError(
            f"“{address}” has characters other than plain letters, digits and punctuation "
            "(a-z, 0-9, . _ + -) before the @. Such characters can make one address look "
            "like another, so they are not accepted; use the plain form of the address.",
            code="invalid",
        )
    try:
        domain = _ascii_domain(domain)
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise ValidationError(
            f"“{address}” does not end in a valid domain name.", code="invalid"
        ) from exc
    email = f"{local.lower()}@{domain}"
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            f"The address is longer than {EMAIL_MAX_LENGTH} characters.", code="invalid"
        )
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError(f"“{address}” is not a valid email address.", code="invalid") from exc
    return email


# --- Display names --------------------------------------------------------------------------

# Line breaks and other control characters, plus the bidirectional overrides that can make
# a name read backwards: a display name is one line of plain text.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Zl", "Zp"} or char in _BIDI_CONTROLS


def validate_display_name(value: str) -> None:
    """A display name is one line: no line breaks, tabs or other control characters."""
    if any(_is_control(char) for char in value or ""):
        raise ValidationError(
            "The name must be one line of text, without line breaks or control characters.",
            code="invalid",
        )


def single_line(value: str) -> str:
    """`value` with every run of control characters and whitespace made one space.

    For text put into an e-mail header (a subject naming a person or a cohort): whatever
    the database holds, a header stays one line.
    """
    cleaned = "".join(" " if _is_control(char) else char for char in value or "")
    return " ".join(cleaned.split())
