# VICReg (Bardes et al., 2022, arXiv:2105.04906) on CIFAR-10, in plain PyTorch.
# The recipe, the source of each setting, what to expect: docs/methods/vicreg.rst
# Run:    python vicreg.py                   (CIFAR-10, downloaded into ./datasets)
#         python vicreg.py --data-dir PATH   (your images; --help lists every option)
#         python vicreg.py --resume          (continues the run in --output-dir)
# Smoke:  python vicreg.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import math

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.loss import VICRegLoss
from lightly_min.models.modules.heads import VICRegProjectionHead
from lightly_min.transforms.vicreg_transform import VICRegTransform
from lightly_min.utils.debug import std_of_l2_normalized


class VICReg(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        # The expander: 2,048 wide, not the paper's 8,192 (covariance costs D^2).
        self.projection_head = VICRegProjectionHead(512, 2048, 2048, num_layers=2)

    def forward(self, x):
        return self.projection_head(self.backbone(x))


def training_step(model, criterion, x0, x1):
    z0, z1 = model(x0), model(x1)
    # Invariance pulls the two views together; variance keeps each dimension's std over
    # the batch at 1 or more; covariance decorrelates the dimensions.
    return criterion(z0, z1), z0.detach()


def main(argv=None):
    args = parse_args(argv, "VICReg", epochs=800, batch_size=512, lr=0.06)
    # Two views from one transform, crops of --input-size px (32 on CIFAR-10); no blur,
    # as at 32 px.
    transform = VICRegTransform(input_size=args.input_size, gaussian_blur=0.0)
    # Collapse monitors: the SimSiam one (Sec. 4.1), and the std per dimension that the
    # variance term holds at 1 (Sec. 3.1).
    healthy = {"z_std": 1 / math.sqrt(2048), "dim_std": 1.0}
    run = Run(args, "VICReg", transform, healthy)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = VICReg(resnet).to(run.device, memory_format=torch.channels_last)

    criterion = VICRegLoss(lambda_param=25.0, mu_param=25.0, nu_param=1.0)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=args.lr * run.global_batch / 256,
        momentum=0.9,
        weight_decay=1e-4,
    )

    def warmup_cosine(epoch):  # 10 epochs of linear warm-up, then a cosine decay
        warmup = min(1.0, (epoch + 1) / 10)
        return warmup * 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))

    scheduler = LambdaLR(optimizer, warmup_cosine)

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
            dim_std = z0.float().std(dim=0).mean()  # what the variance term holds at 1
            run.log(loss, z_std=std_of_l2_normalized(z0), dim_std=dim_std)
        scheduler.step()
        run.end_epoch(model=model, optimizer=optimizer, scheduler=scheduler)
    run.finish(resnet)  # saves the weights, then evaluates them on held-out images


if __name__ == "__main__":
    main()
