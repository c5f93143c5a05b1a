# BYOL (Grill et al., 2020, arXiv:2006.07733) on CIFAR-10, in plain PyTorch.
# The recipe, the source of each setting, what to expect: docs/methods/byol.rst
# Run:    python byol.py                   (CIFAR-10, downloaded into ./datasets)
#         python byol.py --data-dir PATH   (your images; --help lists every option)
#         python byol.py --resume          (continues the run in --output-dir)
# Smoke:  python byol.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import copy
import math

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules.heads import BYOLPredictionHead, BYOLProjectionHead
from lightly_min.models.utils import deactivate_requires_grad, update_momentum
from lightly_min.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform
from lightly_min.utils.debug import std_of_l2_normalized
from lightly_min.utils.scheduler import cosine_schedule


class BYOL(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.projection_head = BYOLProjectionHead(512, 4096, 256)
        self.prediction_head = BYOLPredictionHead(256, 4096, 256)
        # The target network: a copy of backbone and projector that gradients never
        # train; update_momentum moves it towards the online network before each step.
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward(self, x):  # the online network's prediction
        return self.prediction_head(self.projection_head(self.backbone(x)))

    def forward_momentum(self, x):  # the target network's projection, a constant
        return self.projection_head_momentum(self.backbone_momentum(x)).detach()


def training_step(model, criterion, x0, x1, momentum):
    # The target network follows the online one; the momentum rises to 1.
    update_momentum(model.backbone, model.backbone_momentum, momentum)
    update_momentum(model.projection_head, model.projection_head_momentum, momentum)
    p0, p1 = model(x0), model(x1)
    z0, z1 = model.forward_momentum(x0), model.forward_momentum(x1)
    return 0.5 * (criterion(p0, z1) + criterion(p1, z0)), z0  # symmetric


def main(argv=None):
    args = parse_args(argv, "BYOL", epochs=800, batch_size=512, lr=0.03)
    # BYOL's two asymmetric views, crops of --input-size px (32 on CIFAR-10); no blur,
    # as at 32 px.
    transform = BYOLTransform(
        BYOLView1Transform(input_size=args.input_size, gaussian_blur=0.0),
        BYOLView2Transform(input_size=args.input_size, gaussian_blur=0.0),
    )
    healthy = {"z_std": 1 / math.sqrt(256)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "BYOL", transform, healthy)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = BYOL(resnet).to(run.device, memory_format=torch.channels_last)

    criterion = NegativeCosineSimilarity()
    optimizer = torch.optim.SGD(
        model.parameters(),  # the target network's do not require gradients
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
        for step, ((x0, x1), *_) in enumerate(run.epoch(loader, epoch, optimizer),
                                              start=epoch * len(loader)):  # fmt: skip
            x0, x1 = x0.to(run.device), x1.to(run.device)
            momentum = cosine_schedule(step, args.epochs * len(loader), 0.99, 1.0)
            with run.autocast():
                loss, z0 = training_step(model, criterion, x0, x1, momentum)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log(loss, z_std=std_of_l2_normalized(z0))
        scheduler.step()
        run.end_epoch(model=model, optimizer=optimizer, scheduler=scheduler)
    run.finish(resnet)  # saves the weights, then evaluates them on held-out images


if __name__ == "__main__":
    main()
