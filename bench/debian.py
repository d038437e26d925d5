"""Install from Debian's packages a program a bench needs, when it is absent (benches only:
the product never installs anything)."""

from __future__ import annotations

import os
import shutil
import subprocess


def ensure(program: str, package: str) -> str | None:
    """Return `program`'s path, installing `package` with apt-get first when it is missing;
    None when it is missing and could not be installed."""
    exe = shutil.which(program)
    if exe is None and shutil.which("apt-get") is not None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", package], check=False, env=env,
                       stdout=subprocess.DEVNULL)
        exe = shutil.which(program)
    return exe
