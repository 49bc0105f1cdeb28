"""Real programs for the integration tests, the demo and the benchmarks: Envoy with the
s3-resign filter, S3 origins (s3s-fs, Garage, and MinIO when installed), and S3 clients.

Every server listens on 127.0.0.1, on a port the kernel picks, and is stopped (and its files
removed) when its context ends."""

from .programs import Envoy, Garage, MinIO, S3sFs, origin_kinds, start_origin  # noqa: F401
from .envoy_config import filter_config_json, render  # noqa: F401
