"""Calculus for ML: a cross-framework gradient verification suite.

``python -m verify`` checks every identity of the curriculum; see verify/cli.py.
``verify.check(function, derivative, *args, kind=...)`` checks a user's own derivative, and
``verify.check(layer, *args)`` a torch or JAX layer's own registered derivative;
``help(verify.check)`` gives the calling convention of every kind, with an example each.
The registry lives in verify/identities/, the engine in verify/engine.py, how each framework
runs a function in verify/frameworks/, results and errors in verify/results.py.

The runtime needs numpy, scipy, array-api-compat and optree only. JAX and torch are extras
(``pip install calculus-for-ml[jax]``, ``[torch]``, ``[all]``): a framework that is not
installed is left out of the checks with a note, and asking for it is a usage error.
"""

__all__ = ["check", "CheckReport", "VerificationError", "UsageError"]


def __getattr__(name):
    """``verify.check`` and friends, imported on first use: ``import verify`` stays cheap."""
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
