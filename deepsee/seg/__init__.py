"""The semantic segmenter (supplementary Section 1.4, Table 5, Fig. 2): DeepLabV3+ that predicts
HR masks from LR faces, with DRN-D-54, ResNet-101 or Xception-65 backbones; training, prediction,
metrics and evaluation."""
from .deeplab import ASPP, BACKBONES, DeepLabV3Plus, Decoder, TimmBackbone, build_segmenter  # noqa: F401
from .drn import DRND  # noqa: F401
from .evaluate import evaluate_segmenter, figure2, per_class_table, table5, write_table5  # noqa: F401
from .metrics import ConfusionMeter, confusion_matrix, per_class_iou, segmentation_metrics  # noqa: F401
from .predict import photo_item, predict_dataset_masks, predict_mask_folder, predict_masks  # noqa: F401
from .train import balanced_class_weights, class_pixel_counts, load_segmenter, train_segmenter  # noqa: F401
