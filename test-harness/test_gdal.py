"""GDAL 3.6 (Debian `gdal-bin`; its `/vsis3/` virtual file system, port/cpl_vsil_s3.cpp and
cpl_aws.cpp: its own SigV4 over libcurl, `x-amz-content-sha256` the body's SHA-256, `host`,
`x-amz-content-sha256`, `x-amz-date` signed) through the proxy: `gdalinfo -checksum` (a
listing, then ranged GETs), `gdal_translate` writing a GeoTIFF (`CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE`:
one PUT) and a 6 MB one in 5 MiB parts (`VSIS3_CHUNK_SIZE=5`: CreateMultipartUpload, two
UploadParts, CompleteMultipartUpload), a sequential XYZ, `ogr2ogr` to a GeoPackage and GeoJSON
read back with `ogrinfo`, `gdalmanage identify -r` (ListObjects with a delimiter, recursively),
`rename` (CopyObject and DeleteObject), `delete`, `/vsis3_streaming/`, keys with a space, `+`,
`é`, `~`, path-style (`AWS_VIRTUAL_HOSTING=FALSE`) and virtual-hosted (`bucket.s3.mydomain.test`,
Envoy as `GDAL_HTTP_PROXY`), on every origin; `AWS_SESSION_TOKEN` refused (`InvalidToken`) and a
wrong secret refused, the origin untouched.

Catches, client-side (straight to the origin too): GDAL cannot write a GeoTIFF, a GeoPackage or
a COG straight to `/vsis3/` (they need random writes: "w+ not supported"): set
`CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE=YES`; `ogr2ogr -f CSV /vsis3/b/x.csv` fails in GDAL
3.6 ("Attempt to create csv layer (file) against a non-directory datasource"), a CSV directory
(`/vsis3/b/dir`) with the temp-file option works; GDAL's directory creation (`PUT dir/`) leaves
s3s-fs answering `HEAD dir` 500, which GDAL only warns about. `gdal_translate` exits 0 when
its upload was refused (it prints `ERROR 1: DoSinglePartPUT … failed`): read its errors. Over
TLS, `CURL_CA_BUNDLE` alone was not used for its ranged reads (certificate verification failed
after the listing passed): set `SSL_CERT_FILE` too. `GDAL_HTTP_HEADERS` headers are signed when
they are `x-amz-*` or `Content-MD5`, not `Content-Type` or `Cache-Control` (unsigned, they pass
as at S3); one with an empty value is signed, and dropped by libcurl (403, at every origin);
inner runs of spaces in a value are not folded (403, at every origin)."""

import os
import shutil
import subprocess

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies

pytestmark = pytest.mark.skipif(shutil.which("gdalinfo") is None or shutil.which("gdalmanage") is None,
                                reason="GDAL is not installed: apt-get install -y gdal-bin")

KEYS = ["plain.tif", "dir/a b+c~é.tif"]


def environment(proxy, vhost=False, **more):
    env = environ_without_proxies("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE")
    env.update(AWS_S3_ENDPOINT=proxy.authority, AWS_HTTPS="NO", AWS_VIRTUAL_HOSTING="FALSE", AWS_REGION="us-east-1",
               AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=CLIENT_SECRET, AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE="YES",
               GDAL_HTTP_MAX_RETRY="0", GDAL_PAM_ENABLED="NO", CPL_VSIL_CURL_NON_CACHED="/vsis3/:/vsis3_streaming/")
    if vhost:
        port = proxy.authority.rsplit(":", 1)[1]
        env.update(AWS_VIRTUAL_HOSTING="TRUE", AWS_S3_ENDPOINT=f"{PUBLIC_TEST_DOMAIN}:{port}",
                   GDAL_HTTP_PROXY=proxy.authority)
    env.update(more)
    return env


def gdal(proxy, *args, vhost=False, check=True, **more) -> str:
    done = subprocess.run(args, env=environment(proxy, vhost, **more), capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0 and "ERROR" not in done.stderr, done.stdout + done.stderr
    return done.stdout + done.stderr


def raster(path, size=(64, 48), burn=7):
    subprocess.run(["gdal_create", "-q", "-of", "GTiff", "-outsize", str(size[0]), str(size[1]), "-bands", "1",
                    "-ot", "Byte", "-burn", str(burn), "-a_srs", "EPSG:4326", "-a_ullr", "0", "1", "1", "0", str(path)],
                   check=True, capture_output=True)
    return path


def checksum(proxy, path, vhost=False, **more) -> str:
    out = gdal(proxy, "gdalinfo", "-checksum", path, vhost=vhost, **more)
    return [line for line in out.splitlines() if "Checksum=" in line][0].strip()


def drivers_but(*kept) -> str:
    """`GDAL_SKIP`'s list of every driver but those `kept`."""
    formats = subprocess.run(["gdalinfo", "--formats"], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0] for line in formats.splitlines()[1:] if line.strip()}
    return " ".join(sorted(names - set(kept)))


