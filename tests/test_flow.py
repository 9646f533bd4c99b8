"""Flow matching (lesson 14): the target, Euler and Heun against closed forms, the toy's exact fields."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import flow, sampling, schedules


def test_velocity_target_is_the_derivative_of_the_straight_path() -> None:
    rng = np.random.default_rng(0)
    x0, eps = rng.standard_normal((3, 4, 4, 1)), rng.standard_normal((3, 4, 4, 1))
    path = schedules.flow_path(1000)
    t = np.array([0.2, 0.5, 0.9])
    signal, noise = path.rates(t)
    target = sampling.training_target(x0, eps, signal, noise, prediction="velocity").numpy()
    np.testing.assert_allclose(target, eps - x0, rtol=1e-6, atol=1e-6)
    h = 1e-4  # the finite difference of x_t in t
    slope = (path.noised(x0, eps, t + h) - path.noised(x0, eps, t - h)) / (2 * h)
    np.testing.assert_allclose(target, slope, rtol=1e-4, atol=1e-4)


def _linear_field(x, t):
    return -2.0 * x  # dx/dt = -2x: x(t) = x(1) * exp(-2 (t - 1))


@pytest.mark.parametrize("method, order", [("euler", 1), ("heun", 2)])
def test_solvers_on_a_linear_field_reach_the_exact_solution_at_their_order(method: str, order: int) -> None:
    x1 = np.array([[1.0, -0.5]], np.float32)
    exact = x1 * np.exp(2.0)
    errors = []
    for steps in (20, 40, 80):
        got = flow.integrate(_linear_field, x1, flow.time_grid(steps), method=method)
        errors.append(np.abs(got - exact).max())
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    np.testing.assert_allclose(rates, order, atol=0.15)


def test_one_step_closed_forms() -> None:
    x = np.array([2.0, -1.0])
    np.testing.assert_allclose(flow.euler_step(x, np.array([1.0, 3.0]), 1.0, 0.5), [1.5, -2.5])
    # Heun's step on dx/dt = -2x over h = -1/2 is x * (1 + (1/2)(2h') ...): x (1 + 1 + 1/2) with h' = 2 * 0.5
    np.testing.assert_allclose(flow.heun_step(_linear_field, x, 1.0, 0.5), x * (1 + 1.0 + 0.5))
    with pytest.raises(ValueError, match="same shape"):
        flow.euler_step(x, np.ones(3), 1.0, 0.5)


def test_euler_on_the_flow_path_is_ddim() -> None:
    mixture = flow.GaussianMixture2D.ring(modes=4, radius=1.0, std=0.2)
    path = schedules.flow_path(1000)
    x1 = np.random.default_rng(1).standard_normal((16, 2)).astype(np.float32)

    def denoise(x, t, signal, noise):
        x0_hat = mixture.posterior_mean(np.asarray(x), float(signal), float(noise))
        eps_hat = (np.asarray(x) - float(signal) * x0_hat) / max(float(noise), 1e-12)
        return np.float32(x0_hat), np.float32(eps_hat)

    pairs = path.timesteps(8, end=0.05)
    x = x1
    for t, t_next in pairs:
        x0_hat, eps_hat = denoise(x, t, *path.rates(t))
        x = sampling.step(x, x0_hat, eps_hat, path.rates(t), path.rates(t_next)).numpy()
    euler = flow.integrate(lambda y, t: mixture.velocity(y, t, path="flow"), x1, np.linspace(1, 0.05, 9))
    np.testing.assert_allclose(euler, x, rtol=1e-4, atol=1e-4)


def test_gaussian_data_lands_on_the_analytic_answer() -> None:
    # one component N(m, s^2 I): the exact flow maps eps to m + s * eps
    mixture = flow.GaussianMixture2D(np.array([[1.5, -0.5]]), 0.3)
    eps = np.random.default_rng(2).standard_normal((32, 2)).astype(np.float32)
    for path in flow.TOY_PATHS:
        got = flow.integrate(lambda y, t, p=path: mixture.velocity(y, t, path=p), eps, flow.time_grid(200),
                             method="heun")
        np.testing.assert_allclose(got, mixture.means[0] + 0.3 * eps, atol=2e-3)


def test_flow_trajectories_to_one_point_are_straight_and_one_euler_step_is_exact() -> None:
    point = flow.GaussianMixture2D(np.array([[1.0, 2.0]]), 1e-4)  # (nearly) all data at one point
    eps = np.random.default_rng(3).standard_normal((50, 2))
    field = {p: (lambda y, t, p=p: point.velocity(y, t, path=p)) for p in flow.TOY_PATHS}
    _, trace = flow.integrate(field["flow"], eps, flow.time_grid(50), keep_path=True)
    np.testing.assert_allclose(flow.straightness(trace), 1.0, atol=1e-4)
    np.testing.assert_allclose(flow.integrate(field["flow"], eps, flow.time_grid(1)), point.means.repeat(50, 0),
                               atol=1e-3)
    _, trace = flow.integrate(field["vp"], eps, flow.time_grid(50), keep_path=True)
    assert flow.straightness(trace).mean() < 0.99  # the variance-preserving path is an arc
    assert np.abs(flow.integrate(field["vp"], eps, flow.time_grid(1)) - point.means).max() > 0.5


def test_straightness_of_known_paths() -> None:
    line = [np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]])]
    corner = [np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]])]
    np.testing.assert_allclose(flow.straightness(line), [1.0])
    np.testing.assert_allclose(flow.straightness(corner), [np.sqrt(2) / 2])


def test_network_calls_and_bad_input() -> None:
    assert flow.network_calls("euler", 10) == 10
    assert flow.network_calls("heun", 10) == 20
    with pytest.raises(ValueError, match="decrease"):
        flow.integrate(_linear_field, np.ones(2), [0.0, 1.0])
    with pytest.raises(ValueError, match="method"):
        flow.integrate(_linear_field, np.ones(2), [1.0, 0.0], method="rk4")


def test_model_velocity_guidance_at_zero_and_one() -> None:
    import keras

    x_in, t_in, y_in = keras.Input((2,)), keras.Input(()), keras.Input((), dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(4, 2)(keras.layers.Reshape((1,))(y_in)))
    out = keras.layers.Add()([keras.layers.Dense(2)(x_in), embedded, keras.layers.Reshape((1,))(t_in)])
    model = keras.Model([x_in, t_in, y_in], out)
    x = np.random.default_rng(4).standard_normal((5, 2)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1])
    conditional = flow.model_velocity(model, labels=labels)(x, 0.3)
    unconditional = flow.model_velocity(model, labels=np.full(5, 3))(x, 0.3)
    for scale, expected in ((0.0, unconditional), (1.0, conditional)):
        got = flow.model_velocity(model, labels=labels, guidance=scale, null_label=3)(x, 0.3)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    got = flow.model_velocity(model, labels=labels, guidance=3.0, null_label=3)(x, 0.3)
    np.testing.assert_allclose(got, unconditional + 3 * (conditional - unconditional), rtol=1e-5, atol=1e-5)


def test_generate_integrates_a_known_field_in_batches_and_clips() -> None:
    import keras

    # a "network" whose velocity is -x: x(0) = x(1) * e, computed by Heun with good accuracy
    x_in, t_in = keras.Input((2, 2, 1)), keras.Input(())
    model = keras.Model([x_in, t_in], keras.layers.Lambda(lambda x: -x)(x_in))
    images = flow.generate(model, 5, steps=50, method="heun", image_shape=(2, 2, 1), batch_size=2, seed=3)
    assert images.shape == (5, 2, 2, 1) and images.min() >= -1 and images.max() <= 1
    import tensorflow as tf

    noise = np.concatenate([tf.random.stateless_normal((c, 2, 2, 1), seed=[3, s]).numpy()
                            for s, c in ((0, 2), (2, 2), (4, 1))])
    np.testing.assert_allclose(images, np.clip(noise * np.e, -1, 1), atol=1e-3)
    with pytest.raises(ValueError, match="one label per image"):
        flow.generate(model, 5, steps=2, labels=[0, 1], image_shape=(2, 2, 1))
