"""Linear-probe evaluation: logistic regression on frozen features.

The standard test of a self-supervised backbone (SimCLR, Chen et al., 2020, arXiv:2002.05709,
Sec. 4.2; SimSiam, Chen & He, 2020, App. A): a linear classifier trained on the backbone's
features, with the backbone frozen. Here the classifier is fit exactly (full batch, L-BFGS) on
precomputed features, which takes seconds, instead of by SGD with augmentations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def linear_probe_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    num_classes: int | None = None,
    weight_decay: float = 1e-4,
    max_iter: int = 1000,
) -> float:
    """Top-1 accuracy on the test features of a logistic regression fit on the train features.

    Features are standardised with the mean and standard deviation of the train features. The
    classifier ``(W, b)`` minimises, over the ``N`` train features ``x_i`` with labels ``y_i``::

        mean_i cross_entropy(W x_i + b, y_i) + weight_decay / 2 * |W|^2

    a convex problem, solved with L-BFGS. This is scikit-learn's ``LogisticRegression`` with
    ``C = 1 / (weight_decay * N)``.

    Args:
        train_features, test_features: ``(N, D)`` and ``(M, D)``, on one device.
        train_labels, test_labels: ``(N,)`` and ``(M,)`` class indices.
        num_classes: Defaults to the largest train label + 1.
        weight_decay: Strength of the L2 penalty on ``W``.
        max_iter: Most L-BFGS iterations.

    Returns:
        The fraction of test features classified correctly, in [0, 1].
    """
    if train_features.dim() != 2 or test_features.shape[1:] != train_features.shape[1:]:
        raise ValueError(
            "linear_probe_accuracy needs train and test features (N, D) and (M, D), got "
            f"{tuple(train_features.shape)} and {tuple(test_features.shape)}."
        )
    if num_classes is None:
        num_classes = int(train_labels.max()) + 1
    x = train_features.float()
    mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
    x = (x - mean) / std
    weight = torch.zeros(num_classes, x.shape[1], device=x.device, requires_grad=True)
    bias = torch.zeros(num_classes, device=x.device, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-6
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(F.linear(x, weight, bias), train_labels)
        loss = loss + weight_decay / 2 * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():  # callers may evaluate under no_grad
        optimizer.step(closure)
    with torch.no_grad():
        logits = F.linear((test_features.float() - mean) / std, weight, bias)
        return (logits.argmax(dim=1) == test_labels).float().mean().item()
