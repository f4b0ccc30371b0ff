"""Logging filters: request ids in, personal data out."""

from __future__ import annotations

import logging
import re

from .middleware import current_request_id

# Shapes of personal data that must never reach a log line, even by accident
# (an exception message quoting a form value, say).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Not preceded by a letter or digit, so customer numbers (C100000017) and
# other ids survive.
_PHONE = re.compile(r"(?<![A-Za-z\d])\+?\d[\d ()./-]{7,}\d")


def mask_personal_data(text: str) -> str:
    """Replace e-mail addresses and phone-like digit runs with placeholders."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class PersonalDataFilter(logging.Filter):
    """Masks e-mail addresses and phone numbers in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            # An exception's text can quote a value ("x@y.z is not valid"):
            # format the traceback now, masked, and drop the raw exc_info.
            record.exc_text = mask_personal_data(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        return True
