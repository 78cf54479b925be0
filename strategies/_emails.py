"""Email addresses (RFC 5321, RFC 5322, RFC 6531) and their invalid twins.

The oracle is ``email_validator.validate_email(address, check_deliverability=False)``: every
address from :func:`emails` is accepted by it, every string from :func:`invalid_emails` is refused.
"""

from __future__ import annotations

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from strategies._validation import check_bool, check_int_range, check_strategy

__all__ = ["email_is_valid", "emails", "invalid_emails"]

# RFC 5321 section 4.5.3.1: 64 octets of local part, 254 octets of path without the brackets.
LOCAL_PART_MAX_OCTETS = 64
ADDRESS_MAX_OCTETS = 254

# RFC 5322 section 3.2.3 `atext` (without ALPHA / DIGIT, added below).
_ATEXT_SYMBOLS = "!#$%&'*+-/=?^_`{|}~"
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# RFC 6531 section 3.3 extends atext with UTF-8 characters; these letters are NFC-normalised
# already, so email-validator keeps them unchanged.
_UTF8_LETTERS = "äöüåéèñçøłžšđжилетαβγδ郵便局"

# A subset of the IANA root zone, https://data.iana.org/TLD/tlds-alpha-by-domain.txt
# (checked 2025-01), lower-cased. None is a special-use name (RFC 6761, RFC 6762, RFC 7686).
# fmt: off
_TLDS = (
    "com", "net", "org", "info", "biz", "io", "app", "dev", "eu", "de", "fi", "se", "no", "dk",
    "uk", "fr", "es", "it", "nl", "be", "ch", "at", "pl", "cz", "ee", "pt", "ie", "jp", "kr",
    "in", "br", "ca", "au", "nz", "za", "mx", "cloud", "tech", "online", "shop", "museum",
    "travel", "co",
)
# fmt: on


def email_is_valid(address: str) -> bool:
    """True when email-validator accepts ``address`` (syntax only, no DNS lookup)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _octets(text: str) -> int:
    return len(text.encode("utf-8"))


@st.composite
def _domains(draw: st.DrawFn, max_length: int) -> str:
    """RFC 1035 section 2.3.1 LDH host names under a real TLD, at most ``max_length`` octets."""
    tld = draw(st.sampled_from([t for t in _TLDS if len(t) + 2 <= max_length]))
    labels = draw(
        st.lists(
            st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True).filter(
                # IDNA 2008 (RFC 5891 section 4.2.3.1) reserves "--" in positions 3 and 4.
                lambda label: label[2:4] != "--"
            ),
            min_size=1,
            max_size=3,
        )
    )
    domain = tld
    for label in reversed(labels):
        if len(label) + 1 + len(domain) > max_length:
            break
        domain = f"{label}.{domain}"
    if domain == tld:  # every address needs at least one label before the TLD
        domain = f"{labels[-1][: max(1, max_length - len(tld) - 1)]}.{tld}"
    return domain


def _atoms(smtputf8: bool) -> SearchStrategy[str]:
    alphabets = [st.sampled_from(_ALNUM), st.sampled_from(_ALNUM + _ATEXT_SYMBOLS)]
    if smtputf8:
        alphabets.append(st.sampled_from(_ALNUM + _UTF8_LETTERS))
    return st.one_of(*(st.text(alphabet=a, min_size=1, max_size=16) for a in alphabets))


@st.composite
def _addresses(draw: st.DrawFn, domains: SearchStrategy[str] | None, max_length: int, smtputf8: bool) -> str:
    domain = draw(_domains(max_length - 2) if domains is None else domains)
    budget = min(LOCAL_PART_MAX_OCTETS, max_length - 1 - _octets(domain))
    if budget < 1:
        reject()  # the domain leaves no room for a local part
    atoms = draw(st.lists(_atoms(smtputf8), min_size=1, max_size=4))
    local = ".".join(atoms)
    if draw(st.booleans()):
        # RFC 5233 subaddress: user+detail.
        local = f"{local}+{draw(_atoms(smtputf8))}"
    while _octets(local) > budget:
        local = local[:-1]
    local = local.rstrip(".")
    return f"{local}@{domain}"


def emails(
    *,
    domains: SearchStrategy[str] | None = None,
    max_length: int = ADDRESS_MAX_OCTETS,
    smtputf8: bool = False,
) -> SearchStrategy[str]:
    """Email addresses that :rfc:`5321` and :rfc:`5322` allow and email-validator accepts.

    The local part is a dot-atom (RFC 5322 section 3.4.1) of at most 64 octets, sometimes with
    a ``+detail`` subaddress (:rfc:`5233`); the address is at most ``max_length`` octets (the
    RFC 5321 limit and the contract's ``maxLength`` are 254). ``domains`` replaces the default
    host names (LDH labels under a real TLD); addresses email-validator refuses are filtered
    out, so pass a strategy whose domains it accepts. With ``smtputf8=True`` the local part may
    hold non-ASCII letters (:rfc:`6531`).

    For example, ``emails().example()`` might give ``"k.Z+x3@q-1.example-shop.io"``.
    """
    if domains is not None:
        check_strategy("domains", domains)
    check_int_range("max_length", max_length, min_value=6, max_value=ADDRESS_MAX_OCTETS)
    check_bool("smtputf8", smtputf8)
    return _addresses(domains, max_length, smtputf8).filter(email_is_valid)


def _mutations(address: str) -> list[str]:
    local, _, domain = address.rpartition("@")
    head = domain.split(".", 1)[0]
    return [
        f"{local}{domain}",  # no @ at all
        f"{local}@{local}@{domain}",  # two @
        f"@{domain}",  # empty local part
        f"{local}@",  # empty domain
        f".{local}@{domain}",  # local part starts with a dot
        f"{local}.@{domain}",  # local part ends with a dot
        f"{local[:1]}..{local[1:]}@{domain}",  # two dots in a row
        f"{local} x@{domain}",  # unquoted space
        f"{local}(x@{domain}",  # a special outside quotes
        f"{local}@-{domain}",  # label starting with a hyphen
        f"{local}@{head}.123",  # numeric TLD
        f"{local}@localhost",  # no dot in the domain
        f"{local}@{head}.test",  # RFC 6761 special-use name
        f"{local}@{head}..{domain}",  # empty label
        f"{'l' * 65}@{domain}",  # local part over 64 octets
        f"{local}@{'d' * 64}.{domain}",  # label over 63 octets
        f"{local}@{'.'.join(['a' * 63] * 4)}.com",  # address over 254 octets
    ]


def invalid_emails() -> SearchStrategy[str]:
    """Strings that look like addresses but break :rfc:`5321` / :rfc:`5322`; email-validator refuses them.

    Each is a valid address with one defect: no ``@``, two ``@``, an empty or dotted-at-the-edge
    local part, consecutive dots, an unquoted space or special, a hyphen-led or over-long label,
    a numeric TLD, a dotless or special-use domain, or more than 64 / 254 octets.
    """
    return (
        emails()
        .flatmap(lambda address: st.sampled_from(_mutations(address)))
        .filter(lambda candidate: not email_is_valid(candidate))
    )
