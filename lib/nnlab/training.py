"""The training loop: ``fit(model, X, y, optimizer, *, epochs, ...) -> History``.

Contract
--------
fit(model, X, y, optimizer, *, epochs, batch_size=None, rng, loss="softmax_ce",
    l1=0.0, l2=0.0, X_val=None, y_val=None, patience=None, progress=False)

  model       a ``nnlab.model.Sequential`` (anything with its loss/params/... methods)
  X, y        training inputs (N, ...) and targets (N,) or (N, K)
  optimizer   from ``nnlab.optim``; updates model.params() in place.  Nesterov variants
              get their lookahead before every gradient evaluation.
  epochs      passes over the training set (int >= 1)
  batch_size  None: full-batch gradient descent (one step per epoch);
              1: stochastic gradient descent; k: minibatches of k.
              Each epoch visits the examples in a fresh order drawn from ``rng``
              (rng may be None only for full batch).
  loss, l1, l2   as in ``Sequential.loss`` (penalty on weights "W" only)
  X_val, y_val   optional validation set, evaluated after every epoch
  patience    early stopping: stop once the validation loss has not improved for
              ``patience`` epochs and restore the weights of the best epoch (needs X_val)
  progress    print a one-line text progress bar to stdout (never stderr)

History (one entry per completed epoch, all measured after the epoch with train=False,
so dropout is off and train and validation numbers are comparable):
  train_loss, val_loss   data loss without the penalty (val_loss empty without X_val)
  train_acc, val_acc     accuracy for classification losses, NaN for regression losses
  best_epoch             index into the lists of the lowest val_loss (None without X_val)
  stopped_early          True when patience ended the run
  steps                  number of optimizer steps taken

A NaN/inf loss (or activations overflowing to inf) stops training with
``DivergedError("loss diverged at step k — learning rate too large?")``, k counting
optimizer steps from 1 over the whole run.  numpy overflow warnings are silenced
inside fit because this error replaces them.

Memory: batches are gathered with fancy indexing (one batch-sized copy at a time) and
end-of-epoch evaluation runs in chunks, so no full-data-sized temporaries are created.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from .functions import NonFiniteInputError
from .optim import Optimizer

__all__ = ["fit", "History", "DivergedError", "evaluate"]

EVAL_CHUNK = 4096


class DivergedError(RuntimeError):
    """Training produced a NaN/inf loss; ``.step`` is the global step where it happened."""

    def __init__(self, step: int):
        self.step = step
        super().__init__(f"loss diverged at step {step} — learning rate too large?")


@dataclass
class History:
    """Per-epoch curves of a ``fit`` run (see module docstring)."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    steps: int = 0

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def _classification(loss) -> bool:
    from .model import CLASSIFICATION_LOSSES

    return isinstance(loss, str) and loss in CLASSIFICATION_LOSSES


def evaluate(model, X, y, loss="softmax_ce", chunk: int = EVAL_CHUNK) -> tuple[float, float]:
    """(mean data loss, accuracy or NaN) over X in chunks of ``chunk`` rows, train=False."""
    n = len(X)
    total, correct = 0.0, 0
    classify = _classification(loss)
    for start in range(0, n, chunk):
        Xc, yc = X[start:start + chunk], y[start:start + chunk]
        scores = model.forward(Xc, train=False)  # one forward pass for loss and accuracy
        total += model.loss_of_scores(scores, yc, loss=loss) * len(Xc)
        if classify:
            correct += int(np.sum(model.labels(scores) == yc))
    return total / n, (correct / n if classify else math.nan)


def _check_data(X, y, name_x: str, name_y: str):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim < 2:
        raise ValueError(f"{name_x} must have shape (N, features...), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"{name_x} has {len(X)} examples but {name_y} has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{name_x} is empty")
    # checked in chunks so a large data set never needs a full-size boolean temporary
    for start in range(0, len(X), EVAL_CHUNK):
        if not np.isfinite(X[start:start + EVAL_CHUNK]).all():
            raise ValueError(f"{name_x} contains NaN or inf")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name_y} contains NaN or inf")
    return X, y


