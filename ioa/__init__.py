"""IoA runtime: the hub, its store, the client agents use, local inference and the `ioa` command."""

from ioa.errors import IoAError

__version__ = "0.1.0"

__all__ = ["IoAError", "__version__"]