def stored(origin_s3, bucket, key):
    try:
        return origin_s3.get_object(Bucket=bucket, Key=key)
    except origin_s3.exceptions.NoSuchKey:
        return None


@pytest.mark.every_origin
def test_rasters(proxy, origin_s3, bucket, tmp_path):
    small = raster(tmp_path / "small.tif")
    local = checksum(proxy, str(small))
    origin_s3.put_object(Bucket=bucket, Key="in/small.tif", Body=small.read_bytes())
    assert checksum(proxy, f"/vsis3/{bucket}/in/small.tif") == local
    assert checksum(proxy, f"/vsis3_streaming/{bucket}/in/small.tif") == local
    for key in KEYS:
        gdal(proxy, "gdal_translate", "-q", str(small), f"/vsis3/{bucket}/{key}")
        assert stored(origin_s3, bucket, key) is not None, key
        assert checksum(proxy, f"/vsis3/{bucket}/{key}") == local
    # A sequential driver writes with no temporary file.
    gdal(proxy, "gdal_translate", "-q", "-of", "XYZ", str(small), f"/vsis3/{bucket}/xyz/s m+é.xyz",
         CPL_VSIL_USE_TEMP_FILE_FOR_RANDOM_WRITE="NO")
    assert stored(origin_s3, bucket, "xyz/s m+é.xyz")["Body"].read().startswith(b"0.0078125 0.9895833")
    # 6 MB in 5 MiB parts.
    big = raster(tmp_path / "big.tif", (3000, 2000), 3)
    gdal(proxy, "gdal_translate", "-q", str(big), f"/vsis3/{bucket}/big/b ig.tif", VSIS3_CHUNK_SIZE="5")
    got = stored(origin_s3, bucket, "big/b ig.tif")
    assert got["ETag"].endswith('-2"'), got["ETag"]
    assert got["Body"].read() == big.read_bytes()
    assert checksum(proxy, f"/vsis3/{bucket}/big/b ig.tif") == checksum(proxy, str(big))
    # The GeoTIFF driver alone: else each driver probes its side-car files, 100 GETs a file.
    listing = gdal(proxy, "gdalmanage", "identify", "-r", f"/vsis3/{bucket}/", GDAL_SKIP=drivers_but("GTiff"))
    for key in ["in/small.tif", "big/b ig.tif"] + KEYS:
        assert f"/vsis3/{bucket}/{key}: GTiff" in listing, listing
    gdal(proxy, "gdalmanage", "rename", f"/vsis3/{bucket}/{KEYS[1]}", f"/vsis3/{bucket}/moved/~é+ x.tif")
    assert stored(origin_s3, bucket, KEYS[1]) is None
    assert checksum(proxy, f"/vsis3/{bucket}/moved/~é+ x.tif") == local
    for key in ["moved/~é+ x.tif", "big/b ig.tif", "in/small.tif", KEYS[0]]:
        gdal(proxy, "gdalmanage", "delete", f"/vsis3/{bucket}/{key}")
        assert stored(origin_s3, bucket, key) is None, key


