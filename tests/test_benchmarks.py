"""The benchmarks run (at test sizes) and save what their README promises; the FLOP counter counts right."""

from __future__ import annotations

import json
import sys
import textwrap

import keras
import pytest

from benchmarks import (
    common,
    cpu_precision,
    dcgan_robustness,
    dcgan_throughput,
    diffusion,
    inpainter_quality,
    inpainter_throughput,
    lesson_time,
    suite_time,
    time_to_quality,
)
from course_utils import runtime
from course_utils.paths import runs_dir

RECORD_KEYS = {"name", "date", "quick", "machine", "figures"}
MACHINE_KEYS = {"cpu", "cores", "clock_ghz", "tensorflow", "load_average_start", "load_average_end"}


def _saved(name: str) -> dict:
    path = runs_dir("benchmarks") / f"{name}_quick.json"
    assert path.exists(), f"{path} was not written"
    record = json.loads(path.read_text(encoding="utf-8"))
    assert RECORD_KEYS <= set(record), f"{path} lacks {RECORD_KEYS - set(record)}"
    assert MACHINE_KEYS <= set(record["machine"]), f"{path} lacks {MACHINE_KEYS - set(record['machine'])}"
    assert record["name"] == name
    return record["figures"]


# ------------------------------------------------------------------------------------------ FLOP counting


def test_flop_counter_matches_a_hand_count():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 2)),
            keras.layers.Conv2D(3, 3, padding="same"),  # 8*8 outputs x 3*3*2 inputs x 3 filters = 3456
            keras.layers.BatchNormalization(),  # element-wise: 0
            keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"),  # 8*8 inputs x 3*3 x 3 x 4 = 6912
            keras.layers.Flatten(),
            keras.layers.Dense(5),  # 16*16*4 x 5 = 5120
        ]
    )
    assert common.model_macs(model) == 3456 + 6912 + 5120
    assert common.forward_flops(model) == 2 * 15488
    assert common.train_flops(model) == 6 * 15488


def test_gan_step_flops_counts_g_once_and_d_twice():
    g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])  # 40 MACs
    d = keras.Sequential([keras.Input((10,)), keras.layers.Dense(1)])  # 10 MACs
    assert common.gan_step_flops(g, d, batch_size=2) == 2 * 3 * 2 * (40 + 2 * 10)


def test_tutorial_dcgan_has_the_tutorials_shapes():
    g, d = common.build_tutorial_models(100)
    assert g.output_shape == (None, 28, 28, 1) and d.output_shape == (None, 1)
    assert g.layers[0].units == 7 * 7 * 256
    # The course's generator at the gpu profile's width has the same multiply-adds as the tutorial's.
    from course_utils import gan

    course_g = gan.build_generator(latent_dim=100, width=64)
    assert common.model_macs(course_g) == common.model_macs(g)


def test_helpers_report_and_refuse_clearly():
    rates = common.interleaved_rates({"a": lambda: 10, "b": lambda: 20}, blocks=2, warmup=0)
    assert set(rates) == {"a", "b"} and len(rates["a"]["blocks"]) == 2
    with pytest.raises(ValueError, match="blocks"):
        common.interleaved_rates({"a": lambda: 1}, blocks=0)
    table = common.format_table(["x", "y"], [("a", 1.23456), ("bb", 1234.5)])
    assert "1.23" in table and "1234.5" in table
    peak = common.peak_fp32_gflops(cores=2)
    assert peak["estimate"] is True and "FLOPs/cycle" in peak["formula"]
    assert common.percent(0.1534) == "15.3%" and common.percent(None) == "?"


def test_matmul_rate_is_measured_and_fractions_follow_from_it():
    matmul = common.matmul_gflops(size=128, blocks=2, repeats=2)
    assert matmul["measured"] is True and matmul["gflops"] > 0
    peak = {"gflops": 2 * matmul["gflops"]}
    figures = common.rate_figures(1e9, matmul["gflops"], peak, matmul)  # 1 GFLOP per image at matmul's rate
    assert figures["fraction_of_matmul"] == pytest.approx(1.0, abs=1e-3)
    assert figures["fraction_of_peak_estimate"] == pytest.approx(0.5, abs=1e-3)
    assert common.rate_figures(1e9, 1.0, {"gflops": None}, matmul)["fraction_of_peak_estimate"] is None


# ------------------------------------------------------------------------------------------ the benchmarks


