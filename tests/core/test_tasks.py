import numpy as np

from suite.core.tasks import TASKS, get_task


def test_3vs7_is_mnist_sample(mnist):
    """fastai's MNIST_SAMPLE: 12,396 training and 2,038 validation images, 3 -> 1, 7 -> 0."""
    task = get_task("3vs7")
    x, y = task.select(mnist.x_train, mnist.y_train)
    xv, yv = task.select(mnist.x_test, mnist.y_test)
    assert (len(y), len(yv)) == (12396, 2038)
    assert y.shape == (12396, 1) and y.dtype == np.float32
    assert int(y.sum()) == 6131 and int(yv.sum()) == 1010  # the 3s
    assert np.all(y[:6131] == 1) and np.all(y[6131:] == 0)  # all 3s first, as stacked
    assert np.array_equal(x[0], mnist.x_train[np.nonzero(mnist.y_train == 3)[0][0]])


def test_digits_keeps_everything(mnist):
    x, y = TASKS["digits"].select(mnist.x_test, mnist.y_test)
    assert len(y) == 10000 and y.dtype == np.int32


def test_accuracy_reads_outputs_by_task():
    assert get_task("digits").accuracy(np.array([[0.0, 2.0], [3.0, 1.0]]), np.array([1, 1])) == 0.5
    binary = get_task("3vs7")
    labels = np.array([[1.0], [0.0], [1.0], [0.0]])
    # a logit above 0 is a sigmoid above 0.5: "three"
    assert binary.accuracy(np.array([[0.3], [-2.0], [-0.1], [0.2]]), labels) == 0.5