class _ProgressBar:
    """A single text line on stdout, redrawn with a carriage return after every epoch."""

    def __init__(self, epochs: int, width: int = 24):
        self.epochs, self.width = epochs, width

    def update(self, epoch: int, history: History) -> None:
        done = int(self.width * epoch / self.epochs)
        bar = "#" * done + "." * (self.width - done)
        text = f"\repoch {epoch:>{len(str(self.epochs))}}/{self.epochs} [{bar}] "
        text += f"loss {history.train_loss[-1]:.4f}"
        if history.val_loss:
            text += f"  val_loss {history.val_loss[-1]:.4f}"
        if not math.isnan(history.train_acc[-1]):
            text += f"  acc {history.train_acc[-1]:.3f}"
        sys.stdout.write(text)
        sys.stdout.flush()

    def close(self) -> None:
        sys.stdout.write("\n")
        sys.stdout.flush()


def fit(model, X, y, optimizer, *, epochs: int, batch_size: int | None = None, rng,
        loss="softmax_ce", l1: float = 0.0, l2: float = 0.0, X_val=None, y_val=None,
        patience: int | None = None, progress: bool = False) -> History:
    """Train ``model`` in place and return its History (see module docstring)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must come from nnlab.optim, got {type(optimizer).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    X, y = _check_data(X, y, "X", "y")
    n = len(X)
    if batch_size is not None:
        if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                or batch_size < 1):
            raise ValueError(f"batch_size must be None (full batch) or an int >= 1, "
                             f"got {batch_size!r}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("minibatch training shuffles with rng: pass "
                            "rng=np.random.default_rng(seed)")
        batch_size = min(int(batch_size), n)
    has_val = X_val is not None or y_val is not None
    if has_val:
        if X_val is None or y_val is None:
            raise ValueError("pass both X_val and y_val (or neither)")
        X_val, y_val = _check_data(X_val, y_val, "X_val", "y_val")
    if patience is not None:
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) \
                or patience < 1:
            raise ValueError(f"patience must be None or an int >= 1, got {patience!r}")
        if not has_val:
            raise ValueError("early stopping (patience) needs a validation set X_val, y_val")

    history = History()
    params = model.params()
    best_loss, best_weights = math.inf, None
    bar = _ProgressBar(epochs) if progress else None
    step = 0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for epoch in range(epochs):
                if batch_size is None:
                    batches = [None]
                else:
                    order = rng.permutation(n)
                    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
                for idx in batches:
                    step += 1
                    Xb, yb = (X, y) if idx is None else (X[idx], y[idx])
                    optimizer.lookahead(params)
                    try:
                        value, grads = model.loss(Xb, yb, loss=loss, l1=l1, l2=l2)
                    except NonFiniteInputError as exc:
                        raise DivergedError(step) from exc
                    if not math.isfinite(value):
                        raise DivergedError(step)
                    optimizer.step(params, grads)
                history.steps = step

                try:
                    train_loss, train_acc = evaluate(model, X, y, loss)
                    if has_val:
                        val_loss, val_acc = evaluate(model, X_val, y_val, loss)
                except NonFiniteInputError as exc:
                    raise DivergedError(step) from exc
                if not math.isfinite(train_loss) or (has_val and not math.isfinite(val_loss)):
                    raise DivergedError(step)
                history.train_loss.append(train_loss)
                history.train_acc.append(train_acc)
                if has_val:
                    history.val_loss.append(val_loss)
                    history.val_acc.append(val_acc)
                    if val_loss < best_loss:
                        best_loss, history.best_epoch = val_loss, epoch
                        if patience is not None:
                            best_weights = model.get_weights()
                if bar:
                    bar.update(epoch + 1, history)
                if patience is not None and epoch - history.best_epoch >= patience:
                    history.stopped_early = True
                    break
    finally:
        if bar:
            bar.close()
    if patience is not None and best_weights is not None:
        model.set_weights(best_weights)
    return history
