"""The checks' stored results (course_utils/checks/data/) are what tools/make_check_data.py computes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_utils.checks import stored as store
from tools import make_check_data as tool

LESSONS = sorted(tool.BOOK)


def test_every_lesson_with_checks_has_its_file_and_no_stray_file() -> None:
    files = sorted(p.stem for p in store.DATA_DIR.glob("*.json"))
    assert files == LESSONS


@pytest.mark.parametrize("lesson", LESSONS)
def test_stored_results_match_what_the_tool_computes(lesson: str) -> None:
    assert tool.differences(lesson) == [], f"run: python tools/make_check_data.py {lesson}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_stored_exercise_is_read_by_its_check(lesson: str) -> None:
    from pathlib import Path

    import course_utils.checks as checks_package

    source = (Path(checks_package.__file__).with_name(f"{lesson}.py")).read_text(encoding="utf-8")
    for name in tool.BOOK[lesson]:
        assert f'"{name}"' in source or f'name = "{name}"' in source, f"{lesson}.py never reads {name!r}"


def test_encode_decode_round_trip_keeps_types() -> None:
    value = {
        "a": np.arange(6, dtype=np.int8).reshape(2, 3),
        "b": (1, 2.5, "l1", None, True),
        "c": [np.float32(0.1), np.zeros((0, 2))],
    }
    back = store.decode(json.loads(json.dumps(store.encode(value))))
    assert back["a"].dtype == np.int8 and back["a"].shape == (2, 3) and np.array_equal(back["a"], value["a"])
    assert back["b"] == value["b"] and isinstance(back["b"], tuple)
    assert back["c"][0].dtype == np.float32 and back["c"][0] == np.float32(0.1)
    assert back["c"][1].shape == (0, 2)
    with pytest.raises(TypeError, match="cannot store"):
        store.encode(object())


def test_stored_cases_come_back_fresh_each_time() -> None:
    first = store.stored("lesson09", "masked_l1").cases[0].args[0]
    first[...] = -1
    assert store.stored("lesson09", "masked_l1").cases[0].args[0].min() >= 0


def test_a_missing_exercise_or_file_says_how_to_make_it() -> None:
    with pytest.raises(RuntimeError, match="make_check_data.py"):
        store.stored("lesson09", "no_such_exercise")
    with pytest.raises(RuntimeError, match="make_check_data.py"):
        store.stored("lesson99", "anything")


def test_the_check_command_reports_a_stale_file(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(store, "DATA_DIR", tmp_path)
    (tmp_path / "lesson00.json").write_text(tool.text("lesson00").replace('"expected": 7', '"expected": 8'))
    assert tool.main(["--check", "lesson00"]) == 1
    assert "steps_per_epoch differ" in capsys.readouterr().err
    assert tool.main(["lesson00"]) == 0 and tool.main(["--check", "lesson00"]) == 0


def test_the_course_package_agrees_with_the_stored_results() -> None:
    """Where the course has its own version of an exercise, it gives the stored results too."""
    from course_utils import adversarial, metrics

    for case in store.stored("lesson11", "receptive_field").cases:
        assert adversarial.receptive_field(case.args[0]) == case.expected
    for case in store.stored("lesson09", "masked_l1").cases:
        restored, target, mask = case.args
        np.testing.assert_allclose(metrics.masked_l1(restored, target, mask), case.expected, rtol=1e-5)


def test_the_course_losses_agree_with_the_stored_results() -> None:
    """The messages name the course's own functions; they give the stored results too."""
    from course_utils import gan, latent

    images = np.random.default_rng(0).random((2, 4, 4, 3))
    masks = (np.random.default_rng(1).random((2, 4, 4, 1)) < 0.5).astype(np.float64)
    generated = np.random.default_rng(2).random((2, 4, 4, 3))
    blended = latent.blend(images, masks, generated)  # the properties lesson 12's check judges by
    known = np.broadcast_to(masks, images.shape) == 1
    assert np.allclose(blended[known], images[known]) and np.allclose(blended[~known], generated[~known])

    for case in store.stored("lesson05", "discriminator_loss").cases:
        assert float(gan.discriminator_loss(*case.args)) == pytest.approx(case.expected, rel=1e-5)
    for case in store.stored("lesson12", "masked_reconstruction_loss").cases:
        got = np.asarray(latent.masked_reconstruction_loss(*case.args), np.float64)
        np.testing.assert_allclose(got, case.expected, rtol=1e-4)
