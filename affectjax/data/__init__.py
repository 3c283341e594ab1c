"""Everything before the model: corpus readers, generators, features and grain pipelines."""
