"""Calculus for ML: a cross-framework gradient verification suite.

``python -m verify`` checks every identity of the curriculum; see verify/cli.py.
The registry lives in verify/identities/, the engine in verify/engine.py.
"""

__all__ = ["check", "CheckReport", "VerificationError", "UsageError"]


def __getattr__(name):
    """``verify.check`` and friends, imported on first use: ``import verify`` stays cheap."""
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
