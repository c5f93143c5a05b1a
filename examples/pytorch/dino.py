# DINO (Caron et al., 2021, arXiv:2104.14294) on CIFAR-10, in plain PyTorch.
# The recipe, the source of each setting, what to expect: docs/methods/dino.rst
# Run:    python dino.py                   (CIFAR-10, downloaded into ./datasets)
#         python dino.py --data-dir PATH   (your images; --help lists every option)
#         python dino.py --resume          (continues the run in --output-dir)
# Smoke:  python dino.py --fake-data 8 --epochs 1 --batch-size 4 --num-workers 0
import copy
import math

import torch
import torchvision
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from lightly_min.harness import Run, parse_args
from lightly_min.loss import DINOLoss
from lightly_min.models.modules import DINOProjectionHead
from lightly_min.models.utils import deactivate_requires_grad, update_momentum
from lightly_min.monitors import prototypes_in_use, teacher_entropy
from lightly_min.transforms.dino_transform import DINOTransform
from lightly_min.utils.scheduler import cosine_schedule


class DINO(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.student_backbone = backbone
        # 2,048 prototypes; the student's last layer is frozen for the first epoch.
        self.student_head = DINOProjectionHead(
            512, 2048, 256, 2048, batch_norm=True, freeze_last_layer=1
        )
        # The teacher: a copy of the student that gradients never train; update_momentum
        # moves it towards the student before each step. Its head is a new one given the
        # student's weights, as in DINO's code (lightly's head cannot be deep-copied).
        self.teacher_backbone = copy.deepcopy(self.student_backbone)
        self.teacher_head = DINOProjectionHead(512, 2048, 256, 2048, batch_norm=True)
        self.teacher_head.load_state_dict(self.student_head.state_dict())
        deactivate_requires_grad(self.teacher_backbone)
        deactivate_requires_grad(self.teacher_head)

    def forward(self, x):  # the student's outputs
        return self.student_head(self.student_backbone(x))

    def forward_teacher(self, x):  # the teacher's outputs, constants
        return self.teacher_head(self.teacher_backbone(x)).detach()


def training_step(model, criterion, views, epoch, momentum):
    # The teacher follows the student; the momentum rises to 1.
    update_momentum(model.student_backbone, model.teacher_backbone, momentum)
    update_momentum(model.student_head, model.teacher_head, momentum)
    global_views = torch.cat(views[:2])  # one batch, as BatchNorm should see them
    teacher_out = model.forward_teacher(global_views).chunk(2)  # global views only
    student_out = list(model(global_views).chunk(2))
    if len(views) > 2:  # local views, when the transform makes them: the student's only
        student_out += model(torch.cat(views[2:])).chunk(len(views) - 2)
    # Collapse monitors (DINO, Sec. 5.3), before the loss moves the center.
    tau = criterion.temperature(epoch=epoch)
    monitors = dict(
        teacher_entropy=teacher_entropy(teacher_out[0], criterion.center, tau),
        prototypes_in_use=torch.tensor(
            prototypes_in_use(teacher_out[0], criterion.center)
        ),
    )
    return criterion(list(teacher_out), student_out, epoch=epoch), monitors


def main(argv=None):
    args = parse_args(argv, "DINO", epochs=200, batch_size=128, lr=0.12)
    # Two global crops of --input-size px (32 on CIFAR-10), no local crops and no blur,
    # as lightly's CIFAR-10 benchmark and solo-learn do at 32 px.
    transform = DINOTransform(
        global_crop_size=args.input_size, n_local_views=0, gaussian_blur=(0.0, 0.0, 0.0)
    )
    # Collapse monitors: the teacher's entropy (0: one prototype for every image;
    # ln 2048 = 7.62: uniform) and how many prototypes are some image's most probable.
    healthy = {"teacher_entropy": None, "prototypes_in_use": None}
    run = Run(args, "DINO", transform, healthy)

    # ResNet-18. Up to 64 px, the CIFAR stem (3x3 first convolution, no maxpool): the
    # ImageNet stem's 4x downsampling would lose the small images' detail
    resnet = torchvision.models.resnet18()
    if args.input_size <= 64:
        resnet.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        resnet.maxpool = nn.Identity()
    resnet.fc = nn.Identity()  # the backbone outputs 512 features per image
    model = DINO(resnet).to(run.device, memory_format=torch.channels_last)

    # The teacher temperature warms up from 0.04 to 0.07 over 30 epochs (the paper's).
    criterion = DINOLoss(
        output_dim=2048, warmup_teacher_temp=0.04, teacher_temp=0.07,
        warmup_teacher_temp_epochs=30,
    )  # fmt: skip
    criterion.to(run.device)  # its center, on the model's device
    optimizer = torch.optim.SGD(
        model.parameters(),  # the teacher's do not require gradients
        lr=args.lr * run.global_batch / 256,
        momentum=0.9,
        weight_decay=5e-4,
    )

    def cosine(epoch):
        return 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))

    scheduler = LambdaLR(optimizer, cosine)

    loader = run.train_loader()
    start = run.resume(model=model, criterion=criterion, optimizer=optimizer,
                       scheduler=scheduler)  # fmt: skip
    for epoch in range(start, args.epochs):
        model.train()
        for step, (views, *_) in enumerate(run.epoch(loader, epoch, optimizer),
                                           start=epoch * len(loader)):  # fmt: skip
            views = [view.to(run.device) for view in views]
            momentum = cosine_schedule(step, args.epochs * len(loader), 0.996, 1.0)
            with run.autocast():
                loss, monitors = training_step(model, criterion, views, epoch, momentum)
            optimizer.zero_grad()
            loss.backward()
            model.student_head.cancel_last_layer_gradients(epoch)  # frozen in epoch 1
            optimizer.step()
            run.log(loss, **monitors)
        scheduler.step()
        run.end_epoch(model=model, criterion=criterion, optimizer=optimizer,
                      scheduler=scheduler)  # fmt: skip
    run.finish(resnet)  # saves the weights, then evaluates them on held-out images


if __name__ == "__main__":
    main()
