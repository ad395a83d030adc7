"""sklearn-compatible parameter handling without importing sklearn at import time.

``sklearn.base.clone``, ``GridSearchCV`` and ``Pipeline`` only need ``get_params`` / ``set_params``
that mirror the ``__init__`` keyword arguments, so a tiny mixin keeps ``import postlens`` fast.
"""

from __future__ import annotations

import inspect
from typing import Any


class ParamsMixin:
    """``__init__`` stores its keyword arguments unchanged; learned state ends in ``_``."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            name
            for name, param in signature.parameters.items()
            if name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    for sub_name, sub_value in value.get_params(deep=True).items():
                        params[f"{name}__{sub_name}"] = sub_value
        return params

    def set_params(self, **params: Any) -> ParamsMixin:
        known = set(self._param_names())
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in known:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; known: {', '.join(sorted(known))}")
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"
