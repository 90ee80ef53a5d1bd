"""The two-stage deep detector (after LinkedIn's AlerTiger): a global forecaster, then a
classifier, with numpy inference on shipped weights. Training lives in ``training`` (torch)."""

from vigil.detect.deep.calibrated import CalibratedDeepDetector, DeepCalibration
from vigil.detect.deep.detector import DeepDetector, DeepOutput, shipped_weights
from vigil.detect.deep.features import Features, FeatureSpec, build_features
from vigil.detect.deep.model import DecisionDefaults, DeepModel, load_model, save_model

__all__ = [
    "CalibratedDeepDetector",
    "DecisionDefaults",
    "DeepCalibration",
    "DeepDetector",
    "DeepModel",
    "DeepOutput",
    "FeatureSpec",
    "Features",
    "build_features",
    "load_model",
    "save_model",
    "shipped_weights",
]
