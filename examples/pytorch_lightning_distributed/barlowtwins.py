# Barlow Twins (Zbontar et al., 2021, arXiv:2103.03230) on CIFAR-10 with Lightning's
# distributed data parallel (DDP): one process per GPU, or several on a CPU. The recipe
# and its sources: docs/methods/barlowtwins.rst; DDP, many nodes: docs/distributed.rst
# Run:    python barlowtwins.py --devices 4 --batch-size 128  (the recipe's 512, 4 GPUs)
#         add --data-dir PATH for your images, --resume to continue a stopped run
# Smoke:  python barlowtwins.py --devices 2 --fake-data 8 --epochs 1 --batch-size 4
#         --num-workers 0
import math

import pytorch_lightning as pl
import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.harness.lightning import AtomicCheckpointIO, callbacks, resume_path
from lightly_min.loss import BarlowTwinsLoss
from lightly_min.models.modules.heads import BarlowTwinsProjectionHead
from lightly_min.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform
from lightly_min.utils.debug import std_of_l2_normalized


class BarlowTwins(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
        super().__init__()
        self.backbone = backbone
        # 2,048 wide, not the paper's 8,192: the loss's (D, D) matrix costs D^2.
        self.projection_head = BarlowTwinsProjectionHead(512, 2048, 2048)
        # gather_distributed: the cross-correlation of the global batch, every process's
        # projections, so that W processes of N train as one process of W x N.
        self.criterion = BarlowTwinsLoss(lambda_param=5e-3, gather_distributed=True)
        self.lr, self.epochs = lr, epochs

    def forward(self, x):
        return self.projection_head(self.backbone(x))

    def training_step(self, batch, batch_idx):
        x0, x1 = batch[0]
        z0, z1 = self(x0), self(x1)
        # The cross-correlation of the two views' projections, pulled towards the
        # identity: each dimension agrees across the views and carries information no
        # other one does.
        loss = self.criterion(z0, z1)
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        z_std = std_of_l2_normalized(z0.detach())  # collapse monitor
        self.log("z_std", z_std, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(
            self.parameters(),
            lr=self.lr,
            momentum=0.9,
            weight_decay=5e-4,
        )

        def cosine(epoch):
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

        return [optimizer], [LambdaLR(optimizer, cosine)]


def main(argv=None):
    args = parse_args(
        argv, "BarlowTwins", epochs=800, batch_size=512, lr=0.12, flavour="distributed"
    )
    # BYOL's two asymmetric views (Sec. 2), crops of --input-size px (32 on CIFAR-10);
    # no blur, as at 32 px.
    transform = BYOLTransform(
        BYOLView1Transform(input_size=args.input_size, gaussian_blur=0.0),
        BYOLView2Transform(input_size=args.input_size, gaussian_blur=0.0),
    )
    healthy = {"z_std": 1 / math.sqrt(2048)}  # collapse monitor (SimSiam, Sec. 4.1)
    run = Run(args, "BarlowTwins", transform, healthy, lightning=True)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = BarlowTwins(resnet, lr=args.lr * run.global_batch / 256, epochs=args.epochs)
    model = model.to(memory_format=torch.channels_last)

    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        devices=args.devices,
        num_nodes=args.num_nodes,
        strategy=args.strategy,  # gloo between CPU processes, NCCL between GPUs
        sync_batchnorm=torch.cuda.is_available(),  # BatchNorm over all processes
        use_distributed_sampler=True,  # the default: each process gets its own shard
        precision=run.precision,  # bf16 where the hardware computes in it
        callbacks=callbacks(run),  # a checkpoint every epoch, and the run record
        plugins=[AtomicCheckpointIO(run)],  # checkpoints written whole, or not at all
        default_root_dir=run.output_dir,
    )
    trainer.fit(model, run.train_loader(), ckpt_path=resume_path(run))
    if trainer.is_global_zero:  # one process saves and evaluates
        run.finish(resnet, device=trainer.strategy.root_device)


if __name__ == "__main__":
    main()
