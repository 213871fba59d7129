"""The canonical e-mail key and the rule for new addresses (accounts.identity)."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.identity import (
    email_canonical,
    email_key,
    single_line,
    validate_display_name,
)

FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@given(st.text())
def test_the_key_of_any_text_is_defined(text):
    assert isinstance(email_key(text), str)


@given(st.emails())
def test_an_accepted_address_is_stored_as_its_own_key(address):
    try:
        stored = email_canonical(address)
    except ValidationError:
        return  # a domain IDNA refuses, or too long: refusal is fine, raising anything else is not
    assert stored.isascii()
    assert email_key(stored) == stored == email_key(address)
    assert email_canonical(stored) == stored


@given(st.emails(), st.data())
def test_case_and_width_variants_share_the_key(address, data):
    flips = data.draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    widths = data.draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    variant = "".join(
        FULL_WIDTH.get(c, c) if wide else (c.swapcase() if flip else c)
        for c, flip, wide in zip(address, flips, widths, strict=True)
    )
    assert email_key(variant) == email_key(address)


@pytest.mark.parametrize(
    "look_alike",
    [
        "new.mentor@un\u0131versity.test",  # dotless ı in the domain
        "new.ment\u043er@university.test",  # Cyrillic о
        "new.mentor@university.t\u0435st",  # Cyrillic е in the top-level domain
        "new.mentor\u200b@university.test",  # zero-width space
        "new.m\u0435ntor@university.test",
    ],
)
def test_look_alikes_are_never_the_same_key(look_alike):
    assert email_key(look_alike) != email_key("new.mentor@university.test")


def test_a_domain_is_keyed_as_dns_resolves_it():
    # IDNA drops ignorable characters and maps case and width: these are one domain in DNS.
    for spelling in ["university.test\u200b", "UNIVERSITY.test.", "\uff55niversity.test"]:
        assert email_key(f"new.mentor@{spelling}") == "new.mentor@university.test"


@pytest.mark.parametrize(
    "address",
    [
        "v\u0131ctim@example.com",
        "\u0430da@example.com",
        "ada\u200b@example.com",
        "\u00e9lise@example.com",
        "ada@",
        "@example.com",
        "ada",
        "ada@exa_mple.com",
        "ada@-example.com",
        "",
        "a" * 250 + "@example.com",
        "ada@example.com\nBcc: x@example.com",
    ],
)
def test_new_addresses_that_are_refused(address):
    with pytest.raises(ValidationError):
        email_canonical(address)


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        (" Ada@Example.COM ", "ada@example.com"),
        ("\uff41da@example.com", "ada@example.com"),  # full-width ａ is a plain a
        ("\u017fmith@example.com", "smith@example.com"),  # long s (ſ) is an s
        ("lin@B\u00fccher.de", "lin@xn--bcher-kva.de"),
        ("ada@\u0435xample.com", "ada@xn--xample-2of.com"),  # shown as what it is
    ],
)
def test_new_addresses_that_are_accepted(address, stored):
    assert email_canonical(address) == stored


@pytest.mark.parametrize(
    "name", ["Eve\nBcc: a@example.com", "Eve\r", "Eve\tX", "Eve\x00", "Eve\u2028X", "\u202eevE"]
)
def test_display_names_are_one_line(name):
    with pytest.raises(ValidationError):
        validate_display_name(name)


@pytest.mark.parametrize("name", ["Zo\u00eb O'Brien", "\u674e\u5c0f\u9f99", "Ada  Lovelace", ""])
def test_ordinary_display_names_are_accepted(name):
    validate_display_name(name)


def test_single_line_flattens_any_control_characters():
    assert single_line("Eve\r\nBcc: a@example.com\u2028x\t y") == "Eve Bcc: a@example.com x y"
