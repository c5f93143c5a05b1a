"""A narrow ResNet-18 for small images on a CPU."""

from __future__ import annotations

from torch import nn
from torchvision.models.resnet import BasicBlock


def narrow_resnet18(width: int = 32) -> nn.Sequential:
    """torchvision's ResNet-18 layout with stage widths ``width * (1, 2, 4, 8)``, without the
    classifier: ``(N, 3, H, W) -> (N, 8 * width)`` features.

    The stem (7x7 stride-2 convolution, max-pool), the 4 stages of 2 basic blocks and the
    initialisation are torchvision's; ``width=64`` is ``torchvision.models.resnet18()``
    without its ``fc`` layer. At the default width of 32 it has a quarter of the
    multiply-adds: the tutorials train it on 32-pixel digits, 256 features per image.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    ]
    channels = width
    for stage in range(4):
        out, stride = width * 2**stage, 1 if stage == 0 else 2
        shortcut = None
        if stride != 1 or channels != out:
            shortcut = nn.Sequential(
                nn.Conv2d(channels, out, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out),
            )
        layers += [BasicBlock(channels, out, stride, shortcut), BasicBlock(out, out)]
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    network = nn.Sequential(*layers)
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return network
