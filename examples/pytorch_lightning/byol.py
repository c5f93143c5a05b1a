# BYOL (Grill et al., 2020, arXiv:2006.07733) on CIFAR-10, with PyTorch Lightning.
# Run:     python byol.py (CIFAR-10, downloaded into ./datasets)
#          python byol.py --data-dir PATH (your images, labelled or not)
#          python byol.py --resume (continues the interrupted run in --output-dir)
# Smoke:   python byol.py --fake-data 32 --epochs 1 --batch-size 8 --num-workers 0
# Recipe:  from the paper (Sec. 3.3, App. B): the projector and predictor, MLPs of width
#          4096 with 256-d outputs; the two asymmetric views (blur and solarization
#          differ per view); a target network whose weights follow the online network's
#          as an exponential moving average, with the momentum raised from tau to 1
#          along a cosine over training. Not from the paper, which trains ResNet-50 on
#          ImageNet with LARS: the schedule of our SimSiam example, i.e. SimSiam's
#          CIFAR-10 setup (arXiv:2011.10566, App. D): ResNet-18 with the CIFAR stem, no
#          blur at 32 px, SGD with momentum 0.9 and weight decay 5e-4, cosine schedule,
#          lr 0.03 x batch/256, batch 512, 800 epochs; tau = 0.99 instead of the paper's
#          0.996, for this shorter run on a smaller data set; bf16 autocast and
#          channels-last where supported (speed only).
# Expect:  per epoch the mean loss (towards -1) and the collapse monitor: the std of the
#          L2-normalised target projections, healthy near 1/sqrt(256) = 0.0625,
#          collapsed near 0, logged as z_std. Then the backbone's weights, saved, and
#          its kNN and linear-probe accuracy on held-out images. We have not run
#          CIFAR-10; lightly's benchmarks report kNN 0.910 after 800 epochs with their
#          own recipe (its benchmark page). Our measurements are on digits (the docs).
import argparse
import copy
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

from lightly_min.data.training_data import load_training_data
from lightly_min.errors import InputError
from lightly_min.loss import NegativeCosineSimilarity
from lightly_min.models.modules import BYOLPredictionHead, BYOLProjectionHead
from lightly_min.models.utils import deactivate_requires_grad, update_momentum
from lightly_min.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform
from lightly_min.transforms.utils import IMAGENET_NORMALIZE
from lightly_min.utils.benchmarking import evaluate_backbone
from lightly_min.utils.checkpoint import check_output_dir
from lightly_min.utils.debug import std_of_l2_normalized
from lightly_min.utils.precision import bf16_supported
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
        loss = 0.5 * (self.criterion(p0, z1) + self.criterion(p1, z0))
        self.log("loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
        z_std = std_of_l2_normalized(z0)  # collapse monitor
        self.log("z_std", z_std, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def on_train_epoch_end(self):
        metrics = self.trainer.callback_metrics
        self.print(
            f"epoch {self.current_epoch + 1}/{self.epochs}  loss "
            f"{metrics['loss_epoch']:.4f}  z-std {metrics['z_std']:.4f} "
            f"(healthy {1 / math.sqrt(256):.4f})"
        )

    def on_save_checkpoint(self, checkpoint):  # with --resume, the same augmentations
        checkpoint["rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint):
        torch.set_rng_state(checkpoint["rng_state"])

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
    parser = argparse.ArgumentParser(description="BYOL on CIFAR-10 or your images")
    parser.add_argument("--data-dir", help="train on this folder of images instead")
    parser.add_argument("--test-dir", help="held-out images, in --data-dir's classes")
    parser.add_argument("--fake-data", type=int, default=0, help="N noise images")
    parser.add_argument("--download-dir", default="datasets", help="CIFAR-10 goes here")
    parser.add_argument("--output-dir", default="checkpoints/byol_lightning")
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
    pl.seed_everything(args.seed, workers=True)

    # ResNet-18 with the CIFAR stem for 32 px images: 3x3 first convolution, no maxpool
    resnet = torchvision.models.resnet18()
    resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = BYOL(resnet, lr=args.lr * args.batch_size / 256, epochs=args.epochs)
    model = model.to(memory_format=torch.channels_last)  # faster convolutions
    device = "cuda" if torch.cuda.is_available() else "cpu"

    # BYOL's two asymmetric views, cropped to 32 px; no blur at that size (App. D).
    transform = BYOLTransform(
        BYOLView1Transform(input_size=32, gaussian_blur=0.0),
        BYOLView2Transform(input_size=32, gaussian_blur=0.0),
    )
    normalize = T.Normalize(**IMAGENET_NORMALIZE)
    eval_transform = T.Compose(
        [T.Resize(32), T.CenterCrop(32), T.ToTensor(), normalize]
    )
    output_dir = Path(args.output_dir)
    checkpoint_path = output_dir / "checkpoints" / "last.ckpt"  # rewritten every epoch
    weights_path = output_dir / "byol_backbone.pt"
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

    print(f"BYOL: {data.description}")
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        devices=1,
        precision="bf16-mixed" if bf16_supported(device) else "32-true",
        # last.ckpt holds model, optimiser, schedule and epoch; written atomically.
        callbacks=[ModelCheckpoint(dirpath=checkpoint_path.parent, filename="last")],
        default_root_dir=output_dir,
    )
    trainer.fit(model, loader, ckpt_path=checkpoint_path if args.resume else None)

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
