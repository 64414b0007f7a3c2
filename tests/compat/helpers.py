"""Small assertions shared by the compatibility tests."""

import json
import random
import re
from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException


def assert_sid(value, prefix):
    assert isinstance(value, str), value
    assert re.fullmatch(prefix + r"[0-9a-f]{32}", value), value


def assert_date(value):
    """Twilio dates must reach the library as `%Y-%m-%dT%H:%M:%SZ` so it parses them."""
    assert isinstance(value, datetime), f"date not parsed by the library: {value!r}"
    assert value.tzinfo is not None


def same_json(text, expected):
    assert isinstance(text, str), text
    assert json.loads(text) == expected


def phone():
    """A random E.164 number, so tests never collide on address pairs."""
    return "+1555" + "".join(random.choice("0123456789") for _ in range(7))


def expect_error(status, code):
    """Context manager: the block raises TwilioRestException with this status and code."""
    return _ExpectError(status, code)


class _ExpectError:
    def __init__(self, status, code):
        self.status, self.code = status, code
        self._raises = pytest.raises(TwilioRestException)

    def __enter__(self):
        self.info = self._raises.__enter__()
        return self.info

    def __exit__(self, *exc):
        suppressed = self._raises.__exit__(*exc)
        if not suppressed:
            return False
        err = self.info.value
        assert (err.status, err.code) == (self.status, self.code), (
            f"expected HTTP {self.status} code {self.code}, got HTTP {err.status} "
            f"code {err.code}: {err.msg}"
        )
        return suppressed
