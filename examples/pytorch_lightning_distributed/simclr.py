# SimCLR (Chen et al., 2020, arXiv:2002.05709) on CIFAR-10, with Lightning's distributed
# data parallel (DDP) training: one process per GPU, or several on a CPU.
# Run:     python simclr.py --devices 4 (4 GPUs; CIFAR-10, downloaded into
#          ./datasets); add --data-dir PATH for your images, --resume to continue a
#          stopped run.
# Smoke:   python simclr.py --devices 2 --fake-data 32 --epochs 1 --batch-size 8
#          --num-workers 0 (2 CPU processes)
# Nodes:   the same command on every node with --num-nodes N, or under SLURM (srun) or
#          torchrun; Lightning reads their environment. --batch-size is per process: the
#          global batch is batch x devices x nodes, and the learning rate follows it
#          (the recipe's batch of 512 is --batch-size 128 on 4 GPUs).
# DDP:     differs from the Lightning example in the Trainer: strategy "ddp",
#          SyncBatchNorm on GPUs (BatchNorm statistics over the global batch) and a
#          DistributedSampler (each process gets its own shard); rank 0 evaluates and
#          saves. And in the loss: gather_distributed=True contrasts each image with the
#          batches of all processes.
# Recipe:  from the paper's CIFAR-10 experiments (App. B.9): the CIFAR stem, colour
#          jitter strength 0.5, no blur, temperature 0.5, a 2-layer projection MLP
#          (hidden width = the backbone's, 128-d output). Not from App. B.9, to match
#          our SimSiam example and fit one GPU: ResNet-18 instead of ResNet-50; SGD with
#          momentum 0.9, weight decay 5e-4, cosine schedule and lr 0.03 x batch/256
#          instead of LARS; batch 512 (the paper's best is 1024); 800 epochs; bf16
#          autocast and channels-last where supported (speed only).
# Expect:  per epoch the mean NT-Xent loss, falling as each image's two views become the
#          most similar pair in the batch, and the collapse monitor: the std of the
#          L2-normalised projections, near 1/sqrt(128) = 0.088 when healthy (z_std).
#          Then the backbone's weights, saved, and its kNN and linear-probe accuracy on
#          held-out images. The paper reports 94.0% linear accuracy with a ResNet-50
#          (App. B.9), a figure we have not reproduced: our measurements are on digits
#          (the docs).
import argparse
import math
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
import torchvision
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities import rank_zero_only
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from torchvision import transforms as T

from lightly_min.data.training_data import load_training_data
from lightly_min.errors import InputError
from lightly_min.loss import NTXentLoss
from lightly_min.models.modules import SimCLRProjectionHead
from lightly_min.transforms import SimCLRTransform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE
from lightly_min.utils.benchmarking import evaluate_backbone
from lightly_min.utils.checkpoint import check_output_dir
from lightly_min.utils.debug import std_of_l2_normalized
from lightly_min.utils.precision import bf16_supported


