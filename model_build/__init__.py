"""Model building: corpus synthesis, VGGish+head training, evaluation and int8 TFLite conversion."""
