"""Neural-network layers with forward/backward passes (package ``nnlab.layers``).

Every layer follows one protocol (see ``base``): ``forward(x, train=True)`` maps a batch
(batch dimension first) to an output and caches what ``backward(dout)`` needs;
``backward`` returns dL/dx and fills ``layer.grads`` with dL/dparam for each entry of
``layer.params`` (same names, same shapes).  float64 throughout; randomness (weight
initialisation, dropout masks) only from an explicit ``np.random.Generator``.

  Dense(in_dim, out_dim, rng, init)      (N, in_dim) -> (N, out_dim)
  ReLU(), Sigmoid(), Tanh()              any shape, elementwise
  Dropout(p, rng, mode)                  any shape; p is the DROP probability
  Conv2D(in_ch, out_ch, kernel_size, rng, stride, padding)
                                         (N, C, H, W) -> (N, F, Ho, Wo), cross-correlation
  MaxPool2D(size, stride)                (N, C, H, W) -> (N, C, Ho, Wo)
  Flatten()                              (N, ...) -> (N, prod(...))

Bad input (wrong rank, wrong feature/channel count, NaN/inf) raises ValueError naming the
layer, the expected shape and the shape received.
"""

from .activations import ReLU, Sigmoid, Tanh
from .base import Layer
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .pool import Flatten, MaxPool2D

__all__ = [
    "Layer",
    "Dense",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Dropout",
    "Conv2D",
    "MaxPool2D",
    "Flatten",
]