class SimCLR(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
        super().__init__()
        self.backbone = backbone
        self.projection_head = SimCLRProjectionHead(512, 512, 128)
        # Negatives from the batches of all processes, not only this one's.
        self.criterion = NTXentLoss(temperature=0.5, gather_distributed=True)
        self.lr, self.epochs = lr, epochs

    def forward(self, x):
        return self.projection_head(self.backbone(x))

    def training_step(self, batch, batch_idx):
        x0, x1 = batch[0]
        z0, z1 = self(x0), self(x1)
        loss = self.criterion(z0, z1)
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        z_std = std_of_l2_normalized(z0.detach())  # collapse monitor
        self.log("z_std", z_std, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        metrics = self.trainer.callback_metrics
        self.print(
            f"epoch {self.current_epoch + 1}/{self.epochs}  loss "
            f"{metrics['loss_epoch']:.4f}  z-std {metrics['z_std']:.4f} "
            f"(healthy {1 / math.sqrt(128):.4f})"
        )

    def on_save_checkpoint(self, checkpoint):  # with --resume, the same augmentations
        checkpoint["rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint):
        torch.set_rng_state(checkpoint["rng_state"])

    def configure_optimizers(self):
        # Scaled to the global batch: the batch per process times the processes.
        optimizer = torch.optim.SGD(
            self.parameters(),
            lr=self.lr * self.trainer.world_size,
            momentum=0.9,
            weight_decay=5e-4,
        )

        def cosine(epoch):
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

        return [optimizer], [LambdaLR(optimizer, cosine)]


def main(argv=None):
    parser = argparse.ArgumentParser(description="SimCLR on CIFAR-10 or your images")
    parser.add_argument("--data-dir", help="train on this folder of images instead")
    parser.add_argument("--test-dir", help="held-out images, in --data-dir's classes")
    parser.add_argument("--fake-data", type=int, default=0, help="N noise images")
    parser.add_argument("--download-dir", default="datasets", help="CIFAR-10 goes here")
    parser.add_argument("--output-dir", default="checkpoints/simclr_distributed")
    parser.add_argument("--resume", action="store_true", help="continue a stopped run")
    parser.add_argument("--epochs", type=int, default=800)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.03, help="per 256 images")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--devices", type=int, default=1, help="processes per node")
    parser.add_argument("--num-nodes", type=int, default=1)
    parser.add_argument("--strategy", default="ddp", help="ddp_notebook in Jupyter")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        sys.exit(f"error: --epochs {args.epochs}: train for at least 1 epoch.")
    if args.batch_size < 2:
        sys.exit(
            f"error: --batch-size {args.batch_size}: BatchNorm needs 2 images or more."
        )
    pl.seed_everything(args.seed, workers=True)

    # ResNet-18 with the CIFAR stem for 32 px images: 3x3 first convolution, no maxpool
    resnet = torchvision.models.resnet18()
    resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = SimCLR(resnet, lr=args.lr * args.batch_size / 256, epochs=args.epochs)
    model = model.to(memory_format=torch.channels_last)  # faster convolutions
    device = "cuda" if torch.cuda.is_available() else "cpu"

    # Images of any size are cropped to 32 px; at that size SimCLR uses colour jitter of
    # strength 0.5 and no blur (App. B.9).
    transform = SimCLRTransform(input_size=32, cj_strength=0.5, gaussian_blur=0.0)
    normalize = T.Normalize(**IMAGENET_NORMALIZE)
    eval_transform = T.Compose(
        [T.Resize(32), T.CenterCrop(32), T.ToTensor(), normalize]
    )
    output_dir = Path(args.output_dir)
    checkpoint_path = output_dir / "checkpoints" / "last.ckpt"  # rewritten every epoch
    weights_path = output_dir / "simclr_backbone.pt"
    try:  # bad input ends in one line that says what to change
        data = load_training_data(
            transform,
            eval_transform,
            data_dir=args.data_dir,
            test_dir=args.test_dir,
            fake_data=args.fake_data,
            download_dir=args.download_dir,
            seed=args.seed,
        )
        check_output_dir(weights_path, checkpoint_path, args.resume)
    except InputError as error:
        sys.exit(f"error: {error}")
    global_batch = args.batch_size * args.devices * args.num_nodes
    if len(data.train) < global_batch:
        sys.exit(
            f"error: {len(data.train)} training images are fewer than one global batch "
            f"of {global_batch} (--batch-size x --devices x --num-nodes). Pass a "
            "smaller --batch-size."
        )
    loader = DataLoader(
        data.train,
        args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.num_workers,
    )

    if rank_zero_only.rank == 0:  # the other processes run this script too
        print(f"SimCLR: {data.description}")
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        devices=args.devices,
        num_nodes=args.num_nodes,
        strategy=args.strategy,  # gloo between CPU processes, NCCL between GPUs
        sync_batchnorm=torch.cuda.is_available(),  # SyncBatchNorm runs on GPUs only
        use_distributed_sampler=True,  # the default: each process gets its own shard
        precision="bf16-mixed" if bf16_supported(device) else "32-true",
        # last.ckpt holds model, optimiser, schedule and epoch; written atomically.
        callbacks=[ModelCheckpoint(dirpath=checkpoint_path.parent, filename="last")],
        default_root_dir=output_dir,
    )
    trainer.fit(model, loader, ckpt_path=checkpoint_path if args.resume else None)
    if not trainer.is_global_zero:  # evaluate and save once, on rank 0
        return

    # Saved before the evaluation, so that a failed evaluation loses nothing.
    torch.save(resnet.state_dict(), weights_path)
    print(f"Saved the backbone's weights to {weights_path}")
    if data.test is not None:
        resnet.to(trainer.strategy.root_device)  # fit() ends with the model on the CPU
        bank, test = (
            DataLoader(images, batch_size=512, num_workers=args.num_workers)
            for images in (data.bank, data.test)
        )
        accuracy = evaluate_backbone(resnet, bank, test)
        print(
            f"Held-out accuracy: kNN {accuracy.knn:.4f}, "
            f"linear probe {accuracy.linear_probe:.4f}"
        )


if __name__ == "__main__":
    main()
