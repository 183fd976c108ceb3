"""Edge vision: frame sources, detector, tracker, gate lines and the pipeline that joins them."""
