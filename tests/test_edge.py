"""Tests of course_utils.edge (lesson 16): TFLite conversion in every mode against the Keras model, the
inpainter (custom layers, two inputs) and the generator, int8 I/O, saving, timing and the argument errors."""

import keras
import numpy as np
import pytest

from course_utils import edge, gan, inpainting, masks

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def conv_model():
    keras.utils.set_random_seed(0)
    x = keras.Input((12, 12, 2), name="pixels")
    h = keras.layers.Conv2D(48, 3, padding="same", activation="relu")(x)
    h = keras.layers.Conv2D(48, 3, padding="same", activation="relu")(h)
    y = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
    return keras.Model(x, y)


@pytest.fixture(scope="module")
def conv_inputs():
    return RNG.random((64, 12, 12, 2)).astype(np.float32)


# Tolerances, from what each mode rounds: float32 only reorders sums; float16 keeps 11 significant bits of each
# weight; dynamic range keeps 8 bits of each weight; int8 also rounds every activation to 1 of 256 levels.
def test_float_conversion_matches_keras(conv_model, conv_inputs):
    tflite = edge.TFLiteModel(edge.convert(conv_model))
    np.testing.assert_allclose(tflite(conv_inputs), conv_model(conv_inputs).numpy(), atol=1e-5)


@pytest.mark.parametrize("mode,max_fraction", [("float16", 0.01), ("dynamic", 0.05)])
def test_weight_quantisation_stays_close(conv_model, conv_inputs, mode, max_fraction):
    data = edge.convert(conv_model, quantisation=mode)
    error = edge.compare(conv_model, edge.TFLiteModel(data), conv_inputs)
    assert 0 < error["max_abs"] <= max_fraction * error["range"]
    assert len(data) < 0.75 * len(edge.convert(conv_model))  # smaller weights, smaller file


@pytest.mark.parametrize("int8_io", [False, True])
def test_int8_with_representative_data(conv_model, conv_inputs, int8_io):
    data = edge.convert(conv_model, quantisation="int8", representative_data=conv_inputs, int8_io=int8_io)
    model = edge.TFLiteModel(data)
    assert model.input_details["pixels"]["dtype"] == (np.int8 if int8_io else np.float32)
    error = edge.compare(conv_model, model, conv_inputs)
    assert error["mean_abs"] <= 0.03 * error["range"] and error["max_abs"] <= 0.15 * error["range"]
    assert any(w["values"].dtype == np.int8 for w in edge.quantised_weights(data))


def test_int8_without_data_fails_clearly(conv_model):
    with pytest.raises(ValueError, match="needs representative_data"):
        edge.convert(conv_model, quantisation="int8")
    with pytest.raises(ValueError, match="must be one of"):
        edge.convert(conv_model, quantisation="int4")
    with pytest.raises(ValueError, match="only used by quantisation='int8'"):
        edge.convert(conv_model, quantisation="dynamic", representative_data=np.zeros((1, 12, 12, 2)))


def test_wrong_input_shape_fails_clearly(conv_model, conv_inputs):
    model = edge.TFLiteModel(edge.convert(conv_model))
    with pytest.raises(ValueError, match=r"shaped \(N, 12, 12, 2\).*add a batch axis"):
        model(conv_inputs[0])
    with pytest.raises(ValueError, match=r"shaped \(N, 12, 12, 2\)"):
        model(conv_inputs[:, :10])
    with pytest.raises(ValueError, match="takes 1 input"):
        model([conv_inputs, conv_inputs])


def test_inpainter_converts_and_matches():
    keras.utils.set_random_seed(1)
    model = inpainting.build_inpainter(image_size=16, width=4, depth=2)
    images = RNG.random((5, 16, 16, 3)).astype(np.float32)
    holes = masks.make_masks("boxes", 5, 16, seed=2)
    tflite = edge.TFLiteModel(edge.convert(model))
    assert tflite.input_names == ["image", "mask"]
    expected = inpainting.predict(model, images, holes)
    np.testing.assert_allclose(inpainting.predict(tflite, images, holes), expected, atol=1e-5)
    by_name = tflite({"mask": holes, "image": images * holes})
    np.testing.assert_allclose(by_name, expected, atol=1e-5)
    with pytest.raises(ValueError, match="keys"):
        tflite({"image": images})


def test_generator_converts_and_matches_in_chunks():
    keras.utils.set_random_seed(2)
    model = gan.build_generator(latent_dim=8, width=4)
    noise = gan.sample_noise(70, 8, seed=0).numpy()
    tflite = edge.TFLiteModel(edge.convert(model), batch_size=32)  # 70 = 32 + 32 + 6
    np.testing.assert_allclose(tflite(noise), model(noise, training=False).numpy(), atol=1e-5)


def test_save_tflite_is_atomic_under_runs(tmp_path, monkeypatch, conv_model):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    data = edge.convert(conv_model)
    path = edge.save_tflite(data, "tiny")
    assert path == tmp_path / "edge" / "tiny.tflite" and path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == ["tiny.tflite"]  # no temporary file left behind
    assert edge.TFLiteModel(path).size_bytes == len(data)
    with pytest.raises(TypeError, match="bytes"):
        edge.save_tflite(b"", "empty")


def test_latency_and_interleaving():
    calls = []
    result = edge.latencies(
        {"a": lambda x: calls.append("a"), "b": lambda x: calls.append("b")}, None, repeats=5, warmup=1
    )
    assert calls == ["a", "b"] + ["a", "b"] * 5
    assert set(result) == {"a", "b"} and len(result["a"].times_ms) == 5
    one = edge.latency(lambda x: sum(range(100)), None, repeats=9, warmup=0)
    assert one.p10_ms <= one.median_ms <= one.p90_ms
    assert one.median_ms == pytest.approx(float(np.median(one.times_ms)))
    with pytest.raises(ValueError, match="at least 1"):
        edge.latency(lambda x: x, None, repeats=0)


def test_convert_from_an_exported_folder(tmp_path, conv_model, conv_inputs):
    folder = edge.export_saved_model(conv_model, tmp_path / "saved")
    data = edge.convert(folder, quantisation="int8", representative_data=conv_inputs[:16])
    error = edge.compare(conv_model, edge.TFLiteModel(data), conv_inputs)
    assert error["mean_abs"] <= 0.03 * error["range"]
    with pytest.raises(TypeError, match="SavedModel"):
        edge.convert(tmp_path)


def test_representative_data_for_two_inputs_is_checked():
    model = inpainting.build_inpainter(image_size=16, width=4, depth=2)
    images, holes = RNG.random((4, 16, 16, 3)).astype(np.float32), masks.make_masks("center", 4, 16)
    with pytest.raises(ValueError, match=r"keys \['image', 'mask'\]"):
        edge.convert(model, quantisation="int8", representative_data={"image": images})
    with pytest.raises(ValueError, match="has 2 inputs"):
        edge.convert(model, quantisation="int8", representative_data=images)
    with pytest.raises(ValueError, match="same number"):
        edge.convert(model, quantisation="int8", representative_data=[images, holes[:2]])
