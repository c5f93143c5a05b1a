# SimCLR (Chen et al., 2020, arXiv:2002.05709) on CIFAR-10, in plain PyTorch.
# The recipe, the source of each setting, what to expect: docs/methods/simclr.rst
# Run:    python simclr.py                   (CIFAR-10, downloaded into ./datasets)
#         python simclr.py --data-dir PATH   (your images; --help lists every option)
#         python simclr.py --resume          (continues the run in --output-dir)
# Smoke:  python simclr.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import math

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.loss import NTXentLoss
from lightly_min.models.modules.heads import SimCLRProjectionHead
from lightly_min.transforms import SimCLRTransform
from lightly_min.utils.debug import std_of_l2_normalized


class SimCLR(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.projection_head = SimCLRProjectionHead(512, 512, 128)

    def forward(self, x):
        return self.projection_head(self.backbone(x))


def training_step(model, criterion, x0, x1):
    z0, z1 = model(x0), model(x1)
    # Each image's other view is its positive; the other images' are negatives.
    return criterion(z0, z1), z0.detach()


def main(argv=None):
    args = parse_args(argv, "SimCLR", epochs=800, batch_size=512, lr=0.03)
    # Crops of --input-size px (32 on CIFAR-10); colour jitter of strength 0.5, no
    # blur, as at 32 px (App. B.9).
    transform = SimCLRTransform(
        input_size=args.input_size, cj_strength=0.5, gaussian_blur=0.0
    )
    healthy = {"z_std": 1 / math.sqrt(128)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "SimCLR", transform, healthy)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = SimCLR(resnet).to(run.device, memory_format=torch.channels_last)

    criterion = NTXentLoss(temperature=0.5)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=args.lr * run.global_batch / 256,
        momentum=0.9,
        weight_decay=5e-4,
    )

    def cosine(epoch):
        return 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))

    scheduler = LambdaLR(optimizer, cosine)

    loader = run.train_loader()
    start = run.resume(model=model, optimizer=optimizer, scheduler=scheduler)
    for epoch in range(start, args.epochs):
        model.train()
        for (x0, x1), *_ in run.epoch(loader, epoch, optimizer):
            x0, x1 = x0.to(run.device), x1.to(run.device)
            with run.autocast():
                loss, z0 = training_step(model, criterion, x0, x1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log(loss, z_std=std_of_l2_normalized(z0))
        scheduler.step()
        run.end_epoch(model=model, optimizer=optimizer, scheduler=scheduler)
    run.finish(resnet)  # saves the weights, then evaluates them on held-out images


if __name__ == "__main__":
    main()
