"""Strict client-side checks of SDK arguments, failing as :class:`InvalidArgumentError`.

One rule for every method: an argument must already have its annotated type (pydantic's
strict mode: no ``"1.0"`` for a float, no ``True`` for an int). Checking here rather
than letting the service answer 422 fails fast, and the same way for every argument,
including those the service never sees as such (query parameters, path segments).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import pydantic

from ._exceptions import InvalidArgumentError

__all__ = ["check_argument", "describe_errors", "strict_arguments", "validate_model"]

_F = TypeVar("_F", bound=Callable[..., Any])
_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)

_STRICT = pydantic.ConfigDict(strict=True)


@functools.cache
def _adapter(hint: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(hint, config=_STRICT)


def describe_errors(where: str, error: pydantic.ValidationError) -> str:
    """One line per problem: where it is, what was expected, what was given."""
    problems: dict[str, str] = {}
    for item in error.errors(include_url=False):
        inside = "".join(_location_part(part) for part in item["loc"])
        path = (where + inside).lstrip(".")
        # A union reports each of its members; the first says enough.
        problems.setdefault(path, f"{path}: {item['msg']} (got {item['input']!r})")
    return "; ".join(problems.values())


def _location_part(part: int | str) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    # Union members appear as their type names ("Transition", "dict[str,any]"): not
    # places in the argument, so left out.
    if not part.isidentifier() or part[0].isupper():
        return ""
    return f".{part}"


def check_argument(method: str, name: str, value: object, hint: Any) -> None:
    """Raise :class:`InvalidArgumentError` unless ``value`` is strictly of type ``hint``."""
    try:
        _adapter(hint).validate_python(value)
    except pydantic.ValidationError as exc:
        raise InvalidArgumentError(f"{method}(): {describe_errors(name, exc)}") from None


def validate_model(method: str, where: str, model: type[_ModelT], data: object) -> _ModelT:
    """``data`` as a ``model`` instance, validated strictly."""
    if isinstance(data, model):
        return data
    if not isinstance(data, Mapping):
        raise InvalidArgumentError(
            f"{method}(): {where}: expected a {model.__name__} or a mapping, "
            f"not {type(data).__name__}"
        )
    try:
        return model.model_validate(data, strict=True)
    except pydantic.ValidationError as exc:
        raise InvalidArgumentError(f"{method}(): {describe_errors(where, exc)}") from None


def _holds_models(hint: Any) -> bool:
    if isinstance(hint, type) and issubclass(hint, pydantic.BaseModel):
        return True
    return any(_holds_models(argument) for argument in typing.get_args(hint))


def strict_arguments(function: _F) -> _F:
    """Check every argument of ``function`` against its annotation before calling it.

    For the request builders of :class:`BaseClient` (``_retrieve_spec`` checks the
    arguments of ``retrieve()``, and errors name that method). Left to the function:
    TypedDict parameters (pydantic cannot adapt ``typing.TypedDict`` before 3.12) and
    those holding models (transitions, records), which it validates once, item by item.
    """
    signature = inspect.signature(function)
    hints = {
        name: hint
        for name, hint in typing.get_type_hints(function).items()
        if name != "return" and not typing.is_typeddict(hint) and not _holds_models(hint)
    }
    method = function.__name__.strip("_").removesuffix("_spec")

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for name, value in signature.bind(*args, **kwargs).arguments.items():
            if name in hints:
                check_argument(method, name, value, hints[name])
        return function(*args, **kwargs)

    return cast(_F, checked)
