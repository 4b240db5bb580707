# The compiled extension (csrc/bindings): its functions are internal to dlcore and untyped here.
from typing import Any

def __getattr__(name: str) -> Any: ...