def test_dcgan_throughput_runs_and_saves():
    figures = dcgan_throughput.main(["--tiny"])
    assert _saved("dcgan_throughput")["configs"].keys() == figures["configs"].keys()
    expected = {"course@cpu", "course@gpu", "tutorial"}
    if runtime.training_policy("mixed_bfloat16") == "mixed_bfloat16":  # a CPU with bfloat16 instructions
        expected.add("course@cpu+bf16")
    assert set(figures["configs"]) == expected
    for config in figures["configs"].values():
        assert config["images_per_s"] > 0 and config["gflops_per_step_estimate"] > 0
        assert config["fraction_of_matmul"] > 0
    assert figures["matmul_fp32_measured"]["gflops"] > 0
    assert figures["configs"]["tutorial"]["ratio_to_tutorial"] == 1.0


def test_inpainter_throughput_runs_and_saves():
    figures = inpainter_throughput.main(["--tiny"])
    expected = {"inpainter@cpu", "inpainter@gpu"}
    if runtime.training_policy("mixed_bfloat16") == "mixed_bfloat16":
        expected.add("inpainter@cpu+bf16")
    assert set(_saved("inpainter_throughput")["configs"]) == expected
    assert all(c["images_per_s"] > 0 for c in figures["configs"].values())


def test_inpainter_quality_runs_and_saves():
    figures = inpainter_quality.main(["--tiny"])
    saved = _saved("inpainter_quality")
    assert set(saved["designs"]) == set(inpainter_quality.DESIGNS)
    assert {"telea", "navier_stokes", "biharmonic", "mean_fill", "smooth fill"} == set(saved["classical"])
    point = saved["designs"]["fill+aug"][-1]
    assert point["steps"] == 2 and point["train_seconds"] > 0
    assert set(point) >= {"center", "boxes", "free_form"} and set(point["center"]) == {"psnr", "hole_l1"}
    assert set(figures["beats_best_classical"]) == {*inpainter_quality.DESIGNS, "gaussian prior"}


def test_cpu_precision_runs_saves_and_restores_float32():
    figures = cpu_precision.main(["--tiny"])
    assert keras.mixed_precision.global_policy().name == "float32"
    saved = _saved("cpu_precision")
    assert set(saved["speedup_bf16"]) == {"dcgan", "inpainter"}
    assert {"d_loss", "g_loss", "inpaint_loss"} <= set(figures["quality"])


def test_time_to_quality_runs_and_saves():
    figures = time_to_quality.main(["--tiny", "--source", "standin"])
    saved = _saved("time_to_quality")
    for key in ("curves", "tutorial_final_fid", "course_seconds_to_tutorial_final_fid", "goal_met"):
        assert key in saved
    assert len(figures["curves"]["course"]) == len(time_to_quality.FRACTIONS)
    # the course trains in the cpu profile's precision where this CPU runs it; the tutorial as written
    assert figures["course_config"]["precision"] == runtime.training_policy("mixed_bfloat16")
    assert figures["tutorial_config"]["precision"] == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_dcgan_robustness_runs_and_saves_both_inits_raw_and_averaged():
    figures = dcgan_robustness.main(["--tiny", "--source", "standin"])
    saved = _saved("dcgan_robustness")
    assert {(r["init"], r["sampled_from"]) for r in saved["runs"]} == {
        (init, sampled) for init in dcgan_robustness.INITS for sampled in ("raw", "ema")
    }
    assert {"fid", "precision", "recall", "unsure", "smallest_class"} <= set(figures["summary"][0])
    assert figures["precision"] == runtime.training_policy("mixed_bfloat16")


def test_time_to_quality_finds_the_first_checkpoint_at_the_target():
    curve = [{"seconds": 1.0, "fid": 9.0}, {"seconds": 2.0, "fid": 4.0}, {"seconds": 3.0, "fid": 3.0}]
    assert time_to_quality.first_time_at_or_below(curve, 4.0) == 2.0
    assert time_to_quality.first_time_at_or_below(curve, 1.0) is None
    bumpy = [{"seconds": 1.0, "fid": 3.0}, {"seconds": 2.0, "fid": 9.0}, {"seconds": 3.0, "fid": 2.0}]
    assert time_to_quality.first_time_at_or_below(bumpy, 4.0) == 1.0
    assert time_to_quality.time_staying_at_or_below(bumpy, 4.0) == 3.0
    assert time_to_quality.time_staying_at_or_below(bumpy, 1.0) is None


