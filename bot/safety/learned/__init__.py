"""The learned second reader of the safety screen: model, training data and training."""
