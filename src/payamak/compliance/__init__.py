"""Content rules for SMS: what an informational (service) message may not contain, whether it
names its sender, which words operators filter, and the opt-out line it must carry.

Pure and fast enough to run on every keystroke and every message: nothing is read or written
besides the Public Suffix List bundled with `publicsuffixlist`, loaded once at import with every
pattern.

    >>> [v.rule for v in check("تماس: ۰۹۱۲۳۴۵۶۷۸۹", kind="informational")]
    ['phone_number']

How the rules meet:

- `kind=None` only analyses (no violations); advertising messages skip the content rules but not
  the forbidden words, which operators filter whatever the kind.
- Spans index the text as given. `sender_name_missing` has no place in it: its span is (0, 0).
  With no approved sender names there is nothing to compare with and the rule is skipped.
- A domain or handle inside an e-mail address is the e-mail only; a number inside a link or an
  address is part of it. A platform link (t.me/…, instagram.com/…) is reported as both `link`
  and `social_id`, with the same span; a handle given after a platform keyword that looks like
  a domain («اینستاگرام: shop.ir») is `social_id` only. A number after «واتساپ» is a
  `phone_number`.
- Every occurrence of a forbidden word is reported; violations come ordered by position.
"""

from payamak.compliance.core import (
    KINDS,
    OPT_OUT_SUFFIX,
    RULES,
    Kind,
    Violation,
    check,
    has_opt_out,
    text_to_send,
)
from payamak.compliance.normalize import Normalized, fold

__all__ = [
    "KINDS",
    "OPT_OUT_SUFFIX",
    "RULES",
    "Kind",
    "Normalized",
    "Violation",
    "check",
    "fold",
    "has_opt_out",
    "text_to_send",
]
