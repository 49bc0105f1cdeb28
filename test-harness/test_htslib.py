"""htslib 1.16 (Debian `samtools`, `tabix`, `htsfile`; libhts's S3 plugin, hfile_s3.c and
hfile_s3_write.c: its own SigV4 over libcurl — `host`, `x-amz-content-sha256` (the body's
SHA-256), `x-amz-date` signed — and SigV2 with `HTS_S3_V2`) through the proxy: `htsfile`,
`samtools view` whole and by region (the `.bai` fetched, then ranged GETs of the BAM), `tabix`
by region (the `.tbi`, then ranges), `samtools quickcheck`; keys with a space, `+`, `~`;
path-style (`HTS_S3_ADDRESS_STYLE=path`) and virtual-hosted (`HTS_S3_HOST` the public name,
Envoy as libcurl's `http_proxy`); credentials from the environment, an AWS credentials file
and an s3cmd file (`host_base`); SigV2 (Garage through `origin_signature_version: v4`); on
every origin. `AWS_SESSION_TOKEN` is refused (`InvalidToken`), a wrong secret too.

`s3+http://bucket/key` is plain HTTP (`s3://` is HTTPS); `HTS_S3_HOST` is `host:port`.

Catches, client-side:
- Writes (`samtools view -o s3://…`, always a multipart upload) look for the UploadPart's
  `ETag: "` case-sensitively (hfile_s3_write.c, `get_entry(response.s, "ETag: \\"", …)`) and,
  not finding it, abort the upload (`DELETE ?uploadId`) and still exit 0. The shipped Envoy
  configurations keep the origin's header-name case over HTTP/1 (`preserve_case`), so Ceph's
  `ETag` (S3's, MinIO's) comes through and the upload is stored; s3s-fs and Garage write
  `etag` (hyper's lower case), and htslib aborts there, straight too. Over HTTP/2 every header
  name is lower case: serve htslib writers over HTTP/1.1. `HTS_S3_V2` writes are one SigV2
  `PUT` with a chunked body instead (no ETag read): they work (Ceph 16.2 answers 411 to a
  chunked PUT, straight too).
- Its path escaping sign-extends bytes above 0x7f (`int c = path[i]`, `%%%02X`): a key with
  `é` is sent as `%FF%FF`, at every origin, straight as here.
- A path that already holds a `%XX` is not escaped again, and a `?` in a key starts the query."""

import os
import shutil
import subprocess
import tempfile

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies

pytestmark = pytest.mark.skipif(any(shutil.which(p) is None for p in ("samtools", "tabix", "htsfile", "bgzip")),
                                reason="htslib's tools are not installed: apt-get install -y samtools tabix")

DIR = "d i+r~"


