from pathlib import Path

import numpy as np
import pytest

from honnin.faces import calibration, dataset
from honnin.faces.calibration import Sample
from honnin.faces.match import DEFAULT_THRESHOLD, DLIB_PUBLISHED_THRESHOLD


def _sample(identity: str, source: str, x: float) -> Sample:
    vector = np.zeros(128)
    vector[0] = x
    return Sample(identity, source, vector)


def test_pairs_skip_files_from_the_same_photo() -> None:
    samples = [_sample("a", "a1", 0.0), _sample("a", "a2", 0.3), _sample("b", "b1", 1.0)]
    chips = [_sample("a", "a1", 0.05)]
    genuine, impostor = calibration.pair_distances(samples)
    assert genuine == [pytest.approx(0.3)]
    assert sorted(impostor) == [pytest.approx(0.7), pytest.approx(1.0)]
    cross_genuine, cross_impostor = calibration.pair_distances(samples, chips)
    assert cross_genuine == [pytest.approx(0.25)]  # a1 vs its own chip is skipped
    assert cross_impostor == [pytest.approx(0.95)]


def test_rates_count_errors_on_each_side() -> None:
    result = calibration.rates([0.2, 0.5, 0.7], [0.4, 0.9, 1.0, 1.1], 0.6)
    assert (result.false_non_matches, result.false_matches) == (1, 1)
    assert result.fnmr == pytest.approx(1 / 3)
    assert result.fmr == pytest.approx(1 / 4)


def test_calibration_leans_away_from_false_matches() -> None:
    rng = np.random.default_rng(0)
    genuine = list(rng.normal(0.35, 0.08, 200))
    impostor = list(rng.normal(0.85, 0.08, 200))
    neutral = calibration.calibrate(genuine, impostor, cost_false_match=1.0)
    strict = calibration.calibrate(genuine, impostor, cost_false_match=100.0)
    assert 0.55 <= neutral <= 0.65
    assert strict < neutral


def test_too_few_pairs_cannot_calibrate() -> None:
    with pytest.raises(ValueError, match="at least two"):
        calibration.calibrate([0.1], [0.9, 1.0])


def test_identity_comes_from_the_folder_prefixing_the_file(faces_dir: Path) -> None:
    images = {f"{i.path.parent.name}/{i.path.name}": i.identity for i in dataset.load(faces_dir)}
    assert images["partial/obama_partial_1.jpg"] == "obama"
    assert images["obama/obama_240p.jpg"] == "obama"
    assert images["group/two_people.jpg"] == "group"


def test_documented_rates_on_the_shared_set(faces_dir: Path) -> None:
    """docs/faces.md: the default threshold is the calibrated one and errs nowhere."""
    report = dataset.report(faces_dir, with_chips=True)
    assert report["calibrated_threshold"] == DEFAULT_THRESHOLD
    assert set(report["rejected"].values()) == {"multiple_faces"}
    sets = report["sets"]
    assert isinstance(sets, dict)
    for name in ("photo_photo", "photo_chip"):
        for row in sets[name]["rates"]:
            if row["threshold"] in (DEFAULT_THRESHOLD, DLIB_PUBLISHED_THRESHOLD):
                assert row["false_matches"] == 0
                assert row["false_non_matches"] == 0
    assert sets["photo_photo"]["rates"][0]["genuine_pairs"] == 29
    assert sets["photo_photo"]["rates"][0]["impostor_pairs"] == 124
