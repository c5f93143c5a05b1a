# MoCo v2 (Chen et al., 2020, arXiv:2003.04297) on CIFAR-10, with PyTorch Lightning.
# The recipe, the source of each setting, what to expect: docs/methods/moco.rst
# Run:    python moco.py                   (CIFAR-10, downloaded into ./datasets)
#         python moco.py --data-dir PATH   (your images; --help lists every option)
#         python moco.py --resume          (continues the run in --output-dir)
# Smoke:  python moco.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import copy
import math

import pytorch_lightning as pl
import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.harness.lightning import AtomicCheckpointIO, callbacks, resume_path
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


class MoCo(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
        super().__init__()
        self.backbone = backbone
        self.projection_head = MoCoProjectionHead(512, 512, 128)
        # The key encoder: a copy of backbone and head that gradients never train;
        # update_momentum moves it towards the query encoder before each step.
        self.backbone_momentum = copy.deepcopy(self.backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)
        # A queue of 8192 keys of 128 dimensions, 16 batches of 512; temperature 0.2.
        # A module of the model: the queue is saved in every checkpoint.
        self.criterion = NTXentLoss(temperature=0.2, memory_bank_size=(8192, 128))
        self.lr, self.epochs = lr, epochs

    def forward(self, x):  # the queries
        return self.projection_head(self.backbone(x))

    def forward_momentum(self, x):  # the keys, constants
        return self.projection_head_momentum(self.backbone_momentum(x)).detach()

    def training_step(self, batch, batch_idx):
        update_momentum(self.backbone, self.backbone_momentum, 0.99)
        update_momentum(self.projection_head, self.projection_head_momentum, 0.99)
        x0, x1 = batch[0]
        q = self(x0)
        # Shuffling BN (Sec. 3.3 of MoCo): with several processes, the keys are encoded
        # on other processes than their queries, so BatchNorm cannot tell the model
        # which key is the positive. One process: the order changes, not the statistics.
        distributed = world_size() > 1
        x1, shuffle = batch_shuffle(x1, distributed=distributed)
        k = batch_unshuffle(self.forward_momentum(x1), shuffle, distributed=distributed)
        # The key of the same image is the positive; the queue, the keys of earlier
        # batches, holds the negatives; then this batch's keys join the queue.
        loss = self.criterion(q, k)
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        z_std = std_of_l2_normalized(q.detach())  # collapse monitor (SimSiam, Sec. 4.1)
        self.log("z_std", z_std, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(
            self.parameters(),  # the key encoder's do not require gradients
            lr=self.lr,
            momentum=0.9,
            weight_decay=5e-4,
        )

        def cosine(epoch):
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

        return [optimizer], [LambdaLR(optimizer, cosine)]


def main(argv=None):
    args = parse_args(
        argv, "MoCo", epochs=800, batch_size=512, lr=0.12, flavour="lightning"
    )
    # MoCo v2's views, crops of --input-size px (32 on CIFAR-10); no blur, as at 32 px.
    transform = MoCoV2Transform(input_size=args.input_size, gaussian_blur=0.0)
    healthy = {"z_std": 1 / math.sqrt(128)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "MoCo", transform, healthy, lightning=True)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = MoCo(resnet, lr=args.lr * run.global_batch / 256, epochs=args.epochs)
    model = model.to(memory_format=torch.channels_last)

    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        devices=1,
        precision=run.precision,  # bf16 where the hardware computes in it
        callbacks=callbacks(run),  # a checkpoint every epoch, and the run record
        plugins=[AtomicCheckpointIO(run)],  # checkpoints written whole, or not at all
        default_root_dir=run.output_dir,
    )
    trainer.fit(model, run.train_loader(), ckpt_path=resume_path(run))
    run.finish(resnet, device=trainer.strategy.root_device)  # saves, then evaluates


if __name__ == "__main__":
    main()
