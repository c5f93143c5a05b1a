# MoCo v2 (Chen et al., 2020, arXiv:2003.04297) on CIFAR-10, in plain PyTorch.
# The recipe, the source of each setting, what to expect: docs/methods/moco.rst
# Run:    python moco.py                   (CIFAR-10, downloaded into ./datasets)
#         python moco.py --data-dir PATH   (your images; --help lists every option)
#         python moco.py --resume          (continues the run in --output-dir)
# Smoke:  python moco.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import copy
import math

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.loss import NTXentLoss
from lightly_min.models.modules import MoCoProjectionHead
from lightly_min.models.utils import (
    batch_shuffle,
    batch_unshuffle,
    deactivate_requires_grad,
    update_momentum,
)
from lightly_min.transforms.moco_transform import MoCoV2Transform
from lightly_min.utils.debug import std_of_l2_normalized
from lightly_min.utils.dist import world_size


class MoCo(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.projection_head = MoCoProjectionHead(512, 512, 128)
        # The key encoder: a copy of backbone and head that gradients never train;
        # update_momentum moves it towards the query encoder before each step.
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)

    def forward(self, x):  # the queries
        return self.projection_head(self.backbone(x))

    def forward_momentum(self, x):  # the keys, constants
        return self.projection_head_momentum(self.backbone_momentum(x)).detach()


def training_step(model, criterion, x0, x1, momentum):
    update_momentum(model.backbone, model.backbone_momentum, momentum)
    update_momentum(model.projection_head, model.projection_head_momentum, momentum)
    q = model(x0)
    # Shuffling BN (Sec. 3.3 of MoCo): with several processes, the keys are encoded on
    # other processes than their queries, so BatchNorm cannot tell the model which key
    # is the positive. In one process the order changes and the statistics do not.
    distributed = world_size() > 1
    x1, shuffle = batch_shuffle(x1, distributed=distributed)
    k = batch_unshuffle(model.forward_momentum(x1), shuffle, distributed=distributed)
    # The key of the same image is the positive; the queue, the keys of earlier
    # batches, holds the negatives; then this batch's keys join the queue.
    return criterion(q, k), q.detach()


def main(argv=None):
    args = parse_args(argv, "MoCo", epochs=800, batch_size=512, lr=0.12)
    # MoCo v2's views, crops of --input-size px (32 on CIFAR-10); no blur, as at 32 px.
    transform = MoCoV2Transform(input_size=args.input_size, gaussian_blur=0.0)
    healthy = {"z_std": 1 / math.sqrt(128)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "MoCo", transform, healthy)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = MoCo(resnet).to(run.device, memory_format=torch.channels_last)

    # A queue of 8192 keys of 128 dimensions, 16 batches of 512; temperature 0.2.
    criterion = NTXentLoss(temperature=0.2, memory_bank_size=(8192, 128))
    criterion.to(run.device)  # the queue, on the model's device
    optimizer = torch.optim.SGD(
        model.parameters(),  # the key encoder's do not require gradients
        lr=args.lr * run.global_batch / 256,
        momentum=0.9,
        weight_decay=5e-4,
    )

    def cosine(epoch):
        return 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))

    scheduler = LambdaLR(optimizer, cosine)

    loader = run.train_loader()
    objects = dict(model=model, criterion=criterion, optimizer=optimizer)
    start = run.resume(**objects, scheduler=scheduler)  # criterion: the queue
    for epoch in range(start, args.epochs):
        model.train()
        for (x0, x1), *_ in run.epoch(loader, epoch, optimizer):
            x0, x1 = x0.to(run.device), x1.to(run.device)
            with run.autocast():
                loss, q = training_step(model, criterion, x0, x1, momentum=0.99)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log(loss, z_std=std_of_l2_normalized(q))
        scheduler.step()
        run.end_epoch(**objects, scheduler=scheduler)
    run.finish(resnet)  # saves the weights, then evaluates them on held-out images


if __name__ == "__main__":
    main()
