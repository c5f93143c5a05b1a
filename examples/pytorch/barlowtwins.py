# Barlow Twins (Zbontar et al., 2021, arXiv:2103.03230) on CIFAR-10, in plain PyTorch.
# The recipe, the source of each setting, what to expect: docs/methods/barlowtwins.rst
# Run:    python barlowtwins.py                  (CIFAR-10, downloaded into ./datasets)
#         python barlowtwins.py --data-dir PATH  (your images; --help lists the options)
#         python barlowtwins.py --resume         (continues the run in --output-dir)
# Smoke:  python barlowtwins.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import math

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.loss import BarlowTwinsLoss
from lightly_min.models.modules.heads import BarlowTwinsProjectionHead
from lightly_min.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform
from lightly_min.utils.debug import std_of_l2_normalized


class BarlowTwins(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        # 2,048 wide, not the paper's 8,192: the loss's (D, D) matrix costs D^2.
        self.projection_head = BarlowTwinsProjectionHead(512, 2048, 2048)

    def forward(self, x):
        return self.projection_head(self.backbone(x))


def training_step(model, criterion, x0, x1):
    z0, z1 = model(x0), model(x1)
    # The cross-correlation of the two views' projections, pulled towards the identity:
    # each dimension agrees across the views and carries information no other one does.
    return criterion(z0, z1), z0.detach()


def main(argv=None):
    args = parse_args(argv, "BarlowTwins", epochs=800, batch_size=512, lr=0.12)
    # BYOL's two asymmetric views (Sec. 2), crops of --input-size px (32 on CIFAR-10);
    # no blur, as at 32 px.
    transform = BYOLTransform(
        BYOLView1Transform(input_size=args.input_size, gaussian_blur=0.0),
        BYOLView2Transform(input_size=args.input_size, gaussian_blur=0.0),
    )
    healthy = {"z_std": 1 / math.sqrt(2048)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "BarlowTwins", transform, healthy)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = BarlowTwins(resnet).to(run.device, memory_format=torch.channels_last)

    criterion = BarlowTwinsLoss(lambda_param=5e-3)
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
