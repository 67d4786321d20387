"""``python -m verify``: the CLI (verify/cli.py), with one clear line when the packages are missing."""

import sys


def missing_packages(exc: ImportError, prog: str) -> int:
    """One line on stderr naming the missing package and how to get it; exit status 2."""
    name = getattr(exc, "name", None) or str(exc)
    print(
        f"{prog}: error: the package {name!r} is not installed for {sys.executable}: "
        "run `make verify` (it creates .venv and installs the project), or activate it with "
        "`source .venv/bin/activate`, or call `.venv/bin/python -m verify`",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    try:
        from .cli import main
    except ImportError as exc:
        sys.exit(missing_packages(exc, "python -m verify"))
    try:
        code = main()
    except ImportError as exc:  # a backend imported on first use (jax, torch, scipy)
        code = missing_packages(exc, "python -m verify")
    # The interpreter's last garbage collections walk every object torch, torch._dynamo and
    # JAX made (0.5–0.7 s of a 7 s run); frozen, they are left to the operating system and
    # only cyclic garbage goes uncollected. A user's file (--module, --exercises) may own
    # some, such as an open file whose last writes its collection flushes: then not.
    user_module = sys.modules.get("verify.user_module")
    if user_module is None or not user_module.imported:
        import gc

        gc.freeze()
    sys.exit(code)
