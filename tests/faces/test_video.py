from pathlib import Path
from typing import Any

import numpy as np
import pytest

from honnin.faces.errors import CorruptImageError, CorruptVideoError, TooManyPixelsError
from honnin.faces.imaging import encode_image
from honnin.faces.video import (
    Frame,
    encode_mp4,
    encode_y4m,
    frames_from_images,
    frames_from_video,
    sample,
)


def test_mp4_from_the_shared_set_is_sampled_evenly(faces_dir: Path) -> None:
    data = (faces_dir / "video" / "short_hamilton_clip.mp4").read_bytes()
    frames = frames_from_video(data, max_frames=12)
    assert len(frames) == 12
    assert frames[0].pixels.shape == (360, 640, 3)
    gaps = np.diff([f.t for f in frames])
    assert np.all(gaps > 0)
    assert gaps.max() - gaps.min() < 0.1
    with pytest.raises(TooManyPixelsError):
        frames_from_video(data, max_pixels=100_000)


def test_written_mp4_reads_back(recordings: Any) -> None:
    frames = recordings.frames["static"][:6]
    decoded = frames_from_video(encode_mp4(frames, fps=5))
    assert len(decoded) == 6
    assert decoded[1].t == pytest.approx(0.2)
    assert np.abs(decoded[0].pixels.astype(int) - frames[0].pixels.astype(int)).mean() < 12


def test_y4m_is_what_chromium_fake_camera_reads() -> None:
    frames = [Frame(pixels=np.zeros((4, 6, 3), np.uint8), t=i / 10) for i in range(2)]
    data = encode_y4m(frames, fps=10)
    assert data.startswith(b"YUV4MPEG2 W6 H4 F10:1 Ip A1:1 C420jpeg\nFRAME\n")
    assert len(data) == len(b"YUV4MPEG2 W6 H4 F10:1 Ip A1:1 C420jpeg\n") + 2 * (6 + 36)


@pytest.mark.parametrize("data", [b"", b"\x00" * 64, b"RIFF0000WEBPVP8 garbage"])
def test_corrupt_video_has_a_code(data: bytes) -> None:
    with pytest.raises(CorruptVideoError) as caught:
        frames_from_video(data)
    assert caught.value.code == "corrupt_video"


def test_still_images_become_timed_frames() -> None:
    png = encode_image(np.zeros((8, 8, 3), np.uint8))
    frames = frames_from_images([png, png, png], fps=4)
    assert [f.t for f in frames] == [0.0, 0.25, 0.5]
    assert [f.t for f in frames_from_images([png, png], times=[0.0, 0.3])] == [0.0, 0.3]
    with pytest.raises(CorruptVideoError):
        frames_from_images([png], times=[0.0, 1.0])
    with pytest.raises(CorruptImageError):
        frames_from_images([b"junk"], fps=4)


def test_sample_keeps_first_and_last() -> None:
    frames = [Frame(pixels=np.zeros((2, 2, 3), np.uint8), t=float(i)) for i in range(100)]
    picked = sample(frames, 10)
    assert len(picked) == 10
    assert picked[0].t == 0.0
    assert picked[-1].t == 99.0


def test_stream_without_a_stated_length_is_thinned_evenly(tmp_path: Path) -> None:
    """The path for containers that state no (or a wrong) length, e.g. MediaRecorder WebM."""
    from honnin.faces.video import _decode_thinning, _Limits

    frames = [Frame(pixels=np.full((16, 16, 3), i, np.uint8), t=i / 10) for i in range(50)]
    path = tmp_path / "clip.y4m"
    path.write_bytes(encode_y4m(frames, fps=10))
    limits = _Limits(fps=10.0, max_pixels=10_000, max_s=60.0)
    decoded = _decode_thinning(str(path), limits, max_frames=12)
    assert 6 <= len(decoded) <= 12
    gaps = np.diff([f.t for f in decoded])
    assert np.allclose(gaps, gaps[0])
    assert decoded[0].t == 0.0


def test_clip_is_cut_at_the_duration_limit() -> None:
    frames = [Frame(pixels=np.zeros((16, 16, 3), np.uint8), t=i / 10) for i in range(50)]
    decoded = frames_from_video(encode_y4m(frames, fps=10), max_duration_s=2.0)
    assert decoded[-1].t <= 2.0
    assert len(decoded) == 21
