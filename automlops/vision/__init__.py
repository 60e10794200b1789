"""Computer vision: image classification, segmentation and detection with torchvision (see cv_engine.py)."""
