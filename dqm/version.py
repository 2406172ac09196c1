"""The installed package's version (a module of its own, so that any module can import it without the package)."""
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("dqm")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"
