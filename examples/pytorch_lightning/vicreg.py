# VICReg (Bardes et al., 2022, arXiv:2105.04906) on CIFAR-10, with PyTorch Lightning.
# The recipe, the source of each setting, what to expect: docs/methods/vicreg.rst
# Run:    python vicreg.py                   (CIFAR-10, downloaded into ./datasets)
#         python vicreg.py --data-dir PATH   (your images; --help lists every option)
#         python vicreg.py --resume          (continues the run in --output-dir)
# Smoke:  python vicreg.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import math

import pytorch_lightning as pl
import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.harness.lightning import AtomicCheckpointIO, callbacks, resume_path
from lightly_min.loss import VICRegLoss
from lightly_min.models.modules.heads import VICRegProjectionHead
from lightly_min.transforms.vicreg_transform import VICRegTransform
from lightly_min.utils.debug import std_of_l2_normalized


class VICReg(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
        super().__init__()
        self.backbone = backbone
        # The expander: 2,048 wide, not the paper's 8,192 (covariance costs D^2).
        self.projection_head = VICRegProjectionHead(512, 2048, 2048, num_layers=2)
        self.criterion = VICRegLoss(lambda_param=25.0, mu_param=25.0, nu_param=1.0)
        self.lr, self.epochs = lr, epochs

    def forward(self, x):
        return self.projection_head(self.backbone(x))

    def training_step(self, batch, batch_idx):
        x0, x1 = batch[0]
        z0, z1 = self(x0), self(x1)
        # Invariance pulls the two views together; variance keeps each dimension's std
        # over the batch at 1 or more; covariance decorrelates the dimensions.
        loss = self.criterion(z0, z1)
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        z0 = z0.detach().float()  # collapse monitors: SimSiam's (Sec. 4.1), and the
        # std per dimension, which the variance term holds at 1 (Sec. 3.1)
        z_std, dim_std = std_of_l2_normalized(z0), z0.std(dim=0).mean()
        self.log("z_std", z_std, on_step=False, on_epoch=True, sync_dist=True)
        self.log("dim_std", dim_std, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(
            self.parameters(),
            lr=self.lr,
            momentum=0.9,
            weight_decay=1e-4,
        )

        def warmup_cosine(epoch):  # 10 epochs of linear warm-up, then a cosine decay
            warmup = min(1.0, (epoch + 1) / 10)
            return warmup * 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

        return [optimizer], [LambdaLR(optimizer, warmup_cosine)]


def main(argv=None):
    args = parse_args(
        argv, "VICReg", epochs=800, batch_size=512, lr=0.06, flavour="lightning"
    )
    # Two views from one transform, crops of --input-size px (32 on CIFAR-10); no blur,
    # as at 32 px.
    transform = VICRegTransform(input_size=args.input_size, gaussian_blur=0.0)
    healthy = {"z_std": 1 / math.sqrt(2048), "dim_std": 1.0}  # collapse monitors
    run = Run(args, "VICReg", transform, healthy, lightning=True)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = VICReg(resnet, lr=args.lr * run.global_batch / 256, epochs=args.epochs)
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
