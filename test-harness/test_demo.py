"""`make demo` stays true: the demo starts the stack from envoy/envoy.yaml, and its presigned
URL works through the proxy."""

import subprocess
import sys
from pathlib import Path


def test_demo_shows_a_presigned_url_working():
    demo = Path(__file__).parent / "demo.py"
    done = subprocess.run([sys.executable, str(demo), "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GET -> 200: Hello from the origin, through s3-resign!" in done.stdout
    assert "GET -> 403 SignatureDoesNotMatch" in done.stdout
    assert "X-Amz-Signature=" in done.stdout
    # Where to look: the metrics URL and the filter's counters after the demo's requests.
    assert "/stats/prometheus (the filter's series are s3_resign_*)" in done.stdout
    assert 's3_resign_requests_total{kind="presigned_v4"} 1' in done.stdout
    assert 's3_resign_rejections_total{code="SignatureDoesNotMatch"} 1' in done.stdout
