# FastSiam (Pototzky et al., GCPR 2022) on CIFAR-10, in plain PyTorch.
# Run:     python fastsiam.py (CIFAR-10, downloaded into ./datasets)
#          python fastsiam.py --data-dir PATH (your own images; no labels needed)
# Smoke:   python fastsiam.py --fake-data 32 --epochs 1 --batch-size 8 --num-workers 0
# Expect:  a progress bar; each epoch's mean loss, falling towards -1 (minus a cosine
#          similarity); on CIFAR-10 the backbone's kNN accuracy on the test split
#          (lightly reports 0.91 after 200 epochs at batch 128); the backbone's weights,
#          saved.
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

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from torchvision import transforms as T
from torchvision.datasets import CIFAR10, FakeData

from lightly_min.data import LightlyDataset
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules import SimSiamPredictionHead, SimSiamProjectionHead
from lightly_min.transforms import IMAGENET_NORMALIZE, FastSiamTransform
from lightly_min.utils import progress_bar
from lightly_min.utils.benchmarking import knn_accuracy
from lightly_min.utils.precision import bf16_supported


class FastSiam(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.projection_head = SimSiamProjectionHead(512, 2048, 2048)
        self.prediction_head = SimSiamPredictionHead(2048, 512, 2048)

    def forward(self, x):
        z = self.projection_head(self.backbone(x))
        p = self.prediction_head(z)
        return z.detach(), p  # stop-gradient on the projection: what prevents collapse


def main():
    parser = argparse.ArgumentParser(description="FastSiam on CIFAR-10 or your images")
    parser.add_argument("--data-dir", help="train on this folder of images instead")
    parser.add_argument("--fake-data", type=int, default=0, help="N noise images")
    parser.add_argument("--download-dir", default="datasets", help="CIFAR-10 goes here")
    parser.add_argument("--output-dir", default="checkpoints/fastsiam_pytorch")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.06, help="per 256 images")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    # ResNet-18 with the CIFAR stem for 32 px images: 3x3 first convolution, no maxpool
    resnet = torchvision.models.resnet18()
    resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = FastSiam(resnet).to(device, memory_format=torch.channels_last)
    use_bf16 = bf16_supported(device)

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

    criterion = NegativeCosineSimilarity()
    encoder = [*model.backbone.parameters(), *model.projection_head.parameters()]
    optimizer = torch.optim.SGD(
        [{"params": encoder}, {"params": model.prediction_head.parameters()}],
        lr=args.lr * args.batch_size / 256,
        momentum=0.9,
        weight_decay=5e-4,
    )

    def cosine(epoch):
        return 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))

    # Cosine schedule for the encoder; the predictor's learning rate stays fixed.
    scheduler = LambdaLR(optimizer, [cosine, lambda epoch: 1.0])

    print(
        f"FastSiam: {len(dataset)} images, {device}, {'bf16' if use_bf16 else 'fp32'}"
    )
    for epoch in range(args.epochs):
        total_loss = 0.0
        bar = progress_bar(loader, desc=f"epoch {epoch + 1}/{args.epochs}")
        for views, *_ in bar:
            with torch.autocast(device, dtype=torch.bfloat16, enabled=use_bf16):
                zs, ps = zip(*[model(view.to(device)) for view in views])
                # Each view's prediction against the mean projection of the other views.
                loss = 0.0
                for z, p in zip(zs, ps):
                    loss += criterion(p, (sum(zs) - z) / (len(zs) - 1)) / len(zs)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scheduler.step()
        print(f"epoch {epoch + 1}/{args.epochs}  loss {total_loss / len(loader):.4f}")

    if knn_sets is not None:
        bank, test = (DataLoader(d, batch_size=512) for d in knn_sets)
        print(f"kNN accuracy on the test split: {knn_accuracy(resnet, bank, test):.4f}")
    path = Path(args.output_dir) / "fastsiam_backbone.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(resnet.state_dict(), path)
    print(f"Saved the backbone's weights to {path}")


if __name__ == "__main__":
    main()
