"""The agent is a standalone file, not a package module: tests load it by path, as a user would run it."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

AGENT = Path(__file__).resolve().parents[2] / "agent" / "posture_agent.py"


def load_agent() -> ModuleType:
    spec = importlib.util.spec_from_file_location("posture_agent", AGENT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def posture_agent() -> ModuleType:
    return load_agent()
