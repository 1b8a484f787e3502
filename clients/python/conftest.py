"""Fixtures for running pyuploadcare against a Satchel started by
scripts/pyclient.sh (PYCLIENT_URL, PYCLIENT_PUB_KEY, PYCLIENT_SECRET_KEY)."""

import os
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

from pyuploadcare import Uploadcare

SATCHEL_URL = os.environ["PYCLIENT_URL"].rstrip("/") + "/"
PUB_KEY = os.environ["PYCLIENT_PUB_KEY"]
SECRET_KEY = os.environ["PYCLIENT_SECRET_KEY"]


def make_client(**kwargs):
    """An Uploadcare client whose three bases are Satchel."""
    settings = dict(
        public_key=PUB_KEY,
        secret_key=SECRET_KEY,
        api_base=SATCHEL_URL,
        upload_base=SATCHEL_URL,
        cdn_base=SATCHEL_URL,
        timeout=60,
    )
    settings.update(kwargs)
    return Uploadcare(**settings)


@pytest.fixture
def uc():
    return make_client()


def png_bytes(width=8, height=6, rgb=(200, 30, 60)):
    """A valid RGB PNG made here, so no image file or library is needed."""

    def chunk(kind, data):
        body = kind + data
        return (
            struct.pack(">I", len(data))
            + body
            + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


_tmp = tempfile.mkdtemp(prefix="pyclient-")


def named(data, name):
    """An open file with that name and content: pyuploadcare takes the
    filename from the handle and its size from fstat."""
    folder = tempfile.mkdtemp(dir=_tmp)
    path = os.path.join(folder, name)
    with open(path, "wb") as out:
        out.write(data)
    return open(path, "rb")


@pytest.fixture
def png():
    return named(png_bytes(), "dot.png")


@pytest.fixture(scope="session")
def video_path(tmp_path_factory):
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        pytest.skip("ffmpeg is not installed")
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(
        [ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc=duration=1:size=160x120:rate=10", "-f", "lavfi", "-i",
         "sine=frequency=440:duration=1", "-pix_fmt", "yuv420p", "-shortest",
         str(path)],
        check=True,
    )
    return path
