from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.faces import match
from honnin.faces.errors import CorruptImageError, MultipleFacesError, NoFaceError
from honnin.faces.imaging import decode_image, encode_image
from honnin.faces.synthetic import chip_portrait


def test_same_person_matches(read_face: Callable[[str], bytes]) -> None:
    result = match.compare(read_face("obama/obama_1.jpg"), read_face("obama/obama_2.jpg"))
    assert result.match
    assert result.distance < match.DEFAULT_THRESHOLD
    assert result.similarity > 0.5
    assert result.faces == (1, 1)


def test_wrong_person_does_not_match(read_face: Callable[[str], bytes]) -> None:
    result = match.compare(read_face("obama/obama_1.jpg"), read_face("biden/biden_1.jpg"))
    assert not result.match
    assert result.similarity < 0.5
    assert set(result.as_dict()) == {"match", "distance", "similarity", "threshold", "faces"}


def test_selfie_matches_small_jpeg2000_chip_portrait(read_face: Callable[[str], bytes]) -> None:
    chip = encode_image(
        chip_portrait(decode_image(read_face("kit_harington/kit_harington_2.jpg"))),
        fmt="JPEG2000",
        quality=12,
    )
    assert chip[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n"  # a JP2 container
    assert len(chip) < 30_000
    selfie = read_face("kit_harington/kit_harington_1.jpg")
    assert match.compare(selfie, chip).match
    assert not match.compare(read_face("rose_leslie/rose_leslie_1.jpg"), chip).match


def test_sideways_selfie_with_exif_orientation_matches(read_face: Callable[[str], bytes]) -> None:
    import io

    from PIL import Image

    upright = decode_image(read_face("obama/obama_2.jpg"))
    stored = Image.fromarray(np.rot90(upright, k=1).copy())  # as a phone stores it
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif.tobytes())
    assert match.compare(buffer.getvalue(), read_face("obama/obama_1.jpg")).match


def test_errors_have_codes(read_face: Callable[[str], bytes]) -> None:
    selfie = read_face("obama/obama_1.jpg")
    with pytest.raises(MultipleFacesError):
        match.compare(selfie, read_face("group/two_people.jpg"))
    with pytest.raises(CorruptImageError):
        match.compare(selfie, b"not an image")
    blank = encode_image(np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(NoFaceError):
        match.compare(blank, selfie)


@given(st.floats(min_value=0.0, max_value=3.0), st.floats(min_value=0.2, max_value=1.0))
def test_similarity_is_bounded_and_anchored_at_the_threshold(dist: float, threshold: float) -> None:
    value = match.similarity(dist, threshold)
    assert 0.0 <= value <= 1.0
    assert (value >= 0.5) == (dist <= threshold)
    assert match.similarity(dist + 0.01, threshold) <= value


def test_decide_uses_the_given_threshold() -> None:
    a = np.zeros(128)
    b = np.zeros(128)
    b[0] = 0.5
    assert match.decide(a, b, threshold=0.6).match
    assert not match.decide(a, b, threshold=0.4).match
