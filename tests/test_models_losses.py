"""Models, losses, penalties and gradient checks for every model x loss pair."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdjax
from gdjax import losses, models

KEY = jax.random.key(0)
X = jax.random.normal(jax.random.key(1), (6, 3))
Y_BINARY = jnp.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
Y_CLASS = jnp.array([0, 2, 1, 1, 0, 2])
Y_REAL = jax.random.normal(jax.random.key(2), (6,))

REGRESSION_LOSSES = {
    "mse": losses.mse,
    "half_mse": losses.half_mse,
    "mae": losses.mae,
    "lp3": lambda p, y: losses.lp_loss(p, y, 3.0),
}
BINARY_LOSSES = {
    "bce": lambda m, p, x, y: losses.binary_cross_entropy(m.apply(p, x), y),
    "bce_logits": lambda m, p, x, y: losses.sigmoid_binary_cross_entropy(m.logits(p, x), y),
    "hinge": lambda m, p, x, y: losses.hinge_loss(m.logits(p, x), y),
    "perceptron": lambda m, p, x, y: losses.perceptron_loss(m.logits(p, x), y),
    "mse": lambda m, p, x, y: losses.mse(m.apply(p, x), y),
}
MULTICLASS_LOSSES = {
    "cce": lambda m, p, x, y: losses.categorical_cross_entropy(m.apply(p, x), y),
    "cce_onehot": lambda m, p, x, y: losses.categorical_cross_entropy(m.apply(p, x), jax.nn.one_hot(y, 3)),
    "softmax_ce": lambda m, p, x, y: losses.softmax_cross_entropy(m.logits(p, x), y),
}
REGRESSORS = {
    "linear": models.linear_regression(3),
    "mlp_tanh": models.mlp([3, 4, 1], hidden="tanh", output="identity"),
    "mlp_relu": models.mlp([3, 4, 1], hidden="relu", output="identity"),
}
BINARY_MODELS = {
    "logistic": models.logistic_regression(3),
    "perceptron": models.perceptron(3),
    "mlp_sigmoid": models.mlp([3, 5, 1], hidden="sigmoid"),
    "mlp_relu": models.mlp([3, 5, 4, 1], hidden="relu"),
    "mlp_identity": models.mlp([3, 2, 1], hidden="identity"),
}
MULTICLASS_MODELS = {
    "softmax_regression": models.softmax_regression(3, 3),
    "mlp_softmax": models.mlp([3, 5, 3], hidden="tanh", output="softmax"),
}
CASES = (
    [
        (f"{m}-{name}", REGRESSORS[m], lambda mm, p, x, y, f=f: f(mm.apply(p, x), y), Y_REAL)
        for m in REGRESSORS
        for name, f in REGRESSION_LOSSES.items()
    ]
    + [
        (f"{m}-{name}", BINARY_MODELS[m], f, Y_BINARY)
        for m in BINARY_MODELS
        for name, f in BINARY_LOSSES.items()
        if not (m == "perceptron" and name in ("bce", "mse"))
    ]  # the step output has no gradient
    + [
        (f"{m}-{name}", MULTICLASS_MODELS[m], f, Y_CLASS)
        for m in MULTICLASS_MODELS
        for name, f in MULTICLASS_LOSSES.items()
    ]
)


@pytest.mark.parametrize("name,model,loss,y", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(name, model, loss, y):
    params = model.init(KEY)
    error = gdjax.gradient_error(lambda p, x, t: loss(model, p, x, t), params, X, y)
    assert error < 1e-5, name


def test_gradient_error_detects_a_wrong_gradient():
    @jax.custom_vjp
    def wrong_square(x):
        return x**2

    wrong_square.defvjp(lambda x: (x**2, x), lambda x, g: (3 * x * g,))  # true derivative is 2x
    assert gdjax.gradient_error(lambda w: jnp.sum(wrong_square(w)), jnp.array([1.0, 2.0])) > 0.3


def test_gradient_error_on_dropout_network_with_fixed_key():
    model = models.mlp([3, 8, 1], dropout=0.5)
    loss = lambda p: losses.binary_cross_entropy(model.apply(p, X, key=jax.random.key(5)), Y_BINARY)
    assert gdjax.gradient_error(loss, model.init(KEY)) < 1e-5


def test_dropout_is_driven_by_the_key():
    model = models.mlp([3, 64, 1], dropout=0.5, output="identity")
    params = model.init(KEY)
    a = model.apply(params, X, key=jax.random.key(7))
    np.testing.assert_array_equal(a, model.apply(params, X, key=jax.random.key(7)))
    assert not np.allclose(a, model.apply(params, X, key=jax.random.key(8)))
    np.testing.assert_array_equal(model.apply(params, X), model.apply(params, X))
    # Inverted dropout keeps the expected pre-activation: average many masks.
    keys = jax.random.split(jax.random.key(9), 4000)
    samples = jax.vmap(lambda k: model.apply(params, X, key=k))(keys)
    standard_error = jnp.std(samples, axis=0) / np.sqrt(len(keys))
    assert np.all(jnp.abs(jnp.mean(samples, axis=0) - model.apply(params, X)) < 5 * standard_error)


def test_initialisation_scales():
    params = models.mlp([400, 300, 1], hidden="relu").init(KEY)
    assert np.std(params[0]["w"]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)  # He
    assert np.max(np.abs(params[1]["w"])) <= np.sqrt(6 / 301)  # Glorot bound
    params = models.mlp([400, 300, 1], hidden="tanh").init(KEY)
    assert np.std(params[0]["w"]) == pytest.approx(np.sqrt(2 / 700), rel=0.02)  # Glorot: a^2/3 = 2/(in+out)
    assert all(np.all(layer["b"] == 0) for layer in params)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_models_keep_their_dtype(dtype):
    model = models.mlp([3, 4, 1], dtype=dtype)
    params = model.init(KEY)
    assert all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(params))
    assert model.apply(params, X.astype(dtype)).dtype == dtype


def test_float64_mode():
    with jax.enable_x64(True):
        model = models.logistic_regression(3, dtype=jnp.float64)
        params = model.init(KEY)
        x = np.asarray(X, np.float64)
        loss = losses.sigmoid_binary_cross_entropy(model.logits(params, x), Y_BINARY.astype(jnp.float64))
        assert loss.dtype == jnp.float64
        assert (
            jax.grad(lambda p: losses.sigmoid_binary_cross_entropy(model.logits(p, x), Y_BINARY))(params)["w"].dtype
            == jnp.float64
        )


def test_output_shapes():
    assert models.mlp([3, 4, 1]).apply(models.mlp([3, 4, 1]).init(KEY), X).shape == (6,)
    m = models.mlp([3, 4, 2], output="identity")
    assert m.apply(m.init(KEY), X).shape == (6, 2)
    s = models.softmax_regression(3, 4)
    probs = s.apply(s.init(KEY), X)
    assert probs.shape == (6, 4)
    np.testing.assert_allclose(jnp.sum(probs, axis=1), 1, rtol=1e-6)
    lin = models.linear_regression()
    np.testing.assert_allclose(lin.apply({"w": jnp.array([2.0]), "b": jnp.array(1.0)}, jnp.arange(3.0)), [1, 3, 5])


def test_count_params_on_any_pytree():
    assert gdjax.count_params({"a": jnp.zeros((2, 3)), "b": [jnp.zeros(4), (jnp.zeros(()),)]}) == 11
    assert gdjax.count_params({}) == 0
    assert gdjax.count_params(models.mlp([2, 3, 4, 5]).init(KEY)) == 2 * 3 + 3 + 3 * 4 + 4 + 4 * 5 + 5


# Losses: closed forms and stability.


def test_regression_losses_closed_form():
    p, y = jnp.array([1.0, 2.0, 4.0]), jnp.array([1.0, 0.0, 1.0])  # errors 0, 2, 3
    assert float(losses.mse(p, y)) == pytest.approx(13 / 3)
    assert float(losses.half_mse(p, y)) == pytest.approx(13 / 6)
    assert float(losses.mae(p, y)) == pytest.approx(5 / 3)
    assert float(losses.lp_loss(p, y, 3)) == pytest.approx(35 / 3)
    assert float(losses.mse(p, y, reduction="sum")) == pytest.approx(13)
    np.testing.assert_allclose(losses.mse(p, y, reduction="none"), [0, 4, 9])
    # several outputs per example: summed per example, averaged over examples
    assert float(losses.mse(jnp.ones((2, 3)), jnp.zeros((2, 3)))) == pytest.approx(3)


def test_logit_and_probability_cross_entropies_agree():
    z = jnp.linspace(-6, 6, 13)
    y = (jnp.arange(13) % 2).astype(jnp.float32)
    np.testing.assert_allclose(
        losses.sigmoid_binary_cross_entropy(z, y, reduction="none"),
        losses.binary_cross_entropy(jax.nn.sigmoid(z), y, reduction="none"),
        rtol=1e-5,
    )
    logits = jax.random.normal(KEY, (6, 3))
    assert float(losses.softmax_cross_entropy(logits, Y_CLASS)) == pytest.approx(
        float(losses.categorical_cross_entropy(jax.nn.softmax(logits), Y_CLASS)), rel=1e-5
    )


def test_cross_entropies_stay_finite_at_extremes():
    z = jnp.array([-1e4, 1e4, 0.0])
    y = jnp.array([1.0, 0.0, 1.0])
    values = losses.sigmoid_binary_cross_entropy(z, y, reduction="none")
    np.testing.assert_allclose(values, [1e4, 1e4, np.log(2)], rtol=1e-6)
    assert np.all(np.isfinite(jax.grad(lambda t: losses.sigmoid_binary_cross_entropy(t, y))(z)))
    probs = jnp.array([0.0, 1.0])
    assert np.all(np.isfinite(losses.binary_cross_entropy(probs, jnp.array([1.0, 0.0]), reduction="none")))
    assert np.isfinite(float(losses.softmax_cross_entropy(jnp.array([[1e4, -1e4]]), jnp.array([1]))))


def test_hinge_and_perceptron_losses():
    scores, labels = jnp.array([2.0, 0.5, -0.5, -3.0]), jnp.array([1, 1, 1, 0])
    np.testing.assert_allclose(losses.hinge_loss(scores, labels, reduction="none"), [0, 0.5, 1.5, 0])
    np.testing.assert_allclose(losses.perceptron_loss(scores, labels, reduction="none"), [0, 0, 0.5, 0])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=8), st.data())
def test_binary_cross_entropy_is_nonnegative_and_zero_only_when_right(logits, data):
    z = jnp.array(logits, jnp.float32)
    y = jnp.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(logits), max_size=len(logits))))
    values = losses.sigmoid_binary_cross_entropy(z, y, reduction="none")
    assert np.all(values >= 0)
    # the loss is at least log(2) exactly when the prediction is on the wrong side (or undecided)
    wrong = (z >= 0) != (y == 1)
    assert np.all(values[wrong] >= np.log(2) - 1e-6)


def test_penalties_leave_biases_out_by_default():
    params = [
        {"w": jnp.array([[1.0, -2.0]]), "b": jnp.array([3.0, 4.0])},
        {"w": jnp.array([[-1.0], [0.5]]), "b": jnp.array([10.0])},
    ]
    assert float(losses.l1_penalty(params)) == pytest.approx(4.5)
    assert float(losses.l2_penalty(params)) == pytest.approx(6.25)
    assert float(losses.l1_penalty(params, include_bias=True)) == pytest.approx(21.5)
    assert float(losses.l2_penalty(params, include_bias=True)) == pytest.approx(6.25 + 125)
    assert float(losses.l2_penalty({})) == 0.0


# Bad input: clear errors, raised before anything compiles.


def test_feature_count_mismatch():
    model = models.mlp([29, 16, 1])
    with pytest.raises(ValueError, match=r"x must have shape \(n, 29\).*got shape \(4, 28\)"):
        model.apply(model.init(KEY), jnp.ones((4, 28)))
    with pytest.raises(ValueError, match=r"x must have shape \(n, 3\)"):
        jax.jit(models.logistic_regression(3).apply)({"w": jnp.ones(3), "b": jnp.zeros(())}, jnp.ones((2, 4)))


def test_unknown_activation_and_bad_sizes():
    with pytest.raises(ValueError, match=r"hidden must be one of .*'relu'.*got 'swish'"):
        models.mlp([2, 3, 1], hidden="swish")
    with pytest.raises(ValueError, match=r"output must be one of .*got 'relu'"):
        models.mlp([2, 3, 1], output="relu")
    with pytest.raises(ValueError, match=r"sizes\[1\] must be >= 1; got 0"):
        models.mlp([2, 0, 1])
    with pytest.raises(ValueError, match="dropout must be < 1"):
        models.mlp([2, 3, 1], dropout=1.0)
    with pytest.raises(ValueError, match="softmax"):
        models.mlp([2, 3, 1], output="softmax")


def test_label_shape_mismatch_never_broadcasts():
    p = jnp.full((5,), 0.5)
    with pytest.raises(ValueError, match=r"labels must have the same shape as probs, \(5,\); got \(5, 1\)"):
        losses.binary_cross_entropy(p, jnp.ones((5, 1)))
    with pytest.raises(ValueError, match=r"targets must have the same shape"):
        losses.mse(jnp.ones((5, 1)), jnp.ones(5))
    with pytest.raises(ValueError, match="labels must be integer class indices"):
        losses.softmax_cross_entropy(jnp.ones((5, 3)), jnp.ones((5,)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.mse(p, p, reduction="avg")


def test_perceptron_step_bad_input():
    params = {"w": jnp.ones(2), "b": jnp.zeros(())}
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        models.perceptron_step(params, jnp.ones(2), 1, -0.1)
    with pytest.raises(ValueError, match=r"x must be one point of shape \(2,\)"):
        models.perceptron_step(params, jnp.ones(3), 1, 0.1)


def test_perceptron_epoch_separates_admissions_like_data():
    x = jax.random.uniform(jax.random.key(4), (60, 2), minval=0, maxval=10)
    y = (2 * x[:, 0] + x[:, 1] - 18 >= 0).astype(jnp.float32)
    params = {"w": jnp.zeros(2), "b": jnp.zeros(())}
    epoch = jax.jit(models.perceptron_epoch)
    for _ in range(200):
        params, mistakes = epoch(params, x, y, 0.1)
        if mistakes == 0:
            break
    assert int(mistakes) == 0
    np.testing.assert_array_equal(models.perceptron(2).apply(params, x), y)
