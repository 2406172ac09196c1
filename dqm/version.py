"""The installed package's version (a module of its own, so that any module can import it without the package)."""
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("dqm")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"


# the numerical libraries whose versions can change a computed result: a kept result records them
NUMERICAL_LIBRARIES = ("numpy", "scipy", "pandas", "statsmodels")


def library_versions(names=NUMERICAL_LIBRARIES) -> dict:
    """The installed version of each library (None where it is not installed)."""
    out = {}
    for lib in names:
        try:
            out[lib] = _version(lib)
        except PackageNotFoundError:
            out[lib] = None
    return out
