# BYOL (Grill et al., 2020, arXiv:2006.07733) on CIFAR-10, with PyTorch Lightning.
# The recipe, the source of each setting, what to expect: docs/methods/byol.rst
# Run:    python byol.py                   (CIFAR-10, downloaded into ./datasets)
#         python byol.py --data-dir PATH   (your images; --help lists every option)
#         python byol.py --resume          (continues the run in --output-dir)
# Smoke:  python byol.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import copy
import math

import pytorch_lightning as pl
import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.harness.lightning import AtomicCheckpointIO, callbacks, resume_path
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules.heads import BYOLPredictionHead, BYOLProjectionHead
from lightly_min.models.utils import deactivate_requires_grad, update_momentum
from lightly_min.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform
from lightly_min.utils.debug import std_of_l2_normalized
from lightly_min.utils.scheduler import cosine_schedule


class BYOL(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
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
        self.criterion = NegativeCosineSimilarity()
        self.lr, self.epochs = lr, epochs

    def forward(self, x):  # the online network's prediction
        return self.prediction_head(self.projection_head(self.backbone(x)))

    def forward_momentum(self, x):  # the target network's projection, a constant
        return self.projection_head_momentum(self.backbone_momentum(x)).detach()

    def training_step(self, batch, batch_idx):
        # The target network follows the online one; the momentum rises to 1.
        steps = self.trainer.estimated_stepping_batches
        momentum = cosine_schedule(self.global_step, steps, 0.99, 1.0)
        update_momentum(self.backbone, self.backbone_momentum, momentum)
        update_momentum(self.projection_head, self.projection_head_momentum, momentum)
        x0, x1 = batch[0]
        p0, p1 = self(x0), self(x1)
        z0, z1 = self.forward_momentum(x0), self.forward_momentum(x1)
        loss = 0.5 * (self.criterion(p0, z1) + self.criterion(p1, z0))  # symmetric
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        z_std = std_of_l2_normalized(z0)  # collapse monitor (SimSiam, Sec. 4.1)
        self.log("z_std", z_std, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(
            self.parameters(),  # the target network's do not require gradients
            lr=self.lr,
            momentum=0.9,
            weight_decay=5e-4,
        )

        def cosine(epoch):
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

        return [optimizer], [LambdaLR(optimizer, cosine)]


def main(argv=None):
    args = parse_args(
        argv, "BYOL", epochs=800, batch_size=512, lr=0.03, flavour="lightning"
    )
    # BYOL's two asymmetric views, crops of --input-size px (32 on CIFAR-10); no blur,
    # as at 32 px.
    transform = BYOLTransform(
        BYOLView1Transform(input_size=args.input_size, gaussian_blur=0.0),
        BYOLView2Transform(input_size=args.input_size, gaussian_blur=0.0),
    )
    healthy = {"z_std": 1 / math.sqrt(256)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "BYOL", transform, healthy, lightning=True)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = BYOL(resnet, lr=args.lr * run.global_batch / 256, epochs=args.epochs)
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
