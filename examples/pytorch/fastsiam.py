# FastSiam (Pototzky et al., GCPR 2022) on CIFAR-10, in plain PyTorch.
# Run:     python fastsiam.py (CIFAR-10, downloaded into ./datasets)
#          python fastsiam.py --data-dir PATH (your images, labelled or not)
#          python fastsiam.py --resume (continues the interrupted run in --output-dir)
# Smoke:   python fastsiam.py --fake-data 32 --epochs 1 --batch-size 8 --num-workers 0
# Recipe:  SimSiam with 4 views of each image: each view's prediction is matched to the
#          mean projection of the other 3 (lightly's FastSiamTransform default). The
#          FastSiam paper gives no CIFAR-10 recipe that we could read, so everything
#          else is our SimSiam example, i.e. SimSiam's CIFAR-10 setup (arXiv:2011.10566,
#          App. D): ResNet-18 with the CIFAR stem, 2-layer projection MLP (2048-d), no
#          blur, SGD with momentum 0.9 and weight decay 5e-4, cosine schedule, lr 0.03 x
#          batch/256, batch 512, 800 epochs; the ImageNet predictor (2048-512-2048) at a
#          fixed lr; bf16 autocast and channels-last where supported (speed only).
# Expect:  per epoch the mean loss (towards -1) and the collapse monitor: the std of the
#          L2-normalised projections, healthy near 1/sqrt(2048) = 0.022, collapsed near
#          0. Then the backbone's weights, saved, and its kNN and linear-probe accuracy
#          on held-out images. Each epoch costs about twice SimSiam's (4 views, not 2).
#          We have not run CIFAR-10; lightly's benchmarks report kNN 0.906 after 200
#          epochs with another recipe (batch 128, its own lr and heads).
import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from torchvision import transforms as T

from lightly_min.data.training_data import load_training_data
from lightly_min.errors import InputError
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules.heads import ProjectionHead, SimSiamPredictionHead
from lightly_min.transforms import FastSiamTransform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE
from lightly_min.utils import progress_bar
from lightly_min.utils.benchmarking import evaluate_backbone
from lightly_min.utils.checkpoint import check_output_dir, save_checkpoint
from lightly_min.utils.debug import std_of_l2_normalized
from lightly_min.utils.precision import bf16_supported


class FastSiam(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        # 2 layers on CIFAR-10 (App. D); the last BatchNorm has no affine parameters.
        self.projection_head = ProjectionHead(
            [
                (512, 2048, nn.BatchNorm1d(2048), nn.ReLU(inplace=True)),
                (2048, 2048, nn.BatchNorm1d(2048, affine=False), None),
            ]
        )
        self.prediction_head = SimSiamPredictionHead(2048, 512, 2048)

    def forward(self, x):
        z = self.projection_head(self.backbone(x))
        p = self.prediction_head(z)
        return z.detach(), p  # stop-gradient on the projection: what prevents collapse


def main(argv=None):
    parser = argparse.ArgumentParser(description="FastSiam on CIFAR-10 or your images")
    parser.add_argument("--data-dir", help="train on this folder of images instead")
    parser.add_argument("--test-dir", help="held-out images, in --data-dir's classes")
    parser.add_argument("--fake-data", type=int, default=0, help="N noise images")
    parser.add_argument("--download-dir", default="datasets", help="CIFAR-10 goes here")
    parser.add_argument("--output-dir", default="checkpoints/fastsiam_pytorch")
    parser.add_argument("--resume", action="store_true", help="continue a stopped run")
    parser.add_argument("--epochs", type=int, default=800)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.03, help="per 256 images")
    parser.add_argument("--num-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        sys.exit(f"error: --epochs {args.epochs}: train for at least 1 epoch.")
    if args.batch_size < 2:
        sys.exit(
            f"error: --batch-size {args.batch_size}: BatchNorm needs 2 images or more."
        )
    torch.manual_seed(args.seed)

    # ResNet-18 with the CIFAR stem for 32 px images: 3x3 first convolution, no maxpool
    resnet = torchvision.models.resnet18()
    resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = FastSiam(resnet).to(device, memory_format=torch.channels_last)
    use_bf16 = bf16_supported(device)

    # 4 views; images of any size are cropped to 32 px; no blur at that size (App. D).
    transform = FastSiamTransform(num_views=4, input_size=32, gaussian_blur=0.0)
    normalize = T.Normalize(**IMAGENET_NORMALIZE)
    eval_transform = T.Compose(
        [T.Resize(32), T.CenterCrop(32), T.ToTensor(), normalize]
    )
    output_dir = Path(args.output_dir)
    checkpoint_path = output_dir / "checkpoint.pt"
    weights_path = output_dir / "fastsiam_backbone.pt"
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
    if len(data.train) < args.batch_size:
        sys.exit(
            f"error: {len(data.train)} training images are fewer than one batch of "
            f"{args.batch_size}. Pass a smaller --batch-size."
        )
    loader = DataLoader(
        data.train,
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

    start_epoch = 0
    if args.resume:
        checkpoint = torch.load(checkpoint_path, map_location="cpu")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        torch.set_rng_state(checkpoint["rng_state"])  # the augmentations of a whole run
        start_epoch = checkpoint["epoch"]
        print(f"Resuming after epoch {start_epoch} from {checkpoint_path}")

    print(
        f"FastSiam on {device} ({'bf16' if use_bf16 else 'fp32'}): {data.description}"
    )
    healthy_std = 1 / math.sqrt(2048)  # of 2048-d outputs that have not collapsed
    for epoch in range(start_epoch, args.epochs):
        total_loss = total_std = 0.0
        start = time.perf_counter()
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
            total_std += std_of_l2_normalized(zs[0]).item()  # collapse monitor
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scheduler.step()
        images_per_second = (
            len(loader) * args.batch_size / (time.perf_counter() - start)
        )
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng_state": torch.get_rng_state(),
            "epoch": epoch + 1,
        }
        save_checkpoint(
            state, checkpoint_path
        )  # atomic: a kill leaves the last one whole
        print(
            f"epoch {epoch + 1}/{args.epochs}  loss {total_loss / len(loader):.4f}  "
            f"z-std {total_std / len(loader):.4f} (healthy {healthy_std:.4f})  "
            f"{images_per_second:.0f} images/s"
        )

    # Saved before the evaluation, so that a failed evaluation loses nothing.
    torch.save(resnet.state_dict(), weights_path)
    print(f"Saved the backbone's weights to {weights_path}")
    if data.test is not None:
        bank, test = (
            DataLoader(images, batch_size=512, num_workers=args.num_workers)
            for images in (data.bank, data.test)
        )
        accuracy = evaluate_backbone(resnet, bank, test)  # on the device it trained on
        print(
            f"Held-out accuracy: kNN {accuracy.knn:.4f}, "
            f"linear probe {accuracy.linear_probe:.4f}"
        )


if __name__ == "__main__":
    main()
