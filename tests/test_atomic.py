"""Atomically written files get the permissions an ordinary open() would give them."""
import os
import stat

import pytest

from scratchnn.io import atomic_write


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions only")
def test_atomic_write_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "model.npz"
        atomic_write(target, lambda f: f.write(b"data"))
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        assert target.read_bytes() == b"data"
    finally:
        os.umask(old)
