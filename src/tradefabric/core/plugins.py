"""Load a class named in YAML: by dotted path (``pkg.mod.Class`` or ``pkg.mod:Class``)
or by file (``path/to/file.py:Class``). Analytics plugins and user strategies both
load through here, so no edit to tradefabric is needed to add either.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from tradefabric.core.errors import ConfigError


def load_class(path: str) -> type[Any]:
    """Return the class at ``path``; any failure is a ``ConfigError`` naming it."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"plugin class {path!r}: expected 'package.module.Class'")
    try:
        if module_name.endswith(".py"):
            module = _load_file(Path(module_name))
        else:
            module = importlib.import_module(module_name)
    except (ImportError, OSError, SyntaxError) as exc:
        raise ConfigError(f"plugin class {path!r}: cannot import {module_name}: {exc}") from exc
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise ConfigError(f"plugin class {path!r}: {module_name} has no class {attr!r}")
    return cls


def _load_file(file: Path) -> Any:
    name = f"tradefabric_plugin_{file.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"{file} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
