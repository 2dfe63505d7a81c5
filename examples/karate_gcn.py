"""Zachary's karate club (bundled with networkx, offline): which of the two clubs each
member joined, learned from 2 labelled members per club. The GCN and GAT presets beside
a plain Keras GCN (Dense layers and a fixed propagation matrix).

* GCN preset [34, 16, 2], `normalization_mode="symmetric"`: `D^-1/2 (A + I) D^-1/2 X W`
  per layer (Kipf and Welling's GCN);
* GAT preset [34, 16, 2]: bilinear attention of rank 3 over each member's neighbours;
* Keras GCN: the same propagation as a numpy matrix, applied with `keras.ops` between
  two Dense layers.

Node features are one-hot identities (34 features); the graph is one sample of batch 1.
The loss only sees the labelled members (sample weights); accuracy is measured on the
30 others. Prints each model's parameter count, test accuracy and training time:

    KERAS_BACKEND=jax python examples/karate_gcn.py [--epochs 200]
"""

import argparse

import keras
import numpy as np
from rpn2_common import header
from rpn2_common import report
from rpn2_common import train

import keras_rpn


def load_graph():
    try:
        import networkx as nx
    except ImportError as error:  # pragma: no cover
        raise ImportError("This example needs networkx: pip install networkx") from error
    graph = nx.karate_club_graph()
    adjacency = nx.to_numpy_array(graph, weight=None)
    labels = np.array([graph.nodes[i]["club"] != "Mr. Hi" for i in graph.nodes], "int32")
    return adjacency, labels


class Propagate(keras.layers.Layer):
    """`P x` along the node axis, for a constant numpy matrix `P`."""

    def __init__(self, matrix, **kwargs):
        super().__init__(**kwargs)
        self.matrix = np.asarray(matrix, "float32")

    def call(self, x):
        return keras.ops.einsum("ij,bjf->bif", self.matrix, x)


def keras_gcn(adjacency, hidden, classes):
    a_hat = adjacency + np.eye(len(adjacency))
    d = a_hat.sum(axis=1) ** -0.5
    propagate = Propagate(d[:, None] * a_hat * d[None, :])
    inputs = keras.Input((len(adjacency), len(adjacency)))
    h = keras.layers.ReLU()(propagate(keras.layers.Dense(hidden)(inputs)))
    return keras.Model(inputs, propagate(keras.layers.Dense(classes)(h)), name="keras_gcn")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    adjacency, labels = load_graph()
    nodes = len(labels)
    rng = np.random.default_rng(args.seed)
    train_nodes = np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), 2, replace=False) for c in (0, 1)]
    )
    weights = np.zeros((1, nodes), "float32")
    weights[0, train_nodes] = 1.0
    test = np.setdiff1d(np.arange(nodes), train_nodes)
    x = np.eye(nodes, dtype="float32")[None]
    y = labels[None]
    header(f"karate club: {nodes} members, labelled {sorted(train_nodes.tolist())}", args.epochs)
    graph = {"adjacency": adjacency}
    models = [
        keras_rpn.models.GCN(
            [nodes, 16, 2], normalization_mode="symmetric", name="rpn_gcn_preset", **graph
        ),
        keras_rpn.models.GAT([nodes, 16, 2], name="rpn_gat_preset", **graph),
        keras_gcn(adjacency, 16, 2),
    ]
    rows = []
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for model in models:
        seconds = train(model, x, y, 1e-2, args.epochs, 1, loss, sample_weight=weights)
        predicted = np.argmax(np.asarray(model.predict(x, verbose=0))[0], axis=-1)
        accuracy = float(np.mean(predicted[test] == labels[test]))
        rows.append((model.name, model.count_params(), accuracy, seconds))
        print(f"{model.name}: accuracy on the unlabelled members {accuracy:.4f} in {seconds:.1f} s")
    report(rows, "test accuracy")


if __name__ == "__main__":
    main()
