# The cffi module has no static types: its ffi and lib are dynamic.
from typing import Any

ffi: Any
lib: Any
