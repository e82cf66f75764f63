from collections.abc import Callable

import numpy as np
import pytest

from honnin.faces import engine
from honnin.faces.errors import MultipleFacesError, NoFaceError
from honnin.faces.imaging import decode_image


def test_models_come_from_the_installed_package() -> None:
    folder = engine.models_dir()
    assert (folder / "shape_predictor_68_face_landmarks.dat").is_file()
    assert "face_recognition_models" in str(folder)


def test_large_photo_is_detected_on_a_downscaled_copy(read_face: Callable[[str], bytes]) -> None:
    image = decode_image(read_face("obama/obama_3.jpg"))  # 1434 x 2333
    face = engine.analyse(image)
    height, width = image.shape[:2]
    # The box is reported in full-image pixels and the landmarks sit inside it.
    assert 0 <= face.box.left < face.box.right <= width
    assert 0 <= face.box.top < face.box.bottom <= height
    assert face.box.width > 200
    assert face.landmarks.shape == (68, 2)
    centre = face.landmarks.mean(axis=0)
    assert face.box.left < centre[0] < face.box.right
    assert face.embedding is not None
    assert face.embedding.shape == (128,)


def test_small_image_is_retried_upsampled(read_face: Callable[[str], bytes]) -> None:
    image = decode_image(read_face("obama/obama_240p.jpg"))
    tiny = image[::2, ::2].copy()  # 214 x 120: the face is ~32 px, under HOG's window
    found = engine.detect(tiny)
    assert len(found.boxes) == 1
    assert found.upsampled


def test_two_people_is_an_error_with_a_code(read_face: Callable[[str], bytes]) -> None:
    with pytest.raises(MultipleFacesError) as caught:
        engine.analyse(decode_image(read_face("group/obama_and_biden.jpg")))
    assert caught.value.code == "multiple_faces"
    assert caught.value.extra["faces"] == 2


def test_no_face_is_an_error_with_a_code() -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    with pytest.raises(NoFaceError) as caught:
        engine.analyse(noise)
    assert caught.value.code == "no_face"


def test_background_faces_are_not_a_second_person(read_face: Callable[[str], bytes]) -> None:
    selfie = decode_image(read_face("obama/obama_1.jpg"))
    poster = decode_image(read_face("biden/biden_1.jpg"))[::10, ::10]
    canvas = selfie.copy()
    canvas[: poster.shape[0], : poster.shape[1]] = poster
    found = engine.detect(canvas)
    assert len(found.boxes) == 1
