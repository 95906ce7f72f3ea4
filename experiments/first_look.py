"""A first look at gdjax: the README's example, runnable (python experiments/first_look.py)."""

import jax

import gdjax
from gdjax import losses, metrics, models, optim

data = gdjax.data.load_heart_stratified_split(0)  # 181 / 61 / 61 rows, the course's 29 inputs
net = models.mlp([29, 16, 1], hidden="relu", output="sigmoid")
print("parameters:", gdjax.count_params(net.init(jax.random.key(0))))


def loss(params, batch):
    x, y = batch
    return losses.sigmoid_binary_cross_entropy(net.logits(params, x), y)


def accuracy(params, batch):
    return metrics.accuracy(net.apply(params, batch[0]), batch[1])


train, val = (data.x_train, data.y_train), (data.x_val, data.y_val)

# one training: 100 epochs of Adam on mini-batches of 32, one compiled program
result = gdjax.fit(
    loss,
    net.init(jax.random.key(1)),
    train,
    optimizer=optim.adam(1e-3),
    epochs=100,
    batch_size=32,
    key=2,
    validation_data=val,
    metrics={"accuracy": accuracy},
)
print(f"validation accuracy after 100 epochs: {result.history.val_metrics['accuracy'][-1]:.3f}")

# 256 trainings from independent initialisations, still one program
runs = gdjax.restarts.restarts(
    loss,
    net.init,
    train,
    optimizer=optim.adam(1e-3),
    epochs=100,
    batch_size=32,
    key=3,
    num_restarts=256,
    validation_data=val,
)
spread = runs.loss_summary(validation=True)
print(f"validation loss over 256 restarts: median {spread.median:.3f}, from {spread.min:.3f} to {spread.max:.3f}")
test_accuracy = accuracy(runs.best_params, (data.x_test, data.y_test))  # the test rows, touched once
majority = max(data.y_test.mean(), 1 - data.y_test.mean())  # predicting the commoner class for all
print(f"test accuracy of the restart chosen on validation: {test_accuracy:.3f} (majority class: {majority:.3f})")

# a learning rate x momentum grid, 8 restarts at each point, one program
grid = gdjax.sweep(
    loss,
    net.init,
    train,
    optimizer=lambda h: optim.sgd(h["lr"], h["momentum"]),
    grid={"lr": [0.01, 0.1], "momentum": [0.0, 0.9]},
    epochs=50,
    batch_size=32,
    key=4,
    num_restarts=8,
    validation_data=val,
)
medians = grid.loss_summary(validation=True).median  # axes: lr, momentum
for lr, row in zip(grid.grid["lr"], medians):
    print(f"lr {lr}: median validation loss {row[0]:.3f} plain, {row[1]:.3f} with momentum 0.9")

# jax.grad against central finite differences in float64
print(f"gradient error: {gdjax.gradient_error(loss, net.init(jax.random.key(0)), train):.1e}")
