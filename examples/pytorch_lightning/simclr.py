# SimCLR (Chen et al., 2020, arXiv:2002.05709) on CIFAR-10, with PyTorch Lightning.
# Run:     python simclr.py (CIFAR-10, downloaded into ./datasets)
#          python simclr.py --data-dir PATH (your own images; no labels needed)
# Smoke:   python simclr.py --fake-data 32 --epochs 1 --batch-size 8 --num-workers 0
# Expect:  Lightning's progress bar; each epoch's mean NT-Xent loss, falling as each
#          image's two views become the most similar pair in the batch; on CIFAR-10 the
#          backbone's kNN accuracy on the test split (lightly reports 0.85 after 200
#          epochs at batch 128); checkpoints and the backbone's weights in --output-dir.
# Recipe:  SimCLR's CIFAR-10 choices (App. B.9): ResNet-18 with the CIFAR stem, colour
#          jitter strength 0.5, no blur, temperature 0.5. SGD (momentum 0.9, weight
#          decay 5e-4, cosine schedule) with lr 0.06 x batch/256, as in our SimSiam
#          example, so that the methods compare directly. Ours: bf16 and channels-last
#          where the hardware supports them (about 2.5x faster on a CPU, see the
#          benchmarks).
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
from lightly_min.loss import NTXentLoss
from lightly_min.models.modules import SimCLRProjectionHead
from lightly_min.transforms import IMAGENET_NORMALIZE, SimCLRTransform
from lightly_min.utils.benchmarking import knn_accuracy
from lightly_min.utils.precision import bf16_supported


class SimCLR(pl.LightningModule):
    def __init__(self, backbone, lr, epochs):
        super().__init__()
        self.backbone = backbone
        self.projection_head = SimCLRProjectionHead(512, 512, 128)
        self.criterion = NTXentLoss(temperature=0.5)
        self.lr, self.epochs = lr, epochs

    def forward(self, x):
        return self.projection_head(self.backbone(x))

    def training_step(self, batch, batch_idx):
        x0, x1 = batch[0]
        loss = self.criterion(self(x0), self(x1))
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        loss = self.trainer.callback_metrics["loss_epoch"]
        self.print(f"epoch {self.current_epoch + 1}/{self.epochs}  loss {loss:.4f}")

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


def main():
    parser = argparse.ArgumentParser(description="SimCLR on CIFAR-10 or your images")
    parser.add_argument("--data-dir", help="train on this folder of images instead")
    parser.add_argument("--fake-data", type=int, default=0, help="N noise images")
    parser.add_argument("--download-dir", default="datasets", help="CIFAR-10 goes here")
    parser.add_argument("--output-dir", default="checkpoints/simclr_lightning")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.06, help="per 256 images")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
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
        devices=1,
        precision="bf16-mixed" if bf16_supported(device) else "32-true",
        callbacks=[ModelCheckpoint(save_last=True)],  # in --output-dir/lightning_logs
        default_root_dir=args.output_dir,
    )
    trainer.fit(model, loader)

    if knn_sets is not None:
        bank, test = (DataLoader(d, batch_size=512) for d in knn_sets)
        accuracy = knn_accuracy(resnet, bank, test, device=device)
        print(f"kNN accuracy on the test split: {accuracy:.4f}")
    path = Path(args.output_dir) / "simclr_backbone.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(resnet.state_dict(), path)
    print(f"Saved the backbone's weights to {path}")


if __name__ == "__main__":
    main()
