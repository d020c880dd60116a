"""Applicability domain: how similar a query is to the molecules a model learned from.

Two numbers per query, both on binary Morgan fingerprints with Tanimoto
similarity: the similarity to the nearest training molecule (a query is
*in domain* when it reaches the configured threshold) and the mean Tanimoto
distance (1 - similarity) to its k nearest training molecules, which grows as a
query leaves the densely sampled part of the series.
"""

from __future__ import annotations

import numpy as np

from chem.models.features import tanimoto_matrix

# Query rows per similarity block: 2,000 x 1,000 float32 is ~8 MB.
_CHUNK_ROWS = 2000


def domain_scores(query_bits: np.ndarray, train_bits: np.ndarray, k: int,
                  exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Max Tanimoto similarity and mean k-NN Tanimoto distance of each query to the training set.

    Parameters
    ----------
    query_bits, train_bits
        Boolean fingerprint matrices (n_query, n_bits) and (n_train, n_bits).
    k
        Neighbours in the mean distance (capped at the training-set size).
    exclude_self
        When the queries *are* the training set, ignore each row's own column.

    Returns
    -------
    tuple of numpy.ndarray
        ``(max_similarity, mean_knn_distance)``, each of length n_query.
    """
    n_query = len(query_bits)
    max_sim = np.zeros(n_query)
    mean_dist = np.ones(n_query)
    n_train = len(train_bits) - (1 if exclude_self else 0)
    if n_query == 0 or n_train <= 0:
        return max_sim, mean_dist
    k = min(k, n_train)
    for start in range(0, n_query, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n_query)
        sim = tanimoto_matrix(query_bits[start:stop], train_bits)
        if exclude_self:
            sim[np.arange(stop - start), np.arange(start, stop)] = -1.0
        top = -np.partition(-sim, k - 1, axis=1)[:, :k]
        max_sim[start:stop] = top.max(axis=1)
        mean_dist[start:stop] = 1.0 - top.mean(axis=1)
    return max_sim, mean_dist
