"""The public functions run in a process pool: arguments and results pickle."""

import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from honnin.faces import compare, engine


def test_compare_runs_in_a_worker_process(read_face: Callable[[str], bytes]) -> None:
    a, b = read_face("obama/obama_240p.jpg"), read_face("biden/biden_2.jpg")
    with ProcessPoolExecutor(max_workers=1, initializer=engine.warm_up) as pool:
        result = pool.submit(compare, a, b).result(timeout=120)
    assert not result.match
    assert result.faces == (1, 1)


def test_reports_pickle(reports: dict[str, Any]) -> None:
    report = reports["swap"]
    restored = pickle.loads(pickle.dumps(report))
    assert restored.as_dict() == report.as_dict()
