# FastSiam (Pototzky et al., GCPR 2022) on CIFAR-10, with Lightning's distributed data
# parallel (DDP) training: one process per GPU, or several on a CPU.
# Run:     python fastsiam.py --devices 4 (4 GPUs; CIFAR-10, downloaded into
#          ./datasets); add --data-dir PATH to train on your own images (no labels
#          needed).
# Smoke:   python fastsiam.py --devices 2 --fake-data 32 --epochs 1 --batch-size 8
#          --num-workers 0 (2 CPU processes)
# Nodes:   the same command on every node with --num-nodes N, or under SLURM (srun) or
#          torchrun; Lightning reads their environment. --batch-size is per process: the
#          global batch is batch x devices x nodes, and the learning rate follows it.
# DDP:     differs from the Lightning example in the Trainer only: strategy "ddp",
#          SyncBatchNorm on GPUs (BatchNorm statistics over the global batch) and a
#          DistributedSampler (each process gets its own shard); rank 0 evaluates and
#          saves.
# Expect:  Lightning's progress bar; each epoch's mean loss, falling towards -1 (minus a
#          cosine similarity); on CIFAR-10 the backbone's kNN accuracy on the test split
#          (lightly reports 0.91 after 200 epochs at batch 128); checkpoints and the
#          backbone's weights in --output-dir.
# Recipe:  SimSiam with 4 views: each view's prediction is matched to the mean
#          projection of the other 3. Otherwise SimSiam's CIFAR-10 setup (App. D):
#          ResNet-18 with the CIFAR stem, no blur, SGD (momentum 0.9, weight decay 5e-4,
#          cosine schedule), lr 0.06 x batch/256, predictor at a fixed lr. Ours: bf16
#          and channels-last where the hardware supports them (about 2.5x faster on a
#          CPU, see the benchmarks).
import argparse
import math
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
import torchvision
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from torchvision import transforms as T
from torchvision.datasets import CIFAR10, FakeData

from lightly_min.data import LightlyDataset
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules import SimSiamPredictionHead, SimSiamProjectionHead
from lightly_min.transforms import IMAGENET_NORMALIZE, FastSiamTransform
from lightly_min.utils.benchmarking import knn_accuracy
from lightly_min.utils.precision import bf16_supported


class FastSiam(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
        super().__init__()
        self.backbone = backbone
        self.projection_head = SimSiamProjectionHead(512, 2048, 2048)
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
        loss = 0.0
        for z, p in zip(zs, ps):
            loss += self.criterion(p, (sum(zs) - z) / (len(zs) - 1)) / len(zs)
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        loss = self.trainer.callback_metrics["loss_epoch"]
        self.print(f"epoch {self.current_epoch + 1}/{self.epochs}  loss {loss:.4f}")

    def configure_optimizers(self):
        encoder = [*self.backbone.parameters(), *self.projection_head.parameters()]
        # Scaled to the global batch: the batch per process times the processes.
        optimizer = torch.optim.SGD(
            [{"params": encoder}, {"params": self.prediction_head.parameters()}],
            lr=self.lr * self.trainer.world_size,
            momentum=0.9,
            weight_decay=5e-4,
        )

        def cosine(epoch):
            return 0.5 * (1 + math.cos(math.pi * epoch / self.epochs))

        # Cosine schedule for the encoder; the predictor's learning rate stays fixed.
        return [optimizer], [LambdaLR(optimizer, [cosine, lambda epoch: 1.0])]


def main():
    parser = argparse.ArgumentParser(description="FastSiam on CIFAR-10 or your images")
    parser.add_argument("--data-dir", help="train on this folder of images instead")
    parser.add_argument("--fake-data", type=int, default=0, help="N noise images")
    parser.add_argument("--download-dir", default="datasets", help="CIFAR-10 goes here")
    parser.add_argument("--output-dir", default="checkpoints/fastsiam_distributed")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.06, help="per 256 images")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--devices", type=int, default=1, help="processes per node")
    parser.add_argument("--num-nodes", type=int, default=1)
    args = parser.parse_args()
    pl.seed_everything(args.seed, workers=True)

    # ResNet-18 with the CIFAR stem for 32 px images: 3x3 first convolution, no maxpool
    resnet = torchvision.models.resnet18()
    resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = FastSiam(resnet, lr=args.lr * args.batch_size / 256, epochs=args.epochs)
    model = model.to(memory_format=torch.channels_last)  # faster convolutions
    device = "cuda" if torch.cuda.is_available() else "cpu"

    # Images of any size are cropped to 32 px; no blur at that size (SimSiam, App. D).
    transform = FastSiamTransform(num_views=4, input_size=32, gaussian_blur=0.0)
    eval_transform = T.Compose([T.ToTensor(), T.Normalize(**IMAGENET_NORMALIZE)])
    if args.data_dir:  # your images: labels not needed, so no kNN evaluation
        dataset, knn_sets = LightlyDataset(args.data_dir, transform), None
    elif args.fake_data:  # noise images: runs every line, learns nothing
        dataset = FakeData(args.fake_data, (3, 32, 32), 10, transform)
        knn_sets = [FakeData(args.fake_data, (3, 32, 32), 10, eval_transform)] * 2
    else:
        try:
            dataset = CIFAR10(args.download_dir, download=True, transform=transform)
        except OSError as error:  # offline, and no copy in --download-dir
            sys.exit(
                f"Cannot download CIFAR-10 into {args.download_dir}/ ({error}). Use "
                "--data-dir PATH for your own images, or --fake-data N for a smoke run."
            )
        knn_sets = (
            CIFAR10(args.download_dir, train=True, transform=eval_transform),
            CIFAR10(args.download_dir, train=False, transform=eval_transform),
        )
    loader = DataLoader(
        dataset,
        args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.num_workers,
    )

    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        devices=args.devices,
        num_nodes=args.num_nodes,
        strategy="ddp",  # gloo on CPU, NCCL on GPUs
        sync_batchnorm=torch.cuda.is_available(),  # SyncBatchNorm runs on GPUs only
        use_distributed_sampler=True,  # the default: each process gets its own shard
        precision="bf16-mixed" if bf16_supported(device) else "32-true",
        callbacks=[ModelCheckpoint(save_last=True)],  # in --output-dir/lightning_logs
        default_root_dir=args.output_dir,
    )
    trainer.fit(model, loader)
    if not trainer.is_global_zero:  # evaluate and save once, on rank 0
        return

    if knn_sets is not None:
        bank, test = (DataLoader(d, batch_size=512) for d in knn_sets)
        accuracy = knn_accuracy(resnet, bank, test, device=device)
        print(f"kNN accuracy on the test split: {accuracy:.4f}")
    path = Path(args.output_dir) / "fastsiam_backbone.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(resnet.state_dict(), path)
    print(f"Saved the backbone's weights to {path}")


if __name__ == "__main__":
    main()
