"""Speech-emotion encoders: the TIM-Net temporal-aware encoder and a small 1-D CNN alternative."""

from affectjax.models.ser.timnet import CNN1DEncoder, TemporalAwareBlock, TIMEncoder, make_encoder

__all__ = ["CNN1DEncoder", "TIMEncoder", "TemporalAwareBlock", "make_encoder"]
