"""Safe decoding of images, audio and video: limits, normalisation, frame sampling."""
