"""The error contract (helpers.errors): message then hint, one translation of SDK errors."""

from __future__ import annotations

import docker.errors
import requests

from helpers.errors import BuildError, KitError, engine_error, missing_image


def test_errors_print_message_then_hint():
    error = BuildError("boom", step=4, instruction="RUN x", hint="fix it")
    assert str(error) == "Step 4 (RUN x) failed: boom\nHint: fix it"


def test_sdk_errors_are_translated_once():
    missing = missing_image("web")
    assert missing.message == "There is no image 'web' on this engine."
    assert "Build it first" in missing.hint
    refused = engine_error(docker.errors.APIError("500", explanation="disk full"), "exporting 'web'")
    assert refused.message == "The engine refused while exporting 'web': disk full"
    broke = engine_error(requests.exceptions.ConnectionError("reset"), "reading /server")
    assert broke.message.startswith("The connection to the engine broke while reading /server")
    assert "still running" in broke.hint
    other = engine_error(ValueError("odd"), "reading /server")
    assert isinstance(other, KitError) and "odd" in other.message