@pytest.mark.every_origin
def test_virtual_hosted(proxy, origin_s3, bucket, tmp_path):
    """`AWS_VIRTUAL_HOSTING=TRUE`: `bucket.s3.mydomain.test:port`, through Envoy as GDAL's proxy."""
    small, big = raster(tmp_path / "small.tif"), raster(tmp_path / "big.tif", (3000, 2000), 3)
    local = checksum(proxy, str(small))
    origin_s3.put_object(Bucket=bucket, Key="in/small.tif", Body=small.read_bytes())
    assert checksum(proxy, f"/vsis3/{bucket}/in/small.tif", vhost=True) == local
    gdal(proxy, "gdal_translate", "-q", str(small), f"/vsis3/{bucket}/{KEYS[1]}", vhost=True)
    gdal(proxy, "gdal_translate", "-q", str(big), f"/vsis3/{bucket}/big.tif", vhost=True, VSIS3_CHUNK_SIZE="5")
    assert stored(origin_s3, bucket, "big.tif")["Body"].read() == big.read_bytes()
    gdal(proxy, "gdalmanage", "rename", f"/vsis3/{bucket}/{KEYS[1]}", f"/vsis3/{bucket}/m/~é+ x.tif", vhost=True)
    assert checksum(proxy, f"/vsis3/{bucket}/m/~é+ x.tif", vhost=True) == local
    for key in ("m/~é+ x.tif", "big.tif"):
        gdal(proxy, "gdalmanage", "delete", f"/vsis3/{bucket}/{key}", vhost=True)
    assert [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["in/small.tif"]


@pytest.mark.every_origin
def test_vectors(proxy, origin_s3, bucket, tmp_path):
    source = tmp_path / "pts.csv"
    source.write_text('id,name,WKT\n1,a,"POINT (1 2)"\n2,é b,"POINT (3 4)"\n')
    for driver, name in (("GPKG", "v/p ts.gpkg"), ("GeoJSON", "v/p+ts.geojson")):
        gdal(proxy, "ogr2ogr", "-f", driver, f"/vsis3/{bucket}/{name}", str(source))
        out = gdal(proxy, "ogrinfo", "-ro", "-al", f"/vsis3/{bucket}/{name}")
        assert "Feature Count: 2" in out or out.count("OGRFeature") == 2, out
        assert "é b" in out and "POINT (3 4)" in out, out
    gdal(proxy, "ogr2ogr", "-f", "CSV", f"/vsis3/{bucket}/csvdir", str(source))
    assert b"POINT (3 4)" in stored(origin_s3, bucket, "csvdir/pts.csv")["Body"].read()


def test_a_session_token_and_a_wrong_secret_are_refused(proxy, origin_s3, bucket, tmp_path):
    small = raster(tmp_path / "small.tif")
    origin_s3.put_object(Bucket=bucket, Key="small.tif", Body=small.read_bytes())
    out = gdal(proxy, "gdalinfo", f"/vsis3/{bucket}/small.tif", check=False, AWS_SESSION_TOKEN="a-token")
    assert "Session tokens (x-amz-security-token) are not accepted" in out, out
    out = gdal(proxy, "gdalinfo", f"/vsis3/{bucket}/small.tif", check=False, AWS_SECRET_ACCESS_KEY="not-the-secret")
    assert "signature we calculated does not match" in out, out
    for env in ({"AWS_SESSION_TOKEN": "a-token"}, {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}):
        gdal(proxy, "gdal_translate", "-q", str(small), f"/vsis3/{bucket}/x.tif", check=False, **env)
    assert [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["small.tif"]


def test_over_https(https_proxy, origin_s3, bucket, tmp_path):
    """Over TLS GDAL's libcurl speaks HTTP/2 where ALPN offers it (`GDAL_HTTP_VERSION` 2TLS by
    default): a read, a single PUT and an upload in parts, a rename and a delete."""
    before = https_proxy.downstream_connections()
    tls = dict(AWS_HTTPS="YES", CURL_CA_BUNDLE=https_proxy.ca_bundle, SSL_CERT_FILE=https_proxy.ca_bundle)
    small, big = raster(tmp_path / "small.tif"), raster(tmp_path / "big.tif", (3000, 2000), 3)
    local = checksum(https_proxy, str(small))
    origin_s3.put_object(Bucket=bucket, Key="in/small.tif", Body=small.read_bytes())
    assert checksum(https_proxy, f"/vsis3/{bucket}/in/small.tif", **tls) == local
    gdal(https_proxy, "gdal_translate", "-q", str(small), f"/vsis3/{bucket}/a b+é.tif", **tls)
    assert checksum(https_proxy, f"/vsis3/{bucket}/a b+é.tif", **tls) == local
    gdal(https_proxy, "gdal_translate", "-q", str(big), f"/vsis3/{bucket}/big.tif", VSIS3_CHUNK_SIZE="5", **tls)
    got = origin_s3.get_object(Bucket=bucket, Key="big.tif")
    assert got["ETag"].endswith('-2"') and got["Body"].read() == big.read_bytes()
    gdal(https_proxy, "gdalmanage", "rename", f"/vsis3/{bucket}/a b+é.tif", f"/vsis3/{bucket}/c.tif", **tls)
    gdal(https_proxy, "gdalmanage", "delete", f"/vsis3/{bucket}/c.tif", **tls)
    assert sorted(o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["big.tif", "in/small.tif"]
    after = https_proxy.downstream_connections()
    protocol = "HTTP/2" if https_proxy.offers_h2 else "HTTP/1.1"
    assert after[protocol] > before[protocol], (before, after)
