"""Constants shared by the transforms."""

#: Per-channel mean and standard deviation of ImageNet's training images (RGB, values in [0, 1]).
IMAGENET_NORMALIZE = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
