# FastSiam (Pototzky et al., GCPR 2022) on CIFAR-10, with PyTorch Lightning.
# The recipe, the source of each setting, what to expect: docs/methods/fastsiam.rst
# Run:    python fastsiam.py                   (CIFAR-10, downloaded into ./datasets)
#         python fastsiam.py --data-dir PATH   (your images; --help lists every option)
#         python fastsiam.py --resume          (continues the run in --output-dir)
# Smoke:  python fastsiam.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import math

import pytorch_lightning as pl
import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.harness.lightning import AtomicCheckpointIO, callbacks, resume_path
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules.heads import ProjectionHead, SimSiamPredictionHead
from lightly_min.transforms import FastSiamTransform
from lightly_min.utils.debug import std_of_l2_normalized


class FastSiam(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
        super().__init__()
        self.backbone = backbone
        # SimSiam's heads: 2 layers on CIFAR-10; no affine parameters in the last BN.
        self.projection_head = ProjectionHead(
            [
                (512, 2048, nn.BatchNorm1d(2048), nn.ReLU(inplace=True)),
                (2048, 2048, nn.BatchNorm1d(2048, affine=False), None),
            ]
        )
        self.prediction_head = SimSiamPredictionHead(2048, 512, 2048)
        self.criterion = NegativeCosineSimilarity()
        self.lr, self.epochs = lr, epochs

    def forward(self, x):
        z = self.projection_head(self.backbone(x))
        p = self.prediction_head(z)
        return z.detach(), p  # stop-gradient on the projection: what prevents collapse

    def training_step(self, batch, batch_idx):
        zs, ps = zip(*[self(view) for view in batch[0]])
        # Each view's prediction against the mean projection of the other views.
        loss = sum(
            self.criterion(p, (sum(zs) - z) / (len(zs) - 1)) for z, p in zip(zs, ps)
        )
        loss = loss / len(zs)
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        z_std = std_of_l2_normalized(zs[0])  # collapse monitor (SimSiam, Sec. 4.1)
        self.log("z_std", z_std, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        encoder = [*self.backbone.parameters(), *self.projection_head.parameters()]
        optimizer = torch.optim.SGD(
            [{"params": encoder}, {"params": self.prediction_head.parameters()}],
            lr=self.lr,
            momentum=0.9,
            weight_decay=5e-4,
        )

        def cosine(epoch):
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

        # Cosine schedule for the encoder; the predictor's learning rate stays fixed.
        return [optimizer], [LambdaLR(optimizer, [cosine, lambda epoch: 1.0])]


def main(argv=None):
    args = parse_args(
        argv, "FastSiam", epochs=800, batch_size=512, lr=0.03, flavour="lightning"
    )
    # 4 views, crops of --input-size px (32 on CIFAR-10); no blur, as at 32 px.
    transform = FastSiamTransform(
        num_views=4, input_size=args.input_size, gaussian_blur=0.0
    )
    healthy = {"z_std": 1 / math.sqrt(2048)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "FastSiam", transform, healthy, lightning=True)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = FastSiam(resnet, lr=args.lr * run.global_batch / 256, epochs=args.epochs)
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
