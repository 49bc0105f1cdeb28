"""Real programs for the integration tests, the demo and the benchmarks: Envoy with the
s3-resign filter, S3 origins (s3s-fs, Garage, and MinIO when installed), and S3 clients.

Every server listens on 127.0.0.1, on a port the kernel picks, and is stopped (and its files
removed) when its context ends."""

import os

# botocore signs with the AWS Common Runtime's signer (aws-c-auth) in place of its own whenever
# awscrt is importable, as it is here for test_awscrt.py: boto3 and the AWS CLI keep botocore's
# own signer, as `pip install boto3` runs it, unless a test asks otherwise (test_awscrt.py runs
# botocore with the CRT's in a process of its own). Set before anything imports botocore.
os.environ.setdefault("BOTO_DISABLE_CRT", "true")

from .programs import Envoy, Garage, MinIO, S3sFs, origin_kinds, StandIn, stand_in_origin, start_origin  # noqa: F401
from .envoy_config import filter_config_json, render  # noqa: F401
