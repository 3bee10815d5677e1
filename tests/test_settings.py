"""Settings that the service checks when it starts, before anything runs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from rememberer.config import Settings


@pytest.mark.parametrize(("given", "level"), [("WARNING", "warning"), ("debug", "debug")])
def test_log_level_takes_any_letter_case(given: str, level: str) -> None:
    assert Settings(database_url=None, log_level=given).log_level == level


def test_an_unknown_log_level_names_the_setting_and_the_choices() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(database_url=None, log_level="loud")
    message = str(error.value)
    assert "log_level" in message and "'warning'" in message and "'debug'" in message
