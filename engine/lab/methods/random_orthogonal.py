"""``random-orthogonal``: a baseline — k random orthonormal directions of z-space from a seeded generator.

They know nothing of the cloud, the labels or the decoder: whatever a method measures better than these is
what it found. Orthonormal in z (the Q of a Gaussian d×k matrix's QR, Haar-distributed), signed by the
lab's convention and scaled to the lab's unit (one σ of the cloud along each), in the generator's order.
"""
from __future__ import annotations

import numpy as np

from ..direction import Direction, check_k, check_z, cloud, make, orient
from . import MethodInputs, direction_method


@direction_method("random-orthogonal", kind="unsupervised", order=90, params=("k", "seed"),
                  help="baseline: k random orthonormal directions from a seeded generator (what chance finds)")
def random_orthogonal_directions(q: MethodInputs) -> list[Direction]:
    z = check_z(q.z)
    k = check_k(q.k, z.shape[1])
    mean, cov = cloud(z)
    rng = np.random.default_rng(q.seed)
    basis, r = np.linalg.qr(rng.standard_normal((z.shape[1], k)))
    basis = basis * np.where(np.diag(r) < 0, -1.0, 1.0)[None, :]  # the unique (Haar) Q
    return make("random", "random-orthogonal", orient(basis.T), mean, cov, [{"seed": int(q.seed)} for _ in range(k)])