def environment(proxy, vhost=False, **more):
    env = environ_without_proxies("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
    env.update(HOME=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, HTS_S3_S3CFG=os.devnull,
               AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=CLIENT_SECRET, AWS_DEFAULT_REGION="us-east-1",
               HTS_S3_HOST=proxy.authority, HTS_S3_ADDRESS_STYLE="path")
    if vhost:
        port = proxy.authority.rsplit(":", 1)[1]
        env.update(HTS_S3_HOST=f"{PUBLIC_TEST_DOMAIN}:{port}", HTS_S3_ADDRESS_STYLE="virtual", http_proxy=proxy.endpoint)
    env.update(more)
    return {k: v for k, v in env.items() if v is not None}


def run(proxy, args, vhost=False, **more) -> subprocess.CompletedProcess:
    """In a directory of its own: htslib keeps a remote file's index where it runs."""
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(args, env=environment(proxy, vhost, **more), capture_output=True, text=True,
                              timeout=60, cwd=cwd)


def hts(proxy, *args, vhost=False, check=True, **more) -> str:
    done = run(proxy, args, vhost, **more)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A coordinate-sorted BAM of 4,000 reads on two references with its index, and a bgzipped,
    tabix-indexed VCF."""
    d = tmp_path_factory.mktemp("hts")
    lines = ["@HD\tVN:1.6\tSO:coordinate", "@SQ\tSN:chr1\tLN:20000", "@SQ\tSN:chr2\tLN:20000"]
    for i in range(4000):
        chrom, pos = ("chr1", 1 + i * 4) if i < 2500 else ("chr2", 1 + (i - 2500) * 8)
        lines.append(f"r{i}\t0\t{chrom}\t{pos}\t60\t100M\t*\t0\t0\t{'ACGT' * 25}\t{'I' * 100}")
    (d / "reads.sam").write_text("\n".join(lines) + "\n")
    subprocess.run(["samtools", "view", "-b", "-o", str(d / "reads.bam"), str(d / "reads.sam")], check=True)
    subprocess.run(["samtools", "index", str(d / "reads.bam")], check=True)
    vcf = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=20000>", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    vcf += [f"chr1\t{p}\t.\tA\tG\t50\tPASS\t." for p in range(100, 19001, 100)]
    (d / "v.vcf").write_text("\n".join(vcf) + "\n")
    subprocess.run(["bgzip", "-f", str(d / "v.vcf")], check=True)
    subprocess.run(["tabix", "-p", "vcf", str(d / "v.vcf.gz")], check=True)
    return d


def upload(origin_s3, bucket, data):
    for name in ("reads.bam", "reads.bam.bai", "v.vcf.gz", "v.vcf.gz.tbi"):
        origin_s3.put_object(Bucket=bucket, Key=f"{DIR}/{name}", Body=(data / name).read_bytes())


def reads(proxy, bucket, vhost=False, **more):
    url = f"s3+http://{bucket}/{DIR}"
    assert "BAM version 1" in hts(proxy, "htsfile", f"{url}/reads.bam", vhost=vhost, **more)
    hts(proxy, "samtools", "quickcheck", f"{url}/reads.bam", vhost=vhost, **more)
    assert hts(proxy, "samtools", "view", "-c", f"{url}/reads.bam", vhost=vhost, **more).strip() == "4000"
    # By region: the index, then ranges of the BAM.
    assert hts(proxy, "samtools", "view", "-c", f"{url}/reads.bam", "chr2:1000-2000", vhost=vhost, **more).strip() == "137"
    got = hts(proxy, "tabix", f"{url}/v.vcf.gz", "chr1:1000-1500", vhost=vhost, **more)
    assert [line.split("\t")[1] for line in got.splitlines()] == ["1000", "1100", "1200", "1300", "1400", "1500"]


@pytest.mark.every_origin
@pytest.mark.parametrize("vhost", [False, True], ids=["path", "virtual"])
def test_reads(proxy, origin_s3, bucket, data, vhost):
    upload(origin_s3, bucket, data)
    reads(proxy, bucket, vhost)


@pytest.mark.every_origin
def test_reads_signed_v2(proxy, origin, make_proxy, origin_s3, bucket, data):
    """`HTS_S3_V2`: SigV2 (`Authorization: AWS id:signature`, `Date`), upgraded to SigV4 for Garage."""
    proxy = make_proxy(origin_signature_version="v4") if origin.kind == "garage" else proxy
    upload(origin_s3, bucket, data)
    reads(proxy, bucket, HTS_S3_V2="1")


def test_credentials_files(proxy, origin_s3, bucket, data, tmp_path):
    upload(origin_s3, bucket, data)
    aws = tmp_path / "credentials"
    aws.write_text(f"[default]\naws_access_key_id = {CLIENT_KEY}\naws_secret_access_key = {CLIENT_SECRET}\n"
                   "region = us-east-1\naddressing_style = path\n")
    s3cfg = tmp_path / "s3cfg"
    s3cfg.write_text(f"[default]\naccess_key = {CLIENT_KEY}\nsecret_key = {CLIENT_SECRET}\n"
                     f"host_base = {proxy.authority}\nhost_bucket = {proxy.authority}\n")
    unset = dict(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HTS_S3_ADDRESS_STYLE=None)
    url = f"s3+http://{bucket}/{DIR}/reads.bam"
    assert hts(proxy, "samtools", "view", "-c", url, AWS_SHARED_CREDENTIALS_FILE=str(aws), **unset).strip() == "4000"
    assert hts(proxy, "samtools", "view", "-c", url, HTS_S3_S3CFG=str(s3cfg), HTS_S3_HOST=None, **unset).strip() == "4000"


def test_a_session_token_and_a_wrong_secret_are_refused(proxy, origin_s3, bucket, data):
    upload(origin_s3, bucket, data)
    url = f"s3+http://{bucket}/{DIR}/reads.bam"
    for env, code in (({"AWS_SESSION_TOKEN": "a-token"}, "InvalidToken"),
                      ({"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, "SignatureDoesNotMatch")):
        hts(proxy, "samtools", "view", "-c", url, check=False, **env)
        run(proxy, ["samtools", "view", "-b", "-o", f"s3+http://{bucket}/w.bam", str(data / "reads.sam")], **env)
        assert f"rejected GET /{bucket}/" in proxy.log_text() and f": {code}:" in proxy.log_text(), code
    assert len(origin_s3.list_objects_v2(Bucket=bucket)["Contents"]) == 4


@pytest.mark.every_origin
def test_writes(proxy, origin, origin_s3, bucket, data):
    """`samtools view -o s3+http://…`, one part and two (`HTS_S3_PART_SIZE=5`: 5 MiB parts):
    stored on Ceph, whose `ETag` reaches htslib in its case; aborted on s3s-fs and Garage, which
    write `etag`, as straight to them (exit 0 where the only part was aborted at close)."""
    big = data / "big.sam"
    if not big.exists():
        body = (data / "reads.sam").read_text().splitlines()
        header, records = [r for r in body if r.startswith("@")], [r for r in body if not r.startswith("@")]
        big.write_text("\n".join(header + sorted(records * 8, key=lambda r: (r.split("\t")[2], int(r.split("\t")[3])))) + "\n")

    def write(endpoint, **more):
        """(exit status of a one-part write, of a two-part write)"""
        one = run(endpoint, ["samtools", "view", "-b", "-o", f"s3+http://{bucket}/{DIR}/out.bam", str(data / "reads.sam")], **more)
        two = run(endpoint, ["samtools", "view", "-u", "-o", f"s3+http://{bucket}/{DIR}/big.bam", str(big)],
                  HTS_S3_PART_SIZE="5", **more)
        return one.returncode, two.returncode

    def stored():
        return sorted(o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    if origin.kind != "ceph":
        assert write(proxy) == (0, 1) and stored() == []
        straight = dict(AWS_ACCESS_KEY_ID=origin.access_key, AWS_SECRET_ACCESS_KEY=origin.secret_key,
                        AWS_DEFAULT_REGION=origin.region)
        assert write(origin, **straight) == (0, 1) and stored() == []
        return
    assert write(proxy) == (0, 0)
    assert stored() == [f"{DIR}/big.bam", f"{DIR}/out.bam"]
    assert origin_s3.head_object(Bucket=bucket, Key=f"{DIR}/big.bam")["ETag"].endswith('-2"')
    assert hts(proxy, "samtools", "view", "-c", f"s3+http://{bucket}/{DIR}/out.bam").strip() == "4000"
    assert hts(proxy, "samtools", "view", "-c", f"s3+http://{bucket}/{DIR}/big.bam").strip() == "32000"


def test_reads_over_https(https_proxy, origin_s3, bucket, data):
    """`s3://` (HTTPS), path-style, libcurl trusting the test CA through `CURL_CA_BUNDLE`
    (hfile_libcurl reads it); HTTP/2 where ALPN offers it."""
    upload(origin_s3, bucket, data)
    before = https_proxy.downstream_connections()
    url = f"s3://{bucket}/{DIR}"
    env = dict(CURL_CA_BUNDLE=https_proxy.ca_bundle)
    assert hts(https_proxy, "samtools", "view", "-c", f"{url}/reads.bam", "chr2:1000-2000", **env).strip() == "137"
    got = hts(https_proxy, "tabix", f"{url}/v.vcf.gz", "chr1:1000-1200", **env)
    assert [line.split("\t")[1] for line in got.splitlines()] == ["1000", "1100", "1200"]
    after = https_proxy.downstream_connections()
    protocol = "HTTP/2" if https_proxy.offers_h2 else "HTTP/1.1"
    assert after[protocol] > before[protocol], (before, after)


@pytest.mark.every_origin
def test_writes_signed_v2(proxy, origin, make_proxy, origin_s3, bucket, data):
    """`HTS_S3_V2` writes with one SigV2 `PUT` of a `Transfer-Encoding: chunked` body (no
    multipart, so no ETag to read): stored on s3s-fs, and on Garage through
    `origin_signature_version: v4` (straight, Garage takes no SigV2); Ceph 16.2 answers 411
    `Length Required` to a chunked PUT, straight too (as S3 does, `MissingContentLength`)."""
    proxy = make_proxy(origin_signature_version="v4") if origin.kind == "garage" else proxy
    done = run(proxy, ["samtools", "view", "-b", "-o", f"s3+http://{bucket}/{DIR}/v2.bam", str(data / "reads.sam")],
               HTS_S3_V2="1")
    stored = "Contents" in origin_s3.list_objects_v2(Bucket=bucket)
    if origin.kind == "ceph":
        assert done.returncode != 0 and not stored
        return
    assert done.returncode == 0 and stored, done.stderr
    assert hts(proxy, "samtools", "view", "-c", f"s3+http://{bucket}/{DIR}/v2.bam", HTS_S3_V2="1").strip() == "4000"