def test_suite_time_parses_pytest_durations():
    output = textwrap.dedent(
        """\
        ============================= slowest durations ==============================
        12.50s call     notebooks/06_training_a_dcgan.ipynb::Cell 3
        0.50s setup    notebooks/06_training_a_dcgan.ipynb::Cell 0
        2.00s call     notebooks/00_welcome_and_setup.ipynb::Cell 1
        ======================= 40 passed, 1 skipped in 95.10s (0:01:35) =======================
        """
    )
    assert suite_time.parse_durations(output) == {
        "notebooks/00_welcome_and_setup.ipynb": 2.0,
        "notebooks/06_training_a_dcgan.ipynb": 13.0,
    }
    assert suite_time.parse_summary(output) == ("40 passed, 1 skipped", 95.1)


def test_suite_time_runs_pytest_and_saves(tmp_path, monkeypatch):
    target = tmp_path / "test_trivial.py"
    target.write_text("def test_nothing():\n    assert True\n", encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["suite_time.py"])
    figures = suite_time.main(["--quick", str(target)])
    assert figures["returncode"] == 0, figures["tail"]
    assert [k for k in figures["per_notebook_seconds"] if k.endswith("test_trivial.py")], figures
    assert _saved("suite_time")["outcome"] == "1 passed"


def test_diffusion_runs_and_saves():
    figures = diffusion.main(["--tiny", "--source", "standin"])
    saved = _saved("diffusion")
    for key in ("training_images_per_s", "sampling_images_per_s", "curves", "dcgan_final_fid"):
        assert key in saved
    assert set(figures["sampling_images_per_s"]) == {"DDIM", "DDPM", "flow Euler", "flow Heun"}
    assert all(rate > 0 for rates in figures["sampling_images_per_s"].values() for rate in rates.values())
    assert len(figures["curves"]["diffusion"]) == len(figures["curves"]["dcgan"]) == len(time_to_quality.FRACTIONS)
    assert set(figures["restoration_images_per_s"]) == {"RePaint r=1", "RePaint r=2", "SDEdit s=0.2", "ILVR x4"}
    assert keras.mixed_precision.global_policy().name == "float32"


def test_lesson_time_sums_each_cell_and_tells_training_cells():
    output = textwrap.dedent(
        """\
        12.50s call     notebooks/06_training_a_dcgan.ipynb::Cell 3
        0.50s setup    notebooks/06_training_a_dcgan.ipynb::Cell 3
        2.00s call     notebooks/06_training_a_dcgan.ipynb::Cell 10
        ======================= 40 passed in 95.10s (0:01:35) =======================
        """
    )
    assert lesson_time.cell_seconds(output) == {3: 13.0, 10: 2.0}
    assert lesson_time.is_training("history = model.train(train_ds, epochs=3)")
    assert lesson_time.is_training("judge = classifier.load_or_train_classifier(profile, data=data)")
    assert lesson_time.is_training("dncnn.fit(batches, steps_per_epoch=10)")
    assert not lesson_time.is_training("steps = inpainting.steps_per_run(n, b, e)\nprint(training.EMA)")
    assert lesson_time.first_line("# a comment\n\nx = 1  # set x\n") == "x = 1  # set x"
    failed = "____ notebooks/07_x.ipynb::Cell 6 ____\nE   TrainingDiverged: NaN at step 12\n==== slowest durations ===="
    assert lesson_time.failure_lines(failed) == failed.splitlines()[:2]
    assert lesson_time.failure_lines(output) == []
    notebooks = [lesson_time.common._ROOT / "notebooks" / n for n in ("00_a.ipynb", "06_b.ipynb", "10_c.ipynb")]
    assert [p.name for p in lesson_time.select(notebooks, ["6", "10"])] == ["06_b.ipynb", "10_c.ipynb"]
    assert lesson_time.select(notebooks, []) == notebooks
    with pytest.raises(SystemExit, match="lesson numbers"):
        lesson_time.select(notebooks, ["99"])


def test_lesson_time_runs_a_lesson_and_saves(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["lesson_time.py"])
    figures = lesson_time.main(["--quick"])
    (lesson,) = figures["lessons"]
    assert lesson["returncode"] == 0, lesson["tail"]
    assert lesson["notebook"].startswith("00_") and lesson["cells_seconds"] > 0
    assert lesson["training_seconds"] == 0  # lesson 00 trains nothing
    assert _saved("lesson_time")["profile"] == "smoke"
