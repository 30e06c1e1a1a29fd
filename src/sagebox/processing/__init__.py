"""Processing jobs: data preparation that runs as jobs on the compute backend."""
