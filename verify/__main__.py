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


def on_ctrl_c(signum, frame) -> None:
    """SIGINT: one line, the workers stopped, exit status 130, at once.

    Raising KeyboardInterrupt instead (Python's default) loses the interrupt where it lands
    in a callback (a weakref's, the garbage collector's, importlib's during an import):
    Python prints "Exception ignored in ..." with a traceback and the run goes on. The
    workers ignore SIGINT (verify/parallel.py); they are sent SIGTERM here and waited for.
    Rows not yet flushed to a pipe are flushed where that is safe; a user's open files
    (--module) are not."""
    import multiprocessing
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # interrupted inside a write of that stream: its rows are lost
            pass
    os.write(2, b"interrupted\n")
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:  # gone before the shell prompts again
        child.join(timeout=2)
    os._exit(130)


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, on_ctrl_c)
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
